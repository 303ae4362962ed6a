package seg.cis_aws_foundations.iam_user_console_mfa

import rego.v1

# Every IAM user with a console password has an MFA device.
# CIS AWS Foundations Benchmark v7.0.0 2.10 (Automated, Level 1).
# Target: AWS::IAM::User with supplementaryConfiguration.CredentialReport (the user's credential-report row).

res := input.resource if {
	is_object(input.resource)
} else := {}

cr := res.supplementaryConfiguration.CredentialReport if {
	is_object(res.supplementaryConfiguration.CredentialReport)
} else := {}

user := object.get(cr, "user", object.get(res, "resourceName", object.get(res, "resourceId", "unknown")))

password_enabled := object.get(cr, "password_enabled", null)

mfa_active := object.get(cr, "mfa_active", null)

ev := [
	{"path": "supplementaryConfiguration.CredentialReport.password_enabled", "value": password_enabled},
	{"path": "supplementaryConfiguration.CredentialReport.mfa_active", "value": mfa_active, "expected": "true"},
]

# Explicit tests, so that a missing value makes them false instead of undefined.
has_credential_report if {
	is_object(res.supplementaryConfiguration.CredentialReport)
}

result(r, msg, evidence) := {"result": r, "message": msg, "evidence": evidence}

deleted if {
	res.configurationItemStatus in {"ResourceDeleted", "ResourceDeletedNotRecorded"}
}

decision := result("not_applicable", sprintf("IAM user %s has been deleted", [user]), []) if {
	deleted
} else := result("error", sprintf("IAM user %s has no credential report row (supplementaryConfiguration.CredentialReport)", [user]), []) if {
	not has_credential_report
} else := result("not_applicable", sprintf("IAM user %s has no console password", [user]), ev) if {
	password_enabled in {"false", "not_supported"}
} else := result("error", sprintf("IAM user %s: credential report password_enabled is not true/false", [user]), ev) if {
	password_enabled != "true"
} else := result("pass", sprintf("IAM user %s has a console password and an MFA device", [user]), ev) if {
	mfa_active == "true"
} else := result("fail", sprintf("IAM user %s has a console password but no MFA device (mfa_active = %s)", [user, format(mfa_active)]), ev)

format(v) := v if {
	is_string(v)
} else := "missing"
