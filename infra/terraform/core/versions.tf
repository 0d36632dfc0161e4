terraform {
  required_version = ">= 1.6.0, < 2.0.0"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.90"
    }
  }
  # State lives in S3 with native locking; the bucket is created once by hand (bootstrap
  # chicken-and-egg) and passed with -backend-config at init.
  backend "s3" {
    key          = "reefguard/core.tfstate"
    use_lockfile = true
    encrypt      = true
  }
}

provider "aws" {
  region = var.region
  default_tags {
    tags = {
      project     = "reefguard"
      environment = var.environment
      managed-by  = "terraform"
    }
  }
}
