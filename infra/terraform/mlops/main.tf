# ElastiCache Redis (online features), Amazon Managed Prometheus (metrics), an ALB in front
# of serving, and SageMaker Serverless Inference as the alternative endpoint for the same
# ONNX artifact. Each is switched by a variable so hobby size pays only for what it uses.

locals {
  name = "reefguard-${var.environment}"
}

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

# --- Online feature store ----------------------------------------------------------------

resource "aws_elasticache_subnet_group" "redis" {
  count      = var.redis_enabled ? 1 : 0
  name       = "${local.name}-redis"
  subnet_ids = var.private_subnet_ids
}

resource "aws_security_group" "redis" {
  count       = var.redis_enabled ? 1 : 0
  name        = "${local.name}-redis"
  description = "Redis online feature store: TLS from the cluster only"
  vpc_id      = var.vpc_id
  ingress {
    description = "Redis TLS from the cluster's private subnets"
    from_port   = 6379
    to_port     = 6379
    protocol    = "tcp"
    cidr_blocks = var.redis_allowed_cidrs
  }
}

resource "random_password" "redis" {
  count   = var.redis_enabled ? 1 : 0
  length  = 48
  special = false
}

# Features expire after 8 hours (core's ONLINE_TTL_SECONDS); volatile-ttl evicts the keys
# closest to expiry first if memory ever runs out, and an eviction alarm is in the runbook.
resource "aws_elasticache_parameter_group" "redis" {
  count  = var.redis_enabled ? 1 : 0
  name   = "${local.name}-redis7"
  family = "redis7"
  parameter {
    name  = "maxmemory-policy"
    value = "volatile-ttl"
  }
}

resource "aws_elasticache_replication_group" "redis" {
  #checkov:skip=CKV2_AWS_50:multi-AZ failover follows var.redis_replicas (prod: 1); online features are rebuilt by the stream processor within minutes
  count                      = var.redis_enabled ? 1 : 0
  replication_group_id       = "${local.name}-features"
  description                = "ReefGuard online feature store"
  engine                     = "redis"
  engine_version             = "7.1"
  node_type                  = var.redis_node_type
  num_cache_clusters         = 1 + var.redis_replicas
  automatic_failover_enabled = var.redis_replicas > 0
  multi_az_enabled           = var.redis_replicas > 0
  parameter_group_name       = aws_elasticache_parameter_group.redis[0].name
  subnet_group_name          = aws_elasticache_subnet_group.redis[0].name
  security_group_ids         = [aws_security_group.redis[0].id]
  at_rest_encryption_enabled = true
  kms_key_id                 = var.kms_key_arn
  transit_encryption_enabled = true
  auth_token                 = random_password.redis[0].result
  snapshot_retention_limit   = 1
  auto_minor_version_upgrade = true
}

# --- Metrics ---------------------------------------------------------------------------

resource "aws_cloudwatch_log_group" "prometheus" {
  count             = var.prometheus_enabled ? 1 : 0
  name              = "/reefguard/${var.environment}/prometheus"
  retention_in_days = 365
  kms_key_id        = var.kms_key_arn
}

resource "aws_prometheus_workspace" "main" {
  count       = var.prometheus_enabled ? 1 : 0
  alias       = local.name
  kms_key_arn = var.kms_key_arn
  logging_configuration {
    log_group_arn = "${aws_cloudwatch_log_group.prometheus[0].arn}:*"
  }
}

# --- Load balancer in front of serving ------------------------------------------------

resource "aws_security_group" "alb" {
  count       = var.alb_enabled ? 1 : 0
  name        = "${local.name}-alb"
  description = "HTTPS to the prediction API"
  vpc_id      = var.vpc_id
  ingress {
    description = "HTTPS"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = var.alb_allowed_cidrs
  }
  egress {
    description = "to serving pods in the VPC"
    from_port   = 8080
    to_port     = 8080
    protocol    = "tcp"
    cidr_blocks = ["10.0.0.0/8"]
  }
}

# ALB access logs support only SSE-S3, not KMS keys.
resource "aws_s3_bucket" "alb_logs" {
  #checkov:skip=CKV_AWS_145:ALB access logs can only be written with SSE-S3
  #checkov:skip=CKV_AWS_18:a log bucket does not log itself
  #checkov:skip=CKV_AWS_144:load balancer logs are not replicated
  #checkov:skip=CKV2_AWS_62:nothing consumes log events
  count  = var.alb_enabled ? 1 : 0
  bucket = "${local.name}-alb-logs-${data.aws_caller_identity.current.account_id}"
}

resource "aws_s3_bucket_versioning" "alb_logs" {
  count  = var.alb_enabled ? 1 : 0
  bucket = aws_s3_bucket.alb_logs[0].id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "alb_logs" {
  count  = var.alb_enabled ? 1 : 0
  bucket = aws_s3_bucket.alb_logs[0].id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "alb_logs" {
  count  = var.alb_enabled ? 1 : 0
  bucket = aws_s3_bucket.alb_logs[0].id
  rule {
    id     = "expire-alb-logs"
    status = "Enabled"
    filter {}
    expiration {
      days = 90
    }
    noncurrent_version_expiration {
      noncurrent_days = 7
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }
}

resource "aws_s3_bucket_public_access_block" "alb_logs" {
  count                   = var.alb_enabled ? 1 : 0
  bucket                  = aws_s3_bucket.alb_logs[0].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

# Load balancer access logs are delivered by the ELB service: let it write, over TLS only.
data "aws_elb_service_account" "main" {}

resource "aws_s3_bucket_policy" "alb_logs" {
  count  = var.alb_enabled ? 1 : 0
  bucket = aws_s3_bucket.alb_logs[0].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:*"
        Resource  = [aws_s3_bucket.alb_logs[0].arn, "${aws_s3_bucket.alb_logs[0].arn}/*"]
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
      {
        Sid       = "ElbAccessLogs"
        Effect    = "Allow"
        Principal = { AWS = data.aws_elb_service_account.main.arn }
        Action    = "s3:PutObject"
        Resource  = "${aws_s3_bucket.alb_logs[0].arn}/AWSLogs/${data.aws_caller_identity.current.account_id}/*"
      },
    ]
  })
}

resource "aws_lb" "serving" {
  #checkov:skip=CKV2_AWS_28:no WAF yet: predictions are read-only and admin routes need the bearer token; WAF is a listed prod hardening step (docs/runbook.md)
  count                      = var.alb_enabled ? 1 : 0
  name                       = "${local.name}-serving"
  load_balancer_type         = "application"
  internal                   = false
  subnets                    = var.public_subnet_ids
  security_groups            = [aws_security_group.alb[0].id]
  drop_invalid_header_fields = true
  enable_deletion_protection = true
  access_logs {
    bucket  = aws_s3_bucket.alb_logs[0].id
    enabled = true
  }
  depends_on = [aws_s3_bucket_policy.alb_logs]
}

# Targets are the serving pods' IPs, registered by the AWS Load Balancer Controller
# (TargetGroupBinding); health is serving's own readiness endpoint.
resource "aws_lb_target_group" "serving" {
  count       = var.alb_enabled ? 1 : 0
  name        = "${local.name}-serving"
  port        = 8080
  protocol    = "HTTP"
  target_type = "ip"
  vpc_id      = var.vpc_id
  health_check {
    path                = "/readyz"
    matcher             = "200"
    interval            = 10
    healthy_threshold   = 2
    unhealthy_threshold = 2
  }
}

resource "aws_lb_listener" "https" {
  count             = var.alb_enabled ? 1 : 0
  load_balancer_arn = aws_lb.serving[0].arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = var.certificate_arn
  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.serving[0].arn
  }
}

# --- SageMaker Serverless Inference: the alternative endpoint ----------------------------

data "aws_iam_policy_document" "sagemaker_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["sagemaker.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "sagemaker" {
  count              = var.sagemaker_enabled ? 1 : 0
  name               = "${local.name}-sagemaker"
  assume_role_policy = data.aws_iam_policy_document.sagemaker_assume.json
}

resource "aws_iam_role_policy" "sagemaker" {
  #checkov:skip=CKV_AWS_355:ecr:GetAuthorizationToken has no resource-level permissions; the inference image lives in an AWS-owned registry
  count = var.sagemaker_enabled ? 1 : 0
  name  = "read-champion"
  role  = aws_iam_role.sagemaker[0].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect   = "Allow"
        Action   = ["s3:GetObject"]
        Resource = "arn:${data.aws_partition.current.partition}:s3:::${var.models_bucket}/reefguard-bleaching-risk/*"
      },
      {
        Effect   = "Allow"
        Action   = ["kms:Decrypt"]
        Resource = var.kms_key_arn
      },
      {
        Effect   = "Allow"
        Action   = ["ecr:GetAuthorizationToken", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
        Resource = "*"
      },
      {
        Effect   = "Allow"
        Action   = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = "arn:${data.aws_partition.current.partition}:logs:${var.region}:${data.aws_caller_identity.current.account_id}:log-group:/aws/sagemaker/*"
      },
    ]
  })
}

# The champion's ONNX file and card, packed as model.tar.gz by model-ci on promotion.
resource "aws_sagemaker_model" "champion" {
  count                    = var.sagemaker_enabled ? 1 : 0
  name                     = "${local.name}-champion"
  execution_role_arn       = aws_iam_role.sagemaker[0].arn
  enable_network_isolation = true
  primary_container {
    image          = var.sagemaker_image_uri
    model_data_url = "s3://${var.models_bucket}/reefguard-bleaching-risk/champion/model.tar.gz"
    environment = {
      SAGEMAKER_TRITON_DEFAULT_MODEL_NAME = "reefguard-bleaching-risk"
    }
  }
}

resource "aws_sagemaker_endpoint_configuration" "champion" {
  count       = var.sagemaker_enabled ? 1 : 0
  name        = "${local.name}-champion-serverless"
  kms_key_arn = var.kms_key_arn
  production_variants {
    variant_name = "champion"
    model_name   = aws_sagemaker_model.champion[0].name
    serverless_config {
      memory_size_in_mb = var.sagemaker_memory_mb
      max_concurrency   = var.sagemaker_max_concurrency
    }
  }
}

resource "aws_sagemaker_endpoint" "champion" {
  count                = var.sagemaker_enabled ? 1 : 0
  name                 = "${local.name}-champion"
  endpoint_config_name = aws_sagemaker_endpoint_configuration.champion[0].name
}
