package seg.cis_aws_foundations.iam_support_role_exists

import rego.v1

# A role is allowed to manage incidents with AWS Support: the AWS managed policy AWSSupportAccess is
# attached to at least one IAM role.
# CIS AWS Foundations Benchmark v7.0.0 2.15 (Automated, Level 1).
# Target: AWS::IAM::Policy. The adapter always emits an item for the AWS managed policy named by
# input.params.support_policy_name, with supplementaryConfiguration.PolicyEntities (ListEntitiesForPolicy:
# policyGroups, policyUsers, policyRoles). Every other policy is not applicable.

res := input.resource if {
	is_object(input.resource)
} else := {}

cfg := res.configuration if {
	is_object(res.configuration)
} else := {}

wanted := input.params.support_policy_name

arn := object.get(cfg, "arn", object.get(res, "arn", ""))

is_support_policy if {
	is_string(arn)
	is_string(wanted)
	regex.match(`^arn:aws[a-z-]*:iam::aws:policy/`, arn)
	endswith(arn, concat("", ["/", wanted]))
}

entities := res.supplementaryConfiguration.PolicyEntities if {
	is_object(res.supplementaryConfiguration.PolicyEntities)
} else := {}

names(list, key) := [n | some e in list; is_object(e); n := object.get(e, key, "unnamed")] if {
	is_array(list)
} else := []

roles := names(object.get(entities, "policyRoles", []), "roleName")

users := names(object.get(entities, "policyUsers", []), "userName")

groups := names(object.get(entities, "policyGroups", []), "groupName")

ev := [{"path": "supplementaryConfiguration.PolicyEntities.policyRoles", "value": object.get(entities, "policyRoles", null), "expected": "at least one role"}]

# Explicit tests, so that a missing value makes them false instead of undefined.
wanted_is_string if {
	is_string(wanted)
}

has_policy_entities if {
	is_object(res.supplementaryConfiguration.PolicyEntities)
}

result(r, msg, evidence) := {"result": r, "message": msg, "evidence": evidence}

deleted if {
	res.configurationItemStatus in {"ResourceDeleted", "ResourceDeletedNotRecorded"}
}

decision := result("not_applicable", "the policy has been deleted", []) if {
	deleted
} else := result("error", "input.params.support_policy_name is not a string", []) if {
	not wanted_is_string
} else := result("not_applicable", sprintf("policy %s is not the AWS managed policy %s", [arn, wanted]), []) if {
	not is_support_policy
} else := result("error", sprintf("policy %s has no supplementaryConfiguration.PolicyEntities", [arn]), []) if {
	not has_policy_entities
} else := result("pass", sprintf("%s is attached to role(s) %s", [wanted, concat(", ", sort(roles))]), ev) if {
	count(roles) > 0
} else := result("fail", sprintf("%s is attached to no role (users: %s; groups: %s)", [wanted, none_if_empty(users), none_if_empty(groups)]), ev)

none_if_empty(list) := "none" if {
	count(list) == 0
} else := concat(", ", sort(list))
