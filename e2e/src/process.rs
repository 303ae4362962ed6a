//! Child processes that are always stopped: killed and reaped on drop, watched by a guard that
//! kills them if the test process itself dies, and recorded for the test command's stray check.

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::error::{Context, Error, Result};
use crate::util::log_tail;

/// Environment variable set on every process started by this crate. Its value is the run folder
/// (`SEG_E2E_RUN_DIR`) or `unmanaged`; the test command looks for it to find stray processes.
pub const MARKER_ENV: &str = "SEG_E2E_CHILD_OF";

/// Environment variable naming the run folder of the test command. When set, the pid of every
/// started process is recorded in `<run dir>/pids/<name>-<pid>.pid`.
pub const RUN_DIR_ENV: &str = "SEG_E2E_RUN_DIR";

fn marker_value() -> String {
    std::env::var(RUN_DIR_ENV).unwrap_or_else(|_| "unmanaged".to_owned())
}

/// Shell loop that waits for end-of-file on stdin (the test process holds the write end, so EOF
/// means the test process is gone) and then kills the watched pids. It uses only shell builtins,
/// so killing the guard leaves nothing behind.
const GUARD_SCRIPT: &str = r#"while read -r _; do :; done; kill -KILL "$@" 2>/dev/null; exit 0"#;

/// A running child process with its log file.
#[derive(Debug)]
pub struct ManagedProcess {
    name: String,
    child: Child,
    log: PathBuf,
    guard: Option<(Child, ChildStdin)>,
    stopped: bool,
}

impl ManagedProcess {
    /// Starts `cmd` with stdout and stderr appended to `log`.
    pub fn spawn(name: &str, mut cmd: Command, log: PathBuf) -> Result<Self> {
        let out = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .context(format!("creating {}", log.display()))?;
        let err = out.try_clone()?;
        cmd.stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .env(MARKER_ENV, marker_value());
        let child = cmd
            .spawn()
            .context(format!("starting {name} ({:?})", cmd.get_program()))?;
        record_pid(name, child.id());
        let mut process = Self {
            name: name.to_owned(),
            child,
            log,
            guard: None,
            stopped: false,
        };
        process.guard = spawn_guard(process.child.id());
        Ok(process)
    }

    pub fn log(&self) -> &Path {
        &self.log
    }

    /// Errors, with the log tail, if the process has already exited.
    pub(crate) fn ensure_running(&mut self) -> Result<()> {
        match self.child.try_wait()? {
            None => Ok(()),
            Some(status) => Err(Error::new(format!(
                "{} exited early with {status}; last lines of {}:\n{}",
                self.name,
                self.log.display(),
                log_tail(&self.log, 40)
            ))),
        }
    }

    /// Error for a process that did not become ready in time, with the log tail.
    pub(crate) fn not_ready(&self, what: &str) -> Error {
        Error::new(format!(
            "{} did not become ready: {what}; last lines of {}:\n{}",
            self.name,
            self.log.display(),
            log_tail(&self.log, 40)
        ))
    }

    /// Polls `ready` every 100 ms until it holds; fails, with the log tail, when the process
    /// exits or `timeout` passes first.
    pub(crate) fn wait_until(
        &mut self,
        what: &str,
        timeout: Duration,
        mut ready: impl FnMut() -> bool,
    ) -> Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            self.ensure_running()?;
            if ready() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(self.not_ready(&format!("{what} did not succeed within {}s", timeout.as_secs())));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Sends SIGTERM (as Kubernetes does to a pod it stops) and waits up to `timeout` for the
    /// process to exit; kills it after that. Returns its exit status, or `None` when it had to be
    /// killed or was already stopped.
    pub fn terminate(&mut self, timeout: Duration) -> Result<Option<ExitStatus>> {
        if self.stopped {
            return Ok(None);
        }
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .context("kill -TERM")?;
        if !status.success() {
            return Err(Error::new(format!("kill -TERM {}: {status}", self.name)));
        }
        let deadline = Instant::now() + timeout;
        let exited = loop {
            if let Some(status) = self.child.try_wait()? {
                break Some(status);
            }
            if Instant::now() >= deadline {
                break None;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        self.stop();
        Ok(exited)
    }

    /// Kills and reaps the process (and its guard). Idempotent.
    pub fn stop(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        // Stop the guard first so that it never fires at a reused pid.
        if let Some((mut guard, stdin)) = self.guard.take() {
            let _ = guard.kill();
            let _ = guard.wait();
            drop(stdin);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ManagedProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Starts the guard of `pid`: a shell that kills `pid` when this test process exits without
/// dropping the [`ManagedProcess`] (for instance when it is killed by a timeout).
fn spawn_guard(pid: u32) -> Option<(Child, ChildStdin)> {
    let mut guard = Command::new("sh")
        .arg("-c")
        .arg(GUARD_SCRIPT)
        .arg("seg-e2e-guard")
        .arg(pid.to_string())
        .env(MARKER_ENV, marker_value())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    record_pid("guard", guard.id());
    match guard.stdin.take() {
        Some(stdin) => Some((guard, stdin)),
        None => {
            let _ = guard.kill();
            let _ = guard.wait();
            None
        }
    }
}

/// Records `pid` under `$SEG_E2E_RUN_DIR/pids/` when the test command set a run folder.
fn record_pid(name: &str, pid: u32) {
    let Some(run_dir) = std::env::var_os(RUN_DIR_ENV) else {
        return;
    };
    let dir = PathBuf::from(run_dir).join("pids");
    if fs::create_dir_all(&dir).is_ok() {
        let _ = File::create(dir.join(format!("{name}-{pid}.pid")))
            .and_then(|mut f| std::io::Write::write_all(&mut f, format!("{pid}\n").as_bytes()));
    }
}
