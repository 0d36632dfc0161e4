# EKS: an on-demand node group for serving, the stream processor and the brokers, and a spot
# GPU node group for training that rests at zero nodes. The GPU nodes carry the taint and
# label the trainer Job/CronJob select (infra/k8s/base/trainer).

resource "aws_iam_role" "cluster" {
  count              = var.cluster_enabled ? 1 : 0
  name               = "${local.name}-eks-cluster"
  assume_role_policy = data.aws_iam_policy_document.eks_assume.json
}

data "aws_iam_policy_document" "eks_assume" {
  statement {
    actions = ["sts:AssumeRole", "sts:TagSession"]
    principals {
      type        = "Service"
      identifiers = ["eks.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy_attachment" "cluster" {
  count      = var.cluster_enabled ? 1 : 0
  role       = aws_iam_role.cluster[0].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/AmazonEKSClusterPolicy"
}

resource "aws_cloudwatch_log_group" "cluster" {
  count             = var.cluster_enabled ? 1 : 0
  name              = "/aws/eks/${local.name}/cluster"
  retention_in_days = 365
  kms_key_id        = aws_kms_key.main.arn
}

resource "aws_eks_cluster" "main" {
  count                     = var.cluster_enabled ? 1 : 0
  name                      = local.name
  version                   = var.kubernetes_version
  role_arn                  = aws_iam_role.cluster[0].arn
  enabled_cluster_log_types = ["api", "audit", "authenticator", "controllerManager", "scheduler"]

  vpc_config {
    subnet_ids              = aws_subnet.private[*].id
    endpoint_private_access = true
    endpoint_public_access  = true
    public_access_cidrs     = var.cluster_admin_cidrs
  }

  encryption_config {
    resources = ["secrets"]
    provider {
      key_arn = aws_kms_key.main.arn
    }
  }

  access_config {
    authentication_mode = "API"
  }

  depends_on = [aws_iam_role_policy_attachment.cluster, aws_cloudwatch_log_group.cluster]
}

resource "aws_iam_role" "node" {
  count              = var.cluster_enabled ? 1 : 0
  name               = "${local.name}-eks-node"
  assume_role_policy = data.aws_iam_policy_document.ec2_assume.json
}

data "aws_iam_policy_document" "ec2_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy_attachment" "node" {
  for_each = var.cluster_enabled ? toset([
    "AmazonEKSWorkerNodePolicy",
    "AmazonEKS_CNI_Policy",
    "AmazonEC2ContainerRegistryReadOnly",
  ]) : toset([])
  role       = aws_iam_role.node[0].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/${each.key}"
}

resource "aws_eks_node_group" "system" {
  count           = var.cluster_enabled ? 1 : 0
  cluster_name    = aws_eks_cluster.main[0].name
  node_group_name = "system"
  node_role_arn   = aws_iam_role.node[0].arn
  subnet_ids      = aws_subnet.private[*].id
  capacity_type   = "ON_DEMAND"
  ami_type        = "AL2023_ARM_64_STANDARD"
  instance_types  = [var.system_node_instance_type]
  scaling_config {
    min_size     = 1
    desired_size = var.system_node_count
    max_size     = var.system_node_count * 3
  }
  update_config {
    max_unavailable = 1
  }
  labels     = { "reefguard.io/pool" = "system" }
  depends_on = [aws_iam_role_policy_attachment.node]
}

resource "aws_eks_node_group" "gpu" {
  count           = var.cluster_enabled ? 1 : 0
  cluster_name    = aws_eks_cluster.main[0].name
  node_group_name = "gpu-spot"
  node_role_arn   = aws_iam_role.node[0].arn
  subnet_ids      = aws_subnet.private[*].id
  capacity_type   = "SPOT"
  ami_type        = "AL2023_x86_64_NVIDIA"
  instance_types  = var.gpu_instance_types
  disk_size       = 100
  # Zero nodes at rest; the cluster autoscaler adds one when a trainer pod is pending.
  scaling_config {
    min_size     = 0
    desired_size = 0
    max_size     = var.gpu_node_max
  }
  update_config {
    max_unavailable = 1
  }
  labels = {
    "reefguard.io/pool"             = "gpu"
    "nvidia.com/gpu.present"        = "true"
    "k8s.amazonaws.com/accelerator" = "nvidia"
  }
  taint {
    key    = "nvidia.com/gpu"
    value  = "present"
    effect = "NO_SCHEDULE"
  }
  # The autoscaler changes desired_size; Terraform must not fight it.
  lifecycle {
    ignore_changes = [scaling_config[0].desired_size]
  }
  depends_on = [aws_iam_role_policy_attachment.node]
}

# IAM roles for service accounts (IRSA): pods get bucket access without node credentials.
resource "aws_iam_openid_connect_provider" "cluster" {
  count          = var.cluster_enabled ? 1 : 0
  url            = aws_eks_cluster.main[0].identity[0].oidc[0].issuer
  client_id_list = ["sts.amazonaws.com"]
}
