data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.region
  partition  = data.aws_partition.current.partition

  tags = merge({ ManagedBy = "terraform", Application = "lightsout" }, var.tags)

  log_group_name = "/aws/lambda/${var.name}"

  # Secrets: only parameter NAMES reach the function; it reads the values at start-up.
  ssm_parameters = {
    LIGHTSOUT_TOKENS_SSM               = var.tokens_ssm_parameter
    LIGHTSOUT_SLACK_SIGNING_SECRET_SSM = var.slack_signing_secret_ssm_parameter
    LIGHTSOUT_SLACK_WEBHOOK_URL_SSM    = var.slack_webhook_url_ssm_parameter
  }
  ssm_parameter_env = { for k, v in local.ssm_parameters : k => v if v != null }
  ssm_parameter_arns = [
    for name in values(local.ssm_parameter_env) :
    "arn:${local.partition}:ssm:${local.region}:${local.account_id}:parameter/${trimprefix(name, "/")}"
  ]

  ecs_service_arns = [
    for c in var.ecs_cluster_names : "arn:${local.partition}:ecs:${local.region}:${local.account_id}:service/${c}/*"
  ]
  budget_arns = [
    for b in var.budget_names : "arn:${local.partition}:budgets::${local.account_id}:budget/${b}"
  ]
  sns_topic_arns = concat(aws_sns_topic.digest[*].arn, var.digest_topic_arns)

  environment = merge(
    {
      LIGHTSOUT_SCHEDULES  = "/var/task/schedules"
      LIGHTSOUT_STORE      = "dynamodb:${aws_dynamodb_table.store.name}"
      LIGHTSOUT_LOG_FORMAT = "json"
      LIGHTSOUT_LOG        = var.log_level
    },
    local.ssm_parameter_env,
  )
}
