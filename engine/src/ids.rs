//! Content hashes: canonical JSON, fingerprints, and ids derived from them.

use sha2::{Digest, Sha256};

/// Hex sha256 of bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Serialize JSON canonically: object keys sorted, no insignificant whitespace.
pub fn canonical_json(value: &serde_json::Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &serde_json::Value, out: &mut String) {
    match value {
        serde_json::Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::Value::String((*k).clone()).to_string());
                out.push(':');
                if let Some(v) = map.get(*k) {
                    write_canonical(v, out);
                }
            }
            out.push('}');
        }
        serde_json::Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(v, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// Hash of a list of fields, each length-prefixed so that no two lists collide.
pub fn hash_fields(fields: &[&str]) -> String {
    let mut h = Sha256::new();
    for f in fields {
        h.update((f.len() as u64).to_be_bytes());
        h.update(f.as_bytes());
    }
    hex::encode(h.finalize())
}

/// Stable dedup key of a control result: sha256 of (benchmark, control id, asset URN).
pub fn fingerprint(benchmark: &str, control_id: &str, asset_urn: &str) -> String {
    hash_fields(&["seg.finding.v1", benchmark, control_id, asset_urn])
}

/// OCSF `finding_info.uid` of a control result.
pub fn finding_uid(fingerprint: &str) -> String {
    format!("seg-{}", &fingerprint[..32.min(fingerprint.len())])
}

/// A UUID-formatted id (version 8, RFC 9562 custom) taken from a hex hash.
pub fn uuid_from_hash(hex_hash: &str) -> String {
    let mut b = [0u8; 16];
    for (i, byte) in b.iter_mut().enumerate() {
        *byte = hex_hash
            .get(2 * i..2 * i + 2)
            .and_then(|s| u8::from_str_radix(s, 16).ok())
            .unwrap_or(0);
    }
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_json_sorts_keys_at_every_depth() {
        let v: serde_json::Value =
            serde_json::from_str(r#"{"b":1,"a":{"d":[2,{"z":1,"y":2}],"c":"x"}}"#).unwrap();
        assert_eq!(
            canonical_json(&v),
            r#"{"a":{"c":"x","d":[2,{"y":2,"z":1}]},"b":1}"#
        );
    }

    #[test]
    fn fingerprint_is_stable_and_field_separated() {
        let a = fingerprint("cis", "c1", "urn:asset:aws:x:1");
        assert_eq!(a, fingerprint("cis", "c1", "urn:asset:aws:x:1"));
        assert_ne!(a, fingerprint("cisc", "1", "urn:asset:aws:x:1"));
        assert_eq!(finding_uid(&a).len(), 36);
    }

    #[test]
    fn uuid_has_version_8_and_rfc_variant() {
        let u = uuid_from_hash(&sha256_hex(b"x"));
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "8");
        assert!(matches!(&u[19..20], "8" | "9" | "a" | "b"));
    }
}
