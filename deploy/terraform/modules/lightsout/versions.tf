terraform {
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 6.29 added `invoked_via_function_url` to aws_lambda_permission: since October 2025 a
      # Function URL needs lambda:InvokeFunction (via the URL) as well as lambda:InvokeFunctionUrl.
      version = ">= 6.29"
    }
  }
}
