# Workload identities. Policies name the exact buckets and prefixes each needs.

locals {
  data_arn   = module.data_bucket.arn
  models_arn = module.models_bucket.arn
  oidc_host  = var.cluster_enabled ? replace(aws_iam_openid_connect_provider.cluster[0].url, "https://", "") : ""
  namespaces = ["reefguard", "reefguard-dev"]
}

data "aws_iam_policy_document" "models_read" {
  statement {
    actions   = ["s3:GetObject", "s3:ListBucket"]
    resources = [local.models_arn, "${local.models_arn}/*"]
  }
  statement {
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.main.arn]
  }
}

data "aws_iam_policy_document" "workloads" {
  statement {
    sid       = "ReadWriteData"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:ListBucket"]
    resources = [local.data_arn, "${local.data_arn}/*"]
  }
  statement {
    sid       = "ReadWriteModels"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:ListBucket"]
    resources = [local.models_arn, "${local.models_arn}/*"]
  }
  statement {
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.main.arn]
  }
}

data "aws_iam_policy_document" "irsa_assume" {
  for_each = var.cluster_enabled ? toset(["reefguard-models-reader", "reefguard-workloads"]) : toset([])
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [aws_iam_openid_connect_provider.cluster[0].arn]
    }
    condition {
      test     = "StringEquals"
      variable = "${local.oidc_host}:sub"
      values   = [for ns in local.namespaces : "system:serviceaccount:${ns}:${each.key}"]
    }
    condition {
      test     = "StringEquals"
      variable = "${local.oidc_host}:aud"
      values   = ["sts.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "models_reader" {
  count              = var.cluster_enabled ? 1 : 0
  name               = "${local.name}-models-reader"
  assume_role_policy = data.aws_iam_policy_document.irsa_assume["reefguard-models-reader"].json
}

resource "aws_iam_role_policy" "models_reader" {
  count  = var.cluster_enabled ? 1 : 0
  name   = "read-models"
  role   = aws_iam_role.models_reader[0].id
  policy = data.aws_iam_policy_document.models_read.json
}

resource "aws_iam_role" "workloads" {
  count              = var.cluster_enabled ? 1 : 0
  name               = "${local.name}-workloads"
  assume_role_policy = data.aws_iam_policy_document.irsa_assume["reefguard-workloads"].json
}

resource "aws_iam_role_policy" "workloads" {
  count  = var.cluster_enabled ? 1 : 0
  name   = "data-and-models"
  role   = aws_iam_role.workloads[0].id
  policy = data.aws_iam_policy_document.workloads.json
}

# GitHub Actions (model-ci.yml) pushes images and promoted models through OIDC.
resource "aws_iam_openid_connect_provider" "github" {
  url            = "https://token.actions.githubusercontent.com"
  client_id_list = ["sts.amazonaws.com"]
}

data "aws_iam_policy_document" "github_assume" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [aws_iam_openid_connect_provider.github.arn]
    }
    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:aud"
      values   = ["sts.amazonaws.com"]
    }
    condition {
      test     = "StringLike"
      variable = "token.actions.githubusercontent.com:sub"
      values   = ["repo:${var.github_repository}:ref:refs/heads/main"]
    }
  }
}

data "aws_iam_policy_document" "github_ci" {
  statement {
    sid       = "EcrLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }
  statement {
    sid = "EcrPush"
    actions = [
      "ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:CompleteLayerUpload",
      "ecr:InitiateLayerUpload", "ecr:PutImage", "ecr:UploadLayerPart",
    ]
    resources = [for repo in aws_ecr_repository.main : repo.arn]
  }
  statement {
    sid       = "PublishChampion"
    actions   = ["s3:PutObject", "s3:GetObject"]
    resources = ["${local.models_arn}/reefguard-bleaching-risk/*"]
  }
  statement {
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.main.arn]
  }
}

resource "aws_iam_role" "github_ci" {
  name               = "${local.name}-github-ci"
  assume_role_policy = data.aws_iam_policy_document.github_assume.json
}

resource "aws_iam_role_policy" "github_ci" {
  name   = "push-images-and-models"
  role   = aws_iam_role.github_ci.id
  policy = data.aws_iam_policy_document.github_ci.json
}
