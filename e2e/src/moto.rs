//! The AWS API simulator (moto server) on a free loopback port.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::control_plane::make_temp_dir;
use crate::error::{Context, Error, Result};
use crate::process::ManagedProcess;
use crate::util::{cache_dir, free_port, http_get, repo_root, run, run_ok};

const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// The account that moto uses when a request names none.
pub const DEFAULT_ACCOUNT_ID: &str = "123456789012";

/// The region used by the seeding script and [`Moto::aws_env`].
pub const DEFAULT_REGION: &str = "us-east-1";

/// A running moto server. Stopped on drop.
#[derive(Debug)]
pub struct Moto {
    process: ManagedProcess,
    port: u16,
    venv: PathBuf,
    dir: Option<TempDir>,
}

/// The virtualenv made by `e2e/scripts/moto-venv.sh`: `$SEG_E2E_VENV`, else the most recently
/// completed `~/.cache/seg/venv-*`.
pub fn venv_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("SEG_E2E_VENV") {
        let dir = PathBuf::from(dir);
        return if dir.join("bin").join("python").exists() {
            Ok(dir)
        } else {
            Err(Error::new(format!(
                "SEG_E2E_VENV={} has no bin/python; run `bash e2e/scripts/moto-venv.sh`",
                dir.display()
            )))
        };
    }
    let cache = cache_dir()?;
    let mut best: Option<(std::time::SystemTime, PathBuf)> = None;
    if let Ok(entries) = std::fs::read_dir(&cache) {
        for entry in entries.flatten() {
            let path = entry.path();
            let is_venv = entry.file_name().to_string_lossy().starts_with("venv-");
            let Ok(meta) = std::fs::metadata(path.join(".seg-complete")) else {
                continue;
            };
            let Ok(modified) = meta.modified() else {
                continue;
            };
            if is_venv && best.as_ref().is_none_or(|(t, _)| modified > *t) {
                best = Some((modified, path));
            }
        }
    }
    best.map(|(_, p)| p).ok_or_else(|| {
        Error::new(format!(
            "no test virtualenv in {}; create it with `bash e2e/scripts/moto-venv.sh` (or run \
             `bash e2e/test-all.sh`) and/or set SEG_E2E_VENV",
            cache.display()
        ))
    })
}

impl Moto {
    /// Starts `python -m moto.server` from the test virtualenv on a free loopback port and waits
    /// until it answers HTTP.
    pub fn start() -> Result<Self> {
        let venv = venv_dir()?;
        let python = venv.join("bin").join("python");
        let mut last_err = None;
        for _ in 0..3 {
            let dir = make_temp_dir("seg-e2e-moto-")?;
            let port = free_port()?;
            let mut cmd = Command::new(&python);
            cmd.args(["-m", "moto.server", "-H", "127.0.0.1", "-p"])
                .arg(port.to_string())
                .current_dir(dir.path());
            let mut process = ManagedProcess::spawn("moto", cmd, dir.path().join("moto.log"))?;
            let started = Instant::now();
            match process.wait_until("GET /moto-api/", READY_TIMEOUT, || {
                http_get(port, "/moto-api/").is_ok()
            }) {
                Ok(()) => {
                    eprintln!(
                        "seg-e2e: moto ready at http://127.0.0.1:{port} in {:.1}s",
                        started.elapsed().as_secs_f64()
                    );
                    return Ok(Moto {
                        process,
                        port,
                        venv,
                        dir: Some(dir),
                    });
                }
                Err(err) if err.to_string().to_lowercase().contains("address already in use") => {
                    last_err = Some(err);
                }
                Err(err) => return Err(err),
            }
        }
        Err(last_err.unwrap_or_else(|| Error::new("moto did not start")))
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The loopback port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The python of the test virtualenv (has boto3 and moto).
    pub fn python(&self) -> PathBuf {
        self.venv.join("bin").join("python")
    }

    /// The moto server log.
    pub fn log(&self) -> &Path {
        self.process.log()
    }

    /// Environment for AWS SDKs and CLIs pointed at this server with dummy credentials.
    pub fn aws_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint()),
            ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
            ("AWS_SESSION_TOKEN", "testing".to_owned()),
            ("AWS_DEFAULT_REGION", DEFAULT_REGION.to_owned()),
            ("AWS_REGION", DEFAULT_REGION.to_owned()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        ]
    }

    /// A command running the virtualenv's python with [`Moto::aws_env`] set.
    pub fn python_command(&self) -> Command {
        let mut cmd = Command::new(self.python());
        cmd.envs(self.aws_env()).stdin(Stdio::null());
        cmd
    }

    /// Runs `e2e/scripts/seed-aws.py --endpoint-url <endpoint> <args>` and returns its stdout, a
    /// JSON summary of the created resources. Example args: `["--account-id", "210987654321"]`.
    pub fn seed<I, S>(&self, args: I) -> Result<String>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.run_script("seed-aws.py", args)
    }

    /// Runs the seeding script `e2e/scripts/<script> --endpoint-url <endpoint> <args>` with the
    /// virtualenv's python and returns its stdout; fails, with its stderr, when it fails.
    pub fn run_script<I, S>(&self, script: &str, args: I) -> Result<String>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let path = repo_root().join("e2e").join("scripts").join(script);
        let mut cmd = self.python_command();
        cmd.arg(path)
            .arg("--endpoint-url")
            .arg(self.endpoint())
            .args(args);
        let out = run_ok(&mut cmd).context(format!("running {script}"))?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Runs the virtualenv's python with `-c code` and returns its output whatever the status.
    pub fn run_python(&self, code: &str) -> Result<Output> {
        let mut cmd = self.python_command();
        cmd.arg("-c").arg(code);
        run(&mut cmd)
    }

    /// Stops the server and removes its folder. Called by drop.
    pub fn stop(&mut self) {
        self.process.stop();
        if let Some(dir) = self.dir.take() {
            if std::thread::panicking() {
                let kept = dir.keep();
                eprintln!("seg-e2e: test failed; moto log kept in {}", kept.display());
            }
        }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.stop();
    }
}
