output "vpc_id" {
  value = aws_vpc.runners.id
}

output "subnet_ids" {
  description = "Compute:Ec2:SubnetIds, one per availability zone."
  value       = [for zone in local.zones : aws_subnet.runners[zone].id]
}

output "security_group_id" {
  description = "Compute:Ec2:SecurityGroupId."
  value       = aws_security_group.runner.id
}

output "control_plane_policy_arn" {
  value = aws_iam_policy.control_plane.arn
}

output "builtiful_environment" {
  description = "Environment variables for the silos (images are set separately: Compute__Ec2__Images__x64, __arm64)."
  value = merge(
    {
      Compute__Provider             = "Ec2"
      Compute__Ec2__Region          = var.region
      Compute__Ec2__SecurityGroupId = aws_security_group.runner.id
      Compute__Ec2__ClusterName     = var.cluster_name
    },
    { for index, zone in local.zones : "Compute__Ec2__SubnetIds__${index}" => aws_subnet.runners[zone].id },
  )
}
