package seg.cis_aws_foundations.iam_policy_no_full_admin

import rego.v1

# No customer managed IAM policy that allows "*" actions on "*" resources is attached.
# CIS AWS Foundations Benchmark v7.0.0 2.14 (Automated, Level 1).
# Target: AWS::IAM::Policy (AWS Config: configuration.policyVersionList[].document is the URL-encoded
# policy JSON, configuration.attachmentCount). AWS managed policies are not applicable; an unattached
# full-admin policy is a warning.

res := input.resource if {
	is_object(input.resource)
} else := {}

cfg := res.configuration if {
	is_object(res.configuration)
} else := {}

name := object.get(cfg, "policyName", object.get(res, "resourceName", object.get(res, "resourceId", "unknown")))

arn := object.get(cfg, "arn", object.get(res, "arn", ""))

aws_managed if {
	is_string(arn)
	regex.match(`^arn:aws[a-z-]*:iam::aws:policy/`, arn)
}

versions := object.get(cfg, "policyVersionList", [])

default_index := min(flagged) if {
	flagged := [i | some i, v in list(versions); is_object(v); object.get(v, "isDefaultVersion", false) == true]
	count(flagged) > 0
} else := min(named) if {
	named := [i | some i, v in list(versions); is_object(v); object.get(v, "versionId", "") == object.get(cfg, "defaultVersionId", null)]
	count(named) > 0
}

list(x) := x if {
	is_array(x)
} else := []

default_version := versions[default_index]

document := decode_policy(object.get(default_version, "document", null))

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

statements := [s | some s in as_list(object.get(document, "Statement", [])); is_object(s)]

admin_statements contains i if {
	some i, s in statements
	object.get(s, "Effect", "") == "Allow"
	some a in as_list(object.get(s, "Action", []))
	a in {"*", "*:*"}
	some r in as_list(object.get(s, "Resource", []))
	r == "*"
}

attachments := object.get(cfg, "attachmentCount", null)

ev := [
	{"path": sprintf("configuration.policyVersionList.%d.document", [default_index]), "value": document, "expected": "no Allow statement with Action \"*\" and Resource \"*\""},
	{"path": "configuration.attachmentCount", "value": attachments},
]

# Explicit tests, so that a missing value makes them false instead of undefined.
has_configuration if {
	is_object(res.configuration)
}

has_document if {
	is_object(document)
}

result(r, msg, evidence) := {"result": r, "message": msg, "evidence": evidence}

deleted if {
	res.configurationItemStatus in {"ResourceDeleted", "ResourceDeletedNotRecorded"}
}

decision := result("not_applicable", sprintf("IAM policy %s has been deleted", [name]), []) if {
	deleted
} else := result("error", "configuration item has no configuration object", []) if {
	not has_configuration
} else := result("not_applicable", sprintf("IAM policy %s is AWS managed (%s)", [name, arn]), []) if {
	aws_managed
} else := result("error", sprintf("IAM policy %s: no default version in policyVersionList", [name]), []) if {
	not default_version
} else := result("error", sprintf("IAM policy %s: the default version's document is not a JSON policy document", [name]), []) if {
	not has_document
} else := result("fail", sprintf("IAM policy %s allows \"*:*\" and is attached (attachmentCount = %d)", [name, attachments]), ev) if {
	count(admin_statements) > 0
	is_number(attachments)
	attachments > 0
} else := result("warn", sprintf("IAM policy %s allows \"*:*\" but is not attached", [name]), ev) if {
	count(admin_statements) > 0
	attachments == 0
} else := result("fail", sprintf("IAM policy %s allows \"*:*\" and its attachment count is unknown", [name]), ev) if {
	count(admin_statements) > 0
} else := result("pass", sprintf("IAM policy %s does not allow \"*:*\"", [name]), ev)
