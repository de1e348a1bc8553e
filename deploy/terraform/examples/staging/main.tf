# The reference staging environment: ECS cluster app-staging-cluster (services backend and
# frontend, and the Auto Scaling group app-staging-capacity as its capacity provider), the
# bastion instance app-staging-bastion, RDS instance app-staging-db, all tagged
# Environment=staging, in eu-west-1 with
# production in the same account. The schedule itself is schedules/staging.toml, shipped in the
# zip. See README.md here for the steps.

module "lightsout" {
  source = "../../modules/lightsout"

  name            = "lightsout-staging"
  lambda_zip_path = var.lambda_zip_path

  # What it may act on: services of this cluster and RDS in this account/region, and only
  # those tagged Environment=staging (anything tagged production/prod is denied outright).
  # Yours: every cluster your schedule file's services are in, and the tag your resources carry
  # (the same as [guard] require_tags in the schedule file).
  ecs_cluster_names     = ["app-staging-cluster"]
  environment_tag_key   = "Environment"
  environment_tag_value = "staging"

  # Schedules: reconcile every minute, the digest at 08:30 Berlin time.
  reconcile_schedule_expression = "rate(1 minute)"
  digest_schedule_expression    = "cron(30 8 * * ? *)"
  schedule_timezone             = "Europe/Berlin"

  function_url_auth_type = var.function_url_auth_type

  # Secrets: NAMES of SecureString parameters created beforehand with
  # `aws ssm put-parameter --type SecureString` (never values).
  tokens_ssm_parameter               = "/lightsout/staging/tokens"
  slack_signing_secret_ssm_parameter = "/lightsout/staging/slack-signing-secret"
  slack_webhook_url_ssm_parameter    = "/lightsout/staging/slack-webhook-url"

  # The front door (optional): a listener rule per app target group, switched by lightsout
  # between the app and its waiting page (the function, as a lambda target). Copy the
  # front_door output into [[alb.rules]] of the schedule file.
  # front_doors = {
  #   backend = {
  #     listener_arn         = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/app-staging/50dc6c495c0c9188/f2f7dc8efc522ab2"
  #     priority             = 10
  #     app_target_group_arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/app-staging-backend/73e2d6bc24d8a067"
  #     host_headers         = ["staging.example.com"]
  #   }
  # }

  create_digest_topic = true
  ses_identity_arns   = var.ses_identity_arns
  budget_names        = var.budget_names
  alarm_actions       = var.alarm_actions

  tags = {
    Team = "platform"
  }
}
