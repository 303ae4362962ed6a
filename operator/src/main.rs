//! `seg`: the operator binary and its command line.

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
    /// Run every vector test and print a per-control table.
    Test {
        dir: PathBuf,
        /// Print every case, not only failures.
        #[arg(long)]
        verbose: bool,
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
    /// Public key(s) the bundle must be signed with (default: the development key shipped in the repo).
    #[arg(long = "key")]
    keys: Vec<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Table,
    Json,
    Ocsf,
}

#[derive(Debug, Args)]
struct ScanArgs {
    /// Use the embedded demo: a small AWS account and the built-in CIS AWS Foundations bundle.
    #[arg(long, conflicts_with_all = ["bundle", "inventory"])]
    demo: bool,
    /// Bundle directory.
    #[arg(long, required_unless_present = "demo")]
    bundle: Option<PathBuf>,
    /// Inventory as JSONL (AWS Config configuration items, Azure Resource Graph rows, GCP Cloud Assets).
    #[arg(long, required_unless_present = "demo")]
    inventory: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// Write the output here instead of standard output.
    #[arg(long)]
    output: Option<PathBuf>,
    /// Evaluation time (RFC 3339); default: now.
    #[arg(long)]
    at: Option<String>,
    /// Load the bundle even if it is unsigned or does not verify (a warning is printed).
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
