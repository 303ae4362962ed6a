package seg.cis_aws_foundations.cloudtrail_kms_encryption

import rego.v1

# CloudTrail trail: log files are encrypted at rest with a KMS key.
# CIS AWS Foundations Benchmark v7.0.0 4.5 (Automated, Level 2).
# Target: AWS::CloudTrail::Trail (AWS Config: configuration.kmsKeyId). A copy of a multi-region trail
# recorded outside its home region (configuration.homeRegion != awsRegion) is not applicable.

res := input.resource if {
	is_object(input.resource)
} else := {}

cfg := res.configuration if {
	is_object(res.configuration)
} else := {}

trail := object.get(cfg, "name", object.get(res, "resourceName", object.get(res, "resourceId", "unknown")))

home_region := object.get(cfg, "homeRegion", null)

shadow if {
	is_string(home_region)
	is_string(res.awsRegion)
	home_region != res.awsRegion
}

observed := object.get(cfg, "kmsKeyId", null)

ev := [{"path": "configuration.kmsKeyId", "value": observed, "expected": "a KMS key ARN"}]

# Explicit tests, so that a missing value makes them false instead of undefined.
has_configuration if {
	is_object(res.configuration)
}

result(r, msg, evidence) := {"result": r, "message": msg, "evidence": evidence}

deleted if {
	res.configurationItemStatus in {"ResourceDeleted", "ResourceDeletedNotRecorded"}
}

decision := result("not_applicable", sprintf("trail %s has been deleted", [trail]), []) if {
	deleted
} else := result("error", "configuration item has no configuration object", []) if {
	not has_configuration
} else := result("not_applicable", sprintf("trail %s is evaluated in its home region %s", [trail, home_region]), []) if {
	shadow
} else := result("pass", sprintf("trail %s encrypts log files with KMS key %s", [trail, observed]), ev) if {
	is_string(observed)
	observed != ""
} else := result("fail", sprintf("trail %s does not encrypt log files with a KMS key (kmsKeyId not set)", [trail]), ev)
