package seg.cis_aws_foundations.efs_file_system_encrypted

import rego.v1

# EFS file systems are encrypted at rest.
# CIS AWS Foundations Benchmark v7.0.0 3.3.1 (Automated, Level 1).
# Target: AWS::EFS::FileSystem (AWS Config, CloudFormation-style keys: configuration.Encrypted,
# configuration.KmsKeyId, configuration.FileSystemId).

res := input.resource if {
	is_object(input.resource)
} else := {}

cfg := res.configuration if {
	is_object(res.configuration)
} else := {}

fs := object.get(cfg, "FileSystemId", object.get(res, "resourceId", "unknown"))

encrypted := object.get(cfg, "Encrypted", null)

key := cfg.KmsKeyId if {
	is_string(cfg.KmsKeyId)
	cfg.KmsKeyId != ""
} else := "the AWS managed key aws/elasticfilesystem"

ev := [{"path": "configuration.Encrypted", "value": encrypted, "expected": true}]

# Explicit tests, so that a missing value makes them false instead of undefined.
has_configuration if {
	is_object(res.configuration)
}

result(r, msg, evidence) := {"result": r, "message": msg, "evidence": evidence}

deleted if {
	res.configurationItemStatus in {"ResourceDeleted", "ResourceDeletedNotRecorded"}
}

decision := result("not_applicable", sprintf("file system %s has been deleted", [fs]), []) if {
	deleted
} else := result("error", "configuration item has no configuration object", []) if {
	not has_configuration
} else := result("pass", sprintf("EFS file system %s is encrypted with %s", [fs, key]), ev) if {
	encrypted == true
} else := result("fail", sprintf("EFS file system %s is not encrypted at rest", [fs]), ev) if {
	encrypted == false
} else := result("error", sprintf("EFS file system %s: Encrypted is missing or not a boolean", [fs]), ev)
