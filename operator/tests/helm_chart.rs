//! The Helm chart (`charts/seg`) end to end: it lints and renders, its package carries exactly the
//! CRDs of `crds/*.yaml` (through the `charts/seg/crds` link), and installed into a real
//! kube-apiserver its RBAC is the least privilege of `e2e/fixtures/operator-rbac.yaml` and is
//! enough: `seg operator`, run with the Deployment's own arguments and a token of the chart's
//! ServiceAccount, leads, loads a Benchmark, runs a Scan to Succeeded and cleans up its Findings.
//!
//! A second test renders the values of the operator's AWS and evidence-store flags without a
//! cluster: exactly the expected flags, which `seg operator` has and accepts, its defaults left to
//! the binary, and the values it cannot work with refused by the schema or the templates.
//!
//! helm is built from source once by `e2e/scripts/install-helm.sh` (cached outside the clone).
//! The Deployment's pods never run here (there is no kubelet): the operator runs out of cluster as
//! the pods would run it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use seg_e2e::{repo_root, ControlPlane, ManagedProcess, User};

const NAMESPACE: &str = "seg-system";
const RELEASE: &str = "seg";
const TENANT: &str = "tenant-a";

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs `cmd`, fails the test unless it exits 0, returns stdout.
fn ok(cmd: &mut Command) -> String {
    let out = output(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed with {}:\n{}{}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

fn output(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

/// Runs `cmd` with `input` on stdin; returns the output whatever the exit status.
fn piped(cmd: &mut Command, input: &str) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

/// helm, built (or reused) by the install script, with its cache, config and data folders in
/// `home` so that the test touches nothing of the user's helm setup.
struct Helm {
    bin: PathBuf,
    home: PathBuf,
}

impl Helm {
    fn install(home: &Path) -> Self {
        let script = repo_root().join("e2e/scripts/install-helm.sh");
        let out = output(Command::new("bash").arg(&script));
        assert!(
            out.status.success(),
            "{} failed:\n{}",
            script.display(),
            text(&out.stderr)
        );
        let bin = PathBuf::from(text(&out.stdout).lines().last().unwrap_or_default().trim());
        assert!(bin.is_file(), "install-helm.sh printed no binary: {bin:?}");
        Self {
            bin,
            home: home.to_path_buf(),
        }
    }

    fn cmd(&self) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.env("HELM_CACHE_HOME", self.home.join("cache"))
            .env("HELM_CONFIG_HOME", self.home.join("config"))
            .env("HELM_DATA_HOME", self.home.join("data"))
            .env_remove("KUBECONFIG")
            .current_dir(repo_root());
        cmd
    }

    fn ok(&self, args: &[&str]) -> String {
        ok(self.cmd().args(args))
    }
}

/// `cat crds/*.yaml` as `helm show crds` prints it (each file followed by a newline), and the
/// file names.
fn committed_crds() -> (String, Vec<PathBuf>) {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo_root().join("crds"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no crds/*.yaml");
    let mut all = String::new();
    for f in &files {
        all.push_str(&std::fs::read_to_string(f).unwrap());
        all.push('\n');
    }
    (all, files)
}

/// The objects of a kubectl `-o json` answer: one object, a List, or (client dry runs) one
/// object after the other.
fn items(json: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for v in serde_json::Deserializer::from_str(json).into_iter::<Value>() {
        let v = v.unwrap_or_else(|e| panic!("{e}: {json}"));
        match v["kind"].as_str() {
            Some("List") => out.extend(v["items"].as_array().cloned().unwrap_or_default()),
            _ => out.push(v),
        }
    }
    out
}

fn find<'a>(objs: &'a [Value], kind: &str) -> &'a Value {
    let found: Vec<&Value> = objs.iter().filter(|o| o["kind"] == kind).collect();
    assert_eq!(found.len(), 1, "expected one {kind}, got {}", found.len());
    found[0]
}

/// RBAC rules as a set of (apiGroup, resource, verb, resourceName) grants: equal sets are equal
/// rights, whatever the grouping and order of the rules.
fn grants(rules: &Value) -> BTreeSet<(String, String, String, String)> {
    let strs = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| a.iter().map(|s| s.as_str().unwrap().to_string()).collect())
            .unwrap_or_default()
    };
    let mut out = BTreeSet::new();
    for rule in rules.as_array().unwrap() {
        let names = match strs(&rule["resourceNames"]) {
            n if n.is_empty() => vec!["*".to_string()],
            n => n,
        };
        for g in strs(&rule["apiGroups"]) {
            for r in strs(&rule["resources"]) {
                for v in strs(&rule["verbs"]) {
                    for n in &names {
                        out.insert((g.clone(), r.clone(), v.clone(), n.clone()));
                    }
                }
            }
        }
    }
    out
}

/// The container args of the Deployment, checked against the flags `seg operator` has.
fn checked_args(deployment: &Value) -> Vec<String> {
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    let args: Vec<String> = container["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect();
    assert_eq!(args.first().map(String::as_str), Some("operator"), "{args:?}");
    let help = ok(Command::new(env!("CARGO_BIN_EXE_seg")).args(["operator", "--help"]));
    for arg in &args[1..] {
        let flag = arg.split('=').next().unwrap();
        assert!(
            flag.starts_with("--") && help.contains(&format!("{flag} ")),
            "the Deployment passes {arg}, which `seg operator` does not have:\n{help}"
        );
    }
    args
}

/// The kubectl the test support uses (`SEG_E2E_KUBECTL`, default `kubectl` from `PATH`).
fn kubectl_bin() -> PathBuf {
    std::env::var_os("SEG_E2E_KUBECTL")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("kubectl"))
}

fn wait(what: &str, log: &Path, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        if start.elapsed() > Duration::from_secs(90) {
            panic!(
                "{what}: not reached after 90 s\noperator log:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[test]
fn the_chart_installs_least_privilege_rbac_that_runs_a_scan() {
    let root = repo_root();
    let work = tempfile::tempdir().unwrap();
    let helm = Helm::install(&work.path().join("helm-home"));
    let chart = root.join("charts/seg");
    let chart_dir = chart.display().to_string();
    let prod_values = chart.join("ci/production-values.yaml").display().to_string();

    // --- lint and render, no cluster --------------------------------------------------------------
    for extra in [&[][..], &["-f", prod_values.as_str()][..]] {
        let mut args = vec!["lint", "--strict", chart_dir.as_str()];
        args.extend_from_slice(extra);
        let out = output(helm.cmd().args(&args));
        let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert!(out.status.success(), "helm {args:?}:\n{all}");
        assert!(
            !all.contains("[WARNING]") && !all.contains("[ERROR]"),
            "helm {args:?}:\n{all}"
        );
    }
    let render = |extra: &[&str]| {
        let mut args = vec!["template", RELEASE, chart_dir.as_str(), "-n", NAMESPACE];
        args.extend_from_slice(extra);
        helm.ok(&args)
    };
    let default_render = render(&[]);
    assert!(default_render.contains("\n  replicas: 2\n"), "{default_render}");
    assert!(default_render.contains("- --export-dir=/var/lib/seg/export\n"));
    assert!(!default_render.contains("--inventory-dir"));
    assert!(!default_render.contains("kind: NetworkPolicy"));
    assert!(
        !default_render.contains("Probe:"),
        "the binary serves no health endpoint"
    );
    assert!(!default_render.contains("kind: CustomResourceDefinition"));
    let prod_render = render(&["-f", &prod_values]);
    for want in [
        "eks.amazonaws.com/role-arn: arn:aws:iam::123456789012:role/seg-operator",
        "- --inventory-dir=/var/lib/seg/inventory\n",
        "- --lease-seconds=8\n",
        "- \"--evidence-dir=/var/lib/seg/evidence\"\n",
        "claimName: seg-evidence",
        "kind: NetworkPolicy",
        "claimName: seg-inventory",
        "image: \"ghcr.io/neurocipher/seg:0.1.0\"",
        "kubernetes.io/os: linux",
        "value: security",
    ] {
        assert!(prod_render.contains(want), "missing {want:?} in:\n{prod_render}");
    }
    // Values that cannot work are refused when rendering.
    let out = output(
        helm.cmd()
            .args(["template", RELEASE, &chart_dir, "--set", "inventory.enabled=true"]),
    );
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("inventory.volume must be set"));
    let out = output(helm.cmd().args([
        "template",
        RELEASE,
        &chart_dir,
        "--set",
        "leaderElection.leaseSeconds=1",
    ]));
    assert!(!out.status.success(), "the schema allows a lease of 1 s");

    // --- the package: the CRDs are crds/*.yaml, byte for byte ------------------------------------
    assert_eq!(
        std::fs::read_link(chart.join("crds")).unwrap(),
        Path::new("../../crds"),
        "charts/seg/crds must stay a link to the generated crds/ (a copy would drift)"
    );
    let (want_crds, crd_files) = committed_crds();
    assert_eq!(helm.ok(&["show", "crds", &chart_dir]), want_crds);
    let pkg_dir = work.path().join("package");
    helm.ok(&["package", &chart_dir, "-d", &pkg_dir.display().to_string()]);
    let package = pkg_dir.join("seg-0.1.0.tgz").display().to_string();
    let listing = ok(Command::new("tar").args(["-tzf", &package]));
    let mut packaged_crds: Vec<&str> = listing.lines().filter(|l| l.starts_with("seg/crds/")).collect();
    packaged_crds.sort_unstable();
    let want_names: Vec<String> = crd_files
        .iter()
        .map(|f| format!("seg/crds/{}", f.file_name().unwrap().to_string_lossy()))
        .collect();
    assert_eq!(packaged_crds, want_names, "package listing:\n{listing}");
    assert!(!listing.contains("seg/ci/"), "{listing}");
    assert_eq!(helm.ok(&["show", "crds", &package]), want_crds);

    // --- install into a real apiserver, as admin ---------------------------------------------------
    let cp = ControlPlane::start().unwrap();
    let admin = cp.kubeconfig(User::Admin).display().to_string();
    let kubectl_json = |args: &[&str]| items(&cp.kubectl_ok(User::Admin, args).unwrap());
    let kubectl_stdin = |args: &[&str], input: &str| {
        let out = piped(cp.kubectl_command(User::Admin).args(args), input);
        assert!(out.status.success(), "kubectl {args:?}:\n{}", text(&out.stderr));
        text(&out.stdout)
    };
    // What the apiserver makes of crds/*.yaml (with its defaults), before anything is installed.
    let mut want_specs = Vec::new();
    for f in &crd_files {
        let crd = kubectl_json(&[
            "create",
            "--dry-run=server",
            "-o",
            "json",
            "-f",
            &f.display().to_string(),
        ]);
        want_specs.push((
            crd[0]["metadata"]["name"].as_str().unwrap().to_string(),
            crd[0]["spec"].clone(),
        ));
    }
    // The default render is valid for this apiserver (strict field validation, dry run).
    kubectl_stdin(&["apply", "--dry-run=server", "-f", "-"], &default_render);

    helm.ok(&[
        "install",
        RELEASE,
        &package,
        "-n",
        NAMESPACE,
        "-f",
        &prod_values,
        "--kubeconfig",
        &admin,
    ]);

    // The installed CRDs are exactly crds/*.yaml: same set, same specs.
    let installed: BTreeSet<String> = kubectl_json(&["get", "crds", "-o", "json"])
        .iter()
        .filter(|c| c["spec"]["group"] == "seg.neurocipher.io")
        .map(|c| c["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        installed,
        want_specs.iter().map(|(n, _)| n.clone()).collect::<BTreeSet<_>>()
    );
    for (name, spec) in &want_specs {
        cp.kubectl_ok(
            User::Admin,
            [
                "wait",
                "--for=condition=Established",
                &format!("crd/{name}"),
                "--timeout=60s",
            ],
        )
        .unwrap();
        let live = kubectl_json(&["get", "crd", name, "-o", "json"]);
        assert!(
            live[0]["spec"] == *spec,
            "the installed {name} differs from crds/ (regenerate with `seg crds --write crds`)"
        );
    }

    // The chart's RBAC grants exactly the rights of e2e/fixtures/operator-rbac.yaml.
    let fixture = kubectl_json(&[
        "create",
        "--dry-run=client",
        "-o",
        "json",
        "-f",
        &root.join("e2e/fixtures/operator-rbac.yaml").display().to_string(),
    ]);
    let objects = kubectl_json(&[
        "get",
        "serviceaccounts,roles,rolebindings,deployments,networkpolicies",
        "-n",
        NAMESPACE,
        "-l",
        "app.kubernetes.io/instance=seg",
        "-o",
        "json",
    ]);
    let cluster = kubectl_json(&[
        "get",
        "clusterroles,clusterrolebindings",
        "-l",
        "app.kubernetes.io/instance=seg",
        "-o",
        "json",
    ]);
    assert_eq!(
        grants(&find(&cluster, "ClusterRole")["rules"]),
        grants(&find(&fixture, "ClusterRole")["rules"])
    );
    assert_eq!(
        grants(&find(&objects, "Role")["rules"]),
        grants(&find(&fixture, "Role")["rules"])
    );
    let sa = find(&objects, "ServiceAccount");
    let sa_name = sa["metadata"]["name"].as_str().unwrap().to_string();
    assert_eq!(
        sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"],
        "arn:aws:iam::123456789012:role/seg-operator"
    );
    for (binding, role) in [
        (
            find(&cluster, "ClusterRoleBinding"),
            find(&cluster, "ClusterRole"),
        ),
        (find(&objects, "RoleBinding"), find(&objects, "Role")),
    ] {
        assert_eq!(binding["roleRef"]["name"], role["metadata"]["name"]);
        assert_eq!(
            binding["subjects"],
            serde_json::json!([{"kind": "ServiceAccount", "name": sa_name, "namespace": NAMESPACE}])
        );
    }
    let netpol = find(&objects, "NetworkPolicy");
    assert_eq!(
        netpol["spec"]["policyTypes"],
        serde_json::json!(["Ingress", "Egress"])
    );
    assert!(netpol["spec"]["ingress"].is_null(), "no ingress is allowed");

    // The Deployment: two replicas, hardened, sized, and only flags the binary has.
    let deployment = find(&objects, "Deployment");
    let pod = &deployment["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    assert_eq!(deployment["spec"]["replicas"], 2);
    assert_eq!(pod["serviceAccountName"], sa_name.as_str());
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(pod["securityContext"]["seccompProfile"]["type"], "RuntimeDefault");
    let sc = &container["securityContext"];
    assert_eq!(sc["readOnlyRootFilesystem"], true);
    assert_eq!(sc["allowPrivilegeEscalation"], false);
    assert_eq!(sc["runAsNonRoot"], true);
    assert_eq!(sc["capabilities"]["drop"], serde_json::json!(["ALL"]));
    assert_eq!(sc["seccompProfile"]["type"], "RuntimeDefault");
    assert_eq!(container["resources"]["requests"]["memory"], "256Mi");
    assert!(container["resources"]["limits"]["memory"].is_string());
    assert!(container["livenessProbe"].is_null() && container["readinessProbe"].is_null());
    assert_eq!(pod["nodeSelector"]["kubernetes.io/os"], "linux");
    let args = checked_args(deployment);
    let env: Vec<&str> = container["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(env, ["POD_NAMESPACE", "POD_NAME"]);
    // Where the pod mounts its volumes, and a local folder standing in for each.
    let mut mounts = Vec::new();
    for m in container["volumeMounts"].as_array().unwrap() {
        let name = m["name"].as_str().unwrap();
        let local = work.path().join("volumes").join(name);
        std::fs::create_dir_all(&local).unwrap();
        mounts.push((m["mountPath"].as_str().unwrap().to_string(), local));
    }
    let local_args: Vec<String> = args
        .iter()
        .map(|a| {
            let mut a = a.clone();
            for (mount, local) in &mounts {
                a = a.replace(mount.as_str(), &local.display().to_string());
            }
            a
        })
        .collect();
    assert!(local_args.iter().any(|a| a.starts_with("--inventory-dir=")));
    assert!(local_args.iter().any(|a| a.starts_with("--export-dir=")));
    assert!(local_args.iter().any(|a| a.starts_with("--evidence-dir=")));
    let local_dir = |name: &str| {
        mounts
            .iter()
            .find(|(_, l)| l.ends_with(name))
            .map(|(_, l)| l.clone())
            .unwrap()
    };

    // --- the ServiceAccount's token, as the pods would have it -------------------------------------
    let token = cp
        .kubectl_ok(
            User::Admin,
            ["create", "token", &sa_name, "-n", NAMESPACE, "--duration=1h"],
        )
        .unwrap();
    let sa_kubeconfig = work.path().join("chart-sa.kubeconfig");
    std::fs::write(
        &sa_kubeconfig,
        format!(
            "apiVersion: v1
kind: Config
clusters:
  - name: seg-e2e
    cluster: {{server: {}, certificate-authority: {}}}
users:
  - name: chart-sa
    user: {{token: {}}}
contexts:
  - name: chart-sa
    context: {{cluster: seg-e2e, user: chart-sa}}
current-context: chart-sa
",
            cp.server(),
            cp.ca_cert().display(),
            token.trim()
        ),
    )
    .unwrap();
    let sa_kubectl = |args: &[&str]| {
        output(
            Command::new(kubectl_bin())
                .arg("--kubeconfig")
                .arg(&sa_kubeconfig)
                .args(args),
        )
    };
    let whoami = sa_kubectl(&["auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"]);
    assert_eq!(
        text(&whoami.stdout),
        format!("system:serviceaccount:{NAMESPACE}:{sa_name}"),
        "{}",
        text(&whoami.stderr)
    );
    cp.kubectl_ok(User::Admin, ["create", "namespace", TENANT])
        .unwrap();
    // Minimal: what the operator never needs is refused.
    for (verb, what, ns) in [
        ("delete", "secrets", TENANT),
        ("list", "secrets", TENANT),
        ("create", "configmaps", TENANT),
        ("create", "pods", NAMESPACE),
        ("update", "deployments", NAMESPACE),
        ("delete", "scans", TENANT),
        ("create", "benchmarks", TENANT),
        ("update", "leases", TENANT),
        ("delete", "leases", NAMESPACE),
        ("create", "customresourcedefinitions", ""),
        ("escalate", "clusterroles", ""),
    ] {
        let mut args = vec!["auth", "can-i", verb, what];
        if !ns.is_empty() {
            args.extend(["-n", ns]);
        }
        let out = sa_kubectl(&args);
        assert_eq!(
            text(&out.stdout).trim(),
            "no",
            "the chart's ServiceAccount may {verb} {what} in {ns:?}: {}",
            text(&out.stderr)
        );
    }

    // --- seg operator with the chart's RBAC, the Deployment's args and env -------------------------
    let inventory_dir = local_dir("inventory");
    // Inventories of namespace N are read from <inventory dir>/N/.
    std::fs::create_dir_all(inventory_dir.join(TENANT).join("demo")).unwrap();
    std::fs::copy(
        root.join("operator/demo/aws-demo-account.jsonl"),
        inventory_dir.join(TENANT).join("demo/items.jsonl"),
    )
    .unwrap();
    let log = cp.dir().join("chart-operator.log");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_seg"));
    cmd.args(&local_args)
        .env("KUBECONFIG", &sa_kubeconfig)
        .env("POD_NAMESPACE", NAMESPACE)
        .env("POD_NAME", "seg-operator-7d9f-abcde");
    let mut operator = ManagedProcess::spawn("seg-operator-chart", cmd, log.clone()).unwrap();
    let get = |args: &[&str]| {
        cp.kubectl(User::Admin, args)
            .map(|o| text(&o.stdout))
            .unwrap_or_default()
    };
    wait("the operator holds the Lease", &log, || {
        get(&[
            "get",
            "lease",
            "seg-operator",
            "-n",
            NAMESPACE,
            "-o",
            "jsonpath={.spec.holderIdentity}",
        ]) == "seg-operator-7d9f-abcde"
    });
    cp.apply(
        User::Admin,
        &std::fs::read_to_string(root.join("examples/benchmark-cis-aws.yaml")).unwrap(),
    )
    .unwrap();
    cp.apply(
        User::Admin,
        "apiVersion: seg.neurocipher.io/v1alpha1
kind: Scan
metadata: {name: demo, namespace: tenant-a}
spec:
  benchmarkRef: {name: cis-aws}
  provider: inventory
  inventory: {path: demo/items.jsonl}
  export: {path: demo.ocsf.jsonl}
",
    )
    .unwrap();
    let scan = |path: &str| {
        get(&[
            "get",
            "scan",
            "demo",
            "-n",
            TENANT,
            "-o",
            &format!("jsonpath={path}"),
        ])
    };
    wait("Benchmark Ready", &log, || {
        get(&[
            "get",
            "benchmark",
            "cis-aws",
            "-n",
            TENANT,
            "-o",
            "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}",
        ]) == "True"
    });
    wait("Scan Succeeded", &log, || {
        let phase = scan("{.status.phase}");
        assert_ne!(
            phase,
            "Failed",
            "{}",
            scan("{.status.conditions[?(@.type==\"Ready\")].message}")
        );
        phase == "Succeeded"
    });
    let findings = |cp: &ControlPlane| {
        cp.kubectl(
            User::Admin,
            [
                "get",
                "findings",
                "-n",
                TENANT,
                "-l",
                "seg.neurocipher.io/scan=demo",
                "-o",
                "name",
            ],
        )
        .map(|o| text(&o.stdout).lines().count())
        .unwrap_or_default()
    };
    let failed: usize = scan("{.status.resultCounts.fail}").parse().unwrap();
    assert!(failed > 0);
    assert_eq!(findings(&cp), failed);
    // The location is relative to the export volume: <namespace>/<path>.
    let location = scan("{.status.exportLocation}");
    assert_eq!(location, format!("{TENANT}/demo.ocsf.jsonl"));
    let exported = local_dir("export").join(&location);
    assert!(std::fs::read_to_string(&exported).unwrap().lines().count() > failed);

    // Deleting the Scan removes its Findings through the finalizer.
    cp.kubectl_ok(
        User::Admin,
        ["delete", "scan", "demo", "-n", TENANT, "--wait=false"],
    )
    .unwrap();
    wait("Findings removed", &log, || findings(&cp) == 0);
    wait("Scan removed", &log, || {
        get(&["get", "scans", "-n", TENANT, "-o", "name"]).is_empty()
    });
    let operator_log = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        !operator_log.to_lowercase().contains("forbidden"),
        "the chart's RBAC refused a request of the operator:\n{operator_log}"
    );
    operator.stop();

    // --- upgrading the CRDs as docs/operations.md says, then uninstalling ---------------------------
    let crds_yaml = helm.ok(&["show", "crds", &package]);
    kubectl_stdin(
        &["apply", "--server-side", "--force-conflicts", "-f", "-"],
        &crds_yaml,
    );
    helm.ok(&["uninstall", RELEASE, "-n", NAMESPACE, "--kubeconfig", &admin]);
    // Helm leaves the CRDs (and so every tenant's objects) in place.
    for (name, _) in &want_specs {
        cp.kubectl_ok(User::Admin, ["get", "crd", name]).unwrap();
    }
    assert!(get(&[
        "get",
        "deployments,serviceaccounts",
        "-n",
        NAMESPACE,
        "-o",
        "name"
    ])
    .is_empty());
}

// --- the values of the AWS and evidence flags, rendered without a cluster --------------------------

/// The rendered Deployment as JSON. helm itself reads the YAML: a one-template chart prints its
/// values, which are the rendered manifest passed as a values file, with `toJson`.
fn rendered_deployment(helm: &Helm, work: &Path, extra: &[&str]) -> Result<Value, String> {
    let chart = repo_root().join("charts/seg").display().to_string();
    let mut args = vec![
        "template",
        RELEASE,
        chart.as_str(),
        "-n",
        NAMESPACE,
        "--show-only",
        "templates/deployment.yaml",
    ];
    args.extend_from_slice(extra);
    let out = output(helm.cmd().args(&args));
    if !out.status.success() {
        return Err(text(&out.stderr));
    }
    let to_json = work.join("yaml-to-json");
    if !to_json.exists() {
        std::fs::create_dir_all(to_json.join("templates")).unwrap();
        std::fs::write(
            to_json.join("Chart.yaml"),
            "apiVersion: v2\nname: yaml-to-json\nversion: 0.1.0\n",
        )
        .unwrap();
        std::fs::write(to_json.join("templates/json.yaml"), "{{ toJson .Values }}\n").unwrap();
    }
    let manifest = work.join("deployment.yaml");
    std::fs::write(&manifest, text(&out.stdout)).unwrap();
    let json = helm.ok(&[
        "template",
        "json",
        &to_json.display().to_string(),
        "-f",
        &manifest.display().to_string(),
    ]);
    let start = json.find('{').unwrap_or_else(|| panic!("no JSON in {json}"));
    let deployment: Value = serde_json::from_str(json[start..].trim()).unwrap();
    assert_eq!(deployment["kind"], "Deployment", "{deployment}");
    Ok(deployment)
}

/// The entries of the pod's `field` list (`volumes`) or the container's (`volumeMounts`) named
/// `name`, at most one.
fn named<'a>(deployment: &'a Value, field: &str, name: &str) -> Option<&'a Value> {
    let pod = &deployment["spec"]["template"]["spec"];
    let list = match field {
        "volumeMounts" => &pod["containers"][0][field],
        _ => &pod[field],
    };
    let found: Vec<&Value> = list
        .as_array()
        .map(|l| l.iter().filter(|v| v["name"] == name).collect())
        .unwrap_or_default();
    assert!(found.len() <= 1, "{field}: {name} twice");
    found.first().copied()
}

/// `seg operator` with `args` and no cluster to reach: it parses them (types, ranges, conflicts;
/// a refusal exits 2 with clap's message), then stops for want of a Kubernetes configuration
/// (exit 1) before it touches anything.
fn operator_without_cluster(args: &[String], work: &Path) -> Output {
    output(
        Command::new(env!("CARGO_BIN_EXE_seg"))
            .args(args)
            .env("KUBECONFIG", work.join("no-kubeconfig"))
            .env("HOME", work)
            .env_remove("KUBERNETES_SERVICE_HOST")
            .env_remove("KUBERNETES_SERVICE_PORT")
            .env_remove("SEG_AWS_ENDPOINT_URL"),
    )
}

/// The help text of one option of `seg operator --help`: its line and its description.
fn option_help<'a>(help: &'a str, flag: &str) -> &'a str {
    let start = help
        .find(&format!("      {flag} "))
        .unwrap_or_else(|| panic!("`seg operator --help` has no {flag}:\n{help}"));
    let rest = &help[start..];
    let end = rest[1..]
        .find("\n      --")
        .or_else(|| rest[1..].find("\n  -h"))
        .map_or(rest.len(), |i| i + 1);
    &rest[..end]
}

#[test]
fn the_chart_values_render_exactly_the_aws_and_evidence_flags() {
    let work = tempfile::tempdir().unwrap();
    let helm = Helm::install(&work.path().join("helm-home"));
    let chart_dir = repo_root().join("charts/seg").display().to_string();
    let render = |extra: &[&str]| rendered_deployment(&helm, work.path(), extra);
    let values_file = |name: &str, yaml: &str| {
        let path = work.path().join(name);
        std::fs::write(&path, yaml).unwrap();
        path.display().to_string()
    };
    let strings = |v: &[&str]| v.iter().map(|s| (*s).to_string()).collect::<Vec<_>>();
    let base = [
        "operator",
        "--export-dir=/var/lib/seg/export",
        "--lease-seconds=15",
        "--max-concurrent-scans=1",
        "--progress-seconds=2",
    ];
    let accepted = |args: &[String]| {
        let out = operator_without_cluster(args, work.path());
        assert!(
            out.status.code() == Some(1) && text(&out.stderr).contains("no Kubernetes client configuration"),
            "`seg {}` does not accept the rendered arguments ({}):\n{}",
            args.join(" "),
            out.status,
            text(&out.stderr)
        );
    };

    // Defaults: none of the AWS or evidence flags, so the binary's own defaults apply, and no
    // evidence volume.
    let default = render(&[]).unwrap();
    assert_eq!(checked_args(&default), strings(&base));
    assert!(named(&default, "volumes", "evidence").is_none());
    assert!(named(&default, "volumeMounts", "evidence").is_none());
    accepted(&checked_args(&default));

    // The defaults values.yaml leaves to the binary are the ones its comments give (its comment
    // lines joined, so that rewrapping them changes nothing), and the flags the chart leaves empty
    // have no default.
    let help = ok(Command::new(env!("CARGO_BIN_EXE_seg")).args(["operator", "--help"]));
    let values_yaml = std::fs::read_to_string(repo_root().join("charts/seg/values.yaml"))
        .unwrap()
        .lines()
        .map(|l| l.trim().trim_start_matches('#').trim())
        .collect::<Vec<_>>()
        .join(" ");
    for (flag, default, documented) in [
        ("--retry-seconds", "60", "the binary's default applies (60)"),
        ("--cluster-name", "default", "`seg:<cluster name>:`"),
        ("--aws-timeout-seconds", "20", "the binary's default (20)"),
        ("--aws-max-attempts", "3", "the binary's default (3)"),
        (
            "--evidence-s3-prefix",
            "seg-evidence",
            "the binary's default, `seg-evidence`",
        ),
    ] {
        let option = option_help(&help, flag);
        assert!(
            option.contains(&format!("[default: {default}]")),
            "{flag}: the chart documents the default {default:?}, the binary has:\n{option}"
        );
        assert!(values_yaml.contains(documented), "values.yaml: {documented:?}");
    }
    for flag in [
        "--aws-external-id-prefix",
        "--aws-endpoint-url",
        "--evidence-dir",
        "--evidence-s3-bucket",
        "--evidence-s3-endpoint-url",
    ] {
        let option = option_help(&help, flag);
        assert!(!option.contains("[default:"), "{option}");
    }

    // Every AWS value, and the evidence directory on a claim. The large number is read from a
    // values file as a float and must still render as an integer.
    let aws_values = values_file(
        "aws-values.yaml",
        "scans:
  retrySeconds: 90
aws:
  endpointUrl: http://aws-proxy.internal:4566
  externalIdPrefix: 'acme:'
  timeoutSeconds: 1000000
  maxAttempts: 5
evidence:
  dir:
    enabled: true
    volume:
      persistentVolumeClaim: {claimName: seg-evidence}
",
    );
    let out = output(
        helm.cmd()
            .args(["lint", "--strict", &chart_dir, "-f", &aws_values]),
    );
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(
        out.status.success() && !all.contains("[WARNING]") && !all.contains("[ERROR]"),
        "{all}"
    );
    let deployment = render(&["-f", &aws_values]).unwrap();
    let mut want = strings(&base);
    want.extend(strings(&[
        "--retry-seconds=90",
        "--aws-endpoint-url=http://aws-proxy.internal:4566",
        "--aws-external-id-prefix=acme:",
        "--aws-timeout-seconds=1000000",
        "--aws-max-attempts=5",
        "--evidence-dir=/var/lib/seg/evidence",
    ]));
    assert_eq!(checked_args(&deployment), want);
    accepted(&want);
    let mount = named(&deployment, "volumeMounts", "evidence").expect("an evidence mount");
    assert_eq!(mount["mountPath"], "/var/lib/seg/evidence");
    assert!(
        mount["readOnly"].is_null() || mount["readOnly"] == false,
        "the evidence volume must be writable: {mount}"
    );
    assert_eq!(
        named(&deployment, "volumes", "evidence").expect("an evidence volume"),
        &serde_json::json!({"name": "evidence", "persistentVolumeClaim": {"claimName": "seg-evidence"}})
    );
    let sc = &deployment["spec"]["template"]["spec"]["containers"][0]["securityContext"];
    assert_eq!(sc["readOnlyRootFilesystem"], true, "{sc}");

    // The evidence directory without a volume: a size-limited emptyDir at the chosen path. A
    // prefix must end with a delimiter.
    let deployment = render(&[
        "--set",
        "evidence.dir.enabled=true",
        "--set",
        "evidence.dir.mountPath=/data/evidence",
        "--set",
        "evidence.dir.emptyDirSizeLimit=5Gi",
        "--set",
        "aws.externalIdPrefix=team/",
    ])
    .unwrap();
    let mut want = strings(&base);
    want.extend(strings(&[
        "--aws-external-id-prefix=team/",
        "--evidence-dir=/data/evidence",
    ]));
    assert_eq!(checked_args(&deployment), want);
    accepted(&want);
    assert_eq!(
        named(&deployment, "volumeMounts", "evidence").unwrap()["mountPath"],
        "/data/evidence"
    );
    assert_eq!(
        named(&deployment, "volumes", "evidence").unwrap(),
        &serde_json::json!({"name": "evidence", "emptyDir": {"sizeLimit": "5Gi"}})
    );

    // Evidence in S3 with the operator's IRSA role: the bucket and its settings, no volume. The
    // prefix is passed only when set ("" included).
    let s3_values = values_file(
        "s3-values.yaml",
        "serviceAccount:
  annotations:
    eks.amazonaws.com/role-arn: arn:aws:iam::123456789012:role/seg-operator
evidence:
  s3:
    bucket: acme-seg-evidence
    prefix: clusters/prod
    endpointUrl: https://s3.eu-west-1.amazonaws.com
",
    );
    let deployment = render(&["-f", &s3_values]).unwrap();
    let mut want = strings(&base);
    want.extend(strings(&[
        "--evidence-s3-bucket=acme-seg-evidence",
        "--evidence-s3-prefix=clusters/prod",
        "--evidence-s3-endpoint-url=https://s3.eu-west-1.amazonaws.com",
    ]));
    assert_eq!(checked_args(&deployment), want);
    accepted(&want);
    assert!(named(&deployment, "volumes", "evidence").is_none());
    assert!(named(&deployment, "volumeMounts", "evidence").is_none());
    for (set, tail) in [
        (&["evidence.s3.bucket=b"][..], &["--evidence-s3-bucket=b"][..]),
        (
            &["evidence.s3.bucket=b", "evidence.s3.prefix="][..],
            &["--evidence-s3-bucket=b", "--evidence-s3-prefix="][..],
        ),
    ] {
        let mut extra = Vec::new();
        for s in set {
            extra.extend(["--set", s]);
        }
        let mut want = strings(&base);
        want.extend(strings(tail));
        assert_eq!(checked_args(&render(&extra).unwrap()), want, "{set:?}");
    }

    // A directory and a bucket at once: the binary refuses the pair, and so does the chart, naming
    // both values.
    let both = [
        "--set",
        "evidence.dir.enabled=true",
        "--set",
        "evidence.s3.bucket=b",
    ];
    let err = render(&both).unwrap_err();
    assert!(
        err.contains("evidence.dir.enabled") && err.contains("evidence.s3.bucket"),
        "{err}"
    );
    let out = operator_without_cluster(
        &strings(&["operator", "--evidence-dir=/x", "--evidence-s3-bucket=b"]),
        work.path(),
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("cannot be used with"),
        "{}",
        text(&out.stderr)
    );
    // Settings of a bucket without a bucket are a mistake, not silently dropped.
    for set in [
        "evidence.s3.prefix=x",
        "evidence.s3.endpointUrl=http://minio:9000",
    ] {
        let err = render(&["--set", set]).unwrap_err();
        assert!(err.contains("set evidence.s3.bucket"), "{set}: {err}");
    }

    // The schema refuses wrong types, values the binary refuses, and unknown keys, before any
    // template runs; helm lint refuses them too.
    for (set, path) in [
        ("aws.maxAttempts=abc", "/aws/maxAttempts"),
        ("aws.maxAttempts=0", "/aws/maxAttempts"),
        ("aws.timeoutSeconds=abc", "/aws/timeoutSeconds"),
        ("aws.timeoutSeconds=0", "/aws/timeoutSeconds"),
        ("scans.retrySeconds=0", "/scans/retrySeconds"),
        ("aws.externalIdPrefix=1", "/aws/externalIdPrefix"),
        ("aws.endpointUrl=localhost:4566", "/aws/endpointUrl"),
        ("aws.maxAttempt=3", "maxAttempt"),
        ("evidence.dir.enabled=yes", "/evidence/dir/enabled"),
        ("evidence.dir.mountPath=evidence", "/evidence/dir/mountPath"),
        ("evidence.s3.bucket=a/b", "/evidence/s3/bucket"),
        ("evidence.s3.endpointUrl=minio:9000", "/evidence/s3/endpointUrl"),
        ("evidence.s3.region=eu-west-1", "region"),
    ] {
        let err = render(&["--set", set]).unwrap_err();
        assert!(
            err.contains("don't meet the specifications of the schema") && err.contains(path),
            "{set}: {err}"
        );
        let out = output(helm.cmd().args(["lint", &chart_dir, "--set", set]));
        assert!(!out.status.success(), "helm lint accepts {set}");
    }
}
