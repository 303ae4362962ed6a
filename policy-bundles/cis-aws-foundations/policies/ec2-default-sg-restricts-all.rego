package seg.cis_aws_foundations.ec2_default_sg_restricts_all

import rego.v1

# The default security group of every VPC has no inbound and no outbound rules.
# CIS AWS Foundations Benchmark v7.0.0 6.5 (Automated, Level 2).
# Target: AWS::EC2::SecurityGroup (AWS Config: configuration.groupName, ipPermissions, ipPermissionsEgress).
# Security groups other than a VPC's "default" group are not applicable.

res := input.resource if {
	is_object(input.resource)
} else := {}

cfg := res.configuration if {
	is_object(res.configuration)
} else := {}

group := object.get(cfg, "groupId", object.get(res, "resourceId", "unknown"))

vpc := object.get(cfg, "vpcId", "unknown")

ingress := object.get(cfg, "ipPermissions", null)

egress := object.get(cfg, "ipPermissionsEgress", null)

ev := [
	{"path": "configuration.ipPermissions", "value": ingress, "expected": []},
	{"path": "configuration.ipPermissionsEgress", "value": egress, "expected": []},
]

# Explicit tests, so that a missing value makes them false instead of undefined.
has_configuration if {
	is_object(res.configuration)
}

ingress_is_list if {
	is_array(ingress)
}

egress_is_list if {
	is_array(egress)
}

result(r, msg, evidence) := {"result": r, "message": msg, "evidence": evidence}

deleted if {
	res.configurationItemStatus in {"ResourceDeleted", "ResourceDeletedNotRecorded"}
}

decision := result("not_applicable", sprintf("security group %s has been deleted", [group]), []) if {
	deleted
} else := result("error", "configuration item has no configuration object", []) if {
	not has_configuration
} else := result("not_applicable", sprintf("security group %s is not a default security group", [group]), []) if {
	object.get(cfg, "groupName", "") != "default"
} else := result("error", sprintf("default security group %s: ipPermissions or ipPermissionsEgress is not a list", [group]), ev) if {
	not ingress_is_list
} else := result("error", sprintf("default security group %s: ipPermissions or ipPermissionsEgress is not a list", [group]), ev) if {
	not egress_is_list
} else := result("fail", sprintf("default security group %s of VPC %s has %d inbound and %d outbound rule(s)", [group, vpc, count(ingress), count(egress)]), ev) if {
	count(ingress) + count(egress) > 0
} else := result("pass", sprintf("default security group %s of VPC %s has no rules", [group, vpc]), ev)
