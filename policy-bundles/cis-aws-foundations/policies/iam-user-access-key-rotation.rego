package seg.cis_aws_foundations.iam_user_access_key_rotation

import rego.v1

# Active access keys are rotated every input.params.max_key_age_days (90) days or less.
# CIS AWS Foundations Benchmark v7.0.0 2.12 (Automated, Level 1).
# Target: AWS::IAM::User with supplementaryConfiguration.CredentialReport (the user's credential-report row).

res := input.resource if {
	is_object(input.resource)
} else := {}

cr := res.supplementaryConfiguration.CredentialReport if {
	is_object(res.supplementaryConfiguration.CredentialReport)
} else := {}

user := object.get(cr, "user", object.get(res, "resourceName", object.get(res, "resourceId", "unknown")))

now := input.context.evaluation_time_ns

max_days := input.params.max_key_age_days

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

rotated(k) := object.get(cr, field(k, "last_rotated"), null)

undetermined contains k if {
	some k in active_keys
	not ts_ns(rotated(k))
}

too_old contains sprintf("access key %s was last rotated %s, %d days ago", [k, rotated(k), floor((now - ts_ns(rotated(k))) / day_ns)]) if {
	some k in active_keys
	is_number(now)
	is_number(max_days)
	now - ts_ns(rotated(k)) > max_days * day_ns
}

evidence contains {"path": concat(".", ["supplementaryConfiguration.CredentialReport", field(k, "last_rotated")]), "value": rotated(k), "expected": sprintf("at most %d days before the evaluation time", [max_days])} if {
	some k in active_keys
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
} else := result("error", "input.context.evaluation_time_ns or input.params.max_key_age_days is not a number", []) if {
	not now_is_number
} else := result("error", "input.context.evaluation_time_ns or input.params.max_key_age_days is not a number", []) if {
	not max_days_is_number
} else := result("not_applicable", sprintf("IAM user %s has no active access keys", [user]), []) if {
	count(active_keys) == 0
} else := result("error", sprintf("IAM user %s: active access key %s has no valid last_rotated timestamp", [user, concat(", ", sort(undetermined))]), sort(evidence)) if {
	count(undetermined) > 0
} else := result("fail", sprintf("IAM user %s: %s (limit %d days)", [user, concat("; ", sort(too_old)), max_days]), sort(evidence)) if {
	count(too_old) > 0
} else := result("pass", sprintf("IAM user %s: active access key(s) %s rotated within the last %d days", [user, concat(", ", sort(active_keys)), max_days]), sort(evidence))
