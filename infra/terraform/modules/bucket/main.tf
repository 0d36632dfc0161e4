# One ReefGuard bucket: versioned, KMS-encrypted, private, TLS-only, access-logged. Every
# object starts in Intelligent-Tiering; after glacier_after_days superseded versions, and
# current objects under glacier_prefix, move to Glacier Flexible Retrieval.

resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_144:one region by design: data is re-fetchable from NOAA/NASA/AIMS and models are rebuilt by model-ci; versioning covers mistakes
  #checkov:skip=CKV2_AWS_62:nothing consumes bucket events; lakeFS and MLflow track changes themselves
  bucket = var.name
}

resource "aws_s3_bucket_versioning" "this" {
  bucket = aws_s3_bucket.this.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  bucket = aws_s3_bucket.this.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket                  = aws_s3_bucket.this.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_logging" "this" {
  bucket        = aws_s3_bucket.this.id
  target_bucket = var.access_log_bucket
  target_prefix = var.access_log_prefix
}

resource "aws_s3_bucket_policy" "this" {
  bucket = aws_s3_bucket.this.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "DenyInsecureTransport"
      Effect    = "Deny"
      Principal = "*"
      Action    = "s3:*"
      Resource  = [aws_s3_bucket.this.arn, "${aws_s3_bucket.this.arn}/*"]
      Condition = { Bool = { "aws:SecureTransport" = "false" } }
    }]
  })
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    id     = "intelligent-tiering"
    status = "Enabled"
    filter {}
    transition {
      days          = 0
      storage_class = "INTELLIGENT_TIERING"
    }
    noncurrent_version_transition {
      noncurrent_days = var.glacier_after_days
      storage_class   = "GLACIER"
    }
    noncurrent_version_expiration {
      noncurrent_days = 730
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  dynamic "rule" {
    for_each = var.glacier_prefix == null ? [] : [var.glacier_prefix]
    content {
      id     = "prefix-to-glacier"
      status = "Enabled"
      filter {
        prefix = rule.value
      }
      transition {
        days          = var.glacier_after_days
        storage_class = "GLACIER"
      }
      abort_incomplete_multipart_upload {
        days_after_initiation = 7
      }
    }
  }
}
