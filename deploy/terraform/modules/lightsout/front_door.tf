# ---------------------------------------------------------------------------------------------
# The front door (issue 15): a wake target group (the function itself, as an ALB `lambda`
# target) and, per application target group, a listener rule with a weighted forward between
# the app (weight 1) and the wake target group (weight 0). lightsout flips the weights: the
# wake page while the environment sleeps, the app once it is awake and healthy. Terraform
# creates the rules and then never fights lightsout over their action (ignore_changes).
# The rules carry the environment tag: the policy lets lightsout modify only rules with it.
# Its variables are here, beside the only resources that use them.
# ---------------------------------------------------------------------------------------------

variable "front_doors" {
  description = "Listener rules lightsout switches between the app and its wake page, by a name of your choice: listener ARN, rule priority (unused by the app's own rules), the app's target group ARN, and the conditions (host headers and/or path patterns; at least one). Empty: no wake target group and no rules."
  type = map(object({
    listener_arn         = string
    priority             = number
    app_target_group_arn = string
    host_headers         = optional(list(string), [])
    path_patterns        = optional(list(string), [])
  }))
  default = {}

  validation {
    condition     = alltrue([for d in values(var.front_doors) : length(d.host_headers) + length(d.path_patterns) > 0])
    error_message = "Each front door needs host_headers or path_patterns (a rule without a condition would take all of the listener's traffic)."
  }
}

variable "alb_rule_arns" {
  description = "Listener rules made elsewhere that lightsout may switch (besides the front_doors rules this module makes); each must carry the environment tag."
  type        = list(string)
  default     = []
}

locals {
  front_door = length(var.front_doors) > 0
}

resource "aws_lb_target_group" "wake" {
  count       = local.front_door ? 1 : 0
  name        = substr("${var.name}-wake", 0, 32)
  target_type = "lambda"
  tags        = local.tags
}

resource "aws_lambda_permission" "alb" {
  count         = local.front_door ? 1 : 0
  statement_id  = "AllowWakeTargetGroup"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this.function_name
  principal     = "elasticloadbalancing.amazonaws.com"
  source_arn    = aws_lb_target_group.wake[0].arn
}

resource "aws_lb_target_group_attachment" "wake" {
  count            = local.front_door ? 1 : 0
  target_group_arn = aws_lb_target_group.wake[0].arn
  target_id        = aws_lambda_function.this.arn
  depends_on       = [aws_lambda_permission.alb]
}

resource "aws_lb_listener_rule" "door" {
  for_each     = var.front_doors
  listener_arn = each.value.listener_arn
  priority     = each.value.priority

  # Awake at creation; from then on lightsout owns the weights.
  action {
    type = "forward"
    forward {
      target_group {
        arn    = each.value.app_target_group_arn
        weight = 1
      }
      target_group {
        arn    = aws_lb_target_group.wake[0].arn
        weight = 0
      }
    }
  }

  dynamic "condition" {
    for_each = length(each.value.host_headers) > 0 ? [each.value.host_headers] : []
    content {
      host_header {
        values = condition.value
      }
    }
  }

  dynamic "condition" {
    for_each = length(each.value.path_patterns) > 0 ? [each.value.path_patterns] : []
    content {
      path_pattern {
        values = condition.value
      }
    }
  }

  tags = merge(local.tags, { (var.environment_tag_key) = var.environment_tag_value })

  lifecycle {
    # lightsout flips the forward weights; Terraform must not flip them back.
    ignore_changes = [action]
  }
}

locals {
  alb_rule_arns = concat([for r in aws_lb_listener_rule.door : r.arn], var.alb_rule_arns)
}

output "front_door" {
  description = "The [[alb.rules]] entries for the schedule file (rule, app, wake ARNs), by front door name; null without front doors."
  value = local.front_door ? {
    wake_target_group_arn = aws_lb_target_group.wake[0].arn
    rules = { for k, r in aws_lb_listener_rule.door : k => {
      rule = r.arn
      app  = var.front_doors[k].app_target_group_arn
      wake = aws_lb_target_group.wake[0].arn
    } }
  } : null
}
