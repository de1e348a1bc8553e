# ---------------------------------------------------------------------------------------------
# The front door (issue 15): a wake target group (the function itself, as an ALB `lambda`
# target, or the daemon as `ip` targets: wake_target) and, per application target group, a listener rule with a weighted forward between
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

variable "wake_target" {
  description = "What answers for the wake target group: the function itself (type \"lambda\", the default), or the lightsout daemon (type \"ip\": its addresses, port and VPC; the daemon's security group must admit only the load balancer). Monitors (monitor_user_agents) are answered by the load balancer itself in either case."
  type = object({
    type   = optional(string, "lambda")
    ips    = optional(list(string), [])
    port   = optional(number, 8080)
    vpc_id = optional(string)
  })
  default = {}

  validation {
    condition     = contains(["lambda", "ip"], var.wake_target.type)
    error_message = "wake_target.type is \"lambda\" (the function) or \"ip\" (the daemon)."
  }
  validation {
    condition     = var.wake_target.type == "lambda" || (length(var.wake_target.ips) > 0 && var.wake_target.vpc_id != null)
    error_message = "wake_target.type = \"ip\" needs ips (the daemon's private addresses) and vpc_id (the load balancer's VPC)."
  }
}

variable "monitor_user_agents" {
  description = "User-Agent patterns of uptime monitors (ALB http-header values, * and ? wildcards). For each front door with a monitor_priority, a rule with the door's conditions and these agents answers 200 from the load balancer itself: monitors never reach the app or the wake page, so they neither count as use (the app target group's RequestCount) nor wake staging. ALB allows 5 condition values per rule: the door's host and path values plus these."
  type        = list(string)
  default     = ["*UptimeRobot*", "*Pingdom*", "*StatusCake*"]
}

variable "monitor_priorities" {
  description = "Per front door name, the listener priority of its monitor rule (lower than the door's, so it is evaluated first). A door without one has no monitor rule."
  type        = map(number)
  default     = {}

  validation {
    condition     = alltrue([for k in keys(var.monitor_priorities) : contains(keys(var.front_doors), k)])
    error_message = "Every monitor_priorities key must be a front_doors name."
  }
}

variable "alb_rule_arns" {
  description = "Listener rules made elsewhere that lightsout may switch (besides the front_doors rules this module makes); each must carry the environment tag."
  type        = list(string)
  default     = []
}

locals {
  front_door = length(var.front_doors) > 0
  wake_ip    = var.wake_target.type == "ip"
}

resource "aws_lb_target_group" "wake" {
  count       = local.front_door ? 1 : 0
  name        = substr("${var.name}-wake", 0, 32)
  target_type = var.wake_target.type
  # The daemon form: plain HTTP inside the VPC (the listener terminates TLS), checked on
  # /healthz, which answers 503 when the store cannot be written.
  port     = local.wake_ip ? var.wake_target.port : null
  protocol = local.wake_ip ? "HTTP" : null
  vpc_id   = local.wake_ip ? var.wake_target.vpc_id : null

  dynamic "health_check" {
    for_each = local.wake_ip ? [1] : []
    content {
      path    = "/healthz"
      matcher = "200"
    }
  }

  tags = local.tags
}

resource "aws_lb_target_group_attachment" "wake_ip" {
  for_each         = local.front_door && local.wake_ip ? toset(var.wake_target.ips) : toset([])
  target_group_arn = aws_lb_target_group.wake[0].arn
  target_id        = each.value
  port             = var.wake_target.port
}

resource "aws_lambda_permission" "alb" {
  count         = local.front_door && !local.wake_ip ? 1 : 0
  statement_id  = "AllowWakeTargetGroup"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this.function_name
  principal     = "elasticloadbalancing.amazonaws.com"
  source_arn    = aws_lb_target_group.wake[0].arn
}

resource "aws_lb_target_group_attachment" "wake" {
  count            = local.front_door && !local.wake_ip ? 1 : 0
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

# Uptime monitors answered by the load balancer: never the app's RequestCount (idle to sleep
# reads it), never a knock at the wake page. Monitoring the app itself while it is awake is
# then a check of your own under another agent or host; staging's sleeps would page it anyway.
resource "aws_lb_listener_rule" "monitor" {
  for_each     = var.monitor_priorities
  listener_arn = var.front_doors[each.key].listener_arn
  priority     = each.value

  action {
    type = "fixed-response"
    fixed_response {
      content_type = "text/plain"
      message_body = "ok: staging is on a schedule (lightsout); monitors are answered here"
      status_code  = "200"
    }
  }

  dynamic "condition" {
    for_each = length(var.front_doors[each.key].host_headers) > 0 ? [var.front_doors[each.key].host_headers] : []
    content {
      host_header {
        values = condition.value
      }
    }
  }

  dynamic "condition" {
    for_each = length(var.front_doors[each.key].path_patterns) > 0 ? [var.front_doors[each.key].path_patterns] : []
    content {
      path_pattern {
        values = condition.value
      }
    }
  }

  condition {
    http_header {
      http_header_name = "User-Agent"
      values           = var.monitor_user_agents
    }
  }

  tags = local.tags

  lifecycle {
    precondition {
      condition     = length(var.front_doors[each.key].host_headers) + length(var.front_doors[each.key].path_patterns) + length(var.monitor_user_agents) <= 5
      error_message = "ALB allows 5 condition values per rule: this door's hosts and paths plus monitor_user_agents are more."
    }
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
