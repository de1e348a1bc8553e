resource "aws_scheduler_schedule_group" "this" {
  name = var.name
  tags = local.tags
}

resource "aws_scheduler_schedule" "reconcile" {
  #checkov:skip=CKV_AWS_297:The schedule's only payload is {"action":"reconcile"}; nothing secret to protect with a customer key.
  name                         = "${var.name}-reconcile"
  group_name                   = aws_scheduler_schedule_group.this.name
  description                  = "lightsout: one reconcile pass over every environment"
  state                        = var.schedules_enabled ? "ENABLED" : "DISABLED"
  schedule_expression          = var.reconcile_schedule_expression
  schedule_expression_timezone = var.schedule_timezone

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = aws_lambda_function.this.arn
    role_arn = aws_iam_role.scheduler.arn
    input    = jsonencode({ action = "reconcile" })

    # The next pass supersedes a missed one: no retries, no stale deliveries.
    retry_policy {
      maximum_retry_attempts       = 0
      maximum_event_age_in_seconds = 60
    }
  }
}

resource "aws_scheduler_schedule" "digest" {
  #checkov:skip=CKV_AWS_297:The schedule's only payload is {"action":"digest"}; nothing secret to protect with a customer key.
  count = var.digest_enabled ? 1 : 0

  name                         = "${var.name}-digest"
  group_name                   = aws_scheduler_schedule_group.this.name
  description                  = "lightsout: the daily cost and health digest"
  state                        = var.schedules_enabled ? "ENABLED" : "DISABLED"
  schedule_expression          = var.digest_schedule_expression
  schedule_expression_timezone = var.schedule_timezone

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = aws_lambda_function.this.arn
    role_arn = aws_iam_role.scheduler.arn
    input    = jsonencode({ action = "digest" })

    # Delivery to Lambda is retried briefly (throttling); the function itself is not retried.
    retry_policy {
      maximum_retry_attempts       = 2
      maximum_event_age_in_seconds = 600
    }
  }
}
