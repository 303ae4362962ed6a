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
