package seg.cis_aws_foundations.iam_server_certificate_not_expired

import rego.v1

# No expired SSL/TLS server certificate is stored in IAM.
# CIS AWS Foundations Benchmark v7.0.0 2.17 (Automated, Level 1).
# Target: AWS::IAM::ServerCertificate with supplementaryConfiguration.ServerCertificateMetadata
# (ListServerCertificates entry in camelCase: serverCertificateName, serverCertificateId, arn, path,
# uploadDate, expiration).

res := input.resource if {
	is_object(input.resource)
} else := {}

meta := res.supplementaryConfiguration.ServerCertificateMetadata if {
	is_object(res.supplementaryConfiguration.ServerCertificateMetadata)
} else := {}

name := object.get(meta, "serverCertificateName", object.get(res, "resourceName", object.get(res, "resourceId", "unknown")))

now := input.context.evaluation_time_ns

day_ns := 86400000000000

expiration := object.get(meta, "expiration", null)

ts_pattern := `^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$`

expires_ns := time.parse_rfc3339_ns(expiration) if {
	is_string(expiration)
	regex.match(ts_pattern, expiration)
}

ev := [{"path": "supplementaryConfiguration.ServerCertificateMetadata.expiration", "value": expiration, "expected": "after the evaluation time"}]

# Explicit tests, so that a missing value makes them false instead of undefined.
now_is_number if {
	is_number(now)
}

has_metadata if {
	is_object(res.supplementaryConfiguration.ServerCertificateMetadata)
}

result(r, msg, evidence) := {"result": r, "message": msg, "evidence": evidence}

deleted if {
	res.configurationItemStatus in {"ResourceDeleted", "ResourceDeletedNotRecorded"}
}

decision := result("not_applicable", sprintf("server certificate %s has been deleted", [name]), []) if {
	deleted
} else := result("error", "input.context.evaluation_time_ns is not a number", []) if {
	not now_is_number
} else := result("error", sprintf("server certificate %s has no supplementaryConfiguration.ServerCertificateMetadata", [name]), []) if {
	not has_metadata
} else := result("error", sprintf("server certificate %s has no valid expiration timestamp", [name]), ev) if {
	not expires_ns
} else := result("fail", sprintf("IAM server certificate %s expired on %s, %d days ago", [name, expiration, floor((now - expires_ns) / day_ns)]), ev) if {
	expires_ns <= now
} else := result("pass", sprintf("IAM server certificate %s expires on %s, in %d days", [name, expiration, floor((expires_ns - now) / day_ns)]), ev)
