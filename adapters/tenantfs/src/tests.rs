//! Unit tests. Every case that touches the file system runs twice: with `openat2` and the
//! `RESOLVE_*` flags (where the kernel has it), and with the `openat` + `O_NOFOLLOW` fallback.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::os::unix::fs::{symlink, FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use super::sys::Resolver;
use super::*;

/// A scratch directory: `root/` (the tenant root) and `outside/` next to it, with `root/b/` and
/// `outside/` each holding a file the tenant `a` must never reach.
struct Env {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    outside: PathBuf,
}

const SECRET: &str = "tenant b's secret\n";

impl Env {
    fn new() -> Env {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("root");
        let outside = tmp.path().join("outside");
        fs::create_dir_all(root.join("b")).unwrap();
        fs::create_dir_all(&outside).unwrap();
        fs::write(root.join("b/secret.json"), SECRET).unwrap();
        fs::write(outside.join("secret.json"), SECRET).unwrap();
        Env {
            _tmp: tmp,
            root,
            outside,
        }
    }

    fn a(&self) -> PathBuf {
        self.root.join("a")
    }

    /// Tenant b's directory and the outside directory are exactly as created.
    fn assert_untouched(&self) {
        assert_eq!(names(&self.root.join("b")), ["secret.json"]);
        assert_eq!(names(&self.outside), ["secret.json"]);
        assert_eq!(
            fs::read_to_string(self.root.join("b/secret.json")).unwrap(),
            SECRET
        );
        assert_eq!(
            fs::read_to_string(self.outside.join("secret.json")).unwrap(),
            SECRET
        );
    }
}

/// Run `test` once per resolver, each on a fresh [`Env`].
fn each_resolver(test: impl Fn(&Env, &TenantDir)) {
    for resolver in [Resolver::Auto, Resolver::OpenatOnly] {
        eprintln!("resolver: {resolver:?}");
        let env = Env::new();
        let mut dir = TenantDir::new(&env.root).unwrap();
        dir.resolver = resolver;
        test(&env, &dir);
    }
}

/// The sorted names in a directory.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn write_str(dir: &TenantDir, ns: &str, rel: &str, text: &str) -> Result<PathBuf, TenantFsError> {
    dir.write_atomic(ns, rel, |w| w.write_all(text.as_bytes()))
}

/// Run `f` on another thread and fail the test if it does not finish within 10 s (a blocking
/// open of a FIFO would otherwise hang the test run).
fn within<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(Duration::from_secs(10)) {
        Ok(v) => v,
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{what} blocked for 10 s"),
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!("{what} panicked"),
    }
}

fn is_symlink(p: &Path) -> bool {
    fs::symlink_metadata(p).unwrap().file_type().is_symlink()
}

// --- validation (pure) ---------------------------------------------------------------------------

#[test]
fn check_relative_accepts_plain_relative_paths() {
    for ok in [
        "x",
        "x.json",
        "a/b/c.jsonl",
        ".hidden",
        "a..b",
        "...",
        "with space/ünïcødé.txt",
        &"c".repeat(255),
        &["d"; 8].join("/"),
    ] {
        let rel = TenantDir::check_relative(ok).unwrap();
        assert_eq!(rel.as_str(), ok);
        assert_eq!(rel.components().collect::<Vec<_>>().join("/"), ok);
    }
    let rel = TenantDir::check_relative("a/b/c.json").unwrap();
    assert_eq!(rel.file_name(), "c.json");
    assert_eq!(rel.dirs(), ["a", "b"]);
    assert_eq!(rel.prefix(0), ".");
    assert_eq!(rel.prefix(2), "a/b");
}

#[test]
fn check_relative_refuses_what_could_escape_or_confuse() {
    let long_total = vec!["x".repeat(200); 6].join("/"); // 1205 bytes, components fine
    let cases: &[(&str, &str)] = &[
        ("", "empty"),
        ("/etc/passwd", "relative"),
        ("/", "relative"),
        ("..", "`..`"),
        ("../b/secret.json", "`..`"),
        ("x/../../b/secret.json", "`..`"),
        ("x/..", "`..`"),
        (".", "`.`"),
        ("./x", "`.`"),
        ("x/./y", "`.`"),
        ("x//y", "empty component"),
        ("x/", "empty component"),
        ("x\0y", "NUL"),
        ("x\ny", "control"),
        ("x\u{7f}", "control"),
        (&long_total, "longer than 1024"),
    ];
    for (bad, reason) in cases {
        match TenantDir::check_relative(bad) {
            Err(TenantFsError::InvalidPath { path, reason: got }) => {
                assert_eq!(&path, bad);
                assert!(got.contains(reason), "{bad:?}: {got:?} should mention {reason:?}");
            }
            other => panic!("{bad:?}: expected InvalidPath, got {other:?}"),
        }
    }
    let long_component = "c".repeat(256);
    let deep = ["d"; 9].join("/");
    for (bad, reason) in [(&long_component, "longer than 255"), (&deep, "more than 8")] {
        let e = TenantDir::check_relative(bad).unwrap_err();
        assert!(
            matches!(&e, TenantFsError::InvalidPath { reason: r, .. } if r.contains(reason)),
            "{e}"
        );
        assert!(e.is_invalid());
    }
}

#[test]
fn invalid_path_message_is_escaped_and_short() {
    let e = TenantDir::check_relative("x\ny").unwrap_err();
    assert_eq!(
        e.to_string(),
        r#"invalid path "x\ny": the path contains a control character"#
    );
    let e = TenantDir::check_relative(&"y".repeat(2000)).unwrap_err();
    assert!(e.to_string().len() < 250, "{e}");
}

#[test]
fn namespaces_are_dns_1123_labels() {
    for ok in ["a", "team-a", "0", "a0-b1", &"n".repeat(63)] {
        TenantDir::check_namespace(ok).unwrap();
    }
    for bad in [
        "",
        "A",
        "Team",
        "a_b",
        "a.b",
        "-a",
        "a-",
        ".",
        "..",
        "../b",
        "b/x",
        "/b",
        "a b",
        "ä",
        &"n".repeat(64),
    ] {
        let e = TenantDir::check_namespace(bad).unwrap_err();
        assert!(
            matches!(e, TenantFsError::InvalidNamespace { .. }),
            "{bad:?}: {e:?}"
        );
        assert!(e.is_invalid());
    }
}

// --- construction --------------------------------------------------------------------------------

#[test]
fn new_requires_an_existing_directory() {
    let env = Env::new();
    let e = TenantDir::new(env.root.join("missing")).unwrap_err();
    assert!(matches!(e, TenantFsError::Io { op: "open root", .. }), "{e:?}");
    let e = TenantDir::new(env.root.join("b/secret.json")).unwrap_err();
    assert!(matches!(e, TenantFsError::Io { op: "open root", .. }), "{e:?}");
    assert!(!e.is_invalid());
    let dir = TenantDir::new(&env.root).unwrap();
    assert_eq!(dir.root(), env.root);
}

// --- escapes and isolation -----------------------------------------------------------------------

#[test]
fn dot_dot_escape_is_refused() {
    each_resolver(|env, dir| {
        for rel in [
            "../b/secret.json",
            "x/../../b/secret.json",
            "../../outside/secret.json",
        ] {
            let e = dir.read_to_string("a", rel).unwrap_err();
            assert!(matches!(e, TenantFsError::InvalidPath { .. }), "{rel}: {e:?}");
            let e = write_str(dir, "a", rel, "pwned").unwrap_err();
            assert!(matches!(e, TenantFsError::InvalidPath { .. }), "{rel}: {e:?}");
            let e = dir.remove("a", rel).unwrap_err();
            assert!(matches!(e, TenantFsError::InvalidPath { .. }), "{rel}: {e:?}");
        }
        env.assert_untouched();
        assert!(!env.a().exists(), "nothing is created for a refused path");
    });
}

#[test]
fn absolute_path_is_refused() {
    each_resolver(|env, dir| {
        let target = env.outside.join("new.json");
        let abs = target.to_str().unwrap();
        let e = write_str(dir, "a", abs, "pwned").unwrap_err();
        assert!(matches!(&e, TenantFsError::InvalidPath { reason, .. } if reason.contains("relative")));
        let secret = env.outside.join("secret.json");
        let e = dir.read_to_string("a", secret.to_str().unwrap()).unwrap_err();
        assert!(matches!(e, TenantFsError::InvalidPath { .. }), "{e:?}");
        let e = dir.remove("a", secret.to_str().unwrap()).unwrap_err();
        assert!(matches!(e, TenantFsError::InvalidPath { .. }), "{e:?}");
        assert!(!target.exists());
        env.assert_untouched();
    });
}

#[test]
fn a_tenant_cannot_name_another_tenants_files() {
    each_resolver(|env, dir| {
        let written = write_str(dir, "a", "scan.json", "a's data").unwrap();
        assert_eq!(written, env.root.join("a/scan.json"));
        assert_eq!(fs::read_to_string(&written).unwrap(), "a's data");
        // b's file is not visible under a's name, and a's file not under b's.
        let e = dir.read_to_string("a", "secret.json").unwrap_err();
        assert!(matches!(e, TenantFsError::NotFound { .. }), "{e:?}");
        let e = dir.read_to_string("b", "scan.json").unwrap_err();
        assert!(matches!(e, TenantFsError::NotFound { .. }), "{e:?}");
        // The namespace cannot smuggle a path either.
        for ns in ["a/../b", "../b", "b/.", "a/..", ".", ""] {
            let e = dir.read_to_string(ns, "secret.json").unwrap_err();
            assert!(matches!(e, TenantFsError::InvalidNamespace { .. }), "{ns}: {e:?}");
            let e = write_str(dir, ns, "secret.json", "pwned").unwrap_err();
            assert!(matches!(e, TenantFsError::InvalidNamespace { .. }), "{ns}: {e:?}");
            let e = dir.remove(ns, "secret.json").unwrap_err();
            assert!(matches!(e, TenantFsError::InvalidNamespace { .. }), "{ns}: {e:?}");
        }
        assert_eq!(names(&env.root), ["a", "b"]);
        assert_eq!(names(&env.a()), ["scan.json"]);
        env.assert_untouched();
    });
}

// --- symbolic links ------------------------------------------------------------------------------

#[test]
fn symlink_as_final_component_is_refused() {
    each_resolver(|env, dir| {
        fs::create_dir(env.a()).unwrap();
        // Relative into tenant b, absolute to outside the root, and dangling.
        symlink("../b/secret.json", env.a().join("rel.json")).unwrap();
        symlink(env.outside.join("secret.json"), env.a().join("abs.json")).unwrap();
        symlink(env.outside.join("missing.json"), env.a().join("dangling.json")).unwrap();
        for name in ["rel.json", "abs.json", "dangling.json"] {
            let e = dir.read_to_string("a", name).unwrap_err();
            assert!(
                matches!(&e, TenantFsError::Symlink { path } if path == name),
                "{name}: {e:?}"
            );
            let e = write_str(dir, "a", name, "pwned").unwrap_err();
            assert!(
                matches!(&e, TenantFsError::Symlink { path } if path == name),
                "{name}: {e:?}"
            );
            let e = dir.remove("a", name).unwrap_err();
            assert!(
                matches!(&e, TenantFsError::Symlink { path } if path == name),
                "{name}: {e:?}"
            );
            assert!(e.is_invalid());
            assert!(
                is_symlink(&env.a().join(name)),
                "{name}: the link itself is left alone"
            );
        }
        assert!(!env.outside.join("missing.json").exists());
        assert_eq!(names(&env.a()), ["abs.json", "dangling.json", "rel.json"]);
        env.assert_untouched();
    });
}

#[test]
fn symlink_as_intermediate_directory_is_refused() {
    each_resolver(|env, dir| {
        fs::create_dir_all(env.a().join("d1")).unwrap();
        symlink("../b", env.a().join("sub")).unwrap();
        symlink(&env.outside, env.a().join("d1/d2")).unwrap();
        for (rel, link) in [
            ("sub/secret.json", "sub"),
            ("sub/new.json", "sub"),
            ("sub/deeper/new.json", "sub"),
            ("d1/d2/secret.json", "d1/d2"),
            ("d1/d2/new.json", "d1/d2"),
        ] {
            let e = dir.read_to_string("a", rel).unwrap_err();
            assert!(
                matches!(&e, TenantFsError::Symlink { path } if path == link),
                "{rel}: {e:?}"
            );
            let e = write_str(dir, "a", rel, "pwned").unwrap_err();
            assert!(
                matches!(&e, TenantFsError::Symlink { path } if path == link),
                "{rel}: {e:?}"
            );
            let e = dir.remove("a", rel).unwrap_err();
            assert!(
                matches!(&e, TenantFsError::Symlink { path } if path == link),
                "{rel}: {e:?}"
            );
        }
        assert!(is_symlink(&env.a().join("sub")));
        assert!(is_symlink(&env.a().join("d1/d2")));
        env.assert_untouched();
    });
}

#[test]
fn symlink_as_namespace_directory_is_refused() {
    each_resolver(|env, dir| {
        symlink("b", env.a()).unwrap();
        symlink(&env.outside, env.root.join("c")).unwrap();
        symlink(env.outside.join("missing-dir"), env.root.join("d")).unwrap();
        for ns in ["a", "c", "d"] {
            for rel in ["secret.json", "new.json", "x/new.json"] {
                let e = dir.read_to_string(ns, rel).unwrap_err();
                assert!(
                    matches!(&e, TenantFsError::Symlink { path } if path == "."),
                    "{ns}/{rel}: {e:?}"
                );
                let e = write_str(dir, ns, rel, "pwned").unwrap_err();
                assert!(
                    matches!(&e, TenantFsError::Symlink { path } if path == "."),
                    "{ns}/{rel}: {e:?}"
                );
                let e = dir.remove(ns, rel).unwrap_err();
                assert!(
                    matches!(&e, TenantFsError::Symlink { path } if path == "."),
                    "{ns}/{rel}: {e:?}"
                );
            }
        }
        assert!(
            !env.outside.join("missing-dir").exists(),
            "a dangling link is not created through"
        );
        assert!(is_symlink(&env.a()));
        env.assert_untouched();
    });
}

/// A directory swapped for a link (and back) while writes, reads and removes run: nothing ever
/// lands in, or is read from or removed from, tenant b. A path-based implementation (check the
/// path, then open it by name) fails this.
#[test]
fn directory_swapped_for_symlink_during_use_never_escapes() {
    each_resolver(|env, dir| {
        fs::create_dir_all(env.a().join("sub")).unwrap();
        fs::write(env.a().join("sub/secret.json"), "a's own file").unwrap();
        symlink("../b", env.a().join("swap")).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let swapper = {
            let (stop, a) = (stop.clone(), env.a());
            std::thread::spawn(move || {
                let mut swaps = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    rustix::fs::renameat_with(
                        rustix::fs::CWD,
                        a.join("sub"),
                        rustix::fs::CWD,
                        a.join("swap"),
                        rustix::fs::RenameFlags::EXCHANGE,
                    )
                    .unwrap();
                    swaps += 1;
                }
                swaps
            })
        };
        let mut outcomes = [0usize; 2];
        for i in 0..300 {
            let r = write_str(dir, "a", "sub/secret.json", "pwned");
            outcomes[usize::from(r.is_ok())] += 1;
            if let Ok(text) = dir.read_to_string("a", "sub/secret.json") {
                assert_ne!(text, SECRET, "read tenant b's file through a swapped link");
            }
            if i % 10 == 0 {
                let _ = dir.remove("a", "sub/secret.json");
            }
            let _ = write_str(dir, "a", "sub/new.json", "pwned");
        }
        stop.store(true, Ordering::Relaxed);
        let swaps = swapper.join().unwrap();
        assert!(swaps > 0);
        eprintln!("swaps: {swaps}, refused/ok writes: {outcomes:?}");
        env.assert_untouched();
    });
}

// --- special files -------------------------------------------------------------------------------

#[test]
fn fifo_is_refused_without_blocking() {
    each_resolver(|env, dir| {
        fs::create_dir(env.a()).unwrap();
        let fifo = env.a().join("pipe");
        rustix::fs::mkfifoat(rustix::fs::CWD, &fifo, Mode::RUSR | Mode::WUSR).unwrap();
        let d = dir.clone();
        let (read, write, remove) = within("operations on a FIFO", move || {
            (
                d.read_to_string("a", "pipe"),
                write_str(&d, "a", "pipe", "x"),
                d.remove("a", "pipe"),
            )
        });
        for e in [read.unwrap_err(), write.unwrap_err(), remove.unwrap_err()] {
            assert!(
                matches!(&e, TenantFsError::NotRegularFile { path, kind: "FIFO" } if path == "pipe"),
                "{e:?}"
            );
            assert!(e.is_invalid());
        }
        assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
    });
}

/// The open itself (the second line of defence, for a FIFO that appears after the type was
/// checked): `O_NONBLOCK` so it does not wait for a writer, and `fstat` refuses it.
#[test]
fn opening_a_fifo_does_not_block_and_fstat_refuses_it() {
    each_resolver(|env, dir| {
        fs::create_dir(env.a()).unwrap();
        rustix::fs::mkfifoat(rustix::fs::CWD, env.a().join("pipe"), Mode::RUSR | Mode::WUSR).unwrap();
        let (d, a) = (dir.clone(), env.a());
        let r = within("opening a FIFO", move || {
            let ns = fs::File::open(a).unwrap();
            d.open_file(ns.as_fd(), "pipe", "pipe").map(drop)
        });
        let e = r.unwrap_err();
        assert!(
            matches!(e, TenantFsError::NotRegularFile { kind: "FIFO", .. }),
            "{e:?}"
        );
    });
}

#[test]
fn socket_is_refused() {
    each_resolver(|env, dir| {
        fs::create_dir(env.a()).unwrap();
        let _listener = std::os::unix::net::UnixListener::bind(env.a().join("sock")).unwrap();
        let e = dir.read_to_string("a", "sock").unwrap_err();
        assert!(
            matches!(e, TenantFsError::NotRegularFile { kind: "socket", .. }),
            "{e:?}"
        );
        let e = write_str(dir, "a", "sock", "x").unwrap_err();
        assert!(
            matches!(e, TenantFsError::NotRegularFile { kind: "socket", .. }),
            "{e:?}"
        );
    });
}

#[test]
fn directory_where_a_file_is_expected_is_refused() {
    each_resolver(|env, dir| {
        fs::create_dir_all(env.a().join("d/inner")).unwrap();
        let e = dir.read_to_string("a", "d").unwrap_err();
        assert!(
            matches!(&e, TenantFsError::NotRegularFile { path, kind: "directory" } if path == "d"),
            "{e:?}"
        );
        let e = write_str(dir, "a", "d", "x").unwrap_err();
        assert!(
            matches!(
                e,
                TenantFsError::NotRegularFile {
                    kind: "directory",
                    ..
                }
            ),
            "{e:?}"
        );
        let e = dir.remove("a", "d").unwrap_err();
        assert!(
            matches!(
                e,
                TenantFsError::NotRegularFile {
                    kind: "directory",
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(env.a().join("d/inner").is_dir());
        assert_eq!(names(&env.a().join("d")), ["inner"], "no temporary file left");
    });
}

#[test]
fn file_where_a_directory_is_expected_is_refused() {
    each_resolver(|env, dir| {
        fs::create_dir(env.a()).unwrap();
        fs::write(env.a().join("f"), "file").unwrap();
        let e = dir.read_to_string("a", "f/x.json").unwrap_err();
        assert!(
            matches!(&e, TenantFsError::NotADirectory { path } if path == "f"),
            "{e:?}"
        );
        let e = write_str(dir, "a", "f/x.json", "x").unwrap_err();
        assert!(
            matches!(&e, TenantFsError::NotADirectory { path } if path == "f"),
            "{e:?}"
        );
        let e = dir.remove("a", "f/x.json").unwrap_err();
        assert!(
            matches!(&e, TenantFsError::NotADirectory { path } if path == "f"),
            "{e:?}"
        );
        assert_eq!(fs::read_to_string(env.a().join("f")).unwrap(), "file");
    });
}

// --- reading -------------------------------------------------------------------------------------

#[test]
fn read_returns_the_text() {
    each_resolver(|env, dir| {
        fs::create_dir_all(env.a().join("x/y")).unwrap();
        fs::write(env.a().join("x/y/items.jsonl"), "{\"a\":1}\n").unwrap();
        assert_eq!(dir.read_to_string("a", "x/y/items.jsonl").unwrap(), "{\"a\":1}\n");
    });
}

#[test]
fn read_of_something_missing_is_not_found() {
    each_resolver(|env, dir| {
        // No namespace directory, no intermediate directory, no file.
        for (ns, rel) in [("c", "x.json"), ("b", "x/y.json"), ("b", "missing.json")] {
            let e = dir.read_to_string(ns, rel).unwrap_err();
            assert!(
                matches!(&e, TenantFsError::NotFound { path } if path == rel),
                "{ns}/{rel}: {e:?}"
            );
            assert!(e.is_invalid());
            assert_eq!(e.to_string(), format!("{rel}: not found"));
        }
        assert!(!env.root.join("c").exists(), "reading creates nothing");
    });
}

#[test]
fn read_over_the_limit_fails() {
    each_resolver(|env, dir| {
        let dir = dir.clone().with_limits(10, 1000, 100);
        fs::create_dir(env.a()).unwrap();
        fs::write(env.a().join("ten"), "0123456789").unwrap();
        fs::write(env.a().join("eleven"), "0123456789a").unwrap();
        assert_eq!(dir.read_to_string("a", "ten").unwrap(), "0123456789");
        let e = dir.read_to_string("a", "eleven").unwrap_err();
        assert!(
            matches!(&e, TenantFsError::TooLarge { path, limit: 10 } if path == "eleven"),
            "{e:?}"
        );
        assert!(e.is_invalid());
    });
}

#[test]
fn read_of_non_utf8_fails() {
    each_resolver(|env, dir| {
        fs::create_dir(env.a()).unwrap();
        fs::write(env.a().join("bin"), [0xff, 0xfe, 0x00]).unwrap();
        let e = dir.read_to_string("a", "bin").unwrap_err();
        assert!(matches!(e, TenantFsError::NotUtf8 { .. }), "{e:?}");
    });
}

// --- writing -------------------------------------------------------------------------------------

#[test]
fn write_creates_private_directories_and_file() {
    each_resolver(|env, dir| {
        let written = write_str(dir, "a", "x/y/out.jsonl", "line\n").unwrap();
        assert_eq!(written, env.root.join("a/x/y/out.jsonl"));
        assert_eq!(fs::read_to_string(&written).unwrap(), "line\n");
        for d in ["a", "a/x", "a/x/y"] {
            let mode = fs::metadata(env.root.join(d)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700, "{d}: {mode:o}");
        }
        let mode = fs::metadata(&written).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
        assert_eq!(
            names(&env.root.join("a/x/y")),
            ["out.jsonl"],
            "no temporary file left"
        );
    });
}

#[test]
fn write_replaces_atomically() {
    each_resolver(|env, dir| {
        let path = write_str(dir, "a", "r/out.json", "version 1").unwrap();
        let old_ino = fs::metadata(&path).unwrap().ino();
        let mut held = fs::File::open(&path).unwrap();
        let path2 = dir
            .write_atomic("a", "r/out.json", |w| {
                // While the new content is being written, the old file is still whole.
                assert_eq!(
                    fs::read_to_string(env.a().join("r/out.json")).unwrap(),
                    "version 1"
                );
                w.write_all(b"version ")?;
                w.flush()?;
                assert_eq!(
                    fs::read_to_string(env.a().join("r/out.json")).unwrap(),
                    "version 1"
                );
                w.write_all(b"2")
            })
            .unwrap();
        assert_eq!(path, path2);
        assert_eq!(fs::read_to_string(&path).unwrap(), "version 2");
        assert_ne!(
            fs::metadata(&path).unwrap().ino(),
            old_ino,
            "a new file was renamed over it"
        );
        let mut old = String::new();
        std::io::Read::read_to_string(&mut held, &mut old).unwrap();
        assert_eq!(old, "version 1", "an open reader keeps the old content");
        assert_eq!(names(&env.a().join("r")), ["out.json"]);
    });
}

#[test]
fn write_over_the_limit_fails_and_leaves_the_old_file() {
    each_resolver(|env, dir| {
        let dir = dir.clone().with_limits(1000, 10, 100);
        write_str(&dir, "a", "out.json", "0123456789").unwrap(); // exactly the limit
                                                                 // Past the limit in one write, in several, and with the error swallowed by the writer.
        type Writer = Box<dyn Fn(&mut dyn std::io::Write) -> std::io::Result<()>>;
        let writers: [Writer; 3] = [
            Box::new(|w| w.write_all(b"0123456789a")),
            Box::new(|w| {
                for _ in 0..4 {
                    w.write_all(b"abc")?;
                }
                Ok(())
            }),
            Box::new(|w| {
                let _ = w.write_all(&[b'z'; 100]);
                w.write_all(b"ok")
            }),
        ];
        for (i, writer) in writers.iter().enumerate() {
            for rel in ["out.json", "new.json"] {
                let e = dir.write_atomic("a", rel, writer).unwrap_err();
                assert!(
                    matches!(&e, TenantFsError::TooLarge { path, limit: 10 } if path == rel),
                    "writer {i}, {rel}: {e:?}"
                );
                assert!(e.is_invalid());
            }
        }
        assert_eq!(
            fs::read_to_string(env.a().join("out.json")).unwrap(),
            "0123456789"
        );
        assert_eq!(names(&env.a()), ["out.json"], "no partial or temporary file");
    });
}

#[test]
fn failing_or_panicking_writer_leaves_no_temporary_file() {
    each_resolver(|env, dir| {
        write_str(dir, "a", "out.json", "old").unwrap();
        let e = dir
            .write_atomic("a", "out.json", |w| {
                w.write_all(b"partial")?;
                Err(std::io::Error::other("render failed"))
            })
            .unwrap_err();
        assert!(matches!(e, TenantFsError::Io { op: "write", .. }), "{e:?}");
        assert!(!e.is_invalid());
        assert!(e.to_string().contains("render failed"), "{e}");
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _ = dir.write_atomic("a", "out.json", |w| {
                w.write_all(b"partial")?;
                panic!("writer panicked");
            });
        }));
        assert!(panicked.is_err());
        assert_eq!(fs::read_to_string(env.a().join("out.json")).unwrap(), "old");
        assert_eq!(names(&env.a()), ["out.json"]);
    });
}

// --- removing ------------------------------------------------------------------------------------

#[test]
fn remove_of_something_absent_returns_false() {
    each_resolver(|env, dir| {
        assert!(!dir.remove("a", "x.json").unwrap(), "no namespace directory");
        assert!(!env.a().exists(), "removing creates nothing");
        fs::create_dir(env.a()).unwrap();
        assert!(!dir.remove("a", "x.json").unwrap(), "no file");
        assert!(!dir.remove("a", "d/x.json").unwrap(), "no directory");
        write_str(dir, "a", "d/x.json", "x").unwrap();
        assert!(dir.remove("a", "d/x.json").unwrap());
        assert!(!env.a().join("d/x.json").exists());
        assert!(!dir.remove("a", "d/x.json").unwrap());
        env.assert_untouched();
    });
}

// --- file count ----------------------------------------------------------------------------------

#[test]
fn files_per_namespace_are_limited() {
    each_resolver(|env, dir| {
        let dir = dir.clone().with_limits(1000, 1000, 2);
        write_str(&dir, "a", "one.json", "1").unwrap();
        write_str(&dir, "a", "sub/two.json", "2").unwrap();
        // Links and FIFOs are not files; other namespaces do not count.
        symlink("one.json", env.a().join("link")).unwrap();
        rustix::fs::mkfifoat(rustix::fs::CWD, env.a().join("pipe"), Mode::RUSR | Mode::WUSR).unwrap();
        write_str(&dir, "b", "other.json", "b").unwrap();

        for rel in ["three.json", "new-dir/three.json", "sub/three.json"] {
            let e = write_str(&dir, "a", rel, "3").unwrap_err();
            assert!(
                matches!(&e, TenantFsError::TooManyFiles { namespace, limit: 2 } if namespace == "a"),
                "{rel}: {e:?}"
            );
            assert!(e.is_invalid());
        }
        assert!(
            !env.a().join("new-dir").exists(),
            "no directory is created for a refused file"
        );
        // Replacing an existing file is always allowed.
        write_str(&dir, "a", "sub/two.json", "2 again").unwrap();
        assert_eq!(
            fs::read_to_string(env.a().join("sub/two.json")).unwrap(),
            "2 again"
        );
        // After a removal there is room again.
        assert!(dir.remove("a", "one.json").unwrap());
        write_str(&dir, "a", "new-dir/three.json", "3").unwrap();
        assert_eq!(names(&env.a()), ["link", "new-dir", "pipe", "sub"]);
    });
}

#[test]
fn files_created_behind_the_operators_back_count_too() {
    each_resolver(|env, dir| {
        let dir = dir.clone().with_limits(1000, 1000, 3);
        fs::create_dir_all(env.a().join("x/y/z")).unwrap();
        fs::write(env.a().join("x/y/z/deep"), "").unwrap();
        fs::write(env.a().join("x/mid"), "").unwrap();
        fs::write(env.a().join(format!("{TEMP_PREFIX}left-by-a-crash.tmp")), "").unwrap();
        let e = write_str(&dir, "a", "new.json", "x").unwrap_err();
        assert!(matches!(e, TenantFsError::TooManyFiles { limit: 3, .. }), "{e:?}");
        let e = dir
            .clone()
            .with_limits(1000, 1000, 0)
            .write_atomic("c", "x", |_| Ok(()));
        assert!(
            matches!(e, Err(TenantFsError::TooManyFiles { limit: 0, .. })),
            "{e:?}"
        );
        assert!(!env.root.join("c").exists());
    });
}

// --- errors --------------------------------------------------------------------------------------

#[test]
fn messages_never_name_the_root() {
    each_resolver(|env, dir| {
        fs::create_dir(env.a()).unwrap();
        fs::create_dir(env.a().join("d")).unwrap();
        symlink("../b/secret.json", env.a().join("link")).unwrap();
        let limited = dir.clone().with_limits(1, 1, 0);
        let errors = [
            dir.read_to_string("a", "missing").unwrap_err(),
            dir.read_to_string("a", "d").unwrap_err(),
            dir.read_to_string("a", "link").unwrap_err(),
            dir.read_to_string("a", "../b/secret.json").unwrap_err(),
            limited.read_to_string("b", "secret.json").unwrap_err(),
            write_str(&limited, "a", "new", "xx").unwrap_err(),
            write_str(&limited, "b", "secret.json", "xx").unwrap_err(),
            dir.write_atomic("a", "x", |_| Err(std::io::Error::other("boom")))
                .unwrap_err(),
            dir.remove("a", "d").unwrap_err(),
        ];
        let root = env.root.to_str().unwrap();
        let tmp = env.root.parent().unwrap().to_str().unwrap();
        for e in errors {
            let msg = e.to_string();
            assert!(!msg.contains(root) && !msg.contains(tmp), "{msg}");
        }
    });
}

#[test]
fn io_errors_are_transient_everything_else_is_invalid() {
    let io = TenantFsError::Io {
        path: "x".into(),
        op: "write",
        source: std::io::Error::other("disk"),
    };
    assert!(!io.is_invalid());
    assert_eq!(io.to_string(), "write x: disk");
    assert_eq!(io.path(), Some("x"));
    let invalid = [
        TenantFsError::invalid_path("x", "y"),
        TenantFsError::InvalidNamespace {
            namespace: "X".into(),
            reason: "r".into(),
        },
        TenantFsError::NotFound { path: "x".into() },
        TenantFsError::NotRegularFile {
            path: "x".into(),
            kind: "FIFO",
        },
        TenantFsError::NotADirectory { path: "x".into() },
        TenantFsError::Symlink { path: "x".into() },
        TenantFsError::Escapes { path: "x".into() },
        TenantFsError::TooLarge {
            path: "x".into(),
            limit: 1,
        },
        TenantFsError::TooManyFiles {
            namespace: "a".into(),
            limit: 1,
        },
        TenantFsError::NotUtf8 { path: "x".into() },
    ];
    for e in invalid {
        assert!(e.is_invalid(), "{e:?}");
    }
}

/// On a kernel with `openat2` (5.6+), the automatic resolver uses it.
#[test]
fn openat2_is_used_where_the_kernel_has_it() {
    let env = Env::new();
    let probe = rustix::fs::openat2(
        rustix::fs::CWD,
        &env.root,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
        rustix::fs::ResolveFlags::empty(),
    );
    let dir = TenantDir::new(&env.root).unwrap();
    assert_eq!(dir.read_to_string("b", "secret.json").unwrap(), SECRET);
    match probe {
        Ok(_) => assert!(sys::openat2_used()),
        Err(e) => eprintln!("openat2 unavailable here ({e}); the fallback was used"),
    }
}
