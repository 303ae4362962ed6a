package seg.cis_aws_foundations.iam_password_policy_reuse_prevention

import rego.v1

# The IAM account password policy prevents reuse of the last input.params.minimum_reuse_prevention (24) passwords.
# CIS AWS Foundations Benchmark v7.0.0 2.9 (Automated, Level 1).
# Target: AWS::IAM::AccountPasswordPolicy (one item per account; configuration = GetAccountPasswordPolicy
# PasswordPolicy in camelCase, {} when the account has no password policy).

res := input.resource if {
	is_object(input.resource)
} else := {}

cfg := res.configuration if {
	is_object(res.configuration)
} else := {}

account := object.get(res, "accountId", "unknown")

minimum := input.params.minimum_reuse_prevention

observed := object.get(cfg, "passwordReusePrevention", null)

ev := {"path": "configuration.passwordReusePrevention", "value": observed, "expected": sprintf(">= %d", [minimum])}

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
} else := result("error", "input.params.minimum_reuse_prevention is not a number", []) if {
	not minimum_is_number
} else := result("fail", sprintf("account %s has no IAM password policy, so passwords may be reused (%d remembered passwords required)", [account, minimum]), [ev]) if {
	count(cfg) == 0
} else := result("fail", sprintf("account %s password policy does not prevent password reuse (passwordReusePrevention not set, %d required)", [account, minimum]), [ev]) if {
	observed == null
} else := result("error", sprintf("account %s: passwordReusePrevention is not a number", [account]), [ev]) if {
	not observed_is_number
} else := result("pass", sprintf("account %s password policy remembers the last %d passwords", [account, observed]), [ev]) if {
	observed >= minimum
} else := result("fail", sprintf("account %s password policy remembers only the last %d passwords, %d required", [account, observed, minimum]), [ev])
