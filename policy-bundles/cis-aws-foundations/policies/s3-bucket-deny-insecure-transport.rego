package seg.cis_aws_foundations.s3_bucket_deny_insecure_transport

import rego.v1

# The S3 bucket policy denies requests that do not use TLS (aws:SecureTransport = false).
# CIS AWS Foundations Benchmark v7.0.0 3.1.1 (Automated, Level 2).
# Target: AWS::S3::Bucket (AWS Config: supplementaryConfiguration.BucketPolicy.policyText, a JSON string,
# null when the bucket has no policy).

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

bucket_arn := res.arn if {
	is_string(res.arn)
	startswith(res.arn, "arn:")
} else := concat("", ["arn:aws:s3:::", bucket])

# supplementaryConfiguration values are JSON; tolerate one that is still a JSON string.
supp_value(k) := v if {
	v := supp[k]
	is_object(v)
} else := json.unmarshal(supp[k]) if {
	is_string(supp[k])
	json.is_valid(supp[k])
}

policy_text := object.get(supp_value("BucketPolicy"), "policyText", null) if {
	is_object(supp_value("BucketPolicy"))
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

all_s3_actions(st) if {
	some a in as_list(object.get(st, "Action", []))
	is_string(a)
	lower(a) in {"*", "s3:*"}
}

covers_bucket(st) if {
	some r in as_list(object.get(st, "Resource", []))
	is_string(r)
	r in {"*", bucket_arn, concat("", [bucket_arn, "/*"])}
}

denies_plain_http(st) if {
	cond := object.get(st, "Condition", {})
	is_object(cond)
	some op, pairs in cond
	lower(op) in {"bool", "boolifexists"}
	is_object(pairs)
	some key, value in pairs
	lower(key) == "aws:securetransport"
	some x in as_list(value)
	x in {"false", false}
}

enforcing contains i if {
	some i, st in statements
	object.get(st, "Effect", "") == "Deny"
	principal_all(object.get(st, "Principal", null))
	all_s3_actions(st)
	covers_bucket(st)
	denies_plain_http(st)
}

ev := [{"path": "supplementaryConfiguration.BucketPolicy.policyText", "value": policy_text, "expected": "a Deny statement for Principal \"*\", Action \"s3:*\" with Condition Bool aws:SecureTransport = false"}]

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
} else := result("fail", sprintf("bucket %s has no bucket policy, so plain HTTP requests are not denied", [bucket]), ev) if {
	policy_text == null
} else := result("error", sprintf("bucket %s: the bucket policy is not a JSON policy document", [bucket]), ev) if {
	not has_document
} else := result("pass", sprintf("bucket %s policy denies requests with aws:SecureTransport = false", [bucket]), ev) if {
	count(enforcing) > 0
} else := result("fail", sprintf("bucket %s policy has no statement denying requests with aws:SecureTransport = false", [bucket]), ev)
