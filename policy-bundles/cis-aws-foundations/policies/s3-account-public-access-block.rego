package seg.cis_aws_foundations.s3_account_public_access_block

import rego.v1

# All four S3 Block Public Access settings are enabled for the account.
# CIS AWS Foundations Benchmark v7.0.0 3.1.4 (Automated, Level 1), account level.
# Target: AWS::S3::AccountPublicAccessBlock (AWS Config: configuration.blockPublicAcls, ignorePublicAcls,
# blockPublicPolicy, restrictPublicBuckets; all false when the account has no configuration).

res := input.resource if {
	is_object(input.resource)
} else := {}

cfg := res.configuration if {
	is_object(res.configuration)
} else := {}

account := object.get(res, "accountId", object.get(res, "resourceId", "unknown"))

settings := ["blockPublicAcls", "ignorePublicAcls", "blockPublicPolicy", "restrictPublicBuckets"]

disabled contains s if {
	some s in settings
	object.get(cfg, s, false) != true
}

ev := [{"path": concat(".", ["configuration", s]), "value": object.get(cfg, s, null), "expected": true} | some s in settings]

# Explicit tests, so that a missing value makes them false instead of undefined.
has_configuration if {
	is_object(res.configuration)
}

result(r, msg, evidence) := {"result": r, "message": msg, "evidence": evidence}

# AWS Config records the account-level configuration as deleted when DeletePublicAccessBlock removes it.
deleted if {
	res.configurationItemStatus in {"ResourceDeleted", "ResourceDeletedNotRecorded"}
}

decision := result("fail", sprintf("account %s has no S3 Block Public Access configuration", [account]), []) if {
	deleted
} else := result("error", "configuration item has no configuration object", []) if {
	not has_configuration
} else := result("fail", sprintf("account %s S3 Block Public Access is incomplete: %s not enabled", [account, concat(", ", sort(disabled))]), ev) if {
	count(disabled) > 0
} else := result("pass", sprintf("account %s has all four S3 Block Public Access settings enabled", [account]), ev)
