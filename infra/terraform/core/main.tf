# Core platform: network, encryption key, buckets, image repositories, identities, and the
# compute that runs ReefGuard: an EKS cluster with a spot GPU node group, or at hobby size a
# single spot host running the one-machine stack.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  name       = "reefguard-${var.environment}"
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  # Two public subnets (load balancers, the single host, the NAT gateway) and two private
  # ones (cluster nodes), one of each per availability zone.
  public_cidrs  = [for i in range(2) : cidrsubnet(var.vpc_cidr, 8, i)]
  private_cidrs = [for i in range(2) : cidrsubnet(var.vpc_cidr, 8, 10 + i)]
}

resource "aws_kms_key" "main" {
  description             = "${local.name}: buckets, logs, ECR and Kubernetes secrets"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms.json
}

resource "aws_kms_alias" "main" {
  name          = "alias/${local.name}"
  target_key_id = aws_kms_key.main.key_id
}

# A key policy: "*" as the resource means this key only.
data "aws_iam_policy_document" "kms" {
  #checkov:skip=CKV_AWS_109:key policy; the account root administering its own key is AWS's default
  #checkov:skip=CKV_AWS_111:key policy; resource "*" is this key
  #checkov:skip=CKV_AWS_356:key policy; resource "*" is this key
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }
  statement {
    sid       = "CloudWatchLogsEncrypt"
    actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["logs.${var.region}.amazonaws.com"]
    }
  }
}
