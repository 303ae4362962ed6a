//! Errors of the command line.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Engine(#[from] seg_engine::EngineError),
    #[error(transparent)]
    File(#[from] seg_adapter_file::FileError),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{0}")]
    Usage(String),
    /// A bundle from disk with no `--key` to verify it against. The development key is trusted only
    /// for the bundles built into the binary: anyone can sign with it, its private half is public.
    #[error(
        "{bundle}: no trusted key: pass --key <public key file> with the public key(s) this bundle \
         must be signed with (the development key is trusted only for the bundles built into seg)"
    )]
    NoTrustedKey { bundle: PathBuf },
    #[error("{code}: {source}", code = .0.code(), source = .0)]
    Aws(#[from] seg_adapter_aws::AwsError),
}

impl CliError {
    pub fn io(path: &std::path::Path, source: std::io::Error) -> CliError {
        CliError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
