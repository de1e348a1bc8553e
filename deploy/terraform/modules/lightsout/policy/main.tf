# Renders deploy/iam/lightsout-policy.json.tpl into the policy attached to lightsout's role.
# No provider and no resource: CI applies it offline (deploy/terraform/tests/policy) to check the
# rendering with the real template, even where the AWS provider cannot be downloaded.

terraform {
  required_version = ">= 1.5.0"
}

variable "template_path" {
  description = "Path of the policy template; null for this repository's deploy/iam/lightsout-policy.json.tpl."
  type        = string
  default     = null
}

variable "values" {
  description = "Template values: strings region, account_id, table_arn, environment_tag_key, environment_tag_value; lists ecs_service_arns, alb_rule_arns, assume_role_arns, ssm_parameter_arns, ses_identity_arns, sns_topic_arns, budget_arns."
  type = object({
    region                = string
    account_id            = string
    table_arn             = string
    environment_tag_key   = string
    environment_tag_value = string
    ecs_service_arns      = list(string)
    alb_rule_arns         = list(string)
    assume_role_arns      = list(string)
    ssm_parameter_arns    = list(string)
    ses_identity_arns     = list(string)
    sns_topic_arns        = list(string)
    budget_arns           = list(string)
  })
}

locals {
  template_path = coalesce(var.template_path, "${path.module}/../../../../iam/lightsout-policy.json.tpl")

  # List-valued placeholders are filled with JSON arrays. An empty one leaves a statement with
  # "Resource": [], which IAM rejects: such statements are dropped (nothing to grant).
  rendered = jsondecode(templatefile(local.template_path, {
    region                = var.values.region
    account_id            = var.values.account_id
    table_arn             = var.values.table_arn
    environment_tag_key   = var.values.environment_tag_key
    environment_tag_value = var.values.environment_tag_value
    ecs_service_arns      = jsonencode(var.values.ecs_service_arns)
    alb_rule_arns         = jsonencode(var.values.alb_rule_arns)
    assume_role_arns      = jsonencode(var.values.assume_role_arns)
    ssm_parameter_arns    = jsonencode(var.values.ssm_parameter_arns)
    ses_identity_arns     = jsonencode(var.values.ses_identity_arns)
    sns_topic_arns        = jsonencode(var.values.sns_topic_arns)
    budget_arns           = jsonencode(var.values.budget_arns)
  }))

  statements = [for s in local.rendered.Statement : s if s.Resource != []]
}

output "json" {
  description = "The policy document, without statements whose Resource list was empty."
  value       = jsonencode({ Version = local.rendered.Version, Statement = local.statements })
}

output "dropped_sids" {
  description = "Sids of the statements dropped because their Resource list was empty."
  value       = [for s in local.rendered.Statement : try(s.Sid, "?") if s.Resource == []]
}
