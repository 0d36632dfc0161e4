# Buckets: `data` (raw satellite files under raw/, Parquet training sets, the lakeFS
# repository) and `models` (ONNX files, model cards, MLflow artifacts; KServe reads
# <name>/champion/). Every object starts in Intelligent-Tiering; after 90 days (the seed's
# choice) raw files and every superseded version move to Glacier Flexible Retrieval. Current
# training sets and models stay readable at once: serving and training need them.

module "data_bucket" {
  source             = "../modules/bucket"
  name               = "${local.name}-data-${local.account_id}"
  kms_key_arn        = aws_kms_key.main.arn
  access_log_bucket  = aws_s3_bucket.logs.id
  access_log_prefix  = "data/"
  glacier_after_days = var.glacier_after_days
  glacier_prefix     = "raw/"
}

module "models_bucket" {
  source             = "../modules/bucket"
  name               = "${local.name}-models-${local.account_id}"
  kms_key_arn        = aws_kms_key.main.arn
  access_log_bucket  = aws_s3_bucket.logs.id
  access_log_prefix  = "models/"
  glacier_after_days = var.glacier_after_days
}

# Access logs of the data and models buckets. It does not log itself (that would loop),
# is not replicated (logs are not worth a second region) and has no event consumers.
resource "aws_s3_bucket" "logs" {
  #checkov:skip=CKV_AWS_18:the access-log bucket cannot log into itself
  #checkov:skip=CKV_AWS_144:access logs are not replicated to a second region
  #checkov:skip=CKV2_AWS_62:nothing consumes access-log events
  #checkov:skip=CKV_AWS_145:S3 server access logging only delivers to SSE-S3 buckets, not SSE-KMS
  bucket = "${local.name}-access-logs-${local.account_id}"
}

resource "aws_s3_bucket_versioning" "logs" {
  bucket = aws_s3_bucket.logs.id
  versioning_configuration {
    status = "Enabled"
  }
}

# S3 server access logging cannot write into a bucket whose default encryption is SSE-KMS.
resource "aws_s3_bucket_server_side_encryption_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_public_access_block" "logs" {
  bucket                  = aws_s3_bucket.logs.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

# Only TLS, and only S3's log delivery for this account's buckets may write.
resource "aws_s3_bucket_policy" "logs" {
  bucket = aws_s3_bucket.logs.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:*"
        Resource  = [aws_s3_bucket.logs.arn, "${aws_s3_bucket.logs.arn}/*"]
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
      {
        Sid       = "S3ServerAccessLogs"
        Effect    = "Allow"
        Principal = { Service = "logging.s3.amazonaws.com" }
        Action    = "s3:PutObject"
        Resource  = "${aws_s3_bucket.logs.arn}/*"
        Condition = { StringEquals = { "aws:SourceAccount" = local.account_id } }
      },
    ]
  })
}

resource "aws_s3_bucket_lifecycle_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id
  rule {
    id     = "expire-access-logs"
    status = "Enabled"
    filter {}
    transition {
      days          = var.glacier_after_days
      storage_class = "GLACIER"
    }
    expiration {
      days = 400
    }
    noncurrent_version_expiration {
      noncurrent_days = 30
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }
}

resource "aws_ecr_repository" "main" {
  for_each             = toset(["edge-agent", "stream-processor", "serving", "trainer"])
  name                 = "reefguard/${each.key}"
  image_tag_mutability = "IMMUTABLE"
  image_scanning_configuration {
    scan_on_push = true
  }
  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = aws_kms_key.main.arn
  }
}

resource "aws_ecr_lifecycle_policy" "main" {
  for_each   = aws_ecr_repository.main
  repository = each.value.name
  policy = jsonencode({
    rules = [{
      rulePriority = 1
      description  = "keep the 20 newest images; deploys pin tags, rollbacks need the recent ones"
      selection    = { tagStatus = "any", countType = "imageCountMoreThan", countNumber = 20 }
      action       = { type = "expire" }
    }]
  })
}
