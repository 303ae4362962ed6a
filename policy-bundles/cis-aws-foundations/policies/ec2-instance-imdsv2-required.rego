package seg.cis_aws_foundations.ec2_instance_imdsv2_required

import rego.v1

# The EC2 instance metadata service only allows IMDSv2 (session tokens required), or is disabled.
# CIS AWS Foundations Benchmark v7.0.0 6.7 (Automated, Level 1).
# Target: AWS::EC2::Instance (AWS Config: configuration.metadataOptions.httpTokens / httpEndpoint).
# Terminated instances are not applicable.

res := input.resource if {
	is_object(input.resource)
} else := {}

cfg := res.configuration if {
	is_object(res.configuration)
} else := {}

id := object.get(cfg, "instanceId", object.get(res, "resourceId", "unknown"))

state := cfg.state.name if {
	is_string(cfg.state.name)
} else := "unknown"

options := object.get(cfg, "metadataOptions", null)

tokens := object.get(options, "httpTokens", null) if {
	is_object(options)
} else := null

endpoint := object.get(options, "httpEndpoint", "enabled") if {
	is_object(options)
} else := null

ev := [
	{"path": "configuration.metadataOptions.httpTokens", "value": tokens, "expected": "required"},
	{"path": "configuration.metadataOptions.httpEndpoint", "value": endpoint},
]

# Explicit tests, so that a missing value makes them false instead of undefined.
has_configuration if {
	is_object(res.configuration)
}

has_metadata_options if {
	is_object(options)
}

result(r, msg, evidence) := {"result": r, "message": msg, "evidence": evidence}

deleted if {
	res.configurationItemStatus in {"ResourceDeleted", "ResourceDeletedNotRecorded"}
}

decision := result("not_applicable", sprintf("instance %s has been deleted", [id]), []) if {
	deleted
} else := result("error", "configuration item has no configuration object", []) if {
	not has_configuration
} else := result("not_applicable", sprintf("instance %s is %s", [id, state]), []) if {
	state in {"terminated", "shutting-down"}
} else := result("error", sprintf("instance %s has no configuration.metadataOptions", [id]), []) if {
	not has_metadata_options
} else := result("pass", sprintf("instance %s has the metadata service disabled", [id]), ev) if {
	endpoint == "disabled"
} else := result("pass", sprintf("instance %s requires IMDSv2 session tokens (httpTokens = required)", [id]), ev) if {
	tokens == "required"
} else := result("fail", sprintf("instance %s allows IMDSv1 (httpTokens = %s)", [id, format(tokens)]), ev)

format(v) := v if {
	is_string(v)
} else := "missing"
