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
}

pub fn run(args: OperatorArgs) -> Result<ExitCode, CliError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Usage(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        let client = kube::Client::try_default()
            .await
            .map_err(|e| CliError::Usage(format!("no Kubernetes client configuration: {e}")))?;
        let mut builtins = BTreeMap::new();
        builtins.insert("cis-aws-foundations".to_string(), embedded::cis_aws_bundle()?);
        let mut ctx = Context::new(client, builtins, vec![embedded::dev_key()?]);
        ctx.inventory_dir = args.inventory_dir;
        ctx.export_dir = args.export_dir;
        let ctx = Arc::new(ctx);
        eprintln!("seg operator: watching Benchmarks and Scans in all namespaces");
        tokio::join!(
            seg_controllers::run_benchmarks(ctx.clone()),
            seg_controllers::run_scans(ctx)
        );
        eprintln!("seg operator: stopped");
        Ok(ExitCode::SUCCESS)
    })
}
