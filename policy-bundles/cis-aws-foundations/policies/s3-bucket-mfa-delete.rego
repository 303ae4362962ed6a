package seg.cis_aws_foundations.s3_bucket_mfa_delete

import rego.v1

# The S3 bucket has versioning with MFA Delete enabled.
# CIS AWS Foundations Benchmark v7.0.0 3.1.2 (Manual, Level 2), checked the way its audit procedure reads.
# Target: AWS::S3::Bucket (AWS Config: supplementaryConfiguration.BucketVersioningConfiguration
# {status: Off|Suspended|Enabled, isMfaDeleteEnabled}).

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

# supplementaryConfiguration values are JSON; tolerate one that is still a JSON string.
versioning := supp.BucketVersioningConfiguration if {
	is_object(supp.BucketVersioningConfiguration)
} else := json.unmarshal(supp.BucketVersioningConfiguration) if {
	is_string(supp.BucketVersioningConfiguration)
	json.is_valid(supp.BucketVersioningConfiguration)
}

status := object.get(versioning, "status", "Off") if {
	is_object(versioning)
} else := "Off"

mfa_delete := object.get(versioning, "isMfaDeleteEnabled", null) if {
	is_object(versioning)
} else := null

ev := [
	{"path": "supplementaryConfiguration.BucketVersioningConfiguration.status", "value": status, "expected": "Enabled"},
	{"path": "supplementaryConfiguration.BucketVersioningConfiguration.isMfaDeleteEnabled", "value": mfa_delete, "expected": true},
]

# Explicit tests, so that a missing value makes them false instead of undefined.
has_configuration if {
	is_object(res.configuration)
}

has_versioning if {
	is_object(versioning)
}

result(r, msg, evidence) := {"result": r, "message": msg, "evidence": evidence}

deleted if {
	res.configurationItemStatus in {"ResourceDeleted", "ResourceDeletedNotRecorded"}
}

decision := result("not_applicable", sprintf("bucket %s has been deleted", [bucket]), []) if {
	deleted
} else := result("error", "configuration item has no configuration object", []) if {
	not has_configuration
} else := result("error", sprintf("bucket %s has no supplementaryConfiguration.BucketVersioningConfiguration", [bucket]), []) if {
	not has_versioning
} else := result("pass", sprintf("bucket %s has versioning with MFA Delete enabled", [bucket]), ev) if {
	status == "Enabled"
	mfa_delete == true
} else := result("fail", sprintf("bucket %s has versioning %s without MFA Delete", [bucket, status]), ev)
