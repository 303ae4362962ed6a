package seg.cis_aws_foundations.iam_root_access_key_absent

import rego.v1

# The root user has no access keys.
# CIS AWS Foundations Benchmark v7.0.0 2.4 (Automated, Level 1).
# Target: AWS::IAM::AccountSummary (one item per account; configuration = GetAccountSummary SummaryMap).

res := input.resource if {
	is_object(input.resource)
} else := {}

cfg := res.configuration if {
	is_object(res.configuration)
} else := {}

account := object.get(res, "accountId", "unknown")

keys := object.get(cfg, "AccountAccessKeysPresent", null)

ev := {"path": "configuration.AccountAccessKeysPresent", "value": keys, "expected": 0}

# Explicit tests, so that a missing value makes them false instead of undefined.
has_configuration if {
	is_object(res.configuration)
}

keys_is_number if {
	is_number(keys)
}

result(r, msg, evidence) := {"result": r, "message": msg, "evidence": evidence}

decision := result("error", "configuration item has no configuration object", []) if {
	not has_configuration
} else := result("error", sprintf("account %s: AccountAccessKeysPresent is missing or not a number", [account]), [ev]) if {
	not keys_is_number
} else := result("pass", sprintf("the root user of account %s has no access keys", [account]), [ev]) if {
	keys == 0
} else := result("fail", sprintf("the root user of account %s has access keys (AccountAccessKeysPresent = %d)", [account, keys]), [ev])
