package seg.cis_aws_foundations.iam_user_unused_access_keys

import rego.v1

# Active access keys unused for input.params.max_unused_days (45) days or more are disabled.
# CIS AWS Foundations Benchmark v7.0.0 2.11 (Automated, Level 1).
# Target: AWS::IAM::User with supplementaryConfiguration.CredentialReport (the user's credential-report row).
# A key that was never used (last_used_date "N/A") is aged from access_key_N_last_rotated.

res := input.resource if {
	is_object(input.resource)
} else := {}

cr := res.supplementaryConfiguration.CredentialReport if {
	is_object(res.supplementaryConfiguration.CredentialReport)
} else := {}

user := object.get(cr, "user", object.get(res, "resourceName", object.get(res, "resourceId", "unknown")))

now := input.context.evaluation_time_ns

max_days := input.params.max_unused_days

day_ns := 86400000000000

ts_pattern := `^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$`

ts_ns(s) := time.parse_rfc3339_ns(s) if {
	is_string(s)
	regex.match(ts_pattern, s)
}

field(k, suffix) := concat("", ["access_key_", k, "_", suffix])

active_keys contains k if {
	some k in ["1", "2"]
	object.get(cr, field(k, "active"), "") == "true"
}

# The timestamp an active key's idle time is measured from.
key_basis(k) := {"field": field(k, "last_used_date"), "what": "was last used", "value": v, "ns": ts_ns(v)} if {
	v := object.get(cr, field(k, "last_used_date"), null)
	ts_ns(v)
} else := {"field": field(k, "last_rotated"), "what": "was never used since it was created", "value": v, "ns": ts_ns(v)} if {
	v := object.get(cr, field(k, "last_rotated"), null)
	ts_ns(v)
}

undetermined contains k if {
	some k in active_keys
	not key_basis(k)
}

idle contains sprintf("access key %s %s %s, %d days ago", [k, b.what, b.value, floor((now - b.ns) / day_ns)]) if {
	some k in active_keys
	b := key_basis(k)
	is_number(now)
	is_number(max_days)
	now - b.ns >= max_days * day_ns
}

evidence contains {"path": concat(".", ["supplementaryConfiguration.CredentialReport", b.field]), "value": b.value, "expected": sprintf("less than %d days before the evaluation time", [max_days])} if {
	some k in active_keys
	b := key_basis(k)
}

# Explicit tests, so that a missing value makes them false instead of undefined.
has_credential_report if {
	is_object(res.supplementaryConfiguration.CredentialReport)
}

now_is_number if {
	is_number(now)
}

max_days_is_number if {
	is_number(max_days)
}

result(r, msg, ev) := {"result": r, "message": msg, "evidence": ev}

deleted if {
	res.configurationItemStatus in {"ResourceDeleted", "ResourceDeletedNotRecorded"}
}

decision := result("not_applicable", sprintf("IAM user %s has been deleted", [user]), []) if {
	deleted
} else := result("error", sprintf("IAM user %s has no credential report row (supplementaryConfiguration.CredentialReport)", [user]), []) if {
	not has_credential_report
} else := result("error", "input.context.evaluation_time_ns or input.params.max_unused_days is not a number", []) if {
	not now_is_number
} else := result("error", "input.context.evaluation_time_ns or input.params.max_unused_days is not a number", []) if {
	not max_days_is_number
} else := result("not_applicable", sprintf("IAM user %s has no active access keys", [user]), []) if {
	count(active_keys) == 0
} else := result("error", sprintf("IAM user %s: active access key %s has neither a last-used nor a last-rotated timestamp", [user, concat(", ", sort(undetermined))]), []) if {
	count(undetermined) > 0
} else := result("fail", sprintf("IAM user %s: %s (limit %d days)", [user, concat("; ", sort(idle)), max_days]), sort(evidence)) if {
	count(idle) > 0
} else := result("pass", sprintf("IAM user %s: active access key(s) %s used within the last %d days", [user, concat(", ", sort(active_keys)), max_days]), sort(evidence))
