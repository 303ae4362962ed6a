#!/usr/bin/env python3
"""Seeds an AWS API simulator (moto server) with resources for one account.

Run with the Python of the end-to-end virtualenv (see e2e/scripts/moto-venv.sh):

    python e2e/scripts/seed-aws.py --endpoint-url http://127.0.0.1:PORT \
        [--account-id 123456789012] [--region us-east-1] [--spec resources.json]

Without --spec the baseline set is created (see BASELINE). A spec file has the same shape as
BASELINE, so a test can describe its own account layout without changing this script:

    {"buckets": [{"name": "b1-{account_id}", "public_access_block": true}],
     "iam_users": [{"name": "alice"}],
     "security_groups": [{"name": "ssh-open", "ingress": [{"port": 22, "cidr": "0.0.0.0/0"}]}],
     "trails": [{"name": "main", "bucket": "b1-{account_id}"}]}

Every resource kind has its own function (create_bucket, create_iam_user, ...) taking an
AccountContext, so other scripts can import this file and reuse them:

    import importlib.util
    spec = importlib.util.spec_from_file_location("seed_aws", "e2e/scripts/seed-aws.py")
    seed_aws = importlib.util.module_from_spec(spec); spec.loader.exec_module(seed_aws)
    ctx = seed_aws.AccountContext("http://127.0.0.1:PORT", "210987654321")
    seed_aws.create_bucket(ctx, "extra-bucket", public_access_block=False)

Accounts are selected with moto's `x-moto-account-id` request header, so several accounts can
be seeded into one server. The script prints a JSON summary of what it created on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

DEFAULT_ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"

BASELINE: dict[str, list[dict[str, Any]]] = {
    "buckets": [
        {"name": "seg-e2e-private-{account_id}", "public_access_block": True},
        {"name": "seg-e2e-public-{account_id}", "public_access_block": False},
        {"name": "seg-e2e-cloudtrail-logs-{account_id}", "public_access_block": True},
    ],
    "iam_users": [{"name": "seg-e2e-user"}],
    "security_groups": [
        {
            "name": "seg-e2e-ssh-open",
            "description": "SSH open to the world",
            "ingress": [{"port": 22, "cidr": "0.0.0.0/0"}],
        },
        {
            "name": "seg-e2e-ssh-restricted",
            "description": "SSH from a private range only",
            "ingress": [{"port": 22, "cidr": "10.0.0.0/8"}],
        },
    ],
    "trails": [{"name": "seg-e2e-trail", "bucket": "seg-e2e-cloudtrail-logs-{account_id}"}],
}


@dataclass
class AccountContext:
    """Endpoint, account and region that the resource functions act on."""

    endpoint_url: str
    account_id: str = DEFAULT_ACCOUNT_ID
    region: str = DEFAULT_REGION
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)

    def client(self, service: str) -> Any:
        """A boto3 client for `service` whose requests target this account."""
        if service not in self._clients:
            client = boto3.client(
                service,
                endpoint_url=self.endpoint_url,
                region_name=self.region,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
                config=Config(retries={"max_attempts": 2}, s3={"addressing_style": "path"}),
            )
            account_id = self.account_id

            def add_account_header(request: Any, **_kwargs: Any) -> None:
                request.headers["x-moto-account-id"] = account_id

            client.meta.events.register("before-sign.*.*", add_account_header)
            self._clients[service] = client
        return self._clients[service]


def s3control_client(ctx: AccountContext) -> Any:
    """An S3 Control client for the simulator: S3 Control prefixes the host with the account id,
    and a simulator on 127.0.0.1 needs the plain host (the account goes in a header instead)."""
    acct = ctx.account_id
    s3control = boto3.client(
        "s3control",
        endpoint_url=ctx.endpoint_url,
        region_name=ctx.region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )

    def plain_host(request: Any, **_kwargs: Any) -> None:
        request.url = request.url.replace(f"//{acct}.", "//", 1)
        request.headers["x-moto-account-id"] = acct

    s3control.meta.events.register("before-sign.s3-control.*", plain_host)
    return s3control


def tls_only_policy(bucket: str) -> str:
    """A bucket policy that denies every request not made over TLS (CIS 3.1.1)."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ],
        }
    )


def _already_exists(err: ClientError, *codes: str) -> bool:
    return err.response.get("Error", {}).get("Code") in codes


def create_bucket(ctx: AccountContext, name: str, public_access_block: bool = True) -> dict[str, Any]:
    """An S3 bucket; with public_access_block, all four block settings are enabled."""
    s3 = ctx.client("s3")
    kwargs: dict[str, Any] = {"Bucket": name}
    if ctx.region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": ctx.region}
    try:
        s3.create_bucket(**kwargs)
    except ClientError as err:
        if not _already_exists(err, "BucketAlreadyOwnedByYou"):
            raise
    if public_access_block:
        s3.put_public_access_block(
            Bucket=name,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True,
            },
        )
    return {"name": name, "arn": f"arn:aws:s3:::{name}", "public_access_block": public_access_block}


def create_iam_user(ctx: AccountContext, name: str) -> dict[str, Any]:
    """An IAM user without policies or keys."""
    iam = ctx.client("iam")
    try:
        user = iam.create_user(UserName=name)["User"]
    except ClientError as err:
        if not _already_exists(err, "EntityAlreadyExists"):
            raise
        user = iam.get_user(UserName=name)["User"]
    return {"name": name, "arn": user["Arn"]}


def _default_vpc_id(ctx: AccountContext) -> str:
    ec2 = ctx.client("ec2")
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"]
    if vpcs:
        return vpcs[0]["VpcId"]
    return ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]


def create_security_group(
    ctx: AccountContext,
    name: str,
    ingress: list[dict[str, Any]],
    description: str = "seg e2e security group",
) -> dict[str, Any]:
    """A security group in the default VPC with TCP ingress rules [{"port": 22, "cidr": ...}]."""
    ec2 = ctx.client("ec2")
    vpc_id = _default_vpc_id(ctx)
    existing = ec2.describe_security_groups(
        Filters=[{"Name": "group-name", "Values": [name]}, {"Name": "vpc-id", "Values": [vpc_id]}]
    )["SecurityGroups"]
    if existing:
        group_id = existing[0]["GroupId"]
    else:
        group_id = ec2.create_security_group(GroupName=name, Description=description, VpcId=vpc_id)[
            "GroupId"
        ]
    permissions = [
        {
            "IpProtocol": "tcp",
            "FromPort": int(rule["port"]),
            "ToPort": int(rule.get("to_port", rule["port"])),
            "IpRanges": [{"CidrIp": rule["cidr"]}],
        }
        for rule in ingress
    ]
    if permissions:
        try:
            ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=permissions)
        except ClientError as err:
            if not _already_exists(err, "InvalidPermission.Duplicate"):
                raise
    return {"name": name, "group_id": group_id, "vpc_id": vpc_id, "ingress": ingress}


def create_trail(ctx: AccountContext, name: str, bucket: str, multi_region: bool = True) -> dict[str, Any]:
    """A CloudTrail trail logging into `bucket` (created if missing), started."""
    create_bucket(ctx, bucket, public_access_block=True)
    cloudtrail = ctx.client("cloudtrail")
    try:
        trail = cloudtrail.create_trail(Name=name, S3BucketName=bucket, IsMultiRegionTrail=multi_region)
    except ClientError as err:
        if not _already_exists(err, "TrailAlreadyExistsException"):
            raise
        trail = cloudtrail.get_trail(Name=name)["Trail"]
    cloudtrail.start_logging(Name=name)
    return {"name": name, "arn": trail["TrailARN"], "bucket": bucket}


def _expand(value: Any, ctx: AccountContext) -> Any:
    """Replaces {account_id} and {region} in the strings of a spec entry."""
    if isinstance(value, str):
        return value.format(account_id=ctx.account_id, region=ctx.region)
    if isinstance(value, list):
        return [_expand(v, ctx) for v in value]
    if isinstance(value, dict):
        return {k: _expand(v, ctx) for k, v in value.items()}
    return value


def seed(ctx: AccountContext, spec: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Creates every resource of `spec` (shape of BASELINE) and returns a summary.

    Strings in the spec may use {account_id} and {region}; S3 bucket names are global, so the
    baseline bucket names carry the account id and several accounts can share one server.
    """
    spec = _expand(spec, ctx)
    summary: dict[str, Any] = {
        "endpoint_url": ctx.endpoint_url,
        "account_id": ctx.account_id,
        "region": ctx.region,
        "buckets": [create_bucket(ctx, **b) for b in spec.get("buckets", [])],
        "iam_users": [create_iam_user(ctx, **u) for u in spec.get("iam_users", [])],
        "security_groups": [create_security_group(ctx, **g) for g in spec.get("security_groups", [])],
        "trails": [create_trail(ctx, **t) for t in spec.get("trails", [])],
    }
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--endpoint-url",
        default=os.environ.get("SEG_E2E_AWS_ENDPOINT"),
        help="moto server URL (default: $SEG_E2E_AWS_ENDPOINT)",
    )
    parser.add_argument("--account-id", default=DEFAULT_ACCOUNT_ID)
    parser.add_argument("--region", default=DEFAULT_REGION)
    parser.add_argument("--spec", help="JSON file with the resources to create (default: baseline)")
    args = parser.parse_args(argv)
    if not args.endpoint_url:
        parser.error("--endpoint-url or SEG_E2E_AWS_ENDPOINT is required")
    spec = BASELINE
    if args.spec:
        with open(args.spec, encoding="utf-8") as f:
            spec = json.load(f)
    ctx = AccountContext(args.endpoint_url, args.account_id, args.region)
    summary = seed(ctx, spec)
    json.dump(summary, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
