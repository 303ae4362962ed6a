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
    /// Directory (a mounted volume) where `spec.inventory.path` of Scans is resolved.
    #[arg(long)]
    pub inventory_dir: Option<PathBuf>,
    /// Directory (a mounted volume) where `spec.export.path` of Scans is written as OCSF JSONL.
    #[arg(long)]
    pub export_dir: Option<PathBuf>,
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
    /// Prefix of the external id presented when a Scan assumes its AWS role; the Scan's
    /// namespace follows it (`seg:tenant-a`). Trust policies of scanned roles require it.
    #[arg(long, default_value = "seg:")]
    pub aws_external_id_prefix: String,
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

pub fn run(args: OperatorArgs) -> Result<ExitCode, CliError> {
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
        let mut ctx = Context::new(client.clone(), builtins, vec![embedded::dev_key()?]);
        ctx.inventory_dir = args.inventory_dir;
        ctx.export_dir = args.export_dir;
        ctx.evaluation_slots = Arc::new(tokio::sync::Semaphore::new(usize::from(
            args.max_concurrent_scans,
        )));
        ctx.progress_interval = std::time::Duration::from_secs(args.progress_seconds);
        ctx.retry_interval = std::time::Duration::from_secs(args.retry_seconds);
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
            external_id_prefix: args.aws_external_id_prefix,
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
        eprintln!(
            "seg operator: {identity} is the leader (Lease {}/{})",
            lease.namespace, lease.name
        );
        let ctx = Arc::new(ctx);
        eprintln!("seg operator: watching Benchmarks and Scans in all namespaces");
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
                    Ok(true) => eprintln!(
                        "seg operator: released the Lease {}/{}",
                        lease.namespace, lease.name
                    ),
                    Ok(false) => eprintln!(
                        "seg operator: the Lease {}/{} was no longer ours to release",
                        lease.namespace, lease.name
                    ),
                    Err(e) => eprintln!("seg operator: could not release the Lease: {e}"),
                }
                eprintln!("seg operator: stopped");
                Ok(ExitCode::SUCCESS)
            }
            lost = seg_controllers::lease::hold(&client, &lease, acquired) => {
                eprintln!("seg operator: leadership lost ({lost}); stopping so that only one replica writes");
                Ok(ExitCode::from(1))
            }
        }
    });
    // After leadership is lost, evaluations still running on blocking threads are abandoned
    // rather than waited for: the process must stop writing now.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    result
}
