#!/usr/bin/env python3
"""Seeds a moto server with an account whose AWS Config recorder records, for the AWS adapter's
AWS Config test.

    python e2e/scripts/seed-aws-config.py --endpoint-url http://127.0.0.1:PORT \
        [--account-id ID] [--resource-types all | TYPE,TYPE,...]

Creates what moto's AWS Config answers `ListDiscoveredResources` / `BatchGetResourceConfig` for
(S3 buckets, the account-level S3 Block Public Access, customer managed IAM policies, IAM roles)
and one kind it does not (a security group), then a configuration recorder, a delivery channel,
and starts recording.

`--resource-types all` (the default) records every supported type including the global (IAM)
ones; a comma-separated list records only those types.

Prints a JSON summary with the names and ids the test asserts on.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
from typing import Any

import boto3

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("seed_aws", os.path.join(HERE, "seed-aws.py"))
assert _spec and _spec.loader
seed_aws = importlib.util.module_from_spec(_spec)
sys.modules["seed_aws"] = seed_aws
_spec.loader.exec_module(seed_aws)


def account_public_access_block(ctx: Any) -> None:
    acct = ctx.account_id
    s3control = seed_aws.s3control_client(ctx)
    s3control.put_public_access_block(
        AccountId=acct,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": False,
            "RestrictPublicBuckets": False,
        },
    )


def recording_group(resource_types: str) -> dict[str, Any]:
    if resource_types == "all":
        return {"allSupported": True, "includeGlobalResourceTypes": True}
    return {
        "allSupported": False,
        "includeGlobalResourceTypes": False,
        "resourceTypes": [t.strip() for t in resource_types.split(",") if t.strip()],
    }


def seed(ctx: Any, resource_types: str) -> dict[str, Any]:
    acct = ctx.account_id
    out: dict[str, Any] = {"account_id": acct, "region": ctx.region}
    s3, iam, cfg = ctx.client("s3"), ctx.client("iam"), ctx.client("config")

    # S3: a bucket with Block Public Access, a TLS-only policy and a tag; one without; the
    # delivery channel's bucket.
    tls = f"seg-config-tls-{acct}"
    open_ = f"seg-config-open-{acct}"
    delivery = f"seg-config-delivery-{acct}"
    seed_aws.create_bucket(ctx, tls, public_access_block=True)
    seed_aws.create_bucket(ctx, open_, public_access_block=False)
    seed_aws.create_bucket(ctx, delivery, public_access_block=True)
    s3.put_bucket_policy(Bucket=tls, Policy=seed_aws.tls_only_policy(tls))
    s3.put_bucket_tagging(Bucket=tls, Tagging={"TagSet": [{"Key": "team", "Value": "platform"}]})
    out["buckets"] = {"tls": tls, "open": open_, "delivery": delivery}
    account_public_access_block(ctx)

    # IAM: a customer managed policy and a role.
    admin = iam.create_policy(
        PolicyName="seg-config-admin",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
        ),
    )["Policy"]
    role = iam.create_role(
        RoleName="seg-config-role",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ],
            }
        ),
    )["Role"]
    out["policy"] = {"name": admin["PolicyName"], "id": admin["PolicyId"], "arn": admin["Arn"]}
    out["role"] = {"name": role["RoleName"], "id": role["RoleId"]}

    # EC2: a security group (a recorded type moto's AWS Config has no items for).
    ssh = seed_aws.create_security_group(ctx, "seg-config-ssh-open", [{"port": 22, "cidr": "0.0.0.0/0"}])
    out["security_group"] = ssh["group_id"]

    # AWS Config: recorder, delivery channel, recording.
    cfg.put_configuration_recorder(
        ConfigurationRecorder={
            "name": "default",
            "roleARN": f"arn:aws:iam::{acct}:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig",
            "recordingGroup": recording_group(resource_types),
        }
    )
    cfg.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": delivery})
    cfg.start_configuration_recorder(ConfigurationRecorderName="default")
    out["recorder"] = "default"
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint-url", required=True)
    parser.add_argument("--account-id", default=seed_aws.DEFAULT_ACCOUNT_ID)
    parser.add_argument("--region", default=seed_aws.DEFAULT_REGION)
    parser.add_argument("--resource-types", default="all")
    args = parser.parse_args()
    ctx = seed_aws.AccountContext(args.endpoint_url, account_id=args.account_id, region=args.region)
    print(json.dumps(seed(ctx, args.resource_types), indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
