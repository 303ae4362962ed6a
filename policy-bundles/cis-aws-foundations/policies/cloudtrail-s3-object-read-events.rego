package seg.cis_aws_foundations.cloudtrail_s3_object_read_events

import rego.v1

# CloudTrail trail: records S3 object-level (data) read events for all buckets.
# CIS AWS Foundations Benchmark v7.0.0 4.9 (Automated, Level 2), checked per trail; the recommendation
# holds when at least one multi-region trail passes. Recording for some buckets only is a warning.
# Target: AWS::CloudTrail::Trail with supplementaryConfiguration.EventSelectors (GetEventSelectors:
# eventSelectors[].dataResources, advancedEventSelectors[].fieldSelectors).
# A copy of a multi-region trail recorded outside its home region is not applicable.

res := input.resource if {
	is_object(input.resource)
} else := {}

cfg := res.configuration if {
	is_object(res.configuration)
} else := {}

supp := res.supplementaryConfiguration if {
	is_object(res.supplementaryConfiguration)
} else := {}

trail := object.get(cfg, "name", object.get(res, "resourceName", object.get(res, "resourceId", "unknown")))

home_region := object.get(cfg, "homeRegion", null)

shadow if {
	is_string(home_region)
	is_string(res.awsRegion)
	home_region != res.awsRegion
}

selectors := supp.EventSelectors if {
	is_object(supp.EventSelectors)
} else := {}

list(x) := x if {
	is_array(x)
} else := []

# readWriteType values of a basic event selector that include read events.
read_write_types := {"All", "ReadOnly"}

# readOnly values of an advanced event selector that include read events.
read_only_value := "true"

all_buckets_pattern := `^arn:aws[a-z-]*:s3(:::)?$`

# Basic event selectors: dataResources of type AWS::S3::Object.
scope contains "all" if {
	some sel in list(object.get(selectors, "eventSelectors", []))
	is_object(sel)
	object.get(sel, "readWriteType", "All") in read_write_types
	some dr in list(object.get(sel, "dataResources", []))
	is_object(dr)
	object.get(dr, "type", "") == "AWS::S3::Object"
	some v in list(object.get(dr, "values", []))
	is_string(v)
	regex.match(all_buckets_pattern, v)
}

scope contains v if {
	some sel in list(object.get(selectors, "eventSelectors", []))
	is_object(sel)
	object.get(sel, "readWriteType", "All") in read_write_types
	some dr in list(object.get(sel, "dataResources", []))
	is_object(dr)
	object.get(dr, "type", "") == "AWS::S3::Object"
	some v in list(object.get(dr, "values", []))
	is_string(v)
	not regex.match(all_buckets_pattern, v)
}

# Advanced event selectors: eventCategory = Data and resources.type = AWS::S3::Object.
s3_data_selector(fields) if {
	some f in fields
	is_object(f)
	object.get(f, "field", "") == "eventCategory"
	"Data" in list(object.get(f, "equals", []))
	some g in fields
	is_object(g)
	object.get(g, "field", "") == "resources.type"
	"AWS::S3::Object" in list(object.get(g, "equals", []))
}

includes_mode(fields) if {
	not has_field(fields, "readOnly")
}

includes_mode(fields) if {
	some f in fields
	is_object(f)
	object.get(f, "field", "") == "readOnly"
	read_only_value in list(object.get(f, "equals", []))
}

has_field(fields, name) if {
	some f in fields
	is_object(f)
	object.get(f, "field", "") == name
}

scope contains "all" if {
	some sel in list(object.get(selectors, "advancedEventSelectors", []))
	is_object(sel)
	fields := list(object.get(sel, "fieldSelectors", []))
	s3_data_selector(fields)
	includes_mode(fields)
	not has_field(fields, "resources.ARN")
}

scope contains arn if {
	some sel in list(object.get(selectors, "advancedEventSelectors", []))
	is_object(sel)
	fields := list(object.get(sel, "fieldSelectors", []))
	s3_data_selector(fields)
	includes_mode(fields)
	some f in fields
	is_object(f)
	object.get(f, "field", "") == "resources.ARN"
	some op in ["equals", "startsWith"]
	some arn in list(object.get(f, op, []))
	is_string(arn)
}

ev := [{"path": "supplementaryConfiguration.EventSelectors", "value": selectors, "expected": "S3 object-level read events for all buckets"}]

# Explicit tests, so that a missing value makes them false instead of undefined.
has_configuration if {
	is_object(res.configuration)
}

has_event_selectors if {
	is_object(supp.EventSelectors)
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
} else := result("error", sprintf("trail %s has no supplementaryConfiguration.EventSelectors", [trail]), []) if {
	not has_event_selectors
} else := result("pass", sprintf("trail %s records S3 object-level read events for all buckets", [trail]), ev) if {
	"all" in scope
} else := result("warn", sprintf("trail %s records S3 object-level read events only for %s", [trail, concat(", ", sort(scope))]), ev) if {
	count(scope) > 0
} else := result("fail", sprintf("trail %s does not record S3 object-level read events", [trail]), ev)
