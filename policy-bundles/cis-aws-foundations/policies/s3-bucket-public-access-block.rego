package seg.cis_aws_foundations.s3_bucket_public_access_block

import rego.v1

# All four S3 Block Public Access settings are enabled on the bucket.
# CIS AWS Foundations Benchmark v7.0.0 3.1.4 (Automated, Level 1), bucket level; the account level is
# the control s3-account-public-access-block.
# Target: AWS::S3::Bucket (AWS Config: supplementaryConfiguration.PublicAccessBlockConfiguration, absent
# when the bucket has none).

res := input.resource if {
	is_object(input.resource)
} else := {}

cfg := res.configuration if {
	is_object(res.configuration)
} else := {}

supp := res.supplementaryConfiguration if {
	is_object(res.supplementaryConfiguration)
} else := {}

bucket := object.get(cfg, "name", object.get(res, "resourceName", object.get(res, "resourceId", "unknown")))

settings := ["blockPublicAcls", "ignorePublicAcls", "blockPublicPolicy", "restrictPublicBuckets"]

# supplementaryConfiguration values are JSON; tolerate one that is still a JSON string.
pab := supp.PublicAccessBlockConfiguration if {
	is_object(supp.PublicAccessBlockConfiguration)
} else := json.unmarshal(supp.PublicAccessBlockConfiguration) if {
	is_string(supp.PublicAccessBlockConfiguration)
	json.is_valid(supp.PublicAccessBlockConfiguration)
}

disabled contains s if {
	some s in settings
	object.get(pab, s, false) != true
}

ev := [{"path": "supplementaryConfiguration.PublicAccessBlockConfiguration", "value": object.get(supp, "PublicAccessBlockConfiguration", null), "expected": {s: true | some s in settings}}]

# Explicit tests, so that a missing value makes them false instead of undefined.
has_configuration if {
	is_object(res.configuration)
}

has_public_access_block if {
	is_object(pab)
}

result(r, msg, evidence) := {"result": r, "message": msg, "evidence": evidence}

deleted if {
	res.configurationItemStatus in {"ResourceDeleted", "ResourceDeletedNotRecorded"}
}

decision := result("not_applicable", sprintf("bucket %s has been deleted", [bucket]), []) if {
	deleted
} else := result("error", "configuration item has no configuration object", []) if {
	not has_configuration
} else := result("fail", sprintf("bucket %s has no Block Public Access configuration", [bucket]), ev) if {
	not has_public_access_block
} else := result("fail", sprintf("bucket %s Block Public Access is incomplete: %s not enabled", [bucket, concat(", ", sort(disabled))]), ev) if {
	count(disabled) > 0
} else := result("pass", sprintf("bucket %s has all four Block Public Access settings enabled", [bucket]), ev)
