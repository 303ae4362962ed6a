package seg.cis_aws_foundations.cloudtrail_log_file_validation

import rego.v1

# CloudTrail trail: log file integrity validation is enabled.
# CIS AWS Foundations Benchmark v7.0.0 4.2 (Automated, Level 2).
# Target: AWS::CloudTrail::Trail (AWS Config: configuration.logFileValidationEnabled). A copy of a multi-region trail
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

observed := object.get(cfg, "logFileValidationEnabled", null)

ev := [{"path": "configuration.logFileValidationEnabled", "value": observed, "expected": true}]

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

decision := result("not_applicable", sprintf("trail %s has been deleted", [trail]), []) if {
	deleted
} else := result("error", "configuration item has no configuration object", []) if {
	not has_configuration
} else := result("not_applicable", sprintf("trail %s is evaluated in its home region %s", [trail, home_region]), []) if {
	shadow
} else := result("error", sprintf("trail %s: logFileValidationEnabled is missing or not a boolean", [trail]), ev) if {
	not observed_is_boolean
} else := result("pass", sprintf("trail %s has log file validation enabled", [trail]), ev) if {
	observed == true
} else := result("fail", sprintf("trail %s has log file validation disabled", [trail]), ev)
