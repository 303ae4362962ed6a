//! DSSE envelopes signed with Ed25519, and the key file format.
//!
//! Keys use the securesystemslib JSON form so that other DSSE tooling can read them:
//! `{"keytype":"ed25519","scheme":"ed25519","keyid":..,"keyval":{"public":<hex>[,"private":<hex seed>]}}`.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::error::EngineError;
use crate::ids::sha256_hex;

/// A DSSE envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    pub payload_type: String,
    /// Base64 of the payload bytes.
    pub payload: String,
    pub signatures: Vec<EnvelopeSignature>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvelopeSignature {
    pub keyid: String,
    /// Base64 of the Ed25519 signature over the pre-authentication encoding.
    pub sig: String,
}

/// DSSE v1 pre-authentication encoding.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {} {} ",
        payload_type.len(),
        payload_type,
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

/// Key id: first 16 hex characters of the sha256 of the raw public key.
pub fn key_id(key: &VerifyingKey) -> String {
    sha256_hex(key.as_bytes())[..16].to_string()
}

/// Sign a payload into a single-signature envelope.
pub fn sign(payload_type: &str, payload: &[u8], key: &SigningKey) -> Envelope {
    let sig = key.sign(&pae(payload_type, payload));
    Envelope {
        payload_type: payload_type.to_string(),
        payload: B64.encode(payload),
        signatures: vec![EnvelopeSignature {
            keyid: key_id(&key.verifying_key()),
            sig: B64.encode(sig.to_bytes()),
        }],
    }
}

/// Outcome of a successful verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub keyid: String,
    pub payload: Vec<u8>,
}

/// Verify that at least one signature of the envelope is by one of the trusted keys.
pub fn verify(
    env: &Envelope,
    expected_type: &str,
    trusted: &[VerifyingKey],
) -> Result<Verified, EngineError> {
    if env.payload_type != expected_type {
        return Err(EngineError::AttestVerify(format!(
            "payload type is {:?}, expected {:?}",
            env.payload_type, expected_type
        )));
    }
    let payload = B64
        .decode(env.payload.as_bytes())
        .map_err(|e| EngineError::AttestVerify(format!("payload is not base64: {e}")))?;
    if env.signatures.is_empty() {
        return Err(EngineError::AttestVerify("envelope has no signature".into()));
    }
    let message = pae(&env.payload_type, &payload);
    let mut seen = Vec::new();
    for s in &env.signatures {
        seen.push(s.keyid.clone());
        let Some(key) = trusted.iter().find(|k| key_id(k) == s.keyid) else {
            continue;
        };
        let raw = B64.decode(s.sig.as_bytes()).map_err(|e| {
            EngineError::AttestVerify(format!("signature of key {} is not base64: {e}", s.keyid))
        })?;
        let sig = Signature::from_slice(&raw).map_err(|e| {
            EngineError::AttestVerify(format!("signature of key {} is malformed: {e}", s.keyid))
        })?;
        return key
            .verify_strict(&message, &sig)
            .map(|()| Verified {
                keyid: s.keyid.clone(),
                payload: payload.clone(),
            })
            .map_err(|_| {
                EngineError::AttestVerify(format!("signature by key {} does not match the payload", s.keyid))
            });
    }
    let trusted_ids: Vec<String> = trusted.iter().map(key_id).collect();
    Err(EngineError::AttestVerify(format!(
        "signed by key(s) {} but only {} are trusted",
        seen.join(", "),
        if trusted_ids.is_empty() {
            "none".to_string()
        } else {
            trusted_ids.join(", ")
        }
    )))
}

/// A key file in the securesystemslib JSON form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyFile {
    pub keytype: String,
    pub scheme: String,
    pub keyid: String,
    pub keyval: KeyVal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyVal {
    pub public: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private: Option<String>,
}

impl KeyFile {
    pub fn public(key: &VerifyingKey) -> KeyFile {
        KeyFile {
            keytype: "ed25519".into(),
            scheme: "ed25519".into(),
            keyid: key_id(key),
            keyval: KeyVal {
                public: hex::encode(key.as_bytes()),
                private: None,
            },
        }
    }

    pub fn private(key: &SigningKey) -> KeyFile {
        let mut f = KeyFile::public(&key.verifying_key());
        f.keyval.private = Some(hex::encode(key.to_bytes()));
        f
    }

    pub fn parse(text: &str) -> Result<KeyFile, EngineError> {
        let f: KeyFile =
            serde_json::from_str(text).map_err(|e| EngineError::Key(format!("not a key file: {e}")))?;
        if f.keytype != "ed25519" || f.scheme != "ed25519" {
            return Err(EngineError::Key(format!(
                "keytype {}/{} is not ed25519",
                f.keytype, f.scheme
            )));
        }
        Ok(f)
    }

    pub fn verifying_key(&self) -> Result<VerifyingKey, EngineError> {
        let raw: [u8; 32] = decode32(&self.keyval.public, "public")?;
        let key =
            VerifyingKey::from_bytes(&raw).map_err(|e| EngineError::Key(format!("bad public key: {e}")))?;
        if key_id(&key) != self.keyid {
            return Err(EngineError::Key(format!(
                "keyid {} does not match the public key (expected {})",
                self.keyid,
                key_id(&key)
            )));
        }
        Ok(key)
    }

    pub fn signing_key(&self) -> Result<SigningKey, EngineError> {
        let private = self
            .keyval
            .private
            .as_deref()
            .ok_or_else(|| EngineError::Key(format!("key {} has no private half", self.keyid)))?;
        let key = SigningKey::from_bytes(&decode32(private, "private")?);
        if key.verifying_key() != self.verifying_key()? {
            return Err(EngineError::Key("private and public halves do not match".into()));
        }
        Ok(key)
    }
}

fn decode32(hex_text: &str, what: &str) -> Result<[u8; 32], EngineError> {
    hex::decode(hex_text)
        .ok()
        .and_then(|v| <[u8; 32]>::try_from(v).ok())
        .ok_or_else(|| EngineError::Key(format!("{what} key is not 32 bytes of hex")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    #[test]
    fn pae_matches_the_dsse_spec_example() {
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
    }

    #[test]
    fn sign_then_verify_and_reject_tampering() {
        let k = key(7);
        let env = sign("t", b"payload", &k);
        let ok = verify(&env, "t", &[k.verifying_key()]).unwrap();
        assert_eq!(ok.payload, b"payload");
        let mut bad = env.clone();
        bad.payload = B64.encode(b"payloae");
        assert!(verify(&bad, "t", &[k.verifying_key()])
            .unwrap_err()
            .to_string()
            .contains("does not match"));
        let other = key(8);
        assert!(verify(&env, "t", &[other.verifying_key()])
            .unwrap_err()
            .to_string()
            .contains("only"));
        assert!(verify(&env, "u", &[k.verifying_key()]).is_err());
    }

    #[test]
    fn key_files_round_trip() {
        let k = key(3);
        let text = serde_json::to_string(&KeyFile::private(&k)).unwrap();
        let f = KeyFile::parse(&text).unwrap();
        assert_eq!(f.signing_key().unwrap().to_bytes(), k.to_bytes());
        let public = KeyFile::public(&k.verifying_key());
        assert!(public.signing_key().is_err());
        let mut wrong = public.clone();
        wrong.keyid = "0000000000000000".into();
        assert!(wrong.verifying_key().is_err());
    }
}
