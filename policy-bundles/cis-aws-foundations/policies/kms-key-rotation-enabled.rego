package seg.cis_aws_foundations.kms_key_rotation_enabled

import rego.v1

# Automatic key rotation is enabled for customer managed symmetric KMS keys.
# CIS AWS Foundations Benchmark v7.0.0 4.6 (Automated, Level 2).
# Target: AWS::KMS::Key (AWS Config: configuration.keyManager, keyState, keySpec or customerMasterKeySpec,
# origin; supplementaryConfiguration.KeyRotationStatus, a boolean). AWS managed keys, asymmetric and HMAC
# keys, keys with imported or external key material, and keys that are not Enabled are not applicable.

res := input.resource if {
	is_object(input.resource)
} else := {}

cfg := res.configuration if {
	is_object(res.configuration)
} else := {}

supp := res.supplementaryConfiguration if {
	is_object(res.supplementaryConfiguration)
} else := {}

key := object.get(cfg, "keyId", object.get(res, "resourceId", "unknown"))

manager := object.get(cfg, "keyManager", null)

spec := cfg.keySpec if {
	is_string(cfg.keySpec)
} else := object.get(cfg, "customerMasterKeySpec", null)

origin := object.get(cfg, "origin", "AWS_KMS")

state := object.get(cfg, "keyState", null)

# AWS Config keeps supplementaryConfiguration values as JSON; accept the boolean or its string form.
rotation := supp.KeyRotationStatus if {
	is_boolean(supp.KeyRotationStatus)
} else := parsed if {
	parsed := {"true": true, "false": false}[supp.KeyRotationStatus]
}

text(v) := v if {
	is_string(v)
} else := "missing"

ev := [
	{"path": "supplementaryConfiguration.KeyRotationStatus", "value": object.get(supp, "KeyRotationStatus", null), "expected": true},
	{"path": "configuration.keyManager", "value": manager},
	{"path": "configuration.keySpec", "value": spec},
]

# Explicit tests, so that a missing value makes them false instead of undefined.
has_configuration if {
	is_object(res.configuration)
}

rotation_known if {
	is_boolean(rotation)
}

result(r, msg, evidence) := {"result": r, "message": msg, "evidence": evidence}

deleted if {
	res.configurationItemStatus in {"ResourceDeleted", "ResourceDeletedNotRecorded"}
}

decision := result("not_applicable", sprintf("KMS key %s has been deleted", [key]), []) if {
	deleted
} else := result("error", "configuration item has no configuration object", []) if {
	not has_configuration
} else := result("not_applicable", sprintf("KMS key %s is AWS managed; AWS rotates it every year", [key]), ev) if {
	manager == "AWS"
} else := result("error", sprintf("KMS key %s: keyManager is %s, expected CUSTOMER or AWS", [key, text(manager)]), ev) if {
	manager != "CUSTOMER"
} else := result("not_applicable", sprintf("KMS key %s has key spec %s; automatic rotation applies to SYMMETRIC_DEFAULT keys", [key, text(spec)]), ev) if {
	spec != "SYMMETRIC_DEFAULT"
} else := result("not_applicable", sprintf("KMS key %s has key material origin %s, which KMS cannot rotate", [key, text(origin)]), ev) if {
	origin != "AWS_KMS"
} else := result("not_applicable", sprintf("KMS key %s is in state %s", [key, text(state)]), ev) if {
	state != "Enabled"
} else := result("error", sprintf("KMS key %s has no supplementaryConfiguration.KeyRotationStatus", [key]), ev) if {
	not rotation_known
} else := result("pass", sprintf("customer managed KMS key %s has automatic rotation enabled", [key]), ev) if {
	rotation == true
} else := result("fail", sprintf("customer managed KMS key %s does not rotate automatically (KeyRotationStatus = false)", [key]), ev)
