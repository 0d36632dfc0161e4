environment        = "hobby"
redis_enabled      = false
prometheus_enabled = false
alb_enabled        = false
# Pay per request: the alternative endpoint costs nothing while idle.
sagemaker_enabled = true
