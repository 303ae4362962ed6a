package seg.cis_aws_foundations.config_recorder_enabled

import rego.v1

# AWS Config records all supported resource types in the region, and the recorder is running.
# CIS AWS Foundations Benchmark v7.0.0 4.3 (Automated, Level 2).
# Target: AWS::Config::RegionSettings (one item per account and enabled region; configuration =
# {configurationRecorders: DescribeConfigurationRecorders, configurationRecordersStatus:
# DescribeConfigurationRecorderStatus, deliveryChannels: DescribeDeliveryChannels}, lists empty when
# AWS Config is not set up). Service-linked recorders do not count. With
# input.params.require_global_resource_types the recorder must also include global resource types.

res := input.resource if {
	is_object(input.resource)
} else := {}

cfg := res.configuration if {
	is_object(res.configuration)
} else := {}

region := object.get(res, "awsRegion", "unknown")

require_global := input.params.require_global_resource_types == true

list(x) := x if {
	is_array(x)
} else := []

recorders := [r | some r in list(object.get(cfg, "configurationRecorders", null)); is_object(r)]

statuses := [s | some s in list(object.get(cfg, "configurationRecordersStatus", null)); is_object(s)]

customer_managed(r) if {
	not r.servicePrincipal
}

status_of(name) := matching[0] if {
	matching := [s | some s in statuses; object.get(s, "name", null) == name]
	count(matching) > 0
} else := {}

# [recorder index, problem] pairs for the customer managed recorders.
problems contains [i, "is not recording"] if {
	some i, r in recorders
	customer_managed(r)
	object.get(status_of(name_of(r)), "recording", false) != true
}

problems contains [i, sprintf("last delivery status is %s", [status_of(name_of(r)).lastStatus])] if {
	some i, r in recorders
	customer_managed(r)
	status_of(name_of(r)).lastStatus == "FAILURE"
}

problems contains [i, "does not record all supported resource types"] if {
	some i, r in recorders
	customer_managed(r)
	not all_supported(r)
}

problems contains [i, "does not include global resource types"] if {
	require_global
	some i, r in recorders
	customer_managed(r)
	not includes_global(r)
}

all_supported(r) if {
	r.recordingGroup.allSupported == true
}

includes_global(r) if {
	r.recordingGroup.includeGlobalResourceTypes == true
}

name_of(r) := r.name if {
	is_string(r.name)
} else := "unnamed"

findings contains sprintf("recorder %s %s", [name_of(r), concat(" and ", sort(issues))]) if {
	some i, r in recorders
	issues := {p[1] | some p in problems; p[0] == i}
	count(issues) > 0
}

healthy contains name_of(r) if {
	some i, r in recorders
	customer_managed(r)
	not has_problem(i)
}

has_problem(i) if {
	some p in problems
	p[0] == i
}

ev := [
	{"path": "configuration.configurationRecorders", "value": object.get(cfg, "configurationRecorders", null), "expected": "a recorder with recordingGroup.allSupported = true"},
	{"path": "configuration.configurationRecordersStatus", "value": object.get(cfg, "configurationRecordersStatus", null), "expected": "recording = true"},
]

# Explicit tests, so that a missing value makes them false instead of undefined.
has_configuration if {
	is_object(res.configuration)
}

recorders_is_list if {
	is_array(cfg.configurationRecorders)
}

statuses_is_list if {
	is_array(cfg.configurationRecordersStatus)
}

result(r, msg, evidence) := {"result": r, "message": msg, "evidence": evidence}

decision := result("error", "configuration item has no configuration object", []) if {
	not has_configuration
} else := result("error", sprintf("region %s: configurationRecorders or configurationRecordersStatus is not a list", [region]), ev) if {
	not recorders_is_list
} else := result("error", sprintf("region %s: configurationRecorders or configurationRecordersStatus is not a list", [region]), ev) if {
	not statuses_is_list
} else := result("pass", sprintf("AWS Config recorder %s records all resource types in region %s", [concat(", ", sort(healthy)), region]), ev) if {
	count(healthy) > 0
} else := result("fail", sprintf("region %s: %s", [region, concat("; ", sort(findings))]), ev) if {
	count(findings) > 0
} else := result("fail", sprintf("region %s has no AWS Config configuration recorder", [region]), ev)
