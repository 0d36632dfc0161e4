output "vpc_id" {
  value = aws_vpc.main.id
}

output "public_subnet_ids" {
  value = aws_subnet.public[*].id
}

output "private_subnet_ids" {
  value = aws_subnet.private[*].id
}

output "kms_key_arn" {
  value = aws_kms_key.main.arn
}

output "data_bucket" {
  value = module.data_bucket.id
}

output "models_bucket" {
  value = module.models_bucket.id
}

output "ecr_repositories" {
  value = { for name, repo in aws_ecr_repository.main : name => repo.repository_url }
}

output "cluster_name" {
  value = var.cluster_enabled ? aws_eks_cluster.main[0].name : null
}

output "models_reader_role_arn" {
  description = "Annotate the reefguard-models-reader service account with it (infra/k8s overlays)."
  value       = var.cluster_enabled ? aws_iam_role.models_reader[0].arn : null
}

output "workloads_role_arn" {
  value = var.cluster_enabled ? aws_iam_role.workloads[0].arn : null
}

output "github_ci_role_arn" {
  value = aws_iam_role.github_ci.arn
}

output "single_host_public_ip" {
  value = var.single_host_enabled ? aws_instance.single_host[0].public_ip : null
}
