#!/usr/bin/env python3
"""Lists the instances Builtiful launched into a moto_server (or any EC2 endpoint), one line each.

    deploy/aws/moto-instances.py http://127.0.0.1:5005

Shows what a reviewer checks: state, type, zone, IMDSv2 and hop limit, shutdown behaviour, instance profile,
security groups and the builtiful:* tags. Uses boto3, which moto installs.
"""
import sys

import boto3

REGION = "us-east-1"


def main() -> None:
    url = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:5005"
    ec2 = boto3.client(
        "ec2",
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    pages = ec2.get_paginator("describe_instances").paginate(Filters=[{"Name": "tag-key", "Values": ["builtiful:lease"]}])
    for page in pages:
        for reservation in page["Reservations"]:
            for instance in reservation["Instances"]:
                shutdown = ec2.describe_instance_attribute(
                    InstanceId=instance["InstanceId"], Attribute="instanceInitiatedShutdownBehavior"
                )["InstanceInitiatedShutdownBehavior"]["Value"]
                metadata = instance.get("MetadataOptions", {})
                tags = {t["Key"]: t["Value"] for t in instance.get("Tags", []) if t["Key"].startswith("builtiful:")}
                print(
                    instance["InstanceId"],
                    instance["State"]["Name"],
                    instance["InstanceType"],
                    instance["Placement"]["AvailabilityZone"],
                    f"imds={metadata.get('HttpTokens')}/hops={metadata.get('HttpPutResponseHopLimit')}",
                    f"shutdown={shutdown}",
                    f"profile={instance.get('IamInstanceProfile', {}).get('Arn', 'none')}",
                    "sg=" + ",".join(g["GroupId"] for g in instance.get("SecurityGroups", [])),
                    " ".join(f"{k}={v}" for k, v in sorted(tags.items())),
                )


if __name__ == "__main__":
    main()
