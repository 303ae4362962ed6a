package seg.cis_aws_foundations.rds_instance_multi_az

import rego.v1

# RDS DB instance: a Multi-AZ deployment is used.
# CIS AWS Foundations Benchmark v7.0.0 3.2.4 (Manual, Level 1), checked the way its audit procedure reads.
# Target: AWS::RDS::DBInstance (AWS Config: configuration.multiAZ). Members of an Aurora or Multi-AZ DB
# cluster (configuration.dBClusterIdentifier set) are not applicable: availability is a cluster property.

res := input.resource if {
	is_object(input.resource)
} else := {}

cfg := res.configuration if {
	is_object(res.configuration)
} else := {}

db := object.get(cfg, "dBInstanceIdentifier", object.get(res, "resourceName", object.get(res, "resourceId", "unknown")))

observed := object.get(cfg, "multiAZ", null)

cluster := object.get(cfg, "dBClusterIdentifier", null)

ev := [{"path": "configuration.multiAZ", "value": observed, "expected": true}]

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
} else := result("not_applicable", sprintf("DB instance %s belongs to DB cluster %s", [db, cluster]), [{"path": "configuration.dBClusterIdentifier", "value": cluster}]) if {
	is_string(cluster)
	cluster != ""
} else := result("error", sprintf("DB instance %s: multiAZ is missing or not a boolean", [db]), ev) if {
	not observed_is_boolean
} else := result("pass", sprintf("DB instance %s is a Multi-AZ deployment", [db]), ev) if {
	observed == true
} else := result("fail", sprintf("DB instance %s is a Single-AZ deployment (multiAZ = false)", [db]), ev)
