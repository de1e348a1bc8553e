terraform {
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 6.29"
    }
  }

  # Keep state remote and locked in real use, e.g.:
  # backend "s3" {
  #   bucket       = "my-terraform-state"
  #   key          = "lightsout/staging.tfstate"
  #   region       = "eu-west-1"
  #   use_lockfile = true
  # }
}

provider "aws" {
  region = var.region
  # No default_tags: the module tags every resource it creates (Application, ManagedBy and
  # var.tags) and deliberately never with Environment=staging: lightsout's own resources are
  # not something it puts to sleep.
}
