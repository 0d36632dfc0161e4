output "redis_primary_endpoint" {
  description = "REEFGUARD_REDIS_URL is rediss://:<auth token>@<this>:6379 (store it as a secret)."
  value       = var.redis_enabled ? aws_elasticache_replication_group.redis[0].primary_endpoint_address : null
}

output "redis_auth_token" {
  value     = var.redis_enabled ? random_password.redis[0].result : null
  sensitive = true
}

output "prometheus_remote_write_url" {
  value = var.prometheus_enabled ? "${aws_prometheus_workspace.main[0].prometheus_endpoint}api/v1/remote_write" : null
}

output "serving_target_group_arn" {
  value = var.alb_enabled ? aws_lb_target_group.serving[0].arn : null
}

output "serving_url" {
  value = var.alb_enabled ? "https://${aws_lb.serving[0].dns_name}" : null
}

output "sagemaker_endpoint_name" {
  value = var.sagemaker_enabled ? aws_sagemaker_endpoint.champion[0].name : null
}
