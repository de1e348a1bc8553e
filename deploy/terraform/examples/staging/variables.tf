variable "region" {
  description = "Region of the staging environment (and of lightsout)."
  type        = string
  default     = "eu-west-1"
}

variable "lambda_zip_path" {
  description = "The zip built by deploy/build-lambda.sh, relative to this directory."
  type        = string
  default     = "../../../../target/lambda/lightsout.zip"
}

variable "function_url_auth_type" {
  description = "NONE (lightsout's bearer tokens; needed for Slack) or AWS_IAM."
  type        = string
  default     = "NONE"
}

variable "ses_identity_arns" {
  description = "SES identities the digest may send from (empty: no e-mail)."
  type        = list(string)
  default     = []
}

variable "budget_names" {
  description = "AWS Budgets the digest may read."
  type        = list(string)
  default     = []
}

variable "alarm_actions" {
  description = "Where the Errors alarm goes (an SNS topic ARN with a customer KMS key, or none)."
  type        = list(string)
  default     = []
}
