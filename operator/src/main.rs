//! `seg`: the operator binary and its command line.

mod aws_cmd;
mod bundle_cmd;
mod crds_cmd;
mod embedded;
mod error;
mod operator_cmd;
mod render;
mod scan_cmd;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

// Evaluation allocates many small values on every worker thread; glibc's allocator serializes
// them, mimalloc does not.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    name = "seg",
    version,
    about = "Security posture for cloud estates: Rego controls over cloud inventory, findings as OCSF"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Lint, test, sign and verify policy bundles.
    #[command(subcommand)]
    Bundle(BundleCommand),
    /// Evaluate a bundle over an inventory (offline: no cluster, no cloud).
    Scan(ScanArgs),
    /// Print the CustomResourceDefinitions (Benchmark, Finding, Scan) as YAML.
    Crds(crds_cmd::CrdsArgs),
    /// Run the controllers (Benchmark, Scan) against the cluster of the current kubeconfig.
    Operator(operator_cmd::OperatorArgs),
}

#[derive(Debug, Subcommand)]
enum BundleCommand {
    /// Check the manifest, layout, vector coverage and forbidden builtins.
    Lint { dir: PathBuf },
    /// Verify the bundle, run every vector test and print a per-control table.
    Test {
        dir: PathBuf,
        /// Print every case, not only failures.
        #[arg(long)]
        verbose: bool,
        /// Run the vectors even if the bundle is unsigned or does not verify (while editing it); the
        /// output says SIGNATURE NOT VERIFIED.
        #[arg(long)]
        allow_unsigned: bool,
        #[command(flatten)]
        trust: TrustArgs,
    },
    /// Write CHECKSUMS and SIGNATURE with a private key.
    Sign {
        dir: PathBuf,
        /// Private key file (securesystemslib JSON form).
        #[arg(long)]
        key: PathBuf,
    },
    /// Check CHECKSUMS and SIGNATURE.
    Verify {
        dir: PathBuf,
        #[command(flatten)]
        trust: TrustArgs,
    },
    /// Generate an Ed25519 key pair: <out>.key (private) and <out>.pub.
    Keygen {
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Debug, Args)]
struct TrustArgs {
    /// Public key file(s) the bundle must be signed with. Required for a bundle given on the command
    /// line: the development key is trusted only for the bundles built into seg.
    #[arg(long = "key", value_name = "PUBLIC_KEY_FILE")]
    keys: Vec<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Table,
    Json,
    Ocsf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum CloudProvider {
    Aws,
}

/// AWS options of `seg scan --provider aws`.
#[derive(Debug, Args)]
struct AwsArgs {
    /// Regions to scan, comma-separated; the first is the home region (IAM, S3 listing).
    #[arg(long = "aws-region", value_delimiter = ',', env = "AWS_REGION")]
    aws_regions: Vec<String>,
    /// The account expected behind the credentials (the scan fails on another one).
    #[arg(long)]
    aws_account_id: Option<String>,
    /// Assume this role (sts:AssumeRole) before any call.
    #[arg(long)]
    aws_role_arn: Option<String>,
    /// External id required by the role's trust policy.
    #[arg(long, requires = "aws_role_arn")]
    aws_external_id: Option<String>,
    /// One endpoint for every AWS service (an API simulator or a proxy).
    #[arg(long, env = "SEG_AWS_ENDPOINT_URL")]
    aws_endpoint_url: Option<String>,
    /// Time limit of one attempt of one AWS call, in seconds.
    #[arg(long, default_value_t = 20)]
    aws_timeout_seconds: u64,
    /// Attempts per AWS call (exponential back-off on throttling and transient errors).
    #[arg(long, default_value_t = 3)]
    aws_max_attempts: u32,
}

#[derive(Debug, Args)]
struct ScanArgs {
    /// Use the embedded demo: a small AWS account and the built-in CIS AWS Foundations bundle.
    #[arg(long, conflicts_with_all = ["bundle", "inventory", "provider"])]
    demo: bool,
    /// Bundle directory (default with --provider aws: the built-in CIS AWS Foundations bundle).
    #[arg(long, required_unless_present_any = ["demo", "provider"])]
    bundle: Option<PathBuf>,
    /// Inventory as JSONL (AWS Config configuration items, Azure Resource Graph rows, GCP Cloud Assets).
    #[arg(long, required_unless_present_any = ["demo", "provider"], conflicts_with = "provider")]
    inventory: Option<PathBuf>,
    /// Collect the inventory from a cloud account instead of a file. `aws`: AWS Config and the
    /// service APIs, with the SDK's default credentials (environment, web identity, profile, ...).
    #[arg(long, value_enum)]
    provider: Option<CloudProvider>,
    #[command(flatten)]
    aws: AwsArgs,
    /// Also write the collected inventory here as JSONL (usable later with --inventory).
    #[arg(long, requires = "provider")]
    save_inventory: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// Write the output here instead of standard output.
    #[arg(long)]
    output: Option<PathBuf>,
    /// Evaluation time (RFC 3339); default: now.
    #[arg(long)]
    at: Option<String>,
    /// Load the bundle even if it is unsigned or does not verify (a warning is printed, and the
    /// output says the signature is not verified).
    #[arg(long)]
    allow_unsigned: bool,
    #[command(flatten)]
    trust: TrustArgs,
    /// Only these controls (comma-separated ids).
    #[arg(long, value_delimiter = ',')]
    controls: Vec<String>,
    /// Worker threads (default: available cores).
    #[arg(long)]
    workers: Option<usize>,
    /// Time limit of one control evaluation on one asset, in milliseconds.
    #[arg(long, default_value_t = 250)]
    time_limit_ms: u64,
    /// Tenant id recorded in the run summary.
    #[arg(long, default_value = "default")]
    org: String,
    /// Only assets carrying this tag (`key=value`; AWS/Azure tags, GCP labels); repeat for more,
    /// all must match.
    #[arg(long = "tag", value_name = "KEY=VALUE", value_parser = parse_tag)]
    tags: Vec<(String, String)>,
}

fn parse_tag(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("{s:?} is not KEY=VALUE")),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Bundle(cmd) => bundle_cmd::run(cmd),
        Command::Scan(args) => scan_cmd::run(args),
        Command::Crds(args) => crds_cmd::run(args),
        Command::Operator(args) => operator_cmd::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}
