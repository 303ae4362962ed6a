//! `seg crds`: print the CustomResourceDefinitions, or write them as `crds/*.yaml`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::error::CliError;

#[derive(Debug, Args)]
pub struct CrdsArgs {
    /// Write one file per CustomResourceDefinition (benchmark.yaml, finding.yaml, scan.yaml) into
    /// this folder instead of printing them all to standard output.
    #[arg(long, value_name = "DIR")]
    write: Option<PathBuf>,
}

pub fn run(args: CrdsArgs) -> Result<ExitCode, CliError> {
    let files = seg_crds::crd_files().map_err(|e| CliError::Usage(e.to_string()))?;
    match args.write {
        None => {
            let all: String = files.into_iter().map(|(_, text)| text).collect();
            print!("{all}");
        }
        Some(dir) => {
            std::fs::create_dir_all(&dir).map_err(|e| CliError::io(&dir, e))?;
            for (name, text) in files {
                let path = dir.join(name);
                std::fs::write(&path, text).map_err(|e| CliError::io(&path, e))?;
                eprintln!("wrote {}", path.display());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
