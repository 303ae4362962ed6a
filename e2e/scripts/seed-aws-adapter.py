#!/usr/bin/env python3
"""Seeds a moto server with the account the AWS adapter's integration test expects.

    python e2e/scripts/seed-aws-adapter.py --endpoint-url http://127.0.0.1:PORT [--account-id ID]

Builds on e2e/scripts/seed-aws.py (buckets, users, security groups, trails) and adds what the CIS
controls distinguish: a password policy, users with and without a console password, MFA and
access keys, buckets with and without Block Public Access and a TLS-only policy, security groups
open and closed on 22/3389, a network ACL allowing SSH from anywhere, VPCs with and without a flow
log, KMS keys with and without rotation, encrypted and unencrypted EBS volumes and EFS file
systems, instances with IMDSv2 required and optional, an RDS instance and the account-level Block
Public Access. Prints a JSON summary with the ids the test asserts on.
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


def seed(ctx: Any) -> dict[str, Any]:
    acct = ctx.account_id
    out: dict[str, Any] = {"account_id": acct, "region": ctx.region}
    iam, s3, ec2, kms = ctx.client("iam"), ctx.client("s3"), ctx.client("ec2"), ctx.client("kms")

    # IAM
    iam.update_account_password_policy(MinimumPasswordLength=8, PasswordReusePrevention=5)
    users = {}
    for name in ["seg-console-mfa", "seg-console-nomfa", "seg-keys"]:
        users[name] = seed_aws.create_iam_user(ctx, name)["arn"]
    iam.create_login_profile(UserName="seg-console-mfa", Password="Secret-Passw0rd!")
    iam.create_login_profile(UserName="seg-console-nomfa", Password="Secret-Passw0rd!")
    mfa = iam.create_virtual_mfa_device(VirtualMFADeviceName="seg-console-mfa")["VirtualMFADevice"]
    iam.enable_mfa_device(
        UserName="seg-console-mfa",
        SerialNumber=mfa["SerialNumber"],
        AuthenticationCode1="123456",
        AuthenticationCode2="654321",
    )
    iam.create_access_key(UserName="seg-keys")
    iam.put_user_policy(
        UserName="seg-keys",
        PolicyName="inline-admin",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
        ),
    )
    admin = iam.create_policy(
        PolicyName="seg-full-admin",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
        ),
    )["Policy"]
    iam.create_group(GroupName="seg-support")
    iam.attach_group_policy(GroupName="seg-support", PolicyArn="arn:aws:iam::aws:policy/AWSSupportAccess")
    out["users"] = users
    out["admin_policy_id"] = admin["PolicyId"]

    # S3
    tls = f"seg-adapter-tls-{acct}"
    open_ = f"seg-adapter-open-{acct}"
    seed_aws.create_bucket(ctx, tls, public_access_block=True)
    seed_aws.create_bucket(ctx, open_, public_access_block=False)
    s3.put_bucket_policy(Bucket=tls, Policy=seed_aws.tls_only_policy(tls))
    s3.put_bucket_versioning(Bucket=tls, VersioningConfiguration={"Status": "Enabled"})
    s3control = seed_aws.s3control_client(ctx)
    s3control.put_public_access_block(
        AccountId=acct,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": False,
        },
    )
    out["buckets"] = {"tls": tls, "open": open_}

    # EC2: security groups, NACL, VPCs and flow logs
    ssh_open = seed_aws.create_security_group(ctx, "seg-ssh-open", [{"port": 22, "cidr": "0.0.0.0/0"}])
    rdp_open = seed_aws.create_security_group(ctx, "seg-rdp-open", [{"port": 3389, "cidr": "0.0.0.0/0"}])
    closed = seed_aws.create_security_group(ctx, "seg-ssh-closed", [{"port": 22, "cidr": "10.0.0.0/8"}])
    out["security_groups"] = {
        "ssh_open": ssh_open["group_id"],
        "rdp_open": rdp_open["group_id"],
        "closed": closed["group_id"],
    }
    logged = ec2.create_vpc(CidrBlock="10.10.0.0/16")["Vpc"]["VpcId"]
    unlogged = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    ec2.create_flow_logs(
        ResourceIds=[logged],
        ResourceType="VPC",
        TrafficType="ALL",
        LogDestinationType="s3",
        LogDestination=f"arn:aws:s3:::{tls}",
    )
    subnet = ec2.create_subnet(VpcId=unlogged, CidrBlock="10.20.1.0/24")["Subnet"]["SubnetId"]
    acl = ec2.create_network_acl(VpcId=unlogged)["NetworkAcl"]["NetworkAclId"]
    ec2.create_network_acl_entry(
        NetworkAclId=acl,
        RuleNumber=100,
        Protocol="6",
        RuleAction="allow",
        Egress=False,
        CidrBlock="0.0.0.0/0",
        PortRange={"From": 22, "To": 22},
    )
    assoc = ec2.describe_network_acls(Filters=[{"Name": "association.subnet-id", "Values": [subnet]}])
    for a in assoc["NetworkAcls"][0]["Associations"]:
        if a["SubnetId"] == subnet:
            ec2.replace_network_acl_association(AssociationId=a["NetworkAclAssociationId"], NetworkAclId=acl)
    out["vpcs"] = {"logged": logged, "unlogged": unlogged}
    out["network_acl"] = acl

    # EC2: instances and volumes
    image = ec2.describe_images()["Images"][0]["ImageId"]
    v2 = ec2.run_instances(
        ImageId=image,
        MinCount=1,
        MaxCount=1,
        MetadataOptions={"HttpTokens": "required", "HttpEndpoint": "enabled"},
    )["Instances"][0]["InstanceId"]
    v1 = ec2.run_instances(
        ImageId=image,
        MinCount=1,
        MaxCount=1,
        MetadataOptions={"HttpTokens": "optional", "HttpEndpoint": "enabled"},
    )["Instances"][0]["InstanceId"]
    out["instances"] = {"imdsv2": v2, "imdsv1": v1}
    enc = ec2.create_volume(AvailabilityZone=f"{ctx.region}a", Size=8, Encrypted=True)["VolumeId"]
    plain = ec2.create_volume(AvailabilityZone=f"{ctx.region}a", Size=8, Encrypted=False)["VolumeId"]
    out["volumes"] = {"encrypted": enc, "plain": plain}

    # KMS
    rotated = kms.create_key(Description="rotated")["KeyMetadata"]["KeyId"]
    kms.enable_key_rotation(KeyId=rotated)
    unrotated = kms.create_key(Description="not rotated")["KeyMetadata"]["KeyId"]
    out["kms_keys"] = {"rotated": rotated, "unrotated": unrotated}

    # CloudTrail
    trail = seed_aws.create_trail(ctx, "seg-adapter-trail", f"seg-adapter-trail-{acct}")
    out["trail"] = trail["name"]

    # EFS and RDS
    efs = ctx.client("efs")
    out["efs"] = {
        "encrypted": efs.create_file_system(CreationToken="enc", Encrypted=True)["FileSystemId"],
        "plain": efs.create_file_system(CreationToken="plain", Encrypted=False)["FileSystemId"],
    }
    rds = ctx.client("rds")
    db = rds.create_db_instance(
        DBInstanceIdentifier="seg-orders",
        DBInstanceClass="db.t3.micro",
        Engine="postgres",
        AllocatedStorage=20,
        MasterUsername="postgres",
        MasterUserPassword="Secret-Passw0rd!",
        StorageEncrypted=False,
        PubliclyAccessible=True,
        MultiAZ=False,
        AutoMinorVersionUpgrade=True,
    )["DBInstance"]
    out["rds"] = {"identifier": db["DBInstanceIdentifier"], "resource_id": db.get("DbiResourceId")}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--endpoint-url", required=True)
    parser.add_argument("--account-id", default=seed_aws.DEFAULT_ACCOUNT_ID)
    parser.add_argument("--region", default=seed_aws.DEFAULT_REGION)
    args = parser.parse_args(argv)
    ctx = seed_aws.AccountContext(args.endpoint_url, args.account_id, args.region)
    json.dump(seed(ctx), sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
