package seg.cis_aws_foundations.ec2_instance_iam_profile_attached

import rego.v1

# EC2 instances use an IAM instance profile (role) for AWS access instead of stored keys.
# CIS AWS Foundations Benchmark v7.0.0 2.16 (Automated, Level 2).
# Target: AWS::EC2::Instance (AWS Config: configuration.iamInstanceProfile {arn, id}, configuration.state.name).
# Terminated instances are not applicable.

res := input.resource if {
	is_object(input.resource)
} else := {}

cfg := res.configuration if {
	is_object(res.configuration)
} else := {}

id := object.get(cfg, "instanceId", object.get(res, "resourceId", "unknown"))

state := cfg.state.name if {
	is_string(cfg.state.name)
} else := "unknown"

profile := object.get(cfg, "iamInstanceProfile", null)

ev := [{"path": "configuration.iamInstanceProfile", "value": profile, "expected": "an instance profile"}]

# Explicit tests, so that a missing value makes them false instead of undefined.
has_configuration if {
	is_object(res.configuration)
}

result(r, msg, evidence) := {"result": r, "message": msg, "evidence": evidence}

deleted if {
	res.configurationItemStatus in {"ResourceDeleted", "ResourceDeletedNotRecorded"}
}

decision := result("not_applicable", sprintf("instance %s has been deleted", [id]), []) if {
	deleted
} else := result("error", "configuration item has no configuration object", []) if {
	not has_configuration
} else := result("not_applicable", sprintf("instance %s is %s", [id, state]), []) if {
	state in {"terminated", "shutting-down"}
} else := result("pass", sprintf("instance %s uses instance profile %s", [id, profile.arn]), ev) if {
	is_string(profile.arn)
	profile.arn != ""
} else := result("fail", sprintf("instance %s has no IAM instance profile", [id]), ev)
