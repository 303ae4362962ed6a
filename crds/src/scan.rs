//! `Scan`: evaluates a Benchmark over the assets of one cloud scope or inventory, once or on a
//! schedule.
// The `printcolumn(...)` arguments of `#[kube]` repeat keys such as `type_` by design.
#![allow(clippy::duplicated_attributes)]

use std::collections::BTreeMap;

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::{Condition, KeyReference, LocalObjectReference};

/// What to evaluate, over which assets, with which credentials and when.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "seg.neurocipher.io",
    version = "v1alpha1",
    kind = "Scan",
    namespaced,
    status = "ScanStatus",
    derive = "PartialEq",
    shortname = "scn",
    category = "seg",
    doc = "A scan: evaluates the controls of a Benchmark of the same namespace over the assets of one AWS account, Azure subscription, GCP project or inventory file, once or on a cron schedule. Each run records exact counts by result and severity in the status, one Finding object per failing (control, asset) and, when configured, the OCSF findings of the run as JSONL.",
    printcolumn(
        name = "Benchmark",
        type_ = "string",
        json_path = ".spec.benchmarkRef.name",
        description = "The Benchmark evaluated"
    ),
    printcolumn(
        name = "Provider",
        type_ = "string",
        json_path = ".spec.provider",
        description = "Where the assets come from"
    ),
    printcolumn(
        name = "Schedule",
        type_ = "string",
        json_path = ".spec.schedule",
        description = "Cron schedule",
        priority = 1
    ),
    printcolumn(
        name = "Phase",
        type_ = "string",
        json_path = ".status.phase",
        description = "Phase of the current or last run"
    ),
    printcolumn(
        name = "Fail",
        type_ = "integer",
        json_path = ".status.resultCounts.fail",
        description = "Failing (control, asset) pairs of the last run"
    ),
    printcolumn(
        name = "Last Run",
        type_ = "date",
        json_path = ".status.lastRunTime",
        description = "When the last run started"
    ),
    printcolumn(
        name = "Next Run",
        type_ = "date",
        json_path = ".status.nextRunTime",
        description = "When the next scheduled run starts",
        priority = 1
    ),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status",
        description = "Ready condition"
    ),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("has(self.aws) == (self.provider == 'aws')")
        .message("spec.aws must be set when provider is aws, and only then")
        .field_path(".aws"),
    validation = Rule::new("has(self.azure) == (self.provider == 'azure')")
        .message("spec.azure must be set when provider is azure, and only then")
        .field_path(".azure"),
    validation = Rule::new("has(self.gcp) == (self.provider == 'gcp')")
        .message("spec.gcp must be set when provider is gcp, and only then")
        .field_path(".gcp"),
    validation = Rule::new("has(self.inventory) == (self.provider == 'inventory')")
        .message("spec.inventory must be set when provider is inventory, and only then")
        .field_path(".inventory"),
    validation = Rule::new("has(self.credentials) == (self.provider != 'inventory')")
        .message("spec.credentials must be set for aws, azure and gcp scans and must not be set for inventory scans")
        .field_path(".credentials"),
    validation = Rule::new(
        "!has(self.credentials) || !has(self.credentials.workloadIdentity) || \
         (has(self.credentials.workloadIdentity.roleArn) == (self.provider == 'aws') && \
         has(self.credentials.workloadIdentity.clientId) == (self.provider == 'azure') && \
         has(self.credentials.workloadIdentity.serviceAccount) == (self.provider == 'gcp'))"
    )
        .message("spec.credentials.workloadIdentity needs roleArn for aws, clientId for azure or serviceAccount for gcp, and nothing else")
        .field_path(".credentials.workloadIdentity")
)]
pub struct ScanSpec {
    /// The Benchmark (in this namespace) whose controls are evaluated. Immutable: create another
    /// Scan to evaluate another Benchmark.
    #[x_kube(validation = Rule::new("self == oldSelf").message("benchmarkRef is immutable"))]
    pub benchmark_ref: LocalObjectReference,
    /// Where the assets come from: `aws`, `azure`, `gcp` (the cloud's APIs, scoped by the block of
    /// the same name) or `inventory` (a JSONL file of AWS Config configuration items, Azure
    /// Resource Graph rows or GCP Cloud Assets, described by `inventory`).
    pub provider: Provider,
    /// The AWS account and regions to scan. Set when, and only when, provider is `aws`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws: Option<AwsScope>,
    /// The Azure subscription to scan. Set when, and only when, provider is `azure`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azure: Option<AzureScope>,
    /// The GCP project to scan. Set when, and only when, provider is `gcp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gcp: Option<GcpScope>,
    /// The inventory file to evaluate. Set when, and only when, provider is `inventory`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory: Option<InventorySource>,
    /// Only assets that carry all of these tags (AWS tags, Azure tags, GCP labels) with these
    /// values are evaluated. Every asset of the scope when empty.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(length(max = 32))]
    pub tags: BTreeMap<String, String>,
    /// How the operator authenticates to the cloud: a Secret of this namespace or a workload
    /// identity. Credentials are never written into the Scan itself. Required for `aws`,
    /// `azure` and `gcp`; not allowed for `inventory`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<Credentials>,
    /// Cron schedule of runs (five fields, `minute hour day-of-month month day-of-week`, in
    /// UTC, or `@hourly`, `@daily`, `@weekly`, `@monthly`, `@yearly`). Without a schedule the
    /// Scan runs once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 128))]
    #[x_kube(validation = Rule::new(
        "self.matches('^(@(yearly|annually|monthly|weekly|daily|hourly)|\\\\S+(\\\\s+\\\\S+){4})$')"
    ).message("schedule must be a cron expression of five fields (minute hour day-of-month month day-of-week) or one of @hourly, @daily, @weekly, @monthly, @yearly"))]
    pub schedule: Option<String>,
    /// When true, no new scheduled run starts; a run in progress finishes. Default false.
    #[serde(default)]
    pub suspend: bool,
    /// Limits of one run.
    #[serde(default)]
    pub limits: ScanLimits,
    /// Where each run's findings are written as OCSF 1.8 JSONL. Not exported when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub export: Option<ExportTarget>,
}

/// Where the assets of a Scan come from.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Aws,
    Azure,
    Gcp,
    Inventory,
}

/// An AWS account and regions.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct AwsScope {
    /// The 12-digit AWS account id.
    #[schemars(regex(pattern = r"^[0-9]{12}$"))]
    pub account_id: String,
    /// Regions whose regional resources are scanned, for example `us-east-1`. Global resources
    /// (IAM, the account password policy, S3 bucket settings) are scanned once per account.
    #[schemars(
        length(min = 1, max = 64),
        inner(regex(pattern = r"^[a-z]{2}(-[a-z]+)+-[0-9]+$"))
    )]
    #[x_kube(merge_strategy = ListMerge::Set)]
    pub regions: Vec<String>,
}

/// An Azure subscription.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AzureScope {
    /// The subscription id (a UUID).
    #[schemars(regex(
        pattern = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    ))]
    pub subscription_id: String,
}

/// A GCP project.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GcpScope {
    /// The project id, for example `my-project-123`.
    #[schemars(regex(pattern = r"^[a-z][-a-z0-9]{4,28}[a-z0-9]$"))]
    pub project_id: String,
}

/// An inventory file: one AWS Config configuration item, Azure Resource Graph row or GCP Cloud
/// Asset per line (JSONL).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.configMapKeyRef) != has(self.path)")
    .message("exactly one of inventory.configMapKeyRef or inventory.path must be set"))]
pub struct InventorySource {
    /// A key of a ConfigMap of this namespace holding the JSONL text (for small inventories: a
    /// ConfigMap holds at most 1 MiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map_key_ref: Option<KeyReference>,
    /// A JSONL file on a volume mounted into the operator, relative to the operator's inventory
    /// directory. Absolute paths and `..` are not allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 1024))]
    #[x_kube(validation = Rule::new("!self.startsWith('/') && !('..' in self.split('/'))")
        .message("inventory.path must be relative to the operator's inventory directory and must not contain '..'"))]
    pub path: Option<String>,
}

/// How the operator authenticates to the cloud of a Scan: exactly one of `secretRef` or
/// `workloadIdentity`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.secretRef) != has(self.workloadIdentity)")
    .message("exactly one of credentials.secretRef or credentials.workloadIdentity must be set"))]
pub struct Credentials {
    /// A Secret of this namespace with the provider's credentials (AWS: `AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY` and optionally `AWS_SESSION_TOKEN`; Azure: `AZURE_TENANT_ID`,
    /// `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`; GCP: `credentials.json`, a service account key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
    /// The workload identity of the operator's pod (EKS IRSA or Pod Identity, Azure Workload
    /// Identity, GKE Workload Identity), used to take on the identity named here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload_identity: Option<WorkloadIdentity>,
}

/// The identity a Scan takes on through the operator's workload identity. Set the field of the
/// Scan's provider, and only that one.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadIdentity {
    /// AWS: ARN of the IAM role assumed (sts:AssumeRole) with the pod's web identity, for example
    /// `arn:aws:iam::123456789012:role/seg-audit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]{1,512}$"))]
    pub role_arn: Option<String>,
    /// Azure: client id (a UUID) of the managed identity or app registration federated with the
    /// operator's service account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(
        pattern = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    ))]
    pub client_id: Option<String>,
    /// GCP: email of the service account impersonated, for example
    /// `seg-audit@my-project.iam.gserviceaccount.com`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 254), regex(pattern = r"^[^@\s]+@[^@\s]+$"))]
    pub service_account: Option<String>,
}

/// Limits of one run of a Scan.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScanLimits {
    /// At most this many Finding objects exist for the Scan. The most severe failures get one
    /// first, and resolved Findings are deleted (oldest first) to make room. The counts in the
    /// status stay exact; `findingsTruncated` tells when failures went unrecorded as objects.
    /// Default 1000.
    #[serde(default = "default_max_findings")]
    #[schemars(range(max = 100_000))]
    #[x_kube(validation = Rule::new("self > 0").message("limits.maxFindings must be greater than 0"))]
    pub max_findings: i32,
}

/// Default of `limits.maxFindings`.
pub const DEFAULT_MAX_FINDINGS: i32 = 1000;

fn default_max_findings() -> i32 {
    DEFAULT_MAX_FINDINGS
}

impl Default for ScanLimits {
    fn default() -> Self {
        ScanLimits {
            max_findings: DEFAULT_MAX_FINDINGS,
        }
    }
}

/// Where findings are exported.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExportTarget {
    /// A file on a volume mounted into the operator, relative to the operator's export
    /// directory (parent directories are created). Each run replaces it as a whole (written to
    /// `<path>.partial`, then renamed) with one OCSF 1.8 Compliance Finding per line;
    /// `status.exportLocation` names it. Absolute paths and `..` are not allowed.
    #[schemars(length(min = 1, max = 1024))]
    #[x_kube(validation = Rule::new("!self.startsWith('/') && !('..' in self.split('/'))")
        .message("export.path must be relative to the operator's export directory and must not contain '..'"))]
    pub path: String,
}

/// Phase of the current or last run of a Scan.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum ScanPhase {
    Pending,
    Running,
    Succeeded,
    Failed,
}

/// Progress of a run. The totals are known once discovery has finished.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScanProgress {
    /// Assets listed by the inventory so far.
    #[serde(default)]
    #[schemars(range(min = 0))]
    pub assets_discovered: i64,
    /// Assets whose applicable controls have all been evaluated.
    #[serde(default)]
    #[schemars(range(min = 0))]
    pub assets_evaluated: i64,
    /// All assets of the run, once discovery has finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub assets_total: Option<i64>,
    /// Control evaluations done: one per (control, asset) pair where the control applies to the
    /// asset's kind.
    #[serde(default)]
    #[schemars(range(min = 0))]
    pub controls_evaluated: i64,
    /// All control evaluations of the run, once discovery has finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub controls_total: Option<i64>,
}

/// Exact numbers of (control, asset) results of a run, by result.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResultCounts {
    /// Results `pass`.
    #[serde(default)]
    #[schemars(range(min = 0))]
    pub pass: i64,
    /// Results `fail`.
    #[serde(default)]
    #[schemars(range(min = 0))]
    pub fail: i64,
    /// Results `warn`.
    #[serde(default)]
    #[schemars(range(min = 0))]
    pub warn: i64,
    /// Results `error`: the evaluation failed or ran out of time.
    #[serde(default)]
    #[schemars(range(min = 0))]
    pub error: i64,
    /// Results `not_applicable`.
    #[serde(default)]
    #[schemars(range(min = 0))]
    pub not_applicable: i64,
}

/// Exact numbers of failing (control, asset) results of a run, by the control's severity.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SeverityCounts {
    /// Failures of `critical` controls.
    #[serde(default)]
    #[schemars(range(min = 0))]
    pub critical: i64,
    /// Failures of `high` controls.
    #[serde(default)]
    #[schemars(range(min = 0))]
    pub high: i64,
    /// Failures of `medium` controls.
    #[serde(default)]
    #[schemars(range(min = 0))]
    pub medium: i64,
    /// Failures of `low` controls.
    #[serde(default)]
    #[schemars(range(min = 0))]
    pub low: i64,
    /// Failures of `info` controls.
    #[serde(default)]
    #[schemars(range(min = 0))]
    pub info: i64,
}

/// The state of a Scan and of its current or last run.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScanStatus {
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub observed_generation: Option<i64>,
    /// Id of the current or last run: a content hash of the bundle digest, the inventory, the
    /// evaluation time and the tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// Phase of the current or last run: `Pending`, `Running`, `Succeeded` or `Failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<ScanPhase>,
    /// Progress of the current or last run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<ScanProgress>,
    /// Exact numbers of results of the last finished run, by result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_counts: Option<ResultCounts>,
    /// Exact numbers of failures of the last finished run, by severity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity_counts: Option<SeverityCounts>,
    /// True when the last run had more failures than `limits.maxFindings`, so that not every
    /// failure has a Finding object (the counts are still exact).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub findings_truncated: Option<bool>,
    /// When the current or last run started (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "date-time"))]
    pub last_run_time: Option<String>,
    /// When the last run finished (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "date-time"))]
    pub last_completion_time: Option<String>,
    /// When the next run starts (RFC 3339): the next scheduled run, or, after a failed run, its
    /// retry: `seg operator --retry-seconds` later for a degraded or unreachable cloud API, ten
    /// times that for a failure that needs a fix (access denied, a missing Secret or
    /// ConfigMap), or the scheduled run if sooner. A failed run is not started again before.
    /// Absent without a schedule and nothing to retry, and when only a change of the Scan can
    /// help (an invalid schedule).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "date-time"))]
    pub next_run_time: Option<String>,
    /// Where the last run's OCSF JSONL was written (a path on the export volume).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub export_location: Option<String>,
    /// Calls to the cloud that failed during the last run, each with its SEG-001 error code. A
    /// failing region or service degrades the run: the rest is still evaluated and counted, the
    /// Scan is not `Ready`, and the next run is retried with back-off.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 64))]
    pub inventory_errors: Vec<InventoryError>,
    /// How many more cloud calls failed than `inventoryErrors` can hold (it keeps the first 64).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub inventory_errors_omitted: Option<i64>,
    /// Conditions: `Ready` when the last run succeeded for the current generation;
    /// `Reconciling` while a run is in progress; `Stalled` when a run cannot start or finish,
    /// with the reason (for example `BenchmarkNotFound`, `BenchmarkNotReady`,
    /// `CredentialsNotFound`, `InventoryUnreadable`) and a message.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 16))]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["type".into()]))]
    pub conditions: Vec<Condition>,
}

/// A failed call to a cloud API during a run.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InventoryError {
    /// SEG-001 error code: `SEG_ADAPTER_TIMEOUT`, `SEG_ADAPTER_UNAVAILABLE`, `SEG_ADAPTER_AUTH`, ...
    pub code: String,
    /// The service, for example `ec2` or `iam`.
    pub service: String,
    /// The region, or `global`.
    pub region: String,
    /// The API operation, for example `DescribeSecurityGroups`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// What went wrong.
    #[schemars(length(max = 1024))]
    pub message: String,
}
