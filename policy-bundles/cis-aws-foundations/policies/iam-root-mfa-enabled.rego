package seg.cis_aws_foundations.iam_root_mfa_enabled

import rego.v1

# MFA is enabled for the root user.
# CIS AWS Foundations Benchmark v7.0.0 2.5 (Automated, Level 1).
# Target: AWS::IAM::AccountSummary (one item per account; configuration = GetAccountSummary SummaryMap).

res := input.resource if {
	is_object(input.resource)
} else := {}

cfg := res.configuration if {
	is_object(res.configuration)
} else := {}

account := object.get(res, "accountId", "unknown")

mfa := object.get(cfg, "AccountMFAEnabled", null)

ev := {"path": "configuration.AccountMFAEnabled", "value": mfa, "expected": 1}

# Explicit tests, so that a missing value makes them false instead of undefined.
has_configuration if {
	is_object(res.configuration)
}

mfa_is_number if {
	is_number(mfa)
}

result(r, msg, evidence) := {"result": r, "message": msg, "evidence": evidence}

decision := result("error", "configuration item has no configuration object", []) if {
	not has_configuration
} else := result("error", sprintf("account %s: AccountMFAEnabled is missing or not a number", [account]), [ev]) if {
	not mfa_is_number
} else := result("pass", sprintf("the root user of account %s has MFA enabled", [account]), [ev]) if {
	mfa == 1
} else := result("fail", sprintf("the root user of account %s has no MFA device (AccountMFAEnabled = %d)", [account, mfa]), [ev])
