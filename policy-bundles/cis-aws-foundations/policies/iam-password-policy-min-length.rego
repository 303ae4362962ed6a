package seg.cis_aws_foundations.iam_password_policy_min_length

import rego.v1

# The IAM account password policy requires passwords of at least input.params.minimum_length (14) characters.
# CIS AWS Foundations Benchmark v7.0.0 2.8 (Automated, Level 1).
# Target: AWS::IAM::AccountPasswordPolicy (one item per account; configuration = GetAccountPasswordPolicy
# PasswordPolicy in camelCase, {} when the account has no password policy).

res := input.resource if {
	is_object(input.resource)
} else := {}

cfg := res.configuration if {
	is_object(res.configuration)
} else := {}

account := object.get(res, "accountId", "unknown")

minimum := input.params.minimum_length

observed := object.get(cfg, "minimumPasswordLength", null)

ev := {"path": "configuration.minimumPasswordLength", "value": observed, "expected": sprintf(">= %d", [minimum])}

# Explicit tests, so that a missing value makes them false instead of undefined.
has_configuration if {
	is_object(res.configuration)
}

minimum_is_number if {
	is_number(minimum)
}

observed_is_number if {
	is_number(observed)
}

result(r, msg, evidence) := {"result": r, "message": msg, "evidence": evidence}

decision := result("error", "configuration item has no configuration object", []) if {
	not has_configuration
} else := result("error", "input.params.minimum_length is not a number", []) if {
	not minimum_is_number
} else := result("fail", sprintf("account %s has no IAM password policy (passwords may be as short as 8 characters, %d required)", [account, minimum]), [{"path": "configuration", "value": cfg, "expected": sprintf("minimumPasswordLength >= %d", [minimum])}]) if {
	count(cfg) == 0
} else := result("error", sprintf("account %s: minimumPasswordLength is not a number", [account]), [ev]) if {
	not observed_is_number
} else := result("pass", sprintf("account %s password policy requires at least %d characters", [account, observed]), [ev]) if {
	observed >= minimum
} else := result("fail", sprintf("account %s password policy requires only %d characters, %d required", [account, observed, minimum]), [ev])
