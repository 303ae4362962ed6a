package seg.cis_aws_foundations.rds_instance_auto_minor_version_upgrade

import rego.v1

# RDS DB instance: automatic minor version upgrades are enabled.
# CIS AWS Foundations Benchmark v7.0.0 3.2.2 (Automated, Level 1).
# Target: AWS::RDS::DBInstance (AWS Config: configuration.autoMinorVersionUpgrade).

res := input.resource if {
	is_object(input.resource)
} else := {}

cfg := res.configuration if {
	is_object(res.configuration)
} else := {}

db := object.get(cfg, "dBInstanceIdentifier", object.get(res, "resourceName", object.get(res, "resourceId", "unknown")))

observed := object.get(cfg, "autoMinorVersionUpgrade", null)

ev := [{"path": "configuration.autoMinorVersionUpgrade", "value": observed, "expected": true}]

# Explicit tests, so that a missing value makes them false instead of undefined.
has_configuration if {
	is_object(res.configuration)
}

observed_is_boolean if {
	is_boolean(observed)
}

result(r, msg, evidence) := {"result": r, "message": msg, "evidence": evidence}

deleted if {
	res.configurationItemStatus in {"ResourceDeleted", "ResourceDeletedNotRecorded"}
}

decision := result("not_applicable", sprintf("DB instance %s has been deleted", [db]), []) if {
	deleted
} else := result("error", "configuration item has no configuration object", []) if {
	not has_configuration
} else := result("error", sprintf("DB instance %s: autoMinorVersionUpgrade is missing or not a boolean", [db]), ev) if {
	not observed_is_boolean
} else := result("pass", sprintf("DB instance %s applies minor engine upgrades automatically", [db]), ev) if {
	observed == true
} else := result("fail", sprintf("DB instance %s does not apply minor engine upgrades automatically (autoMinorVersionUpgrade = false)", [db]), ev)
