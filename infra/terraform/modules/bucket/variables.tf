variable "name" {
  description = "Bucket name (globally unique)."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key for default encryption."
  type        = string
}

variable "access_log_bucket" {
  description = "Bucket receiving this bucket's access logs."
  type        = string
}

variable "access_log_prefix" {
  description = "Prefix of this bucket's access logs."
  type        = string
}

variable "glacier_after_days" {
  description = "Days after which superseded versions (and objects under glacier_prefix) move to Glacier."
  type        = number
  default     = 90
}

variable "glacier_prefix" {
  description = "Current objects under this prefix also move to Glacier; null keeps every current object in Intelligent-Tiering."
  type        = string
  default     = null
}
