//! Kubernetes API types of seg: the custom resources `Benchmark`, `Scan` and `Finding` of group
//! `seg.neurocipher.io`, version `v1alpha1`, all namespaced (a namespace is a tenant).
//!
//! The CustomResourceDefinitions are generated from these types ([`all_crds_yaml`], printed by
//! `seg crds`) and committed as `crds/*.yaml`; a test fails when the committed files differ from
//! the types. See `docs/crds.md`.

mod benchmark;
mod common;
mod finding;
mod scan;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, JSONSchemaProps, JSONSchemaPropsOrArray, JSONSchemaPropsOrBool,
};
use kube::CustomResourceExt;

pub use benchmark::{
    Benchmark, BenchmarkSpec, BenchmarkStatus, BundleSource, ConfigMapBundleSource, PublicKeyReference,
};
pub use common::{
    condition_type, find_condition, CheckResult, Condition, ConditionStatus, KeyReference,
    LocalObjectReference, Severity,
};
pub use finding::{
    finding_name, EvidenceReference, Finding, FindingSpec, FindingState, FindingStatus, FINDING_NAME_HEX,
};
pub use scan::{
    AwsScope, AzureScope, Credentials, ExportTarget, GcpScope, InventoryError, InventorySource, Provider,
    ResultCounts, Scan, ScanLimits, ScanPhase, ScanProgress, ScanSpec, ScanStatus, SeverityCounts,
    WorkloadIdentity, DEFAULT_MAX_FINDINGS,
};

/// API group of the custom resources.
pub const GROUP: &str = "seg.neurocipher.io";
/// API version of the custom resources.
pub const VERSION: &str = "v1alpha1";
/// `apiVersion` of the custom resources.
pub const API_VERSION: &str = "seg.neurocipher.io/v1alpha1";
/// The category of every custom resource: `kubectl get seg` lists them all.
pub const CATEGORY: &str = "seg";

/// Errors of CRD generation.
#[derive(Debug, thiserror::Error)]
pub enum CrdError {
    #[error("serializing the CustomResourceDefinition of {kind} as YAML: {message}")]
    Yaml { kind: String, message: String },
}

/// First lines of every generated file, after the document marker.
const HEADER: &str = "# Generated from the Rust types in crds/src by `seg crds --write crds`; do not edit.\n";

/// The CustomResourceDefinitions, in the order of their file names.
pub fn crds() -> Vec<CustomResourceDefinition> {
    let mut crds = vec![Benchmark::crd(), Finding::crd(), Scan::crd()];
    for crd in &mut crds {
        for version in &mut crd.spec.versions {
            if let Some(schema) = version
                .schema
                .as_mut()
                .and_then(|s| s.open_api_v3_schema.as_mut())
            {
                tidy(schema);
            }
        }
    }
    crds
}

/// Rewrites a generated schema for readers of `kubectl explain`: descriptions come from doc
/// comments wrapped at the source's line width, so their lines are joined into paragraphs; and
/// the `title` that the schema generator puts on some types is dropped.
fn tidy(schema: &mut JSONSchemaProps) {
    if let Some(description) = schema.description.as_mut() {
        *description = description
            .split("\n\n")
            .map(|paragraph| paragraph.split('\n').map(str::trim).collect::<Vec<_>>().join(" "))
            .collect::<Vec<_>>()
            .join("\n\n");
    }
    schema.title = None;
    let children = schema
        .properties
        .iter_mut()
        .flat_map(|p| p.values_mut())
        .chain(schema.all_of.iter_mut().flatten())
        .chain(schema.any_of.iter_mut().flatten())
        .chain(schema.one_of.iter_mut().flatten())
        .chain(schema.not.as_deref_mut());
    let mut nested: Vec<&mut JSONSchemaProps> = children.collect();
    match schema.items.as_mut() {
        Some(JSONSchemaPropsOrArray::Schema(item)) => nested.push(item),
        Some(JSONSchemaPropsOrArray::Schemas(items)) => nested.extend(items.iter_mut()),
        None => {}
    }
    if let Some(JSONSchemaPropsOrBool::Schema(extra)) = schema.additional_properties.as_mut() {
        nested.push(extra);
    }
    for child in nested {
        tidy(child);
    }
}

/// One generated YAML file per CustomResourceDefinition: (file name, content), in file name
/// order. Each content is one YAML document starting with `---`.
pub fn crd_files() -> Result<Vec<(String, String)>, CrdError> {
    crds()
        .iter()
        .map(|crd| {
            let kind = crd.spec.names.kind.clone();
            let body = serde_saphyr::to_string(crd).map_err(|e| CrdError::Yaml {
                kind: kind.clone(),
                message: e.to_string(),
            })?;
            let mut text = String::with_capacity(body.len() + HEADER.len() + 4);
            text.push_str("---\n");
            text.push_str(HEADER);
            text.push_str(&body);
            if !text.ends_with('\n') {
                text.push('\n');
            }
            Ok((format!("{}.yaml", kind.to_lowercase()), text))
        })
        .collect()
}

/// Every CustomResourceDefinition as one multi-document YAML text: the files of [`crd_files`]
/// concatenated, so that `cat crds/*.yaml` prints the same bytes.
pub fn all_crds_yaml() -> Result<String, CrdError> {
    Ok(crd_files()?.into_iter().map(|(_, text)| text).collect())
}

#[cfg(test)]
mod tests;
