//! Installing seg into a test control plane and running its operator.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{repo_root, ControlPlane, ManagedProcess, Result, User};

impl ControlPlane {
    /// Apply seg's CRDs (`crds/`) and the operator's RBAC (`e2e/fixtures/operator-rbac.yaml`) as
    /// admin, wait until the CRDs are served, and create the tenant `namespace`.
    pub fn install_seg(&self, namespace: &str) -> Result<()> {
        let root = repo_root();
        let crds = root.join("crds");
        self.kubectl_ok(User::Admin, ["apply", "-f", &crds.display().to_string()])?;
        for crd in ["benchmarks", "scans", "findings"] {
            self.kubectl_ok(
                User::Admin,
                [
                    "wait",
                    "--for=condition=Established",
                    &format!("crd/{crd}.seg.neurocipher.io"),
                    "--timeout=60s",
                ],
            )?;
        }
        let rbac = root.join("e2e/fixtures/operator-rbac.yaml");
        self.kubectl_ok(User::Admin, ["apply", "-f", &rbac.display().to_string()])?;
        self.kubectl_ok(User::Admin, ["create", "namespace", namespace])?;
        Ok(())
    }

    /// Start `<seg> operator <args>` as the operator's service account; its output goes to
    /// `<control plane dir>/<name>.log`, which is returned with the process.
    pub fn start_operator(&self, seg: &Path, name: &str, args: &[&str]) -> Result<(ManagedProcess, PathBuf)> {
        self.start_operator_with(seg, name, args, &self.kubeconfig(User::Operator))
    }

    /// [`ControlPlane::start_operator`] with another kubeconfig (for example one from
    /// [`ControlPlane::kubeconfig_via`]).
    pub fn start_operator_with(
        &self,
        seg: &Path,
        name: &str,
        args: &[&str],
        kubeconfig: &Path,
    ) -> Result<(ManagedProcess, PathBuf)> {
        let log = self.dir().join(format!("{name}.log"));
        let mut cmd = Command::new(seg);
        cmd.arg("operator").args(args).env("KUBECONFIG", kubeconfig);
        Ok((ManagedProcess::spawn(name, cmd, log.clone())?, log))
    }
}
