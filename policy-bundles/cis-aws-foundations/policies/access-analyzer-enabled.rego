package seg.cis_aws_foundations.access_analyzer_enabled

import rego.v1

# An IAM Access Analyzer external-access analyzer (type ACCOUNT or ORGANIZATION) is active in the region.
# CIS AWS Foundations Benchmark v7.0.0 2.18 (Automated, Level 1).
# Target: AWS::AccessAnalyzer::RegionSettings (one item per account and enabled region;
# configuration.analyzers = ListAnalyzers, [] when there is none).

res := input.resource if {
	is_object(input.resource)
} else := {}

cfg := res.configuration if {
	is_object(res.configuration)
} else := {}

region := object.get(res, "awsRegion", "unknown")

analyzers := object.get(cfg, "analyzers", null)

external_types := {"ACCOUNT", "ORGANIZATION"}

analyzer_list := analyzers if {
	is_array(analyzers)
} else := []

active contains sprintf("%s (%s)", [object.get(a, "name", "unnamed"), a.type]) if {
	some a in analyzer_list
	is_object(a)
	a.type in external_types
	object.get(a, "status", "") == "ACTIVE"
}

others contains sprintf("%s (%s, %s)", [object.get(a, "name", "unnamed"), format(object.get(a, "type", null)), format(object.get(a, "status", null))]) if {
	some a in analyzer_list
	is_object(a)
}

format(v) := v if {
	is_string(v)
} else := "unknown"

ev := [{"path": "configuration.analyzers", "value": analyzers, "expected": "an ACTIVE analyzer of type ACCOUNT or ORGANIZATION"}]

# Explicit tests, so that a missing value makes them false instead of undefined.
has_configuration if {
	is_object(res.configuration)
}

analyzers_is_list if {
	is_array(analyzers)
}

result(r, msg, evidence) := {"result": r, "message": msg, "evidence": evidence}

decision := result("error", "configuration item has no configuration object", []) if {
	not has_configuration
} else := result("error", sprintf("region %s: configuration.analyzers is not a list", [region]), ev) if {
	not analyzers_is_list
} else := result("pass", sprintf("region %s has active external access analyzer(s) %s", [region, concat(", ", sort(active))]), ev) if {
	count(active) > 0
} else := result("fail", sprintf("region %s has no IAM Access Analyzer analyzer", [region]), ev) if {
	count(analyzers) == 0
} else := result("fail", sprintf("region %s has no active external access analyzer (found %s)", [region, concat(", ", sort(others))]), ev)
