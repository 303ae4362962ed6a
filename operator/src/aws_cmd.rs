//! `seg scan --provider aws`: collect an account's inventory with the AWS adapter.

use std::time::Duration;

use seg_adapter_aws::{AwsScanConfig, Collection};
use seg_engine::time::Timestamp;

use crate::error::CliError;
use crate::AwsArgs;

/// The adapter's configuration from the command line.
pub fn config(args: &AwsArgs, at: Timestamp) -> Result<AwsScanConfig, CliError> {
    if args.aws_regions.is_empty() {
        return Err(CliError::Usage(
            "--provider aws needs --aws-region (or AWS_REGION)".into(),
        ));
    }
    let mut cfg = AwsScanConfig::new(args.aws_regions.clone(), at);
    cfg.account_id = args.aws_account_id.clone();
    cfg.role_arn = args.aws_role_arn.clone();
    cfg.external_id = args.aws_external_id.clone();
    cfg.endpoint_url = args.aws_endpoint_url.clone();
    cfg.timeout = Duration::from_secs(args.aws_timeout_seconds.max(1));
    cfg.max_attempts = args.aws_max_attempts.max(1);
    Ok(cfg)
}

/// Collect on a runtime of its own (the rest of `seg scan` is synchronous).
pub fn collect(args: &AwsArgs, at: Timestamp) -> Result<Collection, CliError> {
    let cfg = config(args, at)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| CliError::Usage(format!("cannot start the async runtime: {e}")))?;
    Ok(runtime.block_on(seg_adapter_aws::collect(&cfg))?)
}
