output "function_name" {
  description = "Name of the Lambda function."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "ARN of the Lambda function."
  value       = aws_lambda_function.this.arn
}

output "function_url" {
  description = "The API and status page (with a trailing slash). The Slack command's Request URL is this + v1/slack/command."
  value       = aws_lambda_function_url.this.function_url
}

output "log_group_name" {
  description = "The function's log group: aws logs tail <this> --follow."
  value       = aws_cloudwatch_log_group.lambda.name
}

output "table_name" {
  description = "The DynamoDB store table (LIGHTSOUT_STORE=dynamodb:<this>)."
  value       = aws_dynamodb_table.store.name
}

output "role_arn" {
  description = "ARN of the function's IAM role."
  value       = aws_iam_role.lambda.arn
}

output "scheduler_role_arn" {
  description = "ARN of the role EventBridge Scheduler invokes the function with."
  value       = aws_iam_role.scheduler.arn
}

output "digest_topic_arn" {
  description = "ARN of the digest SNS topic (null when create_digest_topic = false)."
  value       = one(aws_sns_topic.digest[*].arn)
}

output "policy_json" {
  description = "The IAM policy attached to the function's role, as rendered from the template (for review)."
  value       = module.policy.json
}
