# Managed services around the core platform. The network, key and bucket inputs are the
# core module's outputs (`terraform -chdir=infra/terraform/core output`).

variable "region" {
  description = "AWS region, the same as the core module's."
  type        = string
  default     = "ap-southeast-2"
}

variable "environment" {
  description = "Environment name, the same as the core module's."
  type        = string
  default     = "hobby"
}

variable "vpc_id" {
  description = "core output vpc_id."
  type        = string
}

variable "public_subnet_ids" {
  description = "core output public_subnet_ids (the load balancer)."
  type        = list(string)
}

variable "private_subnet_ids" {
  description = "core output private_subnet_ids (Redis)."
  type        = list(string)
}

variable "kms_key_arn" {
  description = "core output kms_key_arn."
  type        = string
}

variable "models_bucket" {
  description = "core output models_bucket."
  type        = string
}

variable "redis_enabled" {
  description = "ElastiCache Redis as the online feature store (off at hobby size: Redis runs on the single host)."
  type        = bool
  default     = false
}

variable "redis_node_type" {
  description = "ElastiCache node type."
  type        = string
  default     = "cache.t4g.micro"
}

variable "redis_replicas" {
  description = "Read replicas beside the primary (1+ gives automatic failover)."
  type        = number
  default     = 0
}

variable "redis_allowed_cidrs" {
  description = "CIDRs that may reach Redis (the cluster's private subnets)."
  type        = list(string)
  default     = ["10.40.10.0/24", "10.40.11.0/24"]
}

variable "prometheus_enabled" {
  description = "Amazon Managed Service for Prometheus workspace (off at hobby size: Prometheus runs on the single host)."
  type        = bool
  default     = false
}

variable "prometheus_active_series" {
  description = "Active series the cluster's Prometheus agent remote-writes; cost estimate only."
  type        = number
  default     = 2000
}

variable "prometheus_scrape_interval_s" {
  description = "Scrape interval of the remote-written series; cost estimate only."
  type        = number
  default     = 30
}

variable "alb_enabled" {
  description = "Application load balancer in front of serving (off at hobby size: the single host terminates TLS)."
  type        = bool
  default     = false
}

variable "certificate_arn" {
  description = "ACM certificate for the load balancer's HTTPS listener."
  type        = string
  default     = ""
}

variable "alb_allowed_cidrs" {
  description = "CIDRs allowed to the load balancer."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

variable "sagemaker_enabled" {
  description = "SageMaker Serverless Inference endpoint for the champion ONNX model (pay per request: no idle cost)."
  type        = bool
  default     = true
}

variable "sagemaker_image_uri" {
  description = "Inference container able to serve ONNX (for example a Triton image from the region's SageMaker registry)."
  type        = string
  default     = "000000000000.dkr.ecr.ap-southeast-2.amazonaws.com/sagemaker-tritonserver:24.09-py3"
}

variable "sagemaker_memory_mb" {
  description = "Serverless endpoint memory (1024-6144 in 1 GB steps)."
  type        = number
  default     = 2048
}

variable "sagemaker_max_concurrency" {
  description = "Serverless endpoint maximum concurrency."
  type        = number
  default     = 5
}

variable "sagemaker_requests_per_month" {
  description = "Expected invocations per month; cost estimate only."
  type        = number
  default     = 10000
}

variable "sagemaker_ms_per_request" {
  description = "Expected billed duration per invocation; cost estimate only."
  type        = number
  default     = 50
}
