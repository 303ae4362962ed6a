package seg.cis_aws_foundations.vpc_flow_logs_enabled

import rego.v1

# The VPC has an active flow log capturing at least rejected traffic (traffic type REJECT or ALL).
# CIS AWS Foundations Benchmark v7.0.0 4.7 (Automated, Level 2).
# Target: AWS::EC2::VPC with supplementaryConfiguration.FlowLogs (DescribeFlowLogs entries whose
# resourceId is the VPC, camelCase; [] when there is none).

res := input.resource if {
	is_object(input.resource)
} else := {}

cfg := res.configuration if {
	is_object(res.configuration)
} else := {}

supp := res.supplementaryConfiguration if {
	is_object(res.supplementaryConfiguration)
} else := {}

vpc := object.get(cfg, "vpcId", object.get(res, "resourceId", "unknown"))

flow_logs := object.get(supp, "FlowLogs", null)

flow_log_list := flow_logs if {
	is_array(flow_logs)
} else := []

capturing contains sprintf("%s (%s)", [object.get(fl, "flowLogId", "unnamed"), fl.trafficType]) if {
	some fl in flow_log_list
	is_object(fl)
	object.get(fl, "flowLogStatus", "ACTIVE") == "ACTIVE"
	object.get(fl, "deliverLogsStatus", "SUCCESS") != "FAILED"
	fl.trafficType in {"ALL", "REJECT"}
}

others contains sprintf("%s (%s, %s)", [object.get(fl, "flowLogId", "unnamed"), text(object.get(fl, "trafficType", null)), text(object.get(fl, "flowLogStatus", null))]) if {
	some fl in flow_log_list
	is_object(fl)
}

text(v) := v if {
	is_string(v)
} else := "unknown"

ev := [{"path": "supplementaryConfiguration.FlowLogs", "value": flow_logs, "expected": "an ACTIVE flow log with trafficType REJECT or ALL"}]

# Explicit tests, so that a missing value makes them false instead of undefined.
has_configuration if {
	is_object(res.configuration)
}

flow_logs_is_list if {
	is_array(flow_logs)
}

result(r, msg, evidence) := {"result": r, "message": msg, "evidence": evidence}

deleted if {
	res.configurationItemStatus in {"ResourceDeleted", "ResourceDeletedNotRecorded"}
}

decision := result("not_applicable", sprintf("VPC %s has been deleted", [vpc]), []) if {
	deleted
} else := result("error", "configuration item has no configuration object", []) if {
	not has_configuration
} else := result("error", sprintf("VPC %s has no supplementaryConfiguration.FlowLogs list", [vpc]), []) if {
	not flow_logs_is_list
} else := result("pass", sprintf("VPC %s has flow log(s) %s", [vpc, concat(", ", sort(capturing))]), ev) if {
	count(capturing) > 0
} else := result("fail", sprintf("VPC %s has no flow log", [vpc]), ev) if {
	count(flow_log_list) == 0
} else := result("fail", sprintf("VPC %s has no active flow log capturing rejected traffic (found %s)", [vpc, concat(", ", sort(others))]), ev)
