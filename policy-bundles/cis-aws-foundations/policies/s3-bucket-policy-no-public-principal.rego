package seg.cis_aws_foundations.s3_bucket_policy_no_public_principal

import rego.v1

# The S3 bucket policy does not allow access to Principal "*" without conditions.
# CIS AWS Foundations Benchmark v7.0.0 2.21 (Manual, Level 1), for S3 bucket policies: an unconditional
# Allow to everyone fails, an Allow to everyone narrowed by a Condition is a warning to review.
# Target: AWS::S3::Bucket (AWS Config: supplementaryConfiguration.BucketPolicy.policyText).

res := input.resource if {
	is_object(input.resource)
} else := {}

cfg := res.configuration if {
	is_object(res.configuration)
} else := {}

supp := res.supplementaryConfiguration if {
	is_object(res.supplementaryConfiguration)
} else := {}

bucket := object.get(cfg, "name", object.get(res, "resourceName", object.get(res, "resourceId", "unknown")))

# supplementaryConfiguration values are JSON; tolerate one that is still a JSON string.
bucket_policy := supp.BucketPolicy if {
	is_object(supp.BucketPolicy)
} else := json.unmarshal(supp.BucketPolicy) if {
	is_string(supp.BucketPolicy)
	json.is_valid(supp.BucketPolicy)
} else := {}

policy_text := object.get(bucket_policy, "policyText", null) if {
	is_object(bucket_policy)
} else := null

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

document := decode_policy(policy_text)

as_list(x) := x if {
	is_array(x)
} else := [x]

statements := [s | some s in as_list(object.get(document, "Statement", [])); is_object(s)] if {
	is_object(document)
} else := []

principal_all(p) if {
	p == "*"
}

principal_all(p) if {
	is_object(p)
	some v in as_list(object.get(p, "AWS", []))
	v == "*"
}

label(i, st) := st.Sid if {
	is_string(st.Sid)
	st.Sid != ""
} else := sprintf("#%d", [i])

public contains label(i, st) if {
	some i, st in statements
	object.get(st, "Effect", "") == "Allow"
	principal_all(object.get(st, "Principal", null))
}

unconditional contains label(i, st) if {
	some i, st in statements
	label(i, st) in public
	not has_conditions(st)
}

has_conditions(st) if {
	is_object(st.Condition)
	count(st.Condition) > 0
}

ev := [{"path": "supplementaryConfiguration.BucketPolicy.policyText", "value": document, "expected": "no Allow statement for Principal \"*\" without a Condition"}]

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

decision := result("not_applicable", sprintf("bucket %s has been deleted", [bucket]), []) if {
	deleted
} else := result("error", "configuration item has no configuration object", []) if {
	not has_configuration
} else := result("pass", sprintf("bucket %s has no bucket policy", [bucket]), []) if {
	policy_text == null
} else := result("error", sprintf("bucket %s: the bucket policy is not a JSON policy document", [bucket]), []) if {
	not has_document
} else := result("fail", sprintf("bucket %s policy allows Principal \"*\" without conditions in statement %s", [bucket, concat(", ", sort(unconditional))]), ev) if {
	count(unconditional) > 0
} else := result("warn", sprintf("bucket %s policy allows Principal \"*\" under conditions in statement %s; review them", [bucket, concat(", ", sort(public))]), ev) if {
	count(public) > 0
} else := result("pass", sprintf("bucket %s policy grants nothing to Principal \"*\"", [bucket]), ev)
