#!/usr/bin/env python3
"""Creates a runner network in a running moto_server and prints the settings Builtiful needs to launch into it.

    moto_server -H 127.0.0.1 -p 5005 &
    eval "$(deploy/aws/moto-network.py http://127.0.0.1:5005)"
    dotnet run --project src/Builtiful.Embedded

moto listens on 5005 here because 5000 is Builtiful's own default port.
moto stands in for EC2 only: it accepts any image id, launches nothing real, and models no throttling,
capacity or ClientToken idempotency. Uses boto3, which moto installs.
"""
import sys

import boto3

REGION = "us-east-1"
ZONES = ["us-east-1a", "us-east-1b", "us-east-1c"]


def main() -> None:
    url = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:5005"
    ec2 = boto3.client(
        "ec2",
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    vpc = ec2.create_vpc(CidrBlock="10.64.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, AvailabilityZone=zone, CidrBlock=f"10.64.{index * 16}.0/20")["Subnet"]["SubnetId"]
        for index, zone in enumerate(ZONES)
    ]
    group = ec2.create_security_group(
        GroupName="builtiful-runner", Description="Builtiful runners: no ingress", VpcId=vpc
    )["GroupId"]

    settings = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_EC2_METADATA_DISABLED": "true",
        "Compute__Provider": "Ec2",
        "Compute__Ec2__Region": REGION,
        "Compute__Ec2__ServiceUrl": url,
        "Compute__Ec2__SecurityGroupId": group,
        "Compute__Ec2__Images__x64": "ami-0b1d2c3e4f5a6b7c8",
        "Compute__Ec2__Images__arm64": "ami-0a1b2c3d4e5f6a7b8",
    }
    settings.update({f"Compute__Ec2__SubnetIds__{index}": subnet for index, subnet in enumerate(subnets)})
    for key, value in settings.items():
        print(f"export {key}={value}")


if __name__ == "__main__":
    main()
