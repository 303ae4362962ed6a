//! `seg operator`: run the controllers against the cluster of the current kubeconfig
//! (`KUBECONFIG`, `~/.kube/config`, or the in-cluster service account).

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Arc;

use seg_controllers::Context;

use crate::embedded;
use crate::error::CliError;

pub fn run() -> Result<ExitCode, CliError> {
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
        let ctx = Arc::new(Context::new(client, builtins, vec![embedded::dev_key()?]));
        eprintln!("seg operator: watching Benchmarks in all namespaces");
        seg_controllers::run_benchmarks(ctx).await;
        eprintln!("seg operator: stopped");
        Ok(ExitCode::SUCCESS)
    })
}
