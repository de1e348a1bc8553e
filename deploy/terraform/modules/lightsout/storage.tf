# The store: overrides (wake-until, who, why), the audit trail, leases, the digest cache.
resource "aws_dynamodb_table" "store" {
  # Encrypted at rest with the AWS managed key by default; a customer key is optional
  # (table_kms_key_arn, default null). The table holds overrides and the audit trail, no secrets.
  name                        = var.name
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "pk"
  range_key                   = "sk"
  deletion_protection_enabled = var.table_deletion_protection

  attribute {
    name = "pk"
    type = "S"
  }

  attribute {
    name = "sk"
    type = "S"
  }

  ttl {
    attribute_name = "expires_at"
    enabled        = true
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.table_kms_key_arn
  }

  tags = local.tags
}

# Where the digest is published (subscribe e-mail addresses, chat bots or queues to it).
resource "aws_sns_topic" "digest" {
  count = var.create_digest_topic ? 1 : 0

  name              = "${var.name}-digest"
  display_name      = "lightsout digest"
  kms_master_key_id = "alias/aws/sns"
  tags              = local.tags
}
