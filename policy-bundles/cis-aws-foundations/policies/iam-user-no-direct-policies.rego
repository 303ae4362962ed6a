package seg.cis_aws_foundations.iam_user_no_direct_policies

import rego.v1

# IAM users receive permissions only through groups: no attached managed policies and no inline policies.
# CIS AWS Foundations Benchmark v7.0.0 2.13 (Automated, Level 1).
# Target: AWS::IAM::User (AWS Config: configuration.attachedManagedPolicies, configuration.userPolicyList).

res := input.resource if {
	is_object(input.resource)
} else := {}

cfg := res.configuration if {
	is_object(res.configuration)
} else := {}

user := object.get(cfg, "userName", object.get(res, "resourceName", object.get(res, "resourceId", "unknown")))

attached := object.get(cfg, "attachedManagedPolicies", [])

inline := object.get(cfg, "userPolicyList", [])

direct contains sprintf("managed policy %s", [name]) if {
	is_array(attached)
	some p in attached
	name := policy_name(p, "policyArn")
}

direct contains sprintf("inline policy %s", [name]) if {
	is_array(inline)
	some p in inline
	name := policy_name(p, "policyName")
}

policy_name(p, fallback) := p.policyName if {
	is_string(p.policyName)
} else := object.get(p, fallback, "unnamed") if {
	is_object(p)
} else := "unnamed"

ev := [
	{"path": "configuration.attachedManagedPolicies", "value": attached, "expected": []},
	{"path": "configuration.userPolicyList", "value": inline, "expected": []},
]

# Explicit tests, so that a missing value makes them false instead of undefined.
has_configuration if {
	is_object(res.configuration)
}

attached_is_list if {
	is_array(attached)
}

inline_is_list if {
	is_array(inline)
}

result(r, msg, evidence) := {"result": r, "message": msg, "evidence": evidence}

deleted if {
	res.configurationItemStatus in {"ResourceDeleted", "ResourceDeletedNotRecorded"}
}

decision := result("not_applicable", sprintf("IAM user %s has been deleted", [user]), []) if {
	deleted
} else := result("error", "configuration item has no configuration object", []) if {
	not has_configuration
} else := result("error", sprintf("IAM user %s: attachedManagedPolicies or userPolicyList is not a list", [user]), ev) if {
	not attached_is_list
} else := result("error", sprintf("IAM user %s: attachedManagedPolicies or userPolicyList is not a list", [user]), ev) if {
	not inline_is_list
} else := result("fail", sprintf("IAM user %s has directly assigned permissions: %s", [user, concat(", ", sort(direct))]), ev) if {
	count(direct) > 0
} else := result("pass", sprintf("IAM user %s has no directly attached or inline policies", [user]), ev)
