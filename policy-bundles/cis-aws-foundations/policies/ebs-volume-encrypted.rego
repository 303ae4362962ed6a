package seg.cis_aws_foundations.ebs_volume_encrypted

import rego.v1

# The EBS volume is encrypted.
# CIS AWS Foundations Benchmark v7.0.0 6.1.1 (Automated, Level 1), for volumes created before encryption
# by default was turned on.
# Target: AWS::EC2::Volume (AWS Config: configuration.encrypted, configuration.kmsKeyId, configuration.state).
# Volumes being deleted are not applicable.

res := input.resource if {
	is_object(input.resource)
} else := {}

cfg := res.configuration if {
	is_object(res.configuration)
} else := {}

volume := object.get(cfg, "volumeId", object.get(res, "resourceId", "unknown"))

encrypted := object.get(cfg, "encrypted", null)

# AWS Config has recorded the volume state both as a string and as {"value": ...}.
state := cfg.state if {
	is_string(cfg.state)
} else := cfg.state.value if {
	is_string(cfg.state.value)
} else := "unknown"

ev := [{"path": "configuration.encrypted", "value": encrypted, "expected": true}]

# Explicit tests, so that a missing value makes them false instead of undefined.
has_configuration if {
	is_object(res.configuration)
}

encrypted_is_boolean if {
	is_boolean(encrypted)
}

result(r, msg, evidence) := {"result": r, "message": msg, "evidence": evidence}

deleted if {
	res.configurationItemStatus in {"ResourceDeleted", "ResourceDeletedNotRecorded"}
}

decision := result("not_applicable", sprintf("volume %s has been deleted", [volume]), []) if {
	deleted
} else := result("error", "configuration item has no configuration object", []) if {
	not has_configuration
} else := result("not_applicable", sprintf("volume %s is %s", [volume, state]), []) if {
	state in {"deleting", "deleted"}
} else := result("error", sprintf("volume %s: encrypted is missing or not a boolean", [volume]), ev) if {
	not encrypted_is_boolean
} else := result("pass", sprintf("EBS volume %s is encrypted", [volume]), ev) if {
	encrypted == true
} else := result("fail", sprintf("EBS volume %s (%s) is not encrypted", [volume, state]), ev)
