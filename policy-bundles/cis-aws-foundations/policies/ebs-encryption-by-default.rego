package seg.cis_aws_foundations.ebs_encryption_by_default

import rego.v1

# EBS encryption by default is enabled in the region.
# CIS AWS Foundations Benchmark v7.0.0 6.1.1 (Automated, Level 1).
# Target: AWS::EC2::RegionSettings (one item per account and enabled region; configuration =
# {ebsEncryptionByDefault: GetEbsEncryptionByDefault, ebsDefaultKmsKeyId: GetEbsDefaultKmsKeyId}).

res := input.resource if {
	is_object(input.resource)
} else := {}

cfg := res.configuration if {
	is_object(res.configuration)
} else := {}

region := object.get(res, "awsRegion", "unknown")

enabled := object.get(cfg, "ebsEncryptionByDefault", null)

key := cfg.ebsDefaultKmsKeyId if {
	is_string(cfg.ebsDefaultKmsKeyId)
} else := "alias/aws/ebs"

ev := [{"path": "configuration.ebsEncryptionByDefault", "value": enabled, "expected": true}]

# Explicit tests, so that a missing value makes them false instead of undefined.
has_configuration if {
	is_object(res.configuration)
}

enabled_is_boolean if {
	is_boolean(enabled)
}

result(r, msg, evidence) := {"result": r, "message": msg, "evidence": evidence}

decision := result("error", "configuration item has no configuration object", []) if {
	not has_configuration
} else := result("error", sprintf("region %s: ebsEncryptionByDefault is missing or not a boolean", [region]), ev) if {
	not enabled_is_boolean
} else := result("pass", sprintf("EBS encryption by default is enabled in region %s (key %s)", [region, key]), ev) if {
	enabled == true
} else := result("fail", sprintf("EBS encryption by default is disabled in region %s", [region]), ev)
