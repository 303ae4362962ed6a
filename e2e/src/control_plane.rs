//! A real Kubernetes control plane (etcd and kube-apiserver) on loopback, with test users.

use std::fmt;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::error::{Context, Error, Result};
use crate::process::ManagedProcess;
use crate::util::{cache_dir, free_ports, http_get, random_hex, run, run_ok};

/// How long etcd and kube-apiserver may take to become ready.
const READY_TIMEOUT: Duration = Duration::from_secs(90);

/// Attempts when a freshly chosen port was taken by someone else in the meantime.
const START_ATTEMPTS: usize = 3;

/// The users of the test control plane. Each authenticates with a bearer token from the static
/// token file and has its own kubeconfig (see [`ControlPlane::kubeconfig`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum User {
    /// `admin`, in group `system:masters`: may do everything.
    Admin,
    /// `system:serviceaccount:seg-system:seg-operator`, the operator's service account. No rights
    /// are granted by the baseline; tests (or the chart's RBAC) grant them.
    Operator,
    /// `reader`: get/list/watch on every `seg.neurocipher.io` resource (ClusterRole `seg-reader`).
    Reader,
    /// `approver`: ClusterRole `seg-approver`, for now the same read rights as the reader.
    Approver,
    /// `outsider`: authenticated, but without any rights beyond the Kubernetes defaults.
    Outsider,
}

impl User {
    /// All users, in a fixed order.
    pub const ALL: [User; 5] = [
        User::Admin,
        User::Operator,
        User::Reader,
        User::Approver,
        User::Outsider,
    ];

    /// The Kubernetes user name.
    pub fn username(self) -> &'static str {
        match self {
            User::Admin => "admin",
            User::Operator => "system:serviceaccount:seg-system:seg-operator",
            User::Reader => "reader",
            User::Approver => "approver",
            User::Outsider => "outsider",
        }
    }

    /// Groups besides `system:authenticated` (which the apiserver adds itself).
    pub fn groups(self) -> &'static [&'static str] {
        match self {
            User::Admin => &["system:masters"],
            User::Operator => &["system:serviceaccounts", "system:serviceaccounts:seg-system"],
            User::Reader | User::Approver | User::Outsider => &[],
        }
    }

    /// A short name used for files (`<slug>.kubeconfig`).
    pub fn slug(self) -> &'static str {
        match self {
            User::Admin => "admin",
            User::Operator => "operator",
            User::Reader => "reader",
            User::Approver => "approver",
            User::Outsider => "outsider",
        }
    }
}

impl fmt::Display for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.username())
    }
}

/// RBAC applied once the apiserver is ready.
const BASELINE_RBAC: &str = r#"
apiVersion: v1
kind: Namespace
metadata:
  name: seg-system
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: seg-reader
rules:
  - apiGroups: ["seg.neurocipher.io"]
    resources: ["*"]
    verbs: ["get", "list", "watch"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: seg-reader
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: seg-reader
subjects:
  - apiGroup: rbac.authorization.k8s.io
    kind: User
    name: reader
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: seg-approver
rules:
  - apiGroups: ["seg.neurocipher.io"]
    resources: ["*"]
    verbs: ["get", "list", "watch"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: seg-approver
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: seg-approver
subjects:
  - apiGroup: rbac.authorization.k8s.io
    kind: User
    name: approver
"#;

/// Where the binaries come from.
#[derive(Debug, Clone)]
struct Binaries {
    etcd: PathBuf,
    kube_apiserver: PathBuf,
    kubectl: PathBuf,
}

impl Binaries {
    fn locate() -> Result<Self> {
        let bin_dir = match std::env::var_os("SEG_E2E_BIN_DIR") {
            Some(dir) => PathBuf::from(dir),
            None => cache_dir()?.join("bin"),
        };
        let find = |name: &str| -> Result<PathBuf> {
            let path = bin_dir.join(name);
            if path.is_file() {
                Ok(path)
            } else {
                Err(Error::new(format!(
                    "{} not found (SEG_E2E_BIN_DIR={}); build the control plane binaries with \
                     `bash e2e/scripts/build-tools.sh` or run the whole suite with \
                     `bash e2e/test-all.sh`",
                    path.display(),
                    bin_dir.display()
                )))
            }
        };
        let kubectl = std::env::var_os("SEG_E2E_KUBECTL")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("kubectl"));
        Ok(Self {
            etcd: find("etcd")?,
            kube_apiserver: find("kube-apiserver")?,
            kubectl,
        })
    }
}

/// A running etcd and kube-apiserver on 127.0.0.1 with RBAC, a static token file for the test
/// [`User`]s and one kubeconfig per user. Everything is stopped and removed on drop, also when
/// the test panics (the folder is kept for inspection in that case and its path printed).
#[derive(Debug)]
pub struct ControlPlane {
    // Field order is drop order: apiserver before etcd, the folder last.
    apiserver: ManagedProcess,
    etcd: ManagedProcess,
    server: String,
    kubectl: PathBuf,
    kubeconfigs: Vec<(User, PathBuf)>,
    tokens: Vec<(User, String)>,
    dir: Option<TempDir>,
}

impl ControlPlane {
    /// Starts etcd and kube-apiserver, waits until the apiserver is ready and applies the
    /// baseline RBAC (namespace `seg-system`, ClusterRoles `seg-reader` and `seg-approver`).
    pub fn start() -> Result<Self> {
        let bins = Binaries::locate()?;
        let mut last_err = None;
        for _ in 0..START_ATTEMPTS {
            match Self::start_once(&bins) {
                Ok(cp) => return Ok(cp),
                // A port chosen as free can be grabbed by another process before the server
                // binds it; try again with new ports.
                Err(err) if err.to_string().to_lowercase().contains("address already in use") => {
                    last_err = Some(err);
                }
                Err(err) => return Err(err),
            }
        }
        Err(last_err.unwrap_or_else(|| Error::new("control plane did not start")))
    }

    fn start_once(bins: &Binaries) -> Result<Self> {
        let started = Instant::now();
        let dir = make_temp_dir("seg-e2e-cp-")?;
        let root = dir.path().to_path_buf();
        let ports = free_ports(3)?;
        let (etcd_client, etcd_peer, apiserver_port) = (ports[0], ports[1], ports[2]);

        // --- certificates, keys, tokens -------------------------------------------------------
        let pki = root.join("pki");
        fs::create_dir_all(&pki)?;
        generate_pki(&pki)?;
        let mut tokens = Vec::new();
        let mut token_file = String::new();
        for user in User::ALL {
            let token = random_hex(24)?;
            let uid = format!("seg-e2e-{}", user.slug());
            token_file.push_str(&format!(
                "{token},{},{uid},\"{}\"\n",
                user.username(),
                user.groups().join(",")
            ));
            tokens.push((user, token));
        }
        let token_path = root.join("tokens.csv");
        fs::write(&token_path, token_file)?;

        // --- etcd ------------------------------------------------------------------------------
        let etcd_client_url = format!("http://127.0.0.1:{etcd_client}");
        let etcd_peer_url = format!("http://127.0.0.1:{etcd_peer}");
        let mut cmd = Command::new(&bins.etcd);
        cmd.arg("--name=seg-e2e")
            .arg(format!("--data-dir={}", root.join("etcd").display()))
            .arg(format!("--listen-client-urls={etcd_client_url}"))
            .arg(format!("--advertise-client-urls={etcd_client_url}"))
            .arg(format!("--listen-peer-urls={etcd_peer_url}"))
            .arg(format!("--initial-advertise-peer-urls={etcd_peer_url}"))
            .arg(format!("--initial-cluster=seg-e2e={etcd_peer_url}"))
            .arg("--initial-cluster-state=new")
            .arg("--unsafe-no-fsync")
            .arg("--log-level=warn");
        let mut etcd = ManagedProcess::spawn("etcd", cmd, root.join("etcd.log"))?;
        etcd.wait_until(
            "GET /health",
            READY_TIMEOUT,
            || matches!(http_get(etcd_client, "/health"), Ok((200, body)) if body.contains("true")),
        )?;

        // --- kube-apiserver ------------------------------------------------------------------
        let mut cmd = Command::new(&bins.kube_apiserver);
        cmd.arg(format!("--etcd-servers={etcd_client_url}"))
            .arg("--bind-address=127.0.0.1")
            .arg("--advertise-address=127.0.0.1")
            .arg(format!("--secure-port={apiserver_port}"))
            .arg(format!("--cert-dir={}", root.join("cert-dir").display()))
            .arg(format!("--tls-cert-file={}", pki.join("apiserver.crt").display()))
            .arg(format!(
                "--tls-private-key-file={}",
                pki.join("apiserver.key").display()
            ))
            .arg(format!("--client-ca-file={}", pki.join("ca.crt").display()))
            .arg("--authorization-mode=RBAC")
            .arg(format!("--token-auth-file={}", token_path.display()))
            .arg("--service-cluster-ip-range=10.96.0.0/16")
            .arg("--service-account-issuer=https://kubernetes.default.svc.cluster.local")
            .arg(format!(
                "--service-account-key-file={}",
                pki.join("sa.pub").display()
            ))
            .arg(format!(
                "--service-account-signing-key-file={}",
                pki.join("sa.key").display()
            ))
            // No controller-manager runs, so nothing would create the `default` service
            // accounts that the ServiceAccount admission plugin insists on.
            .arg("--disable-admission-plugins=ServiceAccount")
            .arg("--profiling=false")
            .arg("--v=1");
        let apiserver = ManagedProcess::spawn("kube-apiserver", cmd, root.join("kube-apiserver.log"))?;

        let server = format!("https://127.0.0.1:{apiserver_port}");
        let mut kubeconfigs = Vec::new();
        for (user, token) in &tokens {
            let path = root.join(format!("{}.kubeconfig", user.slug()));
            fs::write(&path, kubeconfig_yaml(&server, &pki.join("ca.crt"), *user, token))?;
            kubeconfigs.push((*user, path));
        }

        let mut cp = ControlPlane {
            apiserver,
            etcd,
            server,
            kubectl: bins.kubectl.clone(),
            kubeconfigs,
            tokens,
            dir: Some(dir),
        };
        let setup = cp.wait_ready().and_then(|()| {
            cp.apply(User::Admin, BASELINE_RBAC)
                .map(|_| ())
                .context("applying the baseline RBAC")
        });
        if let Err(err) = setup {
            // Keep the logs of a control plane that did not come up.
            let kept = cp.dir.take().map(TempDir::keep);
            cp.stop();
            return Err(match kept {
                Some(path) => err.context(format!("control plane folder kept in {}", path.display())),
                None => err,
            });
        }
        eprintln!(
            "seg-e2e: control plane ready at {} in {:.1}s (folder {})",
            cp.server,
            started.elapsed().as_secs_f64(),
            root.display()
        );
        Ok(cp)
    }

    fn wait_ready(&mut self) -> Result<()> {
        let admin = self.kubeconfig(User::Admin);
        let kubectl = self.kubectl.clone();
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            self.etcd.ensure_running()?;
            self.apiserver.ensure_running()?;
            let out = Command::new(&kubectl)
                .arg("--kubeconfig")
                .arg(&admin)
                .args(["get", "--raw", "/readyz", "--request-timeout=5s"])
                .stdin(Stdio::null())
                .output()
                .context(format!(
                    "running {} (set SEG_E2E_KUBECTL to a kubectl binary)",
                    kubectl.display()
                ))?;
            if out.status.success() && String::from_utf8_lossy(&out.stdout).trim() == "ok" {
                return Ok(());
            }
            let last = String::from_utf8_lossy(&out.stderr).trim().to_owned();
            if Instant::now() >= deadline {
                return Err(self.apiserver.not_ready(&format!(
                    "/readyz not ok after {}s (last kubectl error: {last})",
                    READY_TIMEOUT.as_secs()
                )));
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// `https://127.0.0.1:<port>`.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// The loopback port of the apiserver.
    pub fn port(&self) -> u16 {
        self.server
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_default()
    }

    /// A kubeconfig of `user` that reaches the apiserver through `127.0.0.1:<port>` (a proxy
    /// such as [`crate::WatchLag`]; the serving certificate is for 127.0.0.1, whatever the port).
    pub fn kubeconfig_via(&self, user: User, port: u16) -> Result<PathBuf> {
        let path = self.dir().join(format!("{}-via-{port}.kubeconfig", user.slug()));
        let yaml = kubeconfig_yaml(
            &format!("https://127.0.0.1:{port}"),
            &self.ca_cert(),
            user,
            self.token(user),
        );
        fs::write(&path, yaml).context(format!("writing {}", path.display()))?;
        Ok(path)
    }

    /// The folder holding certificates, kubeconfigs, the token file and the process logs.
    pub fn dir(&self) -> &Path {
        match &self.dir {
            Some(dir) => dir.path(),
            None => Path::new("."),
        }
    }

    /// The PEM file of the throwaway CA that signed the apiserver's serving certificate.
    pub fn ca_cert(&self) -> PathBuf {
        self.dir().join("pki").join("ca.crt")
    }

    /// The kubeconfig of `user`.
    pub fn kubeconfig(&self, user: User) -> PathBuf {
        self.kubeconfigs
            .iter()
            .find(|(u, _)| *u == user)
            .map(|(_, p)| p.clone())
            .unwrap_or_else(|| self.dir().join(format!("{}.kubeconfig", user.slug())))
    }

    /// The bearer token of `user`.
    pub fn token(&self, user: User) -> &str {
        self.tokens
            .iter()
            .find(|(u, _)| *u == user)
            .map(|(_, t)| t.as_str())
            .unwrap_or_default()
    }

    /// The kube-apiserver log file.
    pub fn apiserver_log(&self) -> &Path {
        self.apiserver.log()
    }

    /// A `kubectl --kubeconfig <user>` command, for callers that need to set stdin or env.
    pub fn kubectl_command(&self, user: User) -> Command {
        let mut cmd = Command::new(&self.kubectl);
        cmd.arg("--kubeconfig").arg(self.kubeconfig(user));
        cmd
    }

    /// Runs kubectl as `user` and returns its output whatever the exit status.
    pub fn kubectl<I, S>(&self, user: User, args: I) -> Result<Output>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut cmd = self.kubectl_command(user);
        cmd.args(args).stdin(Stdio::null());
        run(&mut cmd)
    }

    /// Runs kubectl as `user`, fails unless it exits 0, and returns stdout.
    pub fn kubectl_ok<I, S>(&self, user: User, args: I) -> Result<String>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut cmd = self.kubectl_command(user);
        cmd.args(args).stdin(Stdio::null());
        let out = run_ok(&mut cmd).context(format!("kubectl as {user}"))?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// `kubectl apply -f -` as `user` with `yaml` on stdin; returns stdout.
    pub fn apply(&self, user: User, yaml: &str) -> Result<String> {
        let mut cmd = self.kubectl_command(user);
        cmd.args(["apply", "-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().context("starting kubectl")?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(yaml.as_bytes())?;
        }
        let out = child.wait_with_output()?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(Error::new(format!(
                "kubectl apply as {user} failed with {}:\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            )))
        }
    }

    /// Stops kube-apiserver and etcd and removes the folder. Called by drop.
    pub fn stop(&mut self) {
        self.apiserver.stop();
        self.etcd.stop();
        if let Some(dir) = self.dir.take() {
            if std::thread::panicking() {
                let kept = dir.keep();
                eprintln!(
                    "seg-e2e: test failed; control plane folder (logs, kubeconfigs) kept in {}",
                    kept.display()
                );
            }
        }
    }
}

impl Drop for ControlPlane {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A temporary folder under `$SEG_E2E_RUN_DIR` when set (so that logs of a failed run stay with
/// the run), else under the system temp folder.
pub(crate) fn make_temp_dir(prefix: &str) -> Result<TempDir> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(prefix);
    match std::env::var_os(crate::process::RUN_DIR_ENV) {
        Some(run_dir) => {
            let base = PathBuf::from(run_dir).join("tmp");
            fs::create_dir_all(&base)?;
            builder.tempdir_in(base)
        }
        None => builder.tempdir(),
    }
    .context("creating a temporary folder")
}

fn kubeconfig_yaml(server: &str, ca: &Path, user: User, token: &str) -> String {
    let name = user.slug();
    format!(
        "apiVersion: v1
kind: Config
clusters:
  - name: seg-e2e
    cluster:
      server: {server}
      certificate-authority: {ca}
users:
  - name: {name}
    user:
      token: {token}
contexts:
  - name: {name}
    context:
      cluster: seg-e2e
      user: {name}
current-context: {name}
",
        ca = ca.display()
    )
}

/// A throwaway CA, an apiserver serving certificate for 127.0.0.1 signed by it, and the
/// service-account signing key pair, made with the openssl command line.
fn generate_pki(dir: &Path) -> Result<()> {
    // Arguments are separated by whitespace; none of them contains any.
    let openssl = |args: &str| -> Result<()> {
        run_ok(
            Command::new("openssl")
                .args(args.split_whitespace())
                .current_dir(dir)
                .stdin(Stdio::null()),
        )
        .map(|_| ())
        .context("generating test certificates with openssl (is openssl installed?)")
    };
    const EC: &str = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    openssl(&format!(
        "req -x509 {EC} -keyout ca.key -out ca.crt -days 2 -subj /CN=seg-e2e-ca \
         -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign"
    ))?;
    openssl(&format!(
        "req {EC} -keyout apiserver.key -out apiserver.csr -subj /CN=kube-apiserver"
    ))?;
    fs::write(
        dir.join("apiserver.ext"),
        "basicConstraints=critical,CA:FALSE\n\
         keyUsage=critical,digitalSignature,keyEncipherment\n\
         extendedKeyUsage=serverAuth\n\
         subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,\
         DNS:kubernetes.default,DNS:kubernetes.default.svc,\
         DNS:kubernetes.default.svc.cluster.local\n",
    )?;
    openssl(
        "x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
         -out apiserver.crt -days 2 -extfile apiserver.ext",
    )?;
    openssl("genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out sa.key")?;
    openssl("pkey -in sa.key -pubout -out sa.pub")?;
    Ok(())
}
