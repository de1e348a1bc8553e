# Offline check of the policy rendering (no provider needed): `terraform init && terraform apply`
# here renders deploy/iam/lightsout-policy.json.tpl twice through the module's policy submodule,
# once with every list empty and once with every list filled, and fails if either is not a valid
# policy shape. Run by .ci/deploy-checks.

terraform {
  required_version = ">= 1.5.0"
}

locals {
  base = {
    region                = "eu-west-1"
    account_id            = "123456789012"
    table_arn             = "arn:aws:dynamodb:eu-west-1:123456789012:table/lightsout"
    environment_tag_key   = "Environment"
    environment_tag_value = "staging"
  }
  empty = merge(local.base, {
    ecs_service_arns   = []
    alb_rule_arns      = []
    assume_role_arns   = []
    ssm_parameter_arns = []
    ses_identity_arns  = []
    sns_topic_arns     = []
    budget_arns        = []
  })
  full = merge(local.base, {
    ecs_service_arns   = ["arn:aws:ecs:eu-west-1:123456789012:service/app-staging-cluster/*"]
    alb_rule_arns      = ["arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener-rule/app/staging/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee"]
    assume_role_arns   = ["arn:aws:iam::111111111111:role/lightsout"]
    ssm_parameter_arns = ["arn:aws:ssm:eu-west-1:123456789012:parameter/lightsout/staging/tokens"]
    ses_identity_arns  = ["arn:aws:ses:eu-west-1:123456789012:identity/example.com"]
    sns_topic_arns     = ["arn:aws:sns:eu-west-1:123456789012:lightsout-digest"]
    budget_arns        = ["arn:aws:budgets::123456789012:budget/staging"]
  })
}

module "empty" {
  source = "../../modules/lightsout/policy"
  values = local.empty
}

module "full" {
  source = "../../modules/lightsout/policy"
  values = local.full
}

output "empty" {
  value = module.empty.json
  precondition {
    condition     = alltrue([for s in jsondecode(module.empty.json).Statement : s.Resource != [] && s.Resource != ""])
    error_message = "a statement with an empty Resource survived the rendering"
  }
}

output "full" {
  value = module.full.json
  precondition {
    condition     = length(module.full.dropped_sids) == 0
    error_message = "with every list filled, no statement may be dropped"
  }
}

output "dropped_when_empty" {
  value = module.empty.dropped_sids
}
