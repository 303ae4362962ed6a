//! `seg operator`: run the controllers against the cluster of the current kubeconfig
//! (`KUBECONFIG`, `~/.kube/config`, or the in-cluster service account).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use seg_controllers::Context;

use crate::embedded;
use crate::error::CliError;

/// Options of `seg operator`.
#[derive(Debug, clap::Args)]
pub struct OperatorArgs {
    /// Directory (a mounted volume) where `spec.inventory.path` of a Scan in namespace N is read,
    /// as `<dir>/N/<path>`: never through a symbolic link, regular files only.
    #[arg(long)]
    pub inventory_dir: Option<PathBuf>,
    /// Directory (a mounted volume) where `spec.export.path` of a Scan in namespace N is written
    /// as OCSF JSONL, as `<dir>/N/<path>`; removed with the Scan.
    #[arg(long)]
    pub export_dir: Option<PathBuf>,
    /// Largest inventory file a Scan may read from the inventory directory, in MiB.
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_inventory_mib: u64,
    /// Largest export file a Scan may write, in MiB.
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_export_mib: u64,
    /// Files a namespace may hold in the export directory.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_exports_per_namespace: u64,
    /// Public key file (seg key format) that may sign bundles loaded from ConfigMaps; repeat for
    /// several. Without one, only built-in bundles load. A Benchmark's `publicKeys` can only
    /// narrow this list.
    #[arg(long = "trusted-bundle-key")]
    pub trusted_bundle_keys: Vec<PathBuf>,
    /// Seconds that loading and testing one bundle may take.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub bundle_load_timeout_seconds: u64,
    /// Seconds that the evaluation of one run may take.
    #[arg(long, default_value_t = 1800, value_parser = clap::value_parser!(u64).range(1..))]
    pub evaluation_timeout_seconds: u64,
    /// Scans per namespace that run; newer ones are Stalled with reason `NamespaceScanLimit`.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_scans_per_namespace: u64,
    /// Finding objects of all the Scans of one namespace together.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_findings_per_namespace: u64,
    /// Shortest time between two scheduled runs of a Scan, in seconds; more frequent schedules
    /// are Stalled with reason `ScheduleTooFrequent`.
    #[arg(long, default_value_t = 300)]
    pub min_schedule_interval_seconds: u64,
    /// Namespace of the leader-election Lease (only the holder runs the controllers).
    #[arg(long, env = "POD_NAMESPACE", default_value = "seg-system")]
    pub lease_namespace: String,
    /// Identity of this replica in the Lease (default: the host name).
    #[arg(long, env = "POD_NAME")]
    pub identity: Option<String>,
    /// Lease duration in seconds: how long a dead leader blocks a successor.
    #[arg(long, default_value_t = 15)]
    pub lease_seconds: u64,
    /// Scans that read and evaluate their inventory at the same time; the others wait with
    /// reason `Queued`. Evaluation uses every core already: more only costs memory.
    #[arg(long, default_value_t = seg_controllers::DEFAULT_CONCURRENT_SCANS as u16, value_parser = clap::value_parser!(u16).range(1..))]
    pub max_concurrent_scans: u16,
    /// Seconds between progress updates of a running Scan's status.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..))]
    pub progress_seconds: u64,
    /// Seconds until a run whose cloud inventory could not be read (wholly or partly) is tried
    /// again.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub retry_seconds: u64,
    /// One endpoint for every AWS service (an API simulator, or a proxy); default: AWS itself.
    #[arg(long, env = "SEG_AWS_ENDPOINT_URL")]
    pub aws_endpoint_url: Option<String>,
    /// Name of this cluster, as the external ids of AWS roles show it (default external-id
    /// prefix `seg:<cluster name>:`). Give every cluster its own.
    #[arg(long, env = "SEG_CLUSTER_NAME", default_value = "default")]
    pub cluster_name: String,
    /// Prefix of the external id presented when a Scan assumes its AWS role; the Scan's
    /// namespace follows it (`seg:prod-eu:tenant-a`). Trust policies of scanned roles require
    /// it. Must end with `:` or `/`. Default: `seg:<--cluster-name>:`.
    #[arg(long)]
    pub aws_external_id_prefix: Option<String>,
    /// Time limit of one attempt of one AWS call, in seconds.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..))]
    pub aws_timeout_seconds: u64,
    /// Attempts per AWS call (exponential back-off on throttling and transient errors).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    pub aws_max_attempts: u32,
    /// Directory (a mounted volume) where the raw cloud API responses behind Findings are stored,
    /// content-addressed (`sha256/<2 hex>/<hex>`, chunked at 8 MiB); Findings point to them.
    #[arg(long, conflicts_with = "evidence_s3_bucket")]
    pub evidence_dir: Option<PathBuf>,
    /// Store the evidence in this S3 bucket instead (objects `<prefix>/sha256/<hex>`, written
    /// once with If-None-Match; credentials from the SDK's default chain).
    #[arg(long)]
    pub evidence_s3_bucket: Option<String>,
    /// Key prefix in the evidence bucket.
    #[arg(long, default_value = "seg-evidence")]
    pub evidence_s3_prefix: String,
    /// Endpoint of the evidence bucket (an S3-compatible store); default AWS.
    #[arg(long)]
    pub evidence_s3_endpoint_url: Option<String>,
}

/// Logs: JSON lines on standard error, through `tracing` (the operator's spans and events, and
/// kube-runtime's own). `SEG_LOG` filters them (`info` by default, e.g. `SEG_LOG=debug`).
fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SEG_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .with_writer(std::io::stderr)
        .try_init();
}

pub fn run(args: OperatorArgs) -> Result<ExitCode, CliError> {
    init_logs();
    let external_id_prefix = args
        .aws_external_id_prefix
        .clone()
        .unwrap_or_else(|| format!("seg:{}:", args.cluster_name));
    if !seg_controllers::aws::valid_external_id_prefix(&external_id_prefix) {
        return Err(CliError::Usage(format!(
            "--aws-external-id-prefix {external_id_prefix:?} must end with ':' or '/', so that one namespace's external id is never the start of another's"
        )));
    }
    // Both TLS back-ends are linked (kube uses ring, the AWS SDK aws-lc-rs): choose one for the
    // process before any client is built. An error means one was installed already.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Usage(format!("cannot start the async runtime: {e}")))?;
    let result = runtime.block_on(async {
        let client = kube::Client::try_default()
            .await
            .map_err(|e| CliError::Usage(format!("no Kubernetes client configuration: {e}")))?;
        let mut builtins = BTreeMap::new();
        builtins.insert("cis-aws-foundations".to_string(), embedded::cis_aws_bundle()?);
        let identity = args
            .identity
            .or_else(|| {
                std::fs::read_to_string("/proc/sys/kernel/hostname")
                    .ok()
                    .map(|h| h.trim().to_string())
            })
            .unwrap_or_else(|| format!("seg-{}", std::process::id()));
        // The development key verifies the built-in bundles only.
        let mut ctx = Context::new(client.clone(), builtins, vec![embedded::dev_key()?]);
        for path in &args.trusted_bundle_keys {
            let text = std::fs::read_to_string(path)
                .map_err(|e| CliError::Usage(format!("--trusted-bundle-key {}: {e}", path.display())))?;
            let key = seg_engine::dsse::KeyFile::parse(&text)
                .and_then(|k| k.verifying_key())
                .map_err(|e| CliError::Usage(format!("--trusted-bundle-key {}: {e}", path.display())))?;
            ctx.trusted_bundle_keys.push(key);
        }
        const MIB: u64 = 1 << 20;
        if let Some(dir) = &args.inventory_dir {
            let d = seg_adapter_tenantfs::TenantDir::new(dir)
                .map_err(|e| CliError::Usage(format!("--inventory-dir {}: {e}", dir.display())))?
                .with_limits(args.max_inventory_mib.saturating_mul(MIB), 0, 0);
            ctx.inventory_dir = Some(Arc::new(d));
        }
        if let Some(dir) = &args.export_dir {
            let d = seg_adapter_tenantfs::TenantDir::new(dir)
                .map_err(|e| CliError::Usage(format!("--export-dir {}: {e}", dir.display())))?
                .with_limits(
                    0,
                    args.max_export_mib.saturating_mul(MIB),
                    usize::try_from(args.max_exports_per_namespace).unwrap_or(usize::MAX),
                );
            ctx.export_dir = Some(Arc::new(d));
        }
        ctx.slots = seg_controllers::runner::FairSlots::new(usize::from(args.max_concurrent_scans));
        ctx.progress_interval = std::time::Duration::from_secs(args.progress_seconds);
        ctx.retry_interval = std::time::Duration::from_secs(args.retry_seconds);
        ctx.bundle_load_timeout = std::time::Duration::from_secs(args.bundle_load_timeout_seconds);
        ctx.evaluation_timeout = std::time::Duration::from_secs(args.evaluation_timeout_seconds);
        ctx.limits = seg_controllers::scan::decide::Limits {
            max_scans_per_namespace: usize::try_from(args.max_scans_per_namespace).unwrap_or(usize::MAX),
            min_schedule_interval: std::time::Duration::from_secs(args.min_schedule_interval_seconds),
        };
        ctx.max_findings_per_namespace =
            usize::try_from(args.max_findings_per_namespace).unwrap_or(usize::MAX);
        if let Some(dir) = &args.evidence_dir {
            let store = seg_adapter_evidence::EvidenceStore::local(dir)
                .map_err(|e| CliError::Usage(format!("--evidence-dir {}: {e}", dir.display())))?;
            ctx.evidence = Some(Arc::new(store));
        }
        if let Some(bucket) = &args.evidence_s3_bucket {
            let options = seg_adapter_evidence::S3Options {
                bucket: bucket.clone(),
                prefix: args.evidence_s3_prefix.clone(),
                region: None,
                endpoint_url: args.evidence_s3_endpoint_url.clone(),
            };
            let backend = seg_adapter_evidence::S3Backend::from_env(&options)
                .await
                .map_err(|e| CliError::Usage(format!("--evidence-s3-bucket {bucket}: {e}")))?;
            ctx.evidence = Some(Arc::new(seg_adapter_evidence::EvidenceStore::new(
                seg_adapter_evidence::Backend::from(backend),
            )));
        }
        ctx.aws = seg_controllers::aws::AwsSettings {
            endpoint_url: args.aws_endpoint_url,
            external_id_prefix: external_id_prefix.clone(),
            timeout: std::time::Duration::from_secs(args.aws_timeout_seconds),
            max_attempts: args.aws_max_attempts,
        };
        let lease = seg_controllers::lease::LeaseConfig {
            namespace: args.lease_namespace,
            name: "seg-operator".into(),
            identity: identity.clone(),
            duration: std::time::Duration::from_secs(args.lease_seconds.max(2)),
        };
        // Everything is set up before the Lease is taken: from here on it is renewed.
        let acquired = seg_controllers::lease::acquire(&client, &lease)
            .await
            .map_err(|e| CliError::Usage(format!("leader election: {e}")))?;
        tracing::info!(
            identity = %identity,
            "{identity} is the leader (Lease {}/{})",
            lease.namespace,
            lease.name
        );
        let ctx = Arc::new(ctx);
        tracing::info!("watching Benchmarks and Scans in all namespaces");
        let controllers = async {
            tokio::join!(
                seg_controllers::run_benchmarks(ctx.clone()),
                seg_controllers::run_scans(ctx)
            )
        };
        // The controllers run while the Lease is renewed; they stop on SIGINT/SIGTERM (after
        // the reconciles in flight), and the process stops when leadership is lost.
        tokio::select! {
            _ = controllers => {
                match seg_controllers::lease::release(&client, &lease).await {
                    Ok(true) => tracing::info!("released the Lease {}/{}", lease.namespace, lease.name),
                    Ok(false) => tracing::warn!(
                        "the Lease {}/{} was no longer ours to release",
                        lease.namespace,
                        lease.name
                    ),
                    Err(e) => tracing::error!(error = %e, "could not release the Lease"),
                }
                tracing::info!("stopped");
                Ok(ExitCode::SUCCESS)
            }
            lost = seg_controllers::lease::hold(&client, &lease, acquired) => {
                tracing::error!(reason = %lost, "leadership lost; stopping so that only one replica writes");
                Ok(ExitCode::from(1))
            }
        }
    });
    // After leadership is lost, evaluations still running on blocking threads are abandoned
    // rather than waited for: the process must stop writing now.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    result
}
