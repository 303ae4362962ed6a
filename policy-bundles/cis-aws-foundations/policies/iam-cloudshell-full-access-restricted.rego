package seg.cis_aws_foundations.iam_cloudshell_full_access_restricted

import rego.v1

# The AWS managed policy AWSCloudShellFullAccess is attached to no IAM user, group or role.
# CIS AWS Foundations Benchmark v7.0.0 2.20 (Manual, Level 1), checked the way its audit procedure reads.
# Target: AWS::IAM::Policy. The adapter always emits an item for the AWS managed policy named by
# input.params.policy_name, with supplementaryConfiguration.PolicyEntities (ListEntitiesForPolicy).
# Every other policy is not applicable.

res := input.resource if {
	is_object(input.resource)
} else := {}

cfg := res.configuration if {
	is_object(res.configuration)
} else := {}

wanted := input.params.policy_name

arn := object.get(cfg, "arn", object.get(res, "arn", ""))

is_target_policy if {
	is_string(arn)
	is_string(wanted)
	regex.match(`^arn:aws[a-z-]*:iam::aws:policy/`, arn)
	endswith(arn, concat("", ["/", wanted]))
}

entities := res.supplementaryConfiguration.PolicyEntities if {
	is_object(res.supplementaryConfiguration.PolicyEntities)
} else := {}

attached contains sprintf("%s %s", [label, n]) if {
	some key, label in {"policyRoles": "role", "policyUsers": "user", "policyGroups": "group"}
	list := object.get(entities, key, [])
	is_array(list)
	some e in list
	is_object(e)
	n := object.get(e, concat("", [label, "Name"]), "unnamed")
}

ev := [{"path": "supplementaryConfiguration.PolicyEntities", "value": entities, "expected": "no attached entities"}]

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
} else := result("error", "input.params.policy_name is not a string", []) if {
	not wanted_is_string
} else := result("not_applicable", sprintf("policy %s is not the AWS managed policy %s", [arn, wanted]), []) if {
	not is_target_policy
} else := result("error", sprintf("policy %s has no supplementaryConfiguration.PolicyEntities", [arn]), []) if {
	not has_policy_entities
} else := result("fail", sprintf("%s is attached to %s", [wanted, concat(", ", sort(attached))]), ev) if {
	count(attached) > 0
} else := result("pass", sprintf("%s is attached to no user, group or role", [wanted]), ev)
