variable "region" {
  description = "AWS region the runners launch in (Compute:Ec2:Region)."
  type        = string
}

variable "cluster_name" {
  description = "Value of the builtiful:cluster tag on every runner (Compute:Ec2:ClusterName). The control-plane policy only touches instances carrying it."
  type        = string
  default     = "builtiful"

  validation {
    condition     = can(regex("^[A-Za-z0-9_.:/=+@-]{1,128}$", var.cluster_name))
    error_message = "cluster_name must be a valid EC2 tag value of 1 to 128 characters."
  }
}

variable "name_prefix" {
  description = "Prefix of the names of the resources created here."
  type        = string
  default     = "builtiful-runners"
}

variable "vpc_cidr" {
  description = "Address range of the runner VPC."
  type        = string
  default     = "10.64.0.0/16"

  validation {
    condition     = can(cidrnetmask(var.vpc_cidr))
    error_message = "vpc_cidr must be an IPv4 CIDR block such as 10.64.0.0/16."
  }
}

variable "availability_zones" {
  description = "Zones for the runner subnets, one subnet each. Empty: the first three zones the region offers."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.availability_zones) == 0 || length(var.availability_zones) >= 2
    error_message = "Give at least two availability zones, so a zone without capacity is not the end of a launch."
  }
}

variable "subnet_newbits" {
  description = "Bits added to the VPC prefix for each runner subnet (4 on a /16 gives /20 subnets of 4091 runners each)."
  type        = number
  default     = 4
}

variable "runner_image_owners" {
  description = "Account ids (or \"amazon\") whose AMIs the control plane may launch. Empty: this account only, where runner images are built."
  type        = list(string)
  default     = []
}

variable "control_plane_role_name" {
  description = "Name of an existing IAM role the Builtiful silos run as; the control-plane policy is attached to it. Null: attach the policy yourself."
  type        = string
  default     = null
}

variable "create_spot_service_linked_role" {
  description = "Create AWSServiceRoleForEC2Spot, which EC2 needs before the first spot launch in an account. Leave false if the account already has it."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Extra tags on every resource created here."
  type        = map(string)
  default     = {}
}
