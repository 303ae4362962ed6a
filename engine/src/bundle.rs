//! Policy bundles: files, manifest, checksums and signature (SEG-001 §9.1).
//!
//! A bundle is handled as an in-memory map of relative paths to bytes; reading it from a
//! directory, a ConfigMap or the binary is the caller's business.

use std::collections::BTreeMap;

use ed25519_dalek::{SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::dsse::{self, Envelope};
use crate::error::EngineError;
use crate::ids::sha256_hex;
use crate::model::{ControlSpec, FrameworkRef, JsonMap, Severity};

pub const MANIFEST: &str = "manifest.json";
pub const CHECKSUMS: &str = "CHECKSUMS";
pub const SIGNATURE: &str = "SIGNATURE";
pub const CHECKSUMS_PAYLOAD_TYPE: &str = "application/vnd.seg.bundle-checksums.v1";
pub const SCHEMA_VERSION: &str = "seg.bundle/v1";

/// The files of a bundle, keyed by `/`-separated relative path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BundleFiles {
    files: BTreeMap<String, Vec<u8>>,
}

impl BundleFiles {
    pub fn new() -> BundleFiles {
        BundleFiles::default()
    }

    /// Add a file. Paths are relative, `/`-separated, without `.` or `..` segments.
    pub fn insert(&mut self, path: &str, bytes: Vec<u8>) -> Result<(), EngineError> {
        if path.is_empty()
            || path.starts_with('/')
            || path.contains('\\')
            || path.split('/').any(|s| s.is_empty() || s == "." || s == "..")
        {
            return Err(EngineError::Schema(format!(
                "bundle path {path:?} is not a clean relative path"
            )));
        }
        self.files.insert(path.to_string(), bytes);
        Ok(())
    }

    pub fn get(&self, path: &str) -> Option<&[u8]> {
        self.files.get(path).map(Vec::as_slice)
    }

    pub fn text(&self, path: &str) -> Result<&str, EngineError> {
        let bytes = self
            .get(path)
            .ok_or_else(|| EngineError::PolicyLoad(format!("{path}: file is missing")))?;
        std::str::from_utf8(bytes).map_err(|e| EngineError::PolicyLoad(format!("{path}: not UTF-8: {e}")))
    }

    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(String::as_str)
    }

    /// Files under a directory prefix with the given extension, in path order.
    pub fn under<'a>(&'a self, dir: &'a str, ext: &'a str) -> impl Iterator<Item = (&'a str, &'a [u8])> + 'a {
        self.files
            .iter()
            .filter(move |(p, _)| p.starts_with(dir) && p.ends_with(ext))
            .map(|(p, b)| (p.as_str(), b.as_slice()))
    }

    /// The content of `CHECKSUMS` for the current files.
    pub fn compute_checksums(&self) -> String {
        let mut out = String::new();
        for (path, bytes) in &self.files {
            if path == CHECKSUMS || path == SIGNATURE {
                continue;
            }
            out.push_str(&sha256_hex(bytes));
            out.push_str("  ");
            out.push_str(path);
            out.push('\n');
        }
        out
    }

    /// Compute `CHECKSUMS` and `SIGNATURE` for the current files.
    pub fn sign(&self, key: &SigningKey) -> Result<(String, String), EngineError> {
        let checksums = self.compute_checksums();
        let env = dsse::sign(CHECKSUMS_PAYLOAD_TYPE, checksums.as_bytes(), key);
        let signature = serde_json::to_string_pretty(&env)
            .map_err(|e| EngineError::Schema(format!("cannot serialize signature: {e}")))?;
        Ok((checksums, signature + "\n"))
    }

    /// Check `CHECKSUMS` against every file, then `SIGNATURE` against the trusted keys.
    /// The first problem is reported, naming the file.
    pub fn verify(&self, trusted: &[VerifyingKey]) -> Result<Verification, EngineError> {
        let listed = self.get(CHECKSUMS).ok_or_else(|| {
            EngineError::BundleVerify(format!("{CHECKSUMS}: file is missing (bundle is unsigned)"))
        })?;
        let listed = std::str::from_utf8(listed)
            .map_err(|_| EngineError::BundleVerify(format!("{CHECKSUMS}: not UTF-8")))?;
        let mut expected: BTreeMap<&str, &str> = BTreeMap::new();
        for (n, line) in listed.lines().enumerate() {
            let (hash, path) = line
                .split_once("  ")
                .filter(|(h, p)| h.len() == 64 && !p.is_empty())
                .ok_or_else(|| {
                    EngineError::BundleVerify(format!("{CHECKSUMS}:{}: malformed line {line:?}", n + 1))
                })?;
            expected.insert(path, hash);
        }
        for (path, bytes) in &self.files {
            if path == CHECKSUMS || path == SIGNATURE {
                continue;
            }
            match expected.get(path.as_str()) {
                None => {
                    return Err(EngineError::BundleVerify(format!(
                        "{path}: file is not listed in {CHECKSUMS}"
                    )))
                }
                Some(h) if *h != sha256_hex(bytes) => {
                    return Err(EngineError::BundleVerify(format!(
                        "{path}: sha256 differs from {CHECKSUMS} (file was modified after signing)"
                    )))
                }
                Some(_) => {}
            }
        }
        if let Some(missing) = expected.keys().find(|p| !self.files.contains_key(**p)) {
            return Err(EngineError::BundleVerify(format!(
                "{missing}: listed in {CHECKSUMS} but missing"
            )));
        }
        let sig = self.get(SIGNATURE).ok_or_else(|| {
            EngineError::BundleVerify(format!("{SIGNATURE}: file is missing (bundle is unsigned)"))
        })?;
        let env: Envelope = serde_json::from_slice(sig)
            .map_err(|e| EngineError::BundleVerify(format!("{SIGNATURE}: not a DSSE envelope: {e}")))?;
        let verified = dsse::verify(&env, CHECKSUMS_PAYLOAD_TYPE, trusted)
            .map_err(|e| EngineError::BundleVerify(format!("{SIGNATURE}: {e}")))?;
        if verified.payload != listed.as_bytes() {
            return Err(EngineError::BundleVerify(format!(
                "{SIGNATURE}: signs a different {CHECKSUMS}"
            )));
        }
        Ok(Verification {
            keyid: verified.keyid,
            digest: format!("sha256:{}", sha256_hex(listed.as_bytes())),
        })
    }

    /// Digest of the bundle content: sha256 of the computed `CHECKSUMS`.
    pub fn digest(&self) -> String {
        format!("sha256:{}", sha256_hex(self.compute_checksums().as_bytes()))
    }
}

/// A verified bundle's signer and digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    pub keyid: String,
    pub digest: String,
}

/// `manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub schema_version: String,
    pub id: String,
    pub version: String,
    pub title: String,
    pub provider: String,
    pub benchmark: BenchmarkInfo,
    #[serde(default)]
    pub standards: Vec<String>,
    pub target_kinds: Vec<String>,
    pub input_schema: serde_json::Value,
    pub controls: Vec<ControlManifest>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BenchmarkInfo {
    pub name: String,
    pub version: String,
}

impl BenchmarkInfo {
    /// `<name> v<version>`, the OCSF compliance standard.
    pub fn standard(&self) -> String {
        format!("{} v{}", self.name, self.version)
    }
}

/// One control entry of the manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControlManifest {
    pub id: String,
    pub version: String,
    pub title: String,
    pub description: String,
    pub severity: Severity,
    pub target_kinds: Vec<String>,
    #[serde(default)]
    pub requirements: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    #[serde(default)]
    pub references: Vec<FrameworkRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rationale: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remediation: Option<String>,
    #[serde(default)]
    pub inputs: JsonMap,
}

impl ControlManifest {
    pub fn policy_path(&self) -> String {
        format!("policies/{}.rego", self.id)
    }

    pub fn test_path(&self) -> String {
        format!("tests/{}.json", self.id)
    }
}

impl Manifest {
    /// Parse `manifest.json`, naming the field that is wrong.
    pub fn parse(files: &BundleFiles) -> Result<Manifest, EngineError> {
        let text = files.text(MANIFEST)?;
        let m: Manifest =
            serde_json::from_str(text).map_err(|e| EngineError::PolicyLoad(format!("{MANIFEST}: {e}")))?;
        if m.schema_version != SCHEMA_VERSION {
            return Err(EngineError::PolicyLoad(format!(
                "{MANIFEST}: schema_version is {:?}, expected {SCHEMA_VERSION:?}",
                m.schema_version
            )));
        }
        if !is_bundle_id(&m.id) {
            return Err(EngineError::PolicyLoad(format!(
                "{MANIFEST}: id: {:?} must be 1 to {MAX_BUNDLE_ID_LEN} characters of a-z, 0-9 and '-', \
                 starting and ending with a letter or digit",
                m.id
            )));
        }
        semver::Version::parse(&m.version).map_err(|e| {
            EngineError::PolicyLoad(format!(
                "{MANIFEST}: version: {:?} is not a semantic version: {e}",
                m.version
            ))
        })?;
        let mut ids: BTreeMap<&str, usize> = BTreeMap::new();
        let mut packages: BTreeMap<String, usize> = BTreeMap::new();
        for (i, c) in m.controls.iter().enumerate() {
            let field = format!("{MANIFEST}: controls[{i}]");
            if !is_control_id(&c.id) {
                return Err(EngineError::PolicyLoad(format!(
                    "{field}.id: {:?} must be 1 to {MAX_CONTROL_ID_LEN} characters of a-z, 0-9, '.' and '-', \
                     starting and ending with a letter or digit",
                    c.id
                )));
            }
            semver::Version::parse(&c.version).map_err(|e| {
                EngineError::PolicyLoad(format!(
                    "{field}.version: {:?} is not a semantic version: {e}",
                    c.version
                ))
            })?;
            if let Some(j) = ids.insert(&c.id, i) {
                return Err(EngineError::PolicyLoad(format!(
                    "{field}.id: {:?} is also the id of controls[{j}]",
                    c.id
                )));
            }
            let package = rego_ident(&c.id);
            if let Some(j) = packages.insert(package.clone(), i) {
                return Err(EngineError::PolicyLoad(format!(
                    "{field}.id: {:?} has the same Rego package segment {package:?} as controls[{j}].id {:?}",
                    c.id,
                    m.controls.get(j).map(|o| o.id.as_str()).unwrap_or_default()
                )));
            }
        }
        Ok(m)
    }

    /// The controls as SEG-001 `ControlSpec`s.
    pub fn control_specs(&self) -> Vec<ControlSpec> {
        self.controls
            .iter()
            .map(|c| ControlSpec {
                id: c.id.clone(),
                version: c.version.clone(),
                title: c.title.clone(),
                benchmark: self.benchmark.standard(),
                description: c.description.clone(),
                inputs: c.inputs.clone(),
                target_kinds: c.target_kinds.clone(),
                policy_bundle: format!("{}@{}", self.id, self.version),
                severity: c.severity,
                rationale: c.rationale.clone(),
                remediation_guidance: c.remediation.clone(),
                requirements: c.requirements.clone(),
                profile: c.profile.clone(),
                references: c.references.clone(),
            })
            .collect()
    }

    /// Rego package of a control: `seg.<bundle id>.<control id>` with `-` and `.` as `_`.
    pub fn package_of(&self, control_id: &str) -> String {
        format!("seg.{}.{}", rego_ident(&self.id), rego_ident(control_id))
    }
}

/// Longest bundle id: a DNS label, as the id also names directories and Kubernetes objects.
pub const MAX_BUNDLE_ID_LEN: usize = 63;
/// Longest control id.
pub const MAX_CONTROL_ID_LEN: usize = 128;

fn starts_and_ends_alnum(s: &str) -> bool {
    let alnum = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    alnum(s.as_bytes().first()) && alnum(s.as_bytes().last())
}

/// A bundle id: `^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`.
pub fn is_bundle_id(s: &str) -> bool {
    s.len() <= MAX_BUNDLE_ID_LEN
        && starts_and_ends_alnum(s)
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// A control id: `^[a-z0-9]([a-z0-9.-]{0,126}[a-z0-9])?$`. It names the files
/// `policies/<id>.rego` and `tests/<id>.json`, so it never contains `/`.
pub fn is_control_id(s: &str) -> bool {
    s.len() <= MAX_CONTROL_ID_LEN
        && starts_and_ends_alnum(s)
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
}

/// An identifier usable as a Rego package segment.
pub fn rego_ident(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files() -> BundleFiles {
        let mut f = BundleFiles::new();
        f.insert("manifest.json", b"{}".to_vec()).unwrap();
        f.insert("policies/a.rego", b"package a".to_vec()).unwrap();
        f
    }

    fn signed(key: &SigningKey) -> BundleFiles {
        let mut f = files();
        let (c, s) = f.sign(key).unwrap();
        f.insert(CHECKSUMS, c.into_bytes()).unwrap();
        f.insert(SIGNATURE, s.into_bytes()).unwrap();
        f
    }

    #[test]
    fn rejects_unclean_paths() {
        let mut f = BundleFiles::new();
        for p in ["", "/abs", "a/../b", "./a", "a//b", "a\\b"] {
            assert!(f.insert(p, vec![]).is_err(), "{p}");
        }
    }

    #[test]
    fn signed_bundle_verifies_with_its_key_only() {
        let key = SigningKey::from_bytes(&[1; 32]);
        let f = signed(&key);
        let v = f.verify(&[key.verifying_key()]).unwrap();
        assert_eq!(v.keyid, dsse::key_id(&key.verifying_key()));
        assert_eq!(v.digest, f.digest());
        let other = SigningKey::from_bytes(&[2; 32]);
        assert!(f.verify(&[other.verifying_key()]).is_err());
    }

    #[test]
    fn every_kind_of_tampering_names_the_file() {
        let key = SigningKey::from_bytes(&[1; 32]);
        let trusted = [key.verifying_key()];
        let mut changed = signed(&key);
        changed.insert("policies/a.rego", b"package b".to_vec()).unwrap();
        assert!(changed
            .verify(&trusted)
            .unwrap_err()
            .to_string()
            .contains("policies/a.rego: sha256 differs"));

        let mut added = signed(&key);
        added.insert("policies/b.rego", vec![]).unwrap();
        assert!(added
            .verify(&trusted)
            .unwrap_err()
            .to_string()
            .contains("policies/b.rego: file is not listed"));

        let mut relisted = signed(&key);
        let c = relisted
            .compute_checksums()
            .replace("policies/a.rego", "policies/gone.rego");
        relisted.insert(CHECKSUMS, c.into_bytes()).unwrap();
        let e = relisted.verify(&trusted).unwrap_err().to_string();
        assert!(e.contains("policies/a.rego"), "{e}");

        let mut unsigned = files();
        unsigned
            .insert(CHECKSUMS, files().compute_checksums().into_bytes())
            .unwrap();
        assert!(unsigned
            .verify(&trusted)
            .unwrap_err()
            .to_string()
            .contains("SIGNATURE: file is missing"));

        let mut resigned_checksums = signed(&key);
        let c = format!(
            "{}{}  extra\n",
            resigned_checksums.compute_checksums(),
            "0".repeat(64)
        );
        resigned_checksums.insert(CHECKSUMS, c.into_bytes()).unwrap();
        assert!(resigned_checksums.verify(&trusted).is_err());
    }

    #[test]
    fn ids_are_lowercase_alphanumerics_dots_and_dashes() {
        for ok in [
            "a",
            "0",
            "s3",
            "iam-root-mfa-enabled",
            "s3.bucket-1",
            &"a".repeat(128),
        ] {
            assert!(is_control_id(ok), "{ok}");
        }
        for bad in [
            "",
            "-a",
            "a-",
            ".a",
            "a.",
            "A",
            "a_b",
            "a/b",
            "a b",
            "\u{e9}",
            &"a".repeat(129),
        ] {
            assert!(!is_control_id(bad), "{bad}");
        }
        assert!(is_bundle_id("cis-aws-foundations") && is_bundle_id(&"b".repeat(63)));
        for bad in ["", "a.b", "-a", "a-", "Cis", &"b".repeat(64)] {
            assert!(!is_bundle_id(bad), "{bad}");
        }
    }

    #[test]
    fn rego_ident_maps_ids_to_package_segments() {
        assert_eq!(rego_ident("cis-aws-foundations"), "cis_aws_foundations");
        assert_eq!(rego_ident("S3.Bucket-x"), "s3_bucket_x");
    }
}
