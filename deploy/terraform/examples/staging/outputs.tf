output "function_url" {
  description = "The status page and API; the Slack Request URL is this + v1/slack/command."
  value       = module.lightsout.function_url
}

output "slack_request_url" {
  description = "Paste into the Slack app's slash command."
  value       = "${trimsuffix(module.lightsout.function_url, "/")}/v1/slack/command"
}

output "slack_interactivity_url" {
  description = "Paste into the Slack app's Interactivity Request URL (the heads-up's buttons)."
  value       = "${trimsuffix(module.lightsout.function_url, "/")}/v1/slack/interactive"
}

output "function_name" {
  description = "The Lambda function."
  value       = module.lightsout.function_name
}

output "log_group_name" {
  description = "aws logs tail <this> --follow"
  value       = module.lightsout.log_group_name
}

output "table_name" {
  description = "The DynamoDB store."
  value       = module.lightsout.table_name
}

output "role_arn" {
  description = "The function's role."
  value       = module.lightsout.role_arn
}

output "digest_topic_arn" {
  description = "Subscribe to the digest here."
  value       = module.lightsout.digest_topic_arn
}
