package seg.cis_aws_foundations.securityhub_enabled

import rego.v1

# AWS Security Hub is enabled in the region.
# CIS AWS Foundations Benchmark v7.0.0 5.16 (Automated, Level 2).
# Target: AWS::SecurityHub::RegionSettings (one item per account and enabled region; configuration =
# {hub: DescribeHub output, or null when Security Hub is not enabled, enabledStandards:
# GetEnabledStandards StandardsSubscriptions}).

res := input.resource if {
	is_object(input.resource)
} else := {}

cfg := res.configuration if {
	is_object(res.configuration)
} else := {}

region := object.get(res, "awsRegion", "unknown")

hub := object.get(cfg, "hub", "missing")

ev := [{"path": "configuration.hub", "value": hub, "expected": "a Security Hub hub"}]

# Explicit tests, so that a missing value makes them false instead of undefined.
has_configuration if {
	is_object(res.configuration)
}

result(r, msg, evidence) := {"result": r, "message": msg, "evidence": evidence}

decision := result("error", "configuration item has no configuration object", []) if {
	not has_configuration
} else := result("error", sprintf("region %s: configuration.hub is missing", [region]), []) if {
	hub == "missing"
} else := result("pass", sprintf("Security Hub is enabled in region %s (%s)", [region, hub.hubArn]), ev) if {
	is_string(hub.hubArn)
} else := result("fail", sprintf("Security Hub is not enabled in region %s", [region]), ev) if {
	hub == null
} else := result("error", sprintf("region %s: configuration.hub has no hubArn", [region]), ev)
