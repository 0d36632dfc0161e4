# Hobby size: no cluster, no NAT gateway; one small ARM spot host runs the one-machine
# stack. Idle target about AUD 20/month (infra/cost/estimate.py checks it).
environment         = "hobby"
cluster_enabled     = false
nat_gateway_enabled = false
single_host_enabled = true
data_bucket_gb      = 5
models_bucket_gb    = 1
ecr_storage_gb      = 3
gpu_hours_per_month = 0
