//! `Benchmark`: a signed policy bundle that Scans evaluate.
// The `printcolumn(...)` arguments of `#[kube]` repeat keys such as `type_` by design.
#![allow(clippy::duplicated_attributes)]

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::{Condition, KeyReference, ID_PATTERN, KEY_PATTERN, NAME_PATTERN};

/// Which bundle to load, which keys it must be signed with and which of its controls to use.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "seg.neurocipher.io",
    version = "v1alpha1",
    kind = "Benchmark",
    namespaced,
    status = "BenchmarkStatus",
    derive = "PartialEq",
    shortname = "bm",
    category = "seg",
    doc = "A benchmark: a signed bundle of Rego controls (for example CIS AWS Foundations) that Scans of the same namespace evaluate. The operator loads the bundle, verifies its signature with the listed public keys and reports the bundle's id, version, digest and control count in the status.",
    printcolumn(
        name = "Bundle",
        type_ = "string",
        json_path = ".status.bundleId",
        description = "Id of the loaded bundle"
    ),
    printcolumn(
        name = "Version",
        type_ = "string",
        json_path = ".status.version",
        description = "Version of the loaded bundle"
    ),
    printcolumn(
        name = "Controls",
        type_ = "integer",
        json_path = ".status.controlCount",
        description = "Controls that Scans evaluate"
    ),
    printcolumn(
        name = "Verified",
        type_ = "boolean",
        json_path = ".status.signatureVerified",
        description = "Whether the signature verified"
    ),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status",
        description = "Ready condition"
    ),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!has(self.source.configMap) || (has(self.publicKeys) && size(self.publicKeys) > 0)")
    .message("a bundle from a ConfigMap must name at least one key in publicKeys")
    .field_path(".publicKeys"))]
pub struct BenchmarkSpec {
    /// Where the bundle comes from: exactly one of `builtin` (a bundle built into the operator's
    /// image) or `configMap` (a bundle archive in a ConfigMap of this namespace).
    pub source: BundleSource,
    /// Public keys the bundle must be signed with: it is loaded only if its SIGNATURE (a DSSE
    /// envelope over CHECKSUMS) verifies with one of them. Each key is the `.pub` file made by
    /// `seg bundle keygen`, held in a ConfigMap or Secret of this namespace. When empty, a
    /// built-in bundle is verified with the key built into the image; a bundle from a ConfigMap
    /// must name at least one key.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 16))]
    #[x_kube(merge_strategy = ListMerge::Atomic)]
    pub public_keys: Vec<PublicKeyReference>,
    /// Only these controls (by id, as in the bundle's manifest) are evaluated by Scans of this
    /// Benchmark. Every control of the bundle when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 1000), inner(length(min = 1, max = 128), regex(pattern = ID_PATTERN)))]
    #[x_kube(merge_strategy = ListMerge::Set)]
    pub controls: Vec<String>,
}

/// Where a bundle comes from.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.builtin) != has(self.configMap)")
    .message("exactly one of source.builtin or source.configMap must be set"))]
pub struct BundleSource {
    /// Name of a bundle built into the operator's image, for example `cis-aws-foundations`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 128), regex(pattern = ID_PATTERN))]
    pub builtin: Option<String>,
    /// A ConfigMap of this namespace holding the bundle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map: Option<ConfigMapBundleSource>,
}

/// A bundle held in a ConfigMap.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfigMapBundleSource {
    /// Name of the ConfigMap, in the Benchmark's namespace.
    #[schemars(length(min = 1, max = 253), regex(pattern = NAME_PATTERN))]
    pub name: String,
    /// Key of the ConfigMap (in `binaryData`) whose value is the bundle directory as a
    /// gzip-compressed tar archive: `manifest.json`, `policies/`, `tests/`, `data/`, `CHECKSUMS`
    /// and `SIGNATURE` at the top of the archive. Make one with `tar -C <bundle dir> -czf
    /// bundle.tar.gz .` and `kubectl create configmap <name> --from-file=bundle.tar.gz`.
    #[serde(default = "default_bundle_key")]
    #[schemars(length(min = 1, max = 253), regex(pattern = KEY_PATTERN))]
    pub key: String,
}

fn default_bundle_key() -> String {
    "bundle.tar.gz".to_owned()
}

/// A public key file in a ConfigMap or a Secret of the same namespace.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.configMapKeyRef) != has(self.secretKeyRef)")
    .message("exactly one of configMapKeyRef or secretKeyRef must be set"))]
pub struct PublicKeyReference {
    /// A key of a ConfigMap of this namespace holding the public key file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map_key_ref: Option<KeyReference>,
    /// A key of a Secret of this namespace holding the public key file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_key_ref: Option<KeyReference>,
}

/// What the operator found when it last loaded the bundle.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct BenchmarkStatus {
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub observed_generation: Option<i64>,
    /// Id of the bundle, from its manifest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bundle_id: Option<String>,
    /// Version of the bundle (semantic version), from its manifest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// `sha256:<hex>` of the bundle's CHECKSUMS file: identifies its exact content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// Number of controls that Scans of this Benchmark evaluate (after `spec.controls`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub control_count: Option<i64>,
    /// Whether the bundle's signature verified with one of the public keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature_verified: Option<bool>,
    /// Key id (first 16 hex characters of the sha256 of the public key) that the signature
    /// verified with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signer_key_id: Option<String>,
    /// Conditions: `Ready` when the bundle is loaded and verified; `Reconciling` while it is
    /// being loaded; `Stalled` when it cannot be loaded, with the reason (for example
    /// `ConfigMapNotFound`, `SignatureInvalid`, `ChecksumMismatch`, `BundleInvalid`) and a
    /// message naming the file or key.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 16))]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["type".into()]))]
    pub conditions: Vec<Condition>,
}
