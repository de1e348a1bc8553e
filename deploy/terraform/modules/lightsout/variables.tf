# ---------------------------------------------------------------------------------------------
# The function
# ---------------------------------------------------------------------------------------------

variable "name" {
  description = "Name of the function and prefix of every other resource (table, roles, schedules, topic)."
  type        = string
  default     = "lightsout"

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,40}$", var.name))
    error_message = "name: 1 to 40 letters, digits, '-' or '_' (it prefixes role and schedule names, which have length limits)."
  }
}

variable "lambda_zip_path" {
  description = "Path of the zip built by deploy/build-lambda.sh (bootstrap + schedules/), usually <repo>/target/lambda/lightsout.zip."
  type        = string

  validation {
    condition     = endswith(var.lambda_zip_path, ".zip")
    error_message = "lambda_zip_path must name the .zip written by deploy/build-lambda.sh."
  }
}

variable "memory_size" {
  description = "Lambda memory in MB. lightsout idles at a few MB; 256 MB buys CPU for TLS start-up."
  type        = number
  default     = 256

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240
    error_message = "memory_size must be between 128 and 10240 MB."
  }
}

variable "timeout" {
  description = "Lambda timeout in seconds. A pass stops starting new actions 3 s before the deadline; a digest with a failing channel takes up to about 55 s (3 attempts of 10 s, 2 s + 8 s backoff, plus gathering), environments in parallel."
  type        = number
  default     = 120

  validation {
    condition     = var.timeout >= 10 && var.timeout <= 900
    error_message = "timeout must be between 10 and 900 seconds."
  }
}

variable "reserved_concurrency" {
  description = "Reserved concurrent executions: caps overlapping passes and API calls (store leases keep passes exclusive anyway) and bounds the cost of abuse of a public URL. 0 stops the function entirely (an emergency brake); -1 reserves nothing (needed in accounts still at the default concurrency quota of 10, where AWS keeps all 10 unreserved)."
  type        = number
  default     = 3

  validation {
    condition     = var.reserved_concurrency >= -1 && var.reserved_concurrency <= 50
    error_message = "reserved_concurrency must be -1 (unreserved), 0 (stopped) or up to 50."
  }
}

variable "log_level" {
  description = "LIGHTSOUT_LOG filter (tracing EnvFilter syntax), e.g. info or lightsout=debug,info."
  type        = string
  default     = "info"

  validation {
    condition     = length(var.log_level) > 0
    error_message = "log_level must not be empty."
  }
}

variable "log_retention_days" {
  description = "Retention of the function's log group, in days."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ... 3653)."
  }
}

variable "log_kms_key_arn" {
  description = "Optional customer-managed KMS key for the log group (its key policy must allow logs.<region>.amazonaws.com). Default: CloudWatch Logs' own encryption."
  type        = string
  default     = null
}

# ---------------------------------------------------------------------------------------------
# Schedules (EventBridge Scheduler)
# ---------------------------------------------------------------------------------------------

variable "schedules_enabled" {
  description = "Whether the reconcile and digest schedules run. Set false to pause lightsout (resources stay as they are) without destroying anything."
  type        = bool
  default     = true
}

variable "reconcile_schedule_expression" {
  description = "EventBridge Scheduler expression of the reconcile pass ({\"action\":\"reconcile\"})."
  type        = string
  default     = "rate(1 minute)"

  validation {
    condition     = can(regex("^(rate|cron)\\(.+\\)$", var.reconcile_schedule_expression))
    error_message = "reconcile_schedule_expression must be rate(...) or cron(...)."
  }
}

variable "digest_enabled" {
  description = "Whether to schedule the daily digest ({\"action\":\"digest\"})."
  type        = bool
  default     = true
}

variable "digest_schedule_expression" {
  description = "EventBridge Scheduler expression of the digest, in schedule_timezone (default 08:30 every day)."
  type        = string
  default     = "cron(30 8 * * ? *)"

  validation {
    condition     = can(regex("^(rate|cron|at)\\(.+\\)$", var.digest_schedule_expression))
    error_message = "digest_schedule_expression must be cron(...), rate(...) or at(...)."
  }
}

variable "schedule_timezone" {
  description = "IANA time zone of the schedule expressions (schedule_expression_timezone)."
  type        = string
  default     = "Europe/Berlin"

  validation {
    condition     = can(regex("^[A-Za-z_]+(/[A-Za-z0-9_+-]+)*$", var.schedule_timezone))
    error_message = "schedule_timezone must be an IANA zone name such as Europe/Berlin or UTC."
  }
}

# ---------------------------------------------------------------------------------------------
# The API (Function URL)
# ---------------------------------------------------------------------------------------------

variable "function_url_auth_type" {
  description = "NONE: anyone may reach the URL and lightsout checks its own bearer tokens and Slack signatures (needed for Slack). AWS_IAM: callers must sign with SigV4 and be listed in function_url_invoker_principals."
  type        = string
  default     = "NONE"

  validation {
    condition     = contains(["NONE", "AWS_IAM"], var.function_url_auth_type)
    error_message = "function_url_auth_type must be NONE or AWS_IAM."
  }
}

variable "function_url_invoker_principals" {
  description = "With AWS_IAM: account IDs or IAM principal ARNs allowed to call the URL (resource policy). Principals of this account may instead be granted lambda:InvokeFunctionUrl and lambda:InvokeFunction in their own policies."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for p in var.function_url_invoker_principals : can(regex("^([0-9]{12}|arn:aws[a-z-]*:iam::[0-9]{12}:.+)$", p))])
    error_message = "function_url_invoker_principals: 12-digit account IDs or IAM ARNs; never \"*\"."
  }
}

# ---------------------------------------------------------------------------------------------
# What lightsout may act on (filled into deploy/iam/lightsout-policy.json.tpl)
# ---------------------------------------------------------------------------------------------

variable "ecs_cluster_names" {
  description = "ECS clusters whose services lightsout may update (service ARNs arn:...:service/<cluster>/* in this account and region; still limited to the environment tag)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.ecs_cluster_names : can(regex("^[A-Za-z0-9_-]{1,255}$", c))])
    error_message = "ecs_cluster_names: cluster names (letters, digits, '-', '_'), not ARNs or wildcards."
  }
}

variable "environment_tag_key" {
  description = "Tag key every resource lightsout may change must carry (IAM condition aws:ResourceTag/<key>)."
  type        = string
  default     = "Environment"

  validation {
    condition     = can(regex("^[A-Za-z0-9 _.:/=+@-]{1,128}$", var.environment_tag_key))
    error_message = "environment_tag_key must be a valid tag key."
  }
}

variable "environment_tag_value" {
  description = "Value of environment_tag_key on resources lightsout may change, e.g. staging."
  type        = string
  default     = "staging"

  validation {
    condition     = !contains(["production", "prod"], lower(var.environment_tag_value))
    error_message = "environment_tag_value must not be production/prod: lightsout is denied every write on production by design."
  }
}

variable "assume_role_arns" {
  description = "Roles in other accounts lightsout may assume (sts:AssumeRole) to manage their staging environments."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.assume_role_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", a))])
    error_message = "assume_role_arns must be IAM role ARNs."
  }
}

variable "ses_identity_arns" {
  description = "SES identities the digest may send email from (ses:SendEmail), e.g. arn:aws:ses:eu-west-1:123456789012:identity/example.com. Empty: no email."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.ses_identity_arns : can(regex("^arn:aws[a-z-]*:ses:[a-z0-9-]+:[0-9]{12}:identity/.+$", a))])
    error_message = "ses_identity_arns must be SES identity ARNs."
  }
}

variable "budget_names" {
  description = "AWS Budgets budget names the digest may read (budgets:ViewBudget). Empty: the digest uses the schedule file's monthly_budget only."
  type        = list(string)
  default     = []
}

variable "policy_template_path" {
  description = "Path of the IAM policy template. Default: deploy/iam/lightsout-policy.json.tpl of this repository (the file tests/iam_coverage.rs checks against the code)."
  type        = string
  default     = null
}

# ---------------------------------------------------------------------------------------------
# Secrets: only the NAMES of SecureString SSM parameters the operator created
# ---------------------------------------------------------------------------------------------

variable "tokens_ssm_parameter" {
  description = "Name of the SecureString SSM parameter holding the API tokens file (lines `NAME TOKEN [ENV,ENV]`). Null: no API tokens (the API refuses every request)."
  type        = string
  default     = null

  validation {
    condition     = var.tokens_ssm_parameter == null || can(regex("^/?[A-Za-z0-9_.\\-/]{1,1011}$", coalesce(var.tokens_ssm_parameter, "x")))
    error_message = "tokens_ssm_parameter must be an SSM parameter name (not an ARN, not a value)."
  }
}

variable "slack_signing_secret_ssm_parameter" {
  description = "Name of the SecureString SSM parameter holding the Slack app's signing secret. Null: the Slack command is off."
  type        = string
  default     = null

  validation {
    condition     = var.slack_signing_secret_ssm_parameter == null || can(regex("^/?[A-Za-z0-9_.\\-/]{1,1011}$", coalesce(var.slack_signing_secret_ssm_parameter, "x")))
    error_message = "slack_signing_secret_ssm_parameter must be an SSM parameter name (not an ARN, not a value)."
  }
}

variable "slack_webhook_url_ssm_parameter" {
  description = "Name of the SecureString SSM parameter holding the Slack incoming-webhook URL for the digest. Null: no Slack digest."
  type        = string
  default     = null

  validation {
    condition     = var.slack_webhook_url_ssm_parameter == null || can(regex("^/?[A-Za-z0-9_.\\-/]{1,1011}$", coalesce(var.slack_webhook_url_ssm_parameter, "x")))
    error_message = "slack_webhook_url_ssm_parameter must be an SSM parameter name (not an ARN, not a value)."
  }
}

variable "ssm_kms_key_arn" {
  description = "Customer-managed KMS key the SecureString parameters are encrypted with. Null: the AWS managed aws/ssm key (no KMS statement needed)."
  type        = string
  default     = null

  validation {
    condition     = var.ssm_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", coalesce(var.ssm_kms_key_arn, "x")))
    error_message = "ssm_kms_key_arn must be a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID), not an alias."
  }
}

# ---------------------------------------------------------------------------------------------
# State, digest topic, alarm
# ---------------------------------------------------------------------------------------------

variable "table_deletion_protection" {
  description = "Deletion protection on the store table (overrides, audit trail, leases)."
  type        = bool
  default     = true
}

variable "table_kms_key_arn" {
  description = "Optional customer-managed KMS key for the store table. Null: DynamoDB's AWS managed key."
  type        = string
  default     = null
}

variable "create_digest_topic" {
  description = "Create an SNS topic (encrypted with alias/aws/sns) the digest publishes to."
  type        = bool
  default     = true
}

variable "digest_topic_arns" {
  description = "Existing SNS topics the digest may publish to, in addition to the one created here."
  type        = list(string)
  default     = []
}

variable "alarm_actions" {
  description = "ARNs notified when the function reports errors (e.g. an SNS topic). Note: CloudWatch cannot publish to a topic encrypted with the AWS managed alias/aws/sns key, so do not pass the digest topic; use a topic with a customer key or none."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags for every resource the module creates (merged over Name and ManagedBy)."
  type        = map(string)
  default     = {}
}
