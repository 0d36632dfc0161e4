# Production: EKS with two on-demand ARM nodes and a spot GPU pool resting at zero.
environment               = "prod"
cluster_enabled           = true
nat_gateway_enabled       = true
single_host_enabled       = false
system_node_instance_type = "t4g.large"
system_node_count         = 2
gpu_instance_types        = ["g4dn.xlarge", "g5.xlarge"]
gpu_node_max              = 2
gpu_hours_per_month       = 12
data_bucket_gb            = 200
models_bucket_gb          = 20
ecr_storage_gb            = 15
