# Sizes and switches of the core platform. env/hobby.tfvars and env/prod.tfvars choose them;
# infra/cost/estimate.py prices exactly these values.

variable "region" {
  description = "AWS region; Sydney is closest to the Great Barrier Reef gateways."
  type        = string
  default     = "ap-southeast-2"
}

variable "environment" {
  description = "Environment name, part of every resource name (hobby, dev, prod)."
  type        = string
  default     = "hobby"
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,15}$", var.environment))
    error_message = "environment must be 2-16 lowercase letters, digits or dashes."
  }
}

variable "vpc_cidr" {
  description = "CIDR of the VPC; split into two public and two private subnets."
  type        = string
  default     = "10.40.0.0/16"
}

variable "availability_zones" {
  description = "Two availability zones for the subnets."
  type        = list(string)
  default     = ["ap-southeast-2a", "ap-southeast-2b"]
  validation {
    condition     = length(var.availability_zones) == 2
    error_message = "exactly two availability zones are expected."
  }
}

variable "nat_gateway_enabled" {
  description = "One NAT gateway for the private subnets (needed by EKS nodes; about USD 43/month idle)."
  type        = bool
  default     = false
}

variable "cluster_enabled" {
  description = "Create the EKS cluster and its node groups. Off at hobby size: the control plane alone is about USD 73/month."
  type        = bool
  default     = false
}

variable "kubernetes_version" {
  description = "EKS Kubernetes version."
  type        = string
  default     = "1.33"
}

variable "cluster_admin_cidrs" {
  description = "CIDRs allowed to reach the EKS public API endpoint."
  type        = list(string)
  default     = ["203.0.113.0/24"]
}

variable "system_node_instance_type" {
  description = "Instance type of the on-demand node group (serving, stream processor, brokers)."
  type        = string
  default     = "t4g.large"
}

variable "system_node_count" {
  description = "Desired size of the on-demand node group."
  type        = number
  default     = 2
}

variable "gpu_instance_types" {
  description = "Spot instance types the GPU node group may use (several, so spot capacity is found)."
  type        = list(string)
  default     = ["g4dn.xlarge", "g5.xlarge"]
}

variable "gpu_node_max" {
  description = "Most GPU nodes at once; the group rests at zero and scales up for trainer Jobs."
  type        = number
  default     = 1
}

variable "gpu_hours_per_month" {
  description = "Expected GPU node hours per month (weekly retraining plus drift retrains); used by the cost estimate only."
  type        = number
  default     = 6
}

variable "single_host_enabled" {
  description = "At hobby size, one small spot instance runs the one-machine stack (brokers, Redis, serving, stream processor) instead of a cluster."
  type        = bool
  default     = true
}

variable "single_host_instance_type" {
  description = "Instance type of the single host."
  type        = string
  default     = "t4g.small"
}

variable "single_host_volume_gb" {
  description = "Root volume of the single host (DuckDB offline store, queues)."
  type        = number
  default     = 20
}

variable "data_bucket_gb" {
  description = "Expected size of the data bucket (raw files, Parquet training sets); cost estimate only."
  type        = number
  default     = 5
}

variable "models_bucket_gb" {
  description = "Expected size of the models bucket (ONNX files, model cards, MLflow artifacts); cost estimate only."
  type        = number
  default     = 1
}

variable "ecr_storage_gb" {
  description = "Expected size of the image repositories after lifecycle expiry; cost estimate only."
  type        = number
  default     = 3
}

variable "glacier_after_days" {
  description = "Objects move to Glacier Flexible Retrieval after this many days (the seed's 90)."
  type        = number
  default     = 90
}

variable "github_repository" {
  description = "owner/name of the repository whose workflows may push images and models (OIDC, no stored keys)."
  type        = string
  default     = "reefguard/reefguard"
}

variable "edge_gateway_cidrs" {
  description = "CIDRs of the buoy gateways' uplinks allowed to reach MQTT/NATS over TLS on the single host."
  type        = list(string)
  default     = ["203.0.113.0/24"]
}
