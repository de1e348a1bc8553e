resource "aws_cloudwatch_log_group" "lambda" {
  #checkov:skip=CKV_AWS_338:Operational logs of a staging tool; 30 days by default (log_retention_days). The audit trail lives in the store table, not in logs.
  # Encrypted at rest by CloudWatch Logs; a customer key is optional (log_kms_key_arn, default
  # null). The logs hold no secrets: tokens are never logged.
  name              = local.log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn
  tags              = local.tags
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_117:No VPC on purpose: lightsout only calls public AWS APIs (ECS, RDS, DynamoDB, SSM, Cost Explorer, SES, SNS, Budgets); a VPC would only add a NAT gateway or eight endpoints.
  #checkov:skip=CKV_AWS_116:No DLQ on purpose: a failed reconcile is superseded by the next one a minute later (level-triggered), Function URL calls are synchronous, and failures raise the Errors alarm.
  #checkov:skip=CKV_AWS_173:The environment holds no secret (only SSM parameter names, the table name and log settings); Lambda encrypts it at rest with its service key.
  #checkov:skip=CKV_AWS_272:Code signing needs an AWS Signer profile; the zip is built reproducibly from source by deploy/build-lambda.sh and its hash pinned via source_code_hash.
  #checkov:skip=CKV_AWS_50:No X-Ray: lightsout does not emit trace segments; it logs every action as JSON and the Errors alarm covers failures. Tracing would only add xray:Put* permissions.
  function_name    = var.name
  description      = "lightsout: sleeps ${var.environment_tag_key}=${var.environment_tag_value} on schedule, wakes it on demand"
  role             = aws_iam_role.lambda.arn
  runtime          = "provided.al2023"
  architectures    = ["x86_64"]
  handler          = "bootstrap"
  filename         = var.lambda_zip_path
  source_code_hash = filebase64sha256(var.lambda_zip_path)
  memory_size      = var.memory_size
  timeout          = var.timeout

  reserved_concurrent_executions = var.reserved_concurrency

  environment {
    variables = local.environment
  }

  logging_config {
    log_format = "Text" # lightsout writes one JSON object a line itself (LIGHTSOUT_LOG_FORMAT=json)
    log_group  = aws_cloudwatch_log_group.lambda.name
  }

  tags = local.tags

  # The log group and the logging permission exist before the first invocation.
  depends_on = [aws_iam_role_policy.runtime, aws_cloudwatch_log_group.lambda]
}

# Scheduled invocations are asynchronous: do not retry (the next reconcile, a minute later,
# supersedes a failed one; a digest must not be sent twice) and drop stale events.
resource "aws_lambda_function_event_invoke_config" "this" {
  function_name                = aws_lambda_function.this.function_name
  maximum_retry_attempts       = 0
  maximum_event_age_in_seconds = 300
}

resource "aws_cloudwatch_metric_alarm" "errors" {
  alarm_name          = "${var.name}-errors"
  alarm_description   = "lightsout reported errors (failed pass, digest or start-up). Read: aws logs tail ${local.log_group_name} --since 1h"
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = aws_lambda_function.this.function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  tags                = local.tags
}

# ---------------------------------------------------------------------------------------------
# The API and status page.
# A Function URL needs two resource-policy statements: lambda:InvokeFunctionUrl (with
# FunctionUrlAuthType) and, since October 2025, lambda:InvokeFunction with InvokedViaFunctionUrl.
# With NONE the provider adds only the first (FunctionURLAllowPublicAccess); the second is
# url_public_invoke below. lightsout authenticates every state-reading or -changing route with its
# own bearer tokens or Slack's signature. With AWS_IAM, only the listed principals may call it.
# ---------------------------------------------------------------------------------------------

resource "aws_lambda_function_url" "this" {
  #checkov:skip=CKV_AWS_258:NONE is the default by design: Slack cannot sign with SigV4. lightsout checks bearer tokens (SHA-256, constant time, rate limited) and Slack's HMAC on every non-public route; set function_url_auth_type = "AWS_IAM" to require SigV4.
  function_name      = aws_lambda_function.this.function_name
  authorization_type = var.function_url_auth_type
}

resource "aws_lambda_permission" "url_public_invoke" {
  #checkov:skip=CKV_AWS_301:Public only through the Function URL (invoked_via_function_url), and only with auth NONE, which Slack needs; lightsout authenticates every non-public route itself. AWS_IAM removes this permission.
  count = var.function_url_auth_type == "NONE" ? 1 : 0

  statement_id             = "FunctionUrlPublicInvoke"
  action                   = "lambda:InvokeFunction"
  function_name            = aws_lambda_function.this.function_name
  principal                = "*"
  invoked_via_function_url = true
}

resource "aws_lambda_permission" "url_iam" {
  for_each = var.function_url_auth_type == "AWS_IAM" ? toset(var.function_url_invoker_principals) : toset([])

  statement_id           = "FunctionUrl-${substr(sha1(each.value), 0, 12)}"
  action                 = "lambda:InvokeFunctionUrl"
  function_name          = aws_lambda_function.this.function_name
  principal              = each.value
  function_url_auth_type = "AWS_IAM"
}

resource "aws_lambda_permission" "url_iam_invoke" {
  for_each = var.function_url_auth_type == "AWS_IAM" ? toset(var.function_url_invoker_principals) : toset([])

  statement_id             = "FunctionUrlInvoke-${substr(sha1(each.value), 0, 12)}"
  action                   = "lambda:InvokeFunction"
  function_name            = aws_lambda_function.this.function_name
  principal                = each.value
  invoked_via_function_url = true
}
