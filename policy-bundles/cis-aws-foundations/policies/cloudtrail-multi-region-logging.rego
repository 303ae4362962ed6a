package seg.cis_aws_foundations.cloudtrail_multi_region_logging

import rego.v1

# CloudTrail trail: multi-region, logging, and recording all read and write management events.
# CIS AWS Foundations Benchmark v7.0.0 4.1 (Manual, Level 1), checked per trail the way its audit
# procedure reads; the recommendation holds when at least one trail passes.
# Target: AWS::CloudTrail::Trail with supplementaryConfiguration.TrailStatus (GetTrailStatus) and
# supplementaryConfiguration.EventSelectors (GetEventSelectors: eventSelectors, advancedEventSelectors).
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

status := supp.TrailStatus if {
	is_object(supp.TrailStatus)
} else := {}

selectors := supp.EventSelectors if {
	is_object(supp.EventSelectors)
} else := {}

list(x) := x if {
	is_array(x)
} else := []

basic := list(object.get(selectors, "eventSelectors", []))

advanced := list(object.get(selectors, "advancedEventSelectors", []))

all_management_events if {
	some sel in basic
	is_object(sel)
	object.get(sel, "includeManagementEvents", false) == true
	object.get(sel, "readWriteType", "") == "All"
}

all_management_events if {
	some sel in advanced
	is_object(sel)
	fields := list(object.get(sel, "fieldSelectors", []))
	some f in fields
	is_object(f)
	object.get(f, "field", "") == "eventCategory"
	"Management" in list(object.get(f, "equals", []))
	not has_read_only_filter(fields)
}

has_read_only_filter(fields) if {
	some f in fields
	is_object(f)
	object.get(f, "field", "") == "readOnly"
}

problems contains "is not a multi-region trail" if {
	object.get(cfg, "isMultiRegionTrail", false) != true
}

problems contains "is not logging" if {
	object.get(status, "isLogging", false) != true
}

problems contains "does not record all read and write management events" if {
	not all_management_events
}

ev := [
	{"path": "configuration.isMultiRegionTrail", "value": object.get(cfg, "isMultiRegionTrail", null), "expected": true},
	{"path": "supplementaryConfiguration.TrailStatus.isLogging", "value": object.get(status, "isLogging", null), "expected": true},
	{"path": "supplementaryConfiguration.EventSelectors", "value": selectors, "expected": "management events, read and write"},
]

# Explicit tests, so that a missing value makes them false instead of undefined.
has_configuration if {
	is_object(res.configuration)
}

has_trail_status if {
	is_object(supp.TrailStatus)
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
} else := result("error", sprintf("trail %s has no supplementaryConfiguration.TrailStatus", [trail]), []) if {
	not has_trail_status
} else := result("error", sprintf("trail %s has no supplementaryConfiguration.EventSelectors", [trail]), []) if {
	not has_event_selectors
} else := result("fail", sprintf("trail %s %s", [trail, concat(" and ", sort(problems))]), ev) if {
	count(problems) > 0
} else := result("pass", sprintf("trail %s is multi-region, logging, and records all management events", [trail]), ev)
