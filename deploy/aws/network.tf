data "aws_availability_zones" "available" {
  state = "available"

  filter {
    name   = "opt-in-status"
    values = ["opt-in-not-required"]
  }
}

locals {
  zones = length(var.availability_zones) > 0 ? var.availability_zones : slice(data.aws_availability_zones.available.names, 0, 3)
  runner_subnets = {
    for index, zone in local.zones : zone => cidrsubnet(var.vpc_cidr, var.subnet_newbits, index)
  }
}

resource "aws_vpc" "runners" {
  cidr_block           = var.vpc_cidr
  enable_dns_support   = true
  enable_dns_hostnames = true

  tags = { Name = var.name_prefix }
}

resource "aws_internet_gateway" "runners" {
  vpc_id = aws_vpc.runners.id

  tags = { Name = var.name_prefix }
}

# Public subnets: each runner gets its own public address and leaves through the internet gateway, so no NAT is
# shared between customers' jobs. The security group below admits no inbound connection at all.
resource "aws_subnet" "runners" {
  for_each = local.runner_subnets

  vpc_id                  = aws_vpc.runners.id
  availability_zone       = each.key
  cidr_block              = each.value
  map_public_ip_on_launch = true

  tags = { Name = "${var.name_prefix}-${each.key}" }
}

resource "aws_route_table" "runners" {
  vpc_id = aws_vpc.runners.id

  route {
    cidr_block = "0.0.0.0/0"
    gateway_id = aws_internet_gateway.runners.id
  }

  tags = { Name = var.name_prefix }
}

resource "aws_route_table_association" "runners" {
  for_each = aws_subnet.runners

  subnet_id      = each.value.id
  route_table_id = aws_route_table.runners.id
}

# The VPC's default security group and network ACL allow nothing, so nothing launched here by mistake is reachable.
resource "aws_default_security_group" "locked" {
  vpc_id = aws_vpc.runners.id

  tags = { Name = "${var.name_prefix}-default-unused" }
}

resource "aws_default_network_acl" "locked" {
  default_network_acl_id = aws_vpc.runners.default_network_acl_id

  tags = { Name = "${var.name_prefix}-default-unused" }

  lifecycle {
    ignore_changes = [subnet_ids]
  }
}

# Runners: no ingress rule at all (stateful, so replies to the runner's own connections still arrive). This is
# also what separates two runners in the same subnet, where network ACLs do not apply.
resource "aws_security_group" "runner" {
  name        = "${var.name_prefix}-runner"
  description = "Builtiful runner VMs: no ingress; egress to the internet"
  vpc_id      = aws_vpc.runners.id

  tags = { Name = "${var.name_prefix}-runner" }
}

resource "aws_vpc_security_group_egress_rule" "runner_internet" {
  security_group_id = aws_security_group.runner.id
  description       = "Jobs reach GitHub, registries and the internet"
  ip_protocol       = "-1"
  cidr_ipv4         = "0.0.0.0/0"
}

# Runner subnets' ACL: nothing to or from any runner subnet (runner-to-runner across subnets), internet egress,
# and only replies (ephemeral ports, path-MTU ICMP) inbound. Stateless, so every rule is written both ways.
# Traffic to the VPC's DNS resolver, DHCP and instance metadata is not subject to network ACLs.
resource "aws_network_acl" "runners" {
  vpc_id     = aws_vpc.runners.id
  subnet_ids = [for subnet in aws_subnet.runners : subnet.id]

  dynamic "egress" {
    for_each = values(local.runner_subnets)
    content {
      rule_no    = 100 + egress.key
      protocol   = "-1"
      action     = "deny"
      cidr_block = egress.value
      from_port  = 0
      to_port    = 0
    }
  }

  egress {
    rule_no    = 1000
    protocol   = "-1"
    action     = "allow"
    cidr_block = "0.0.0.0/0"
    from_port  = 0
    to_port    = 0
  }

  dynamic "ingress" {
    for_each = values(local.runner_subnets)
    content {
      rule_no    = 100 + ingress.key
      protocol   = "-1"
      action     = "deny"
      cidr_block = ingress.value
      from_port  = 0
      to_port    = 0
    }
  }

  ingress {
    rule_no    = 1000
    protocol   = "tcp"
    action     = "allow"
    cidr_block = "0.0.0.0/0"
    from_port  = 1024
    to_port    = 65535
  }

  ingress {
    rule_no    = 1010
    protocol   = "udp"
    action     = "allow"
    cidr_block = "0.0.0.0/0"
    from_port  = 1024
    to_port    = 65535
  }

  ingress {
    rule_no    = 1020
    protocol   = "icmp"
    action     = "allow"
    cidr_block = "0.0.0.0/0"
    from_port  = 0
    to_port    = 0
    icmp_type  = 3
    icmp_code  = 4
  }

  tags = { Name = var.name_prefix }
}
