package seg.cis_aws_foundations.iam_inline_policy_no_full_admin

import rego.v1

# No inline policy of an IAM user, group or role allows "*" actions on "*" resources.
# CIS AWS Foundations Benchmark v7.0.0 2.14 (Automated, Level 1), for the inline policies the
# recommendation's audit of managed policies does not see.
# Targets: AWS::IAM::User (configuration.userPolicyList), AWS::IAM::Group (configuration.groupPolicyList),
# AWS::IAM::Role (configuration.rolePolicyList); each entry has policyName and policyDocument (URL-encoded JSON).
# Service-linked roles are not applicable: their policies are owned by AWS.

res := input.resource if {
	is_object(input.resource)
} else := {}

cfg := res.configuration if {
	is_object(res.configuration)
} else := {}

list_fields := {
	"AWS::IAM::User": "userPolicyList",
	"AWS::IAM::Group": "groupPolicyList",
	"AWS::IAM::Role": "rolePolicyList",
}

name_fields := {
	"AWS::IAM::User": "userName",
	"AWS::IAM::Group": "groupName",
	"AWS::IAM::Role": "roleName",
}

kind := object.get(res, "resourceType", "")

kind_label := {"AWS::IAM::User": "IAM user", "AWS::IAM::Group": "IAM group", "AWS::IAM::Role": "IAM role"}[kind] if {
	list_fields[kind]
} else := "IAM identity"

name := object.get(cfg, object.get(name_fields, kind, "name"), object.get(res, "resourceName", object.get(res, "resourceId", "unknown")))

field := object.get(list_fields, kind, "")

policies := object.get(cfg, field, [])

policy_list := policies if {
	is_array(policies)
} else := []

service_linked if {
	kind == "AWS::IAM::Role"
	startswith(object.get(cfg, "path", ""), "/aws-service-role/")
}

# A policy document is JSON, URL-encoded in AWS Config items; accept either form.
decode_policy(s) := json.unmarshal(s) if {
	is_string(s)
	startswith(trim_space(s), "{")
	json.is_valid(s)
} else := json.unmarshal(decoded) if {
	is_string(s)
	regex.match(`^([^%]|%[0-9A-Fa-f]{2})*$`, s)
	decoded := urlquery.decode(s)
	json.is_valid(decoded)
}

as_list(x) := x if {
	is_array(x)
} else := [x]

policy_name(p) := p.policyName if {
	is_string(p.policyName)
} else := "unnamed"

undecodable contains policy_name(p) if {
	some p in policy_list
	is_object(p)
	not decodable(p)
}

decodable(p) if {
	is_object(decode_policy(object.get(p, "policyDocument", null)))
}

undecodable contains "(malformed entry)" if {
	some p in policy_list
	not is_object(p)
}

admin contains policy_name(p) if {
	some p in policy_list
	is_object(p)
	doc := decode_policy(object.get(p, "policyDocument", null))
	is_object(doc)
	some s in as_list(object.get(doc, "Statement", []))
	is_object(s)
	object.get(s, "Effect", "") == "Allow"
	some a in as_list(object.get(s, "Action", []))
	a in {"*", "*:*"}
	some r in as_list(object.get(s, "Resource", []))
	r == "*"
}

evidence contains {"path": sprintf("configuration.%s.%d.policyDocument", [field, i]), "value": decode_policy(p.policyDocument), "expected": "no Allow statement with Action \"*\" and Resource \"*\""} if {
	some i, p in policy_list
	policy_name(p) in admin
}

# Explicit tests, so that a missing value makes them false instead of undefined.
has_configuration if {
	is_object(res.configuration)
}

policies_is_list if {
	is_array(policies)
}

result(r, msg, ev) := {"result": r, "message": msg, "evidence": ev}

deleted if {
	res.configurationItemStatus in {"ResourceDeleted", "ResourceDeletedNotRecorded"}
}

decision := result("not_applicable", sprintf("%s %s has been deleted", [kind_label, name]), []) if {
	deleted
} else := result("error", "configuration item has no configuration object", []) if {
	not has_configuration
} else := result("not_applicable", sprintf("resource type %s has no inline policies", [kind]), []) if {
	not list_fields[kind]
} else := result("not_applicable", sprintf("IAM role %s is a service-linked role", [name]), []) if {
	service_linked
} else := result("error", sprintf("%s %s: %s is not a list", [kind_label, name, field]), []) if {
	not policies_is_list
} else := result("error", sprintf("%s %s: inline policy %s has no JSON policy document", [kind_label, name, concat(", ", sort(undecodable))]), []) if {
	count(undecodable) > 0
} else := result("fail", sprintf("%s %s has inline policy %s allowing \"*:*\"", [kind_label, name, concat(", ", sort(admin))]), sort(evidence)) if {
	count(admin) > 0
} else := result("pass", sprintf("%s %s has no inline policy allowing \"*:*\" (%d inline)", [kind_label, name, count(policies)]), [{"path": concat(".", ["configuration", field]), "value": count(policies)}])
