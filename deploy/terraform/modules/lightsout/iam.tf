# ---------------------------------------------------------------------------------------------
# The function's role: the shared policy template (what lightsout calls, checked against the code
# by tests/iam_coverage.rs) plus logging to its own log group and, with a customer key, KMS
# decryption of the SSM parameters.
# ---------------------------------------------------------------------------------------------

module "policy" {
  source        = "./policy"
  template_path = var.policy_template_path
  values = {
    region                = local.region
    account_id            = local.account_id
    table_arn             = aws_dynamodb_table.store.arn
    environment_tag_key   = var.environment_tag_key
    environment_tag_value = var.environment_tag_value
    ecs_service_arns      = local.ecs_service_arns
    alb_rule_arns         = local.alb_rule_arns
    assume_role_arns      = var.assume_role_arns
    ssm_parameter_arns    = local.ssm_parameter_arns
    ses_identity_arns     = var.ses_identity_arns
    sns_topic_arns        = local.sns_topic_arns
    budget_arns           = local.budget_arns
  }
}

data "aws_iam_policy_document" "lambda_assume" {
  statement {
    sid     = "LambdaService"
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "lambda" {
  name                 = "${var.name}-lambda"
  description          = "lightsout: puts ${var.environment_tag_key}=${var.environment_tag_value} to sleep and wakes it"
  assume_role_policy   = data.aws_iam_policy_document.lambda_assume.json
  max_session_duration = 3600
  tags                 = local.tags
}

resource "aws_iam_role_policy" "lightsout" {
  name   = "lightsout"
  role   = aws_iam_role.lambda.id
  policy = module.policy.json
}

# The least-privilege equivalent of AWSLambdaBasicExecutionRole: write to its own log group only
# (the group is created here, so no logs:CreateLogGroup).
data "aws_iam_policy_document" "runtime" {
  statement {
    sid       = "OwnLogGroup"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.lambda.arn}:*"]
  }

  # SecureString parameters under a customer key: decrypt only through SSM, only this key.
  dynamic "statement" {
    for_each = var.ssm_kms_key_arn == null || length(local.ssm_parameter_arns) == 0 ? [] : [var.ssm_kms_key_arn]
    content {
      sid       = "DecryptParametersViaSsm"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]
      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["ssm.${local.region}.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_role_policy" "runtime" {
  name   = "runtime"
  role   = aws_iam_role.lambda.id
  policy = data.aws_iam_policy_document.runtime.json
}

# ---------------------------------------------------------------------------------------------
# EventBridge Scheduler's role: invoke this function, nothing else.
# ---------------------------------------------------------------------------------------------

data "aws_iam_policy_document" "scheduler_assume" {
  statement {
    sid     = "SchedulerService"
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["scheduler.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "scheduler" {
  name                 = "${var.name}-scheduler"
  description          = "EventBridge Scheduler: invokes the ${var.name} function"
  assume_role_policy   = data.aws_iam_policy_document.scheduler_assume.json
  max_session_duration = 3600
  tags                 = local.tags
}

data "aws_iam_policy_document" "scheduler" {
  statement {
    sid       = "InvokeLightsout"
    actions   = ["lambda:InvokeFunction"]
    resources = [aws_lambda_function.this.arn]
  }
}

resource "aws_iam_role_policy" "scheduler" {
  name   = "invoke-lightsout"
  role   = aws_iam_role.scheduler.id
  policy = data.aws_iam_policy_document.scheduler.json
}
