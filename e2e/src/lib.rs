//! Test support for end-to-end tests: a real Kubernetes control plane (etcd and kube-apiserver)
//! and an AWS API simulator (moto server), both started on loopback and stopped on drop, and a
//! proxy in front of the simulator that takes one AWS service away on demand ([`ApiProxy`]), and
//! one in front of the apiserver that makes a client's watches lag behind its writes ([`WatchLag`]).
//!
//! The binaries and the Python virtualenv are prepared by the test command (`bash
//! e2e/test-all.sh`) or by `e2e/scripts/build-tools.sh` and `e2e/scripts/moto-venv.sh`; see
//! `docs/testing.md`.
//!
//! ```no_run
//! use seg_e2e::{ControlPlane, User};
//!
//! # fn main() -> seg_e2e::Result<()> {
//! let cp = ControlPlane::start()?;
//! let out = cp.kubectl(User::Outsider, ["get", "namespaces"])?;
//! assert!(!out.status.success());
//! # Ok(())
//! # }
//! ```
//!
//! Environment:
//! - `SEG_E2E_BIN_DIR`: folder with `etcd` and `kube-apiserver` (default `~/.cache/seg/bin`).
//! - `SEG_E2E_VENV`: the virtualenv with moto and boto3 (default: newest `~/.cache/seg/venv-*`).
//! - `SEG_E2E_KUBECTL`: the kubectl binary (default `kubectl` from `PATH`).
//! - `SEG_E2E_RUN_DIR`: run folder of the test command; pids of started processes are recorded
//!   in `<run dir>/pids/` and temporary folders are made under `<run dir>/tmp/`.
//! - `SEG_CACHE_DIR`: the cache root (default `~/.cache/seg`).

mod api_proxy;
mod control_plane;
mod error;
mod moto;
mod process;
mod seg;
mod util;
mod watch_lag;

pub use api_proxy::{ApiProxy, Fault};
pub use control_plane::{ControlPlane, User};
pub use error::{Error, Result};
pub use moto::{venv_dir, Moto, DEFAULT_ACCOUNT_ID, DEFAULT_REGION};
pub use process::{ManagedProcess, MARKER_ENV, RUN_DIR_ENV};
pub use util::{free_port, repo_root};
pub use watch_lag::WatchLag;
