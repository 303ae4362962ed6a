package seg.cis_aws_foundations.ec2_nacl_no_admin_ingress

import rego.v1

# No network ACL allows ingress from 0.0.0.0/0 or ::/0 to remote server administration ports.
# CIS AWS Foundations Benchmark v7.0.0 6.2 (Automated, Level 1).
# Target: AWS::EC2::NetworkAcl (AWS Config: configuration.entries[] with ruleNumber, ruleAction, egress,
# protocol ("6", "-1", ...), portRange {from, to}, cidrBlock / ipv6CidrBlock; configuration.associations).
# Entries are evaluated in rule-number order: an allow entry that a lower-numbered deny entry for the
# same world range shadows does not count. Network ACLs associated with no subnet are not applicable.

res := input.resource if {
	is_object(input.resource)
} else := {}

cfg := res.configuration if {
	is_object(res.configuration)
} else := {}

acl := object.get(cfg, "networkAclId", object.get(res, "resourceId", "unknown"))

ports := [p | some p in input.params.admin_ports; is_number(p)]

entries := object.get(cfg, "entries", null)

associations := object.get(cfg, "associations", null)

list(x) := x if {
	is_array(x)
} else := []

# Protocol names and numbers map to tcp, udp, all, ...; anything unknown is "other".
protocol(entry) := name if {
	is_string(entry.protocol)
	name := data.cis_aws_foundations.ip_protocols[lower(entry.protocol)]
} else := name if {
	is_number(entry.protocol)
	name := data.cis_aws_foundations.ip_protocols[format_int(entry.protocol, 10)]
} else := "other"

# Whether an entry applies to TCP traffic to the given port.
covers(entry, port) if {
	protocol(entry) == "all"
	is_number(port)
}

covers(entry, port) if {
	protocol(entry) == "tcp"
	is_number(entry.portRange.from)
	is_number(entry.portRange.to)
	entry.portRange.from <= port
	port <= entry.portRange.to
}

families := {"cidrBlock": "0.0.0.0/0", "ipv6CidrBlock": "::/0"}

# Ingress entries that apply to TCP traffic from anywhere (family) to the port.
world_entries(family, port) := [e |
	some e in list(entries)
	is_object(e)
	object.get(e, "egress", false) == false
	cidr := object.get(e, family, null)
	is_string(cidr)
	endswith(cidr, "/0")
	is_number(e.ruleNumber)
	covers(e, port)
]

# The entry that decides TCP traffic from anywhere to the port: the lowest rule number.
deciding(family, port) := e if {
	matching := world_entries(family, port)
	count(matching) > 0
	first := min([m.ruleNumber | some m in matching])
	e := [m | some m in matching; m.ruleNumber == first][0]
}

open_ports contains [family, port, e.ruleNumber] if {
	some family, _ in families
	some port in ports
	e := deciding(family, port)
	object.get(e, "ruleAction", "") == "allow"
}

findings contains sprintf("rule %d allows %s to tcp port %d", [hit[2], families[hit[0]], hit[1]]) if {
	some hit in open_ports
}

evidence contains {"path": sprintf("configuration.entries.%d", [i]), "value": e, "expected": sprintf("no ingress allowed from 0.0.0.0/0 or ::/0 to ports %s", [concat(", ", [format_int(p, 10) | some p in ports])])} if {
	some hit in open_ports
	some i, e in list(entries)
	is_object(e)
	e.ruleNumber == hit[2]
	object.get(e, "egress", false) == false
}

# Explicit tests, so that a missing value makes them false instead of undefined.
has_configuration if {
	is_object(res.configuration)
}

entries_is_list if {
	is_array(entries)
}

result(r, msg, ev) := {"result": r, "message": msg, "evidence": ev}

deleted if {
	res.configurationItemStatus in {"ResourceDeleted", "ResourceDeletedNotRecorded"}
}

decision := result("not_applicable", sprintf("network ACL %s has been deleted", [acl]), []) if {
	deleted
} else := result("error", "configuration item has no configuration object", []) if {
	not has_configuration
} else := result("error", "input.params.admin_ports has no port numbers", []) if {
	count(ports) == 0
} else := result("error", sprintf("network ACL %s: configuration.entries is not a list", [acl]), []) if {
	not entries_is_list
} else := result("not_applicable", sprintf("network ACL %s is not associated with any subnet", [acl]), [{"path": "configuration.associations", "value": associations, "expected": "at least one subnet"}]) if {
	is_array(associations)
	count(associations) == 0
} else := result("fail", sprintf("network ACL %s: %s", [acl, concat("; ", sort(findings))]), sort(evidence)) if {
	count(findings) > 0
} else := result("pass", sprintf("network ACL %s allows no ingress from 0.0.0.0/0 or ::/0 to ports %s", [acl, concat(", ", [format_int(p, 10) | some p in ports])]), [{"path": "configuration.entries", "value": count(entries)}])
