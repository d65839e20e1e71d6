data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  account      = data.aws_caller_identity.current.account_id
  partition    = data.aws_partition.current.partition
  arn          = "arn:${local.partition}:ec2:${var.region}:${local.account}"
  image_owners = length(var.runner_image_owners) > 0 ? var.runner_image_owners : [local.account]
}

# What the Builtiful control plane (the silos) may do in EC2: launch runners into these subnets with this
# security group, IMDSv2 and Builtiful's tags; tag only at launch; terminate only what carries the cluster tag;
# and read. No iam:PassRole, so no runner can ever get an instance profile through this policy.
data "aws_iam_policy_document" "control_plane" {
  statement {
    sid       = "LaunchRunnerInstances"
    actions   = ["ec2:RunInstances"]
    resources = ["${local.arn}:instance/*"]

    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/builtiful:cluster"
      values   = [var.cluster_name]
    }

    condition {
      test     = "Null"
      variable = "aws:RequestTag/builtiful:lease"
      values   = ["false"]
    }

    condition {
      test     = "ForAllValues:StringLike"
      variable = "aws:TagKeys"
      values   = ["builtiful:*", "Name"]
    }

    condition {
      test     = "StringEquals"
      variable = "ec2:MetadataHttpTokens"
      values   = ["required"]
    }

    condition {
      test     = "NumericLessThanEquals"
      variable = "ec2:MetadataHttpPutResponseHopLimit"
      values   = ["1"]
    }
  }

  statement {
    sid       = "LaunchRunnerVolumes"
    actions   = ["ec2:RunInstances"]
    resources = ["${local.arn}:volume/*"]

    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/builtiful:cluster"
      values   = [var.cluster_name]
    }

    condition {
      test     = "Bool"
      variable = "ec2:Encrypted"
      values   = ["true"]
    }
  }

  statement {
    sid     = "LaunchIntoRunnerNetworkOnly"
    actions = ["ec2:RunInstances"]
    resources = concat(
      [for subnet in aws_subnet.runners : subnet.arn],
      [aws_security_group.runner.arn],
    )
  }

  statement {
    sid       = "LaunchRunnerNetworkInterfaces"
    actions   = ["ec2:RunInstances"]
    resources = ["${local.arn}:network-interface/*"]

    condition {
      test     = "ArnEquals"
      variable = "ec2:Vpc"
      values   = [aws_vpc.runners.arn]
    }
  }

  statement {
    sid       = "LaunchRunnerImages"
    actions   = ["ec2:RunInstances"]
    resources = ["arn:${local.partition}:ec2:${var.region}::image/*"]

    condition {
      test     = "StringEquals"
      variable = "ec2:Owner"
      values   = local.image_owners
    }
  }

  statement {
    sid       = "LaunchSpotRunners"
    actions   = ["ec2:RunInstances"]
    resources = ["${local.arn}:spot-instances-request/*"]
  }

  statement {
    sid       = "TagOnlyWhileLaunching"
    actions   = ["ec2:CreateTags"]
    resources = ["${local.arn}:instance/*", "${local.arn}:volume/*"]

    condition {
      test     = "StringEquals"
      variable = "ec2:CreateAction"
      values   = ["RunInstances"]
    }
  }

  statement {
    sid       = "TerminateOwnRunnersOnly"
    actions   = ["ec2:TerminateInstances"]
    resources = ["${local.arn}:instance/*"]

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/builtiful:cluster"
      values   = [var.cluster_name]
    }
  }

  # Describe calls support no resource-level permissions; they read state only.
  statement {
    sid       = "ReadInstancesAndSubnets"
    actions   = ["ec2:DescribeInstances", "ec2:DescribeSubnets"]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "aws:RequestedRegion"
      values   = [var.region]
    }
  }
}

resource "aws_iam_policy" "control_plane" {
  name        = "${var.name_prefix}-control-plane"
  description = "Builtiful silos: launch, tag at launch, describe and terminate Builtiful runner instances only"
  policy      = data.aws_iam_policy_document.control_plane.json
}

resource "aws_iam_role_policy_attachment" "control_plane" {
  count = var.control_plane_role_name == null ? 0 : 1

  role       = var.control_plane_role_name
  policy_arn = aws_iam_policy.control_plane.arn
}

resource "aws_iam_service_linked_role" "spot" {
  count = var.create_spot_service_linked_role ? 1 : 0

  aws_service_name = "spot.amazonaws.com"
}
