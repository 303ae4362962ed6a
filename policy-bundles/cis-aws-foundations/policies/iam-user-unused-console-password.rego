package seg.cis_aws_foundations.iam_user_unused_console_password

import rego.v1

# Console passwords unused for input.params.max_unused_days (45) days or more are disabled.
# CIS AWS Foundations Benchmark v7.0.0 2.11 (Automated, Level 1).
# Target: AWS::IAM::User with supplementaryConfiguration.CredentialReport (the user's credential-report row).
# A password that was never used ("no_information" or "N/A") is aged from password_last_changed, or from
# user_creation_time when that is unknown too.

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

password_enabled := object.get(cr, "password_enabled", null)

# The timestamp the password's age is measured from.
basis := {"field": "password_last_used", "what": "was last used", "value": v, "ns": ts_ns(v)} if {
	v := object.get(cr, "password_last_used", null)
	ts_ns(v)
} else := {"field": "password_last_changed", "what": "was never used since it was set", "value": v, "ns": ts_ns(v)} if {
	v := object.get(cr, "password_last_changed", null)
	ts_ns(v)
} else := {"field": "user_creation_time", "what": "was never used since the user was created", "value": v, "ns": ts_ns(v)} if {
	v := object.get(cr, "user_creation_time", null)
	ts_ns(v)
}

age_days := floor((now - basis.ns) / day_ns) if {
	is_number(now)
}

ev := [
	{"path": "supplementaryConfiguration.CredentialReport.password_enabled", "value": password_enabled},
	{"path": sprintf("supplementaryConfiguration.CredentialReport.%s", [basis.field]), "value": basis.value, "expected": sprintf("less than %d days before the evaluation time", [max_days])},
]

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

result(r, msg, evidence) := {"result": r, "message": msg, "evidence": evidence}

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
} else := result("not_applicable", sprintf("IAM user %s has no console password", [user]), []) if {
	password_enabled in {"false", "not_supported"}
} else := result("error", sprintf("IAM user %s: credential report password_enabled is not true/false", [user]), []) if {
	password_enabled != "true"
} else := result("error", sprintf("IAM user %s has a console password but no usable password_last_used, password_last_changed or user_creation_time", [user]), []) if {
	not basis
} else := result("fail", sprintf("console password of IAM user %s %s %s, %d days ago (limit %d days)", [user, basis.what, basis.value, age_days, max_days]), ev) if {
	now - basis.ns >= max_days * day_ns
} else := result("pass", sprintf("console password of IAM user %s %s %s, %d days ago (limit %d days)", [user, basis.what, basis.value, age_days, max_days]), ev)
