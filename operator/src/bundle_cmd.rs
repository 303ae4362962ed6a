//! `seg bundle lint|test|sign|verify|keygen`.

use std::path::Path;
use std::process::ExitCode;

use ed25519_dalek::{SigningKey, VerifyingKey};
use seg_adapter_file::{read_bundle_dir, read_key, write_signature};
use seg_engine::dsse::KeyFile;
use seg_engine::lint::lint;
use seg_engine::policy::{CompiledBundle, LoadOptions, SignatureStatus, Trust};
use seg_engine::vectors;

use crate::error::CliError;
use crate::render::Table;
use crate::{embedded, BundleCommand, TrustArgs};

pub fn run(cmd: BundleCommand) -> Result<ExitCode, CliError> {
    match cmd {
        BundleCommand::Lint { dir } => lint_cmd(&dir),
        BundleCommand::Test {
            dir,
            verbose,
            allow_unsigned,
            trust,
        } => test_cmd(&dir, verbose, &trust_for(&dir, &trust, allow_unsigned)?),
        BundleCommand::Sign { dir, key } => sign_cmd(&dir, &key),
        BundleCommand::Verify { dir, trust } => verify_cmd(&dir, &trust_for(&dir, &trust, false)?),
        BundleCommand::Keygen { out } => keygen_cmd(&out),
    }
}

/// The public keys named with `--key`.
fn read_keys(args: &TrustArgs) -> Result<Vec<VerifyingKey>, CliError> {
    args.keys
        .iter()
        .map(|p| Ok(read_key(p)?.verifying_key()?))
        .collect()
}

/// How to trust the bundle at `bundle`, read from disk: it must be signed by a key named with
/// `--key`. The development key is never trusted here (its private half is in the repository, so
/// anyone can sign with it): without `--key` the bundle is refused. With `allow_unsigned` it is
/// loaded whatever it carries, and reported verified only if one of the `--key` keys signed it.
pub fn trust_for(bundle: &Path, args: &TrustArgs, allow_unsigned: bool) -> Result<Trust, CliError> {
    let keys = read_keys(args)?;
    if allow_unsigned {
        Ok(Trust::AllowUnsigned(keys))
    } else if keys.is_empty() {
        Err(CliError::NoTrustedKey {
            bundle: bundle.to_path_buf(),
        })
    } else {
        Ok(Trust::Keys(keys))
    }
}

/// How to trust a bundle built into the binary: the `--key` keys if any, else the development key,
/// which signed them.
pub fn builtin_trust(args: &TrustArgs, allow_unsigned: bool) -> Result<Trust, CliError> {
    let keys = if args.keys.is_empty() {
        vec![embedded::dev_key()?]
    } else {
        read_keys(args)?
    };
    Ok(if allow_unsigned {
        Trust::AllowUnsigned(keys)
    } else {
        Trust::Keys(keys)
    })
}

fn dir_name(dir: &Path) -> Option<String> {
    std::fs::canonicalize(dir)
        .ok()?
        .file_name()?
        .to_str()
        .map(str::to_string)
}

fn lint_cmd(dir: &Path) -> Result<ExitCode, CliError> {
    let files = read_bundle_dir(dir)?;
    let problems = lint(&files, dir_name(dir).as_deref());
    for p in &problems {
        eprintln!("{}: {p}", dir.display());
    }
    if problems.is_empty() {
        println!("{}: ok", dir.display());
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("{} problem(s)", problems.len());
        Ok(ExitCode::from(1))
    }
}

fn test_cmd(dir: &Path, verbose: bool, trust: &Trust) -> Result<ExitCode, CliError> {
    let files = read_bundle_dir(dir)?;
    let bundle = CompiledBundle::load(&files, &LoadOptions::new(trust.clone()))?;
    let signature = match &bundle.signature {
        SignatureStatus::Verified { keyid } => format!("signature verified (key {keyid})"),
        SignatureStatus::Unverified { reason } => {
            eprintln!(
                "warning: --allow-unsigned: {}: bundle signature not verified: {reason}",
                dir.display()
            );
            "SIGNATURE NOT VERIFIED".to_string()
        }
    };
    let results = vectors::run(&bundle, &files)?;
    let mut table = Table::new(&["control", "requirements", "cases", "passed", "failed"]);
    let (mut total, mut failed) = (0usize, 0usize);
    for (cv, spec) in results.iter().zip(&bundle.controls) {
        let bad = cv.cases.len() - cv.passed();
        total += cv.cases.len();
        failed += bad;
        table.row(vec![
            cv.control.clone(),
            spec.requirements.join(","),
            cv.cases.len().to_string(),
            cv.passed().to_string(),
            bad.to_string(),
        ]);
    }
    print!("{}", table.render());
    for cv in &results {
        for c in &cv.cases {
            match &c.failure {
                Some(f) => println!("FAIL {} / {}: {f}", c.control, c.case),
                None if verbose => println!("ok   {} / {}: {} ({})", c.control, c.case, c.got, c.message),
                None => {}
            }
        }
    }
    println!(
        "bundle {} {}: {} controls, {} passed, {} failed; {signature}",
        bundle.manifest.id,
        bundle.manifest.version,
        results.len(),
        total - failed,
        failed
    );
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn sign_cmd(dir: &Path, key: &Path) -> Result<ExitCode, CliError> {
    let files = read_bundle_dir(dir)?;
    let problems = lint(&files, dir_name(dir).as_deref());
    if !problems.is_empty() {
        for p in &problems {
            eprintln!("{}: {p}", dir.display());
        }
        return Err(CliError::Usage(format!(
            "refusing to sign: {} lint problem(s)",
            problems.len()
        )));
    }
    let signing = read_key(key)?.signing_key()?;
    let (checksums, signature) = files.sign(&signing)?;
    write_signature(dir, &checksums, &signature)?;
    println!(
        "signed {} ({} files) with key {}",
        dir.display(),
        checksums.lines().count(),
        seg_engine::dsse::key_id(&signing.verifying_key())
    );
    Ok(ExitCode::SUCCESS)
}

fn verify_cmd(dir: &Path, trust: &Trust) -> Result<ExitCode, CliError> {
    let files = read_bundle_dir(dir)?;
    let bundle = CompiledBundle::load(&files, &LoadOptions::new(trust.clone()))?;
    match &bundle.signature {
        SignatureStatus::Verified { keyid } => {
            println!(
                "{}: verified: bundle {} {} ({} controls), digest {}, signed by key {keyid}",
                dir.display(),
                bundle.manifest.id,
                bundle.manifest.version,
                bundle.controls.len(),
                bundle.digest
            );
            Ok(ExitCode::SUCCESS)
        }
        SignatureStatus::Unverified { reason } => Err(CliError::Usage(format!(
            "{}: signature not verified: {reason}",
            dir.display()
        ))),
    }
}

fn keygen_cmd(out: &Path) -> Result<ExitCode, CliError> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let key = SigningKey::generate(&mut rand_core::OsRng);
    let private = out.with_extension("key");
    let public = out.with_extension("pub");
    if let Some(p) = [&private, &public].into_iter().find(|p| p.exists()) {
        return Err(CliError::Usage(format!(
            "{} exists; not overwriting a key",
            p.display()
        )));
    }
    // The private key is created readable by its owner only, and never over an existing file.
    for (path, file, mode) in [
        (&private, KeyFile::private(&key), 0o600),
        (&public, KeyFile::public(&key.verifying_key()), 0o644),
    ] {
        let text = serde_json::to_string_pretty(&file).map_err(|e| CliError::Usage(e.to_string()))? + "\n";
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(path)
            .map_err(|e| CliError::io(path, e))?;
        f.write_all(text.as_bytes()).map_err(|e| CliError::io(path, e))?;
    }
    println!(
        "wrote {} and {} (key id {})",
        private.display(),
        public.display(),
        seg_engine::dsse::key_id(&key.verifying_key())
    );
    Ok(ExitCode::SUCCESS)
}
