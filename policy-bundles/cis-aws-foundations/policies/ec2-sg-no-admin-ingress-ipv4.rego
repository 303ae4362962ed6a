package seg.cis_aws_foundations.ec2_sg_no_admin_ingress_ipv4

import rego.v1

# No security group allows ingress from 0.0.0.0/0 to remote server administration ports.
# CIS AWS Foundations Benchmark v7.0.0 6.3 (Automated, Level 1).
# Target: AWS::EC2::SecurityGroup (AWS Config: configuration.ipPermissions[] with ipProtocol, fromPort,
# toPort, ipv4Ranges[].cidrIp / ipRanges[], ipv6Ranges[].cidrIpv6). A rule matches when its protocol is
# tcp, udp or -1 (all) and its port range covers one of input.params.admin_ports.

res := input.resource if {
	is_object(input.resource)
} else := {}

cfg := res.configuration if {
	is_object(res.configuration)
} else := {}

group := object.get(cfg, "groupId", object.get(res, "resourceId", "unknown"))

group_label := sprintf("%s (%s)", [group, cfg.groupName]) if {
	is_string(cfg.groupName)
} else := group

ports := [p | some p in input.params.admin_ports; is_number(p)]

permissions := object.get(cfg, "ipPermissions", null)

list(x) := x if {
	is_array(x)
} else := []

# Protocol names and numbers map to tcp, udp, all, ...; anything unknown is "other".
protocol(rule) := name if {
	is_string(rule.ipProtocol)
	name := data.cis_aws_foundations.ip_protocols[lower(rule.ipProtocol)]
} else := name if {
	is_number(rule.ipProtocol)
	name := data.cis_aws_foundations.ip_protocols[format_int(rule.ipProtocol, 10)]
} else := "other"

covers(rule, port) if {
	protocol(rule) == "all"
	is_number(port)
}

covers(rule, port) if {
	protocol(rule) in {"tcp", "udp"}
	is_number(rule.fromPort)
	is_number(rule.toPort)
	rule.fromPort <= port
	port <= rule.toPort
}

describe(rule) := "all traffic" if {
	protocol(rule) == "all"
} else := sprintf("%s %d", [protocol(rule), rule.fromPort]) if {
	rule.fromPort == rule.toPort
} else := sprintf("%s %d-%d", [protocol(rule), rule.fromPort, rule.toPort])

world_label := "0.0.0.0/0"

# IPv4 sources of a rule; AWS Config lists them in ipv4Ranges (objects) and ipRanges (strings).
sources(rule) := {c | some r in list(rule.ipv4Ranges); is_object(r); c := r.cidrIp; is_string(c)} | {c | some c in list(rule.ipRanges); is_string(c)}

open_to_world contains [i, cidr] if {
	some i, rule in list(permissions)
	is_object(rule)
	some port in ports
	covers(rule, port)
	some cidr in sources(rule)
	endswith(cidr, "/0")
}

findings contains sprintf("%s on %s", [hit[1], describe(permissions[hit[0]])]) if {
	some hit in open_to_world
}

evidence contains {"path": sprintf("configuration.ipPermissions.%d", [i]), "value": permissions[i], "expected": sprintf("no ingress from %s to ports %s", [world_label, concat(", ", [format_int(p, 10) | some p in ports])])} if {
	some hit in open_to_world
	i := hit[0]
}

# Explicit tests, so that a missing value makes them false instead of undefined.
has_configuration if {
	is_object(res.configuration)
}

permissions_is_list if {
	is_array(permissions)
}

result(r, msg, ev) := {"result": r, "message": msg, "evidence": ev}

deleted if {
	res.configurationItemStatus in {"ResourceDeleted", "ResourceDeletedNotRecorded"}
}

decision := result("not_applicable", sprintf("security group %s has been deleted", [group]), []) if {
	deleted
} else := result("error", "configuration item has no configuration object", []) if {
	not has_configuration
} else := result("error", "input.params.admin_ports has no port numbers", []) if {
	count(ports) == 0
} else := result("error", sprintf("security group %s: configuration.ipPermissions is not a list", [group]), []) if {
	not permissions_is_list
} else := result("fail", sprintf("security group %s allows %s", [group_label, concat("; ", sort(findings))]), sort(evidence)) if {
	count(findings) > 0
} else := result("pass", sprintf("security group %s allows no ingress from %s to administration ports %s", [group_label, world_label, concat(", ", [format_int(p, 10) | some p in ports])]), [{"path": "configuration.ipPermissions", "value": count(permissions)}])
