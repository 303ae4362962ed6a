//! File-backed adapters: policy bundle directories, key files, and a JSONL inventory that
//! implements the Inventory port (useful air-gapped, for exports of AWS Config, and for tests).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use seg_engine::bundle::BundleFiles;
use seg_engine::dsse::KeyFile;
use seg_engine::inventory::{parse_jsonl_parallel, InventoryItem, InventoryProblem};
use seg_engine::model::{Asset, AssetRef, ConfigDoc, Scope};
use seg_engine::ports::{AssetPage, InventoryPort, InventoryQuery, PageRequest, PortError};
use seg_engine::time::Timestamp;

/// Errors of the file adapters; each names the path.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

impl FileError {
    fn io(path: &Path, source: std::io::Error) -> FileError {
        FileError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub fn category(&self) -> &'static str {
        match self {
            FileError::Io { .. } => "io",
            FileError::Invalid { .. } => "invalid_input",
        }
    }
}

/// Read every file under a bundle directory (recursively) into memory.
pub fn read_bundle_dir(dir: &Path) -> Result<BundleFiles, FileError> {
    let meta = std::fs::metadata(dir).map_err(|e| FileError::io(dir, e))?;
    if !meta.is_dir() {
        return Err(FileError::Invalid {
            path: dir.to_path_buf(),
            message: "not a directory".into(),
        });
    }
    let mut files = BundleFiles::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|e| FileError::io(&d, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| FileError::io(&d, e))?;
            let path = entry.path();
            let ty = entry.file_type().map_err(|e| FileError::io(&path, e))?;
            if ty.is_dir() {
                stack.push(path);
            } else if ty.is_file() {
                let rel = relative(dir, &path)?;
                let bytes = std::fs::read(&path).map_err(|e| FileError::io(&path, e))?;
                files.insert(&rel, bytes).map_err(|e| FileError::Invalid {
                    path: path.clone(),
                    message: e.to_string(),
                })?;
            } else {
                return Err(FileError::Invalid {
                    path,
                    message: "not a regular file (symlinks are not followed)".into(),
                });
            }
        }
    }
    Ok(files)
}

fn relative(root: &Path, path: &Path) -> Result<String, FileError> {
    let rel = path.strip_prefix(root).map_err(|_| FileError::Invalid {
        path: path.to_path_buf(),
        message: "outside the bundle".into(),
    })?;
    let parts: Option<Vec<&str>> = rel.components().map(|c| c.as_os_str().to_str()).collect();
    parts.map(|p| p.join("/")).ok_or_else(|| FileError::Invalid {
        path: path.to_path_buf(),
        message: "file name is not UTF-8".into(),
    })
}

/// Write `CHECKSUMS` and `SIGNATURE` into a bundle directory.
pub fn write_signature(dir: &Path, checksums: &str, signature: &str) -> Result<(), FileError> {
    for (name, text) in [("CHECKSUMS", checksums), ("SIGNATURE", signature)] {
        let p = dir.join(name);
        std::fs::write(&p, text).map_err(|e| FileError::io(&p, e))?;
    }
    Ok(())
}

/// Read a key file (securesystemslib JSON form).
pub fn read_key(path: &Path) -> Result<KeyFile, FileError> {
    let text = std::fs::read_to_string(path).map_err(|e| FileError::io(path, e))?;
    KeyFile::parse(&text).map_err(|e| FileError::Invalid {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// An inventory held in memory, loaded from JSONL.
#[derive(Debug, Clone, Default)]
pub struct JsonlInventory {
    items: Vec<InventoryItem>,
    by_urn: BTreeMap<String, usize>,
    /// Lines that could not be used.
    pub problems: Vec<InventoryProblem>,
    /// Resources whose newest record is a deletion, skipped.
    pub deleted: usize,
    /// Older records replaced by a newer record of the same asset.
    pub superseded: usize,
}

impl JsonlInventory {
    /// Parse JSONL text; problems are kept, never dropped.
    pub fn from_text(text: &str) -> JsonlInventory {
        let workers = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        let parsed = parse_jsonl_parallel(text, workers);
        let by_urn = parsed
            .items
            .iter()
            .enumerate()
            .map(|(i, it)| (it.asset.asset_ref.urn.clone(), i))
            .collect();
        JsonlInventory {
            items: parsed.items,
            by_urn,
            problems: parsed.problems,
            deleted: parsed.deleted,
            superseded: parsed.superseded,
        }
    }

    pub fn from_path(path: &Path) -> Result<JsonlInventory, FileError> {
        let text = std::fs::read_to_string(path).map_err(|e| FileError::io(path, e))?;
        Ok(JsonlInventory::from_text(&text))
    }

    pub fn items(&self) -> &[InventoryItem] {
        &self.items
    }

    /// What `list_assets` and `borrow_items` select: the kinds (all when empty), discovered since,
    /// in the scope.
    fn selects(asset: &Asset, scope: &Scope, kinds: &[String], since: Option<Timestamp>) -> bool {
        (kinds.is_empty() || kinds.contains(&asset.kind))
            && since.is_none_or(|s| asset.discovered_at >= s)
            && Self::matches_scope(asset, scope)
    }

    fn matches_scope(asset: &Asset, scope: &Scope) -> bool {
        let region_ok = scope
            .region
            .as_deref()
            .is_none_or(|r| asset.property_str("region") == Some(r));
        let project_ok = scope.project.as_deref().is_none_or(|p| {
            [
                asset.property_str("account_id"),
                asset.property_str("subscription_id"),
                asset.property_str("project"),
            ]
            .contains(&Some(p))
        });
        region_ok && project_ok && scope.selects_tags(asset)
    }
}

const DEFAULT_PAGE: usize = 1000;

impl InventoryPort for JsonlInventory {
    fn list_assets(
        &self,
        scope: &Scope,
        kinds: &[String],
        since: Option<Timestamp>,
        page: &PageRequest,
    ) -> Result<AssetPage, PortError> {
        let start = match &page.cursor {
            None => 0,
            Some(c) => c
                .parse::<usize>()
                .map_err(|_| PortError::Schema(format!("invalid cursor {c:?}")))?,
        };
        let limit = if page.limit == 0 { DEFAULT_PAGE } else { page.limit };
        let mut assets = Vec::new();
        let mut i = start;
        while i < self.items.len() && assets.len() < limit {
            let a = &self.items[i].asset;
            if Self::selects(a, scope, kinds, since) {
                assets.push(a.clone());
            }
            i += 1;
        }
        let next_cursor = (i < self.items.len()).then(|| i.to_string());
        Ok(AssetPage { assets, next_cursor })
    }

    fn borrow_items(
        &self,
        scope: &Scope,
        kinds: &[String],
        since: Option<Timestamp>,
    ) -> Option<Vec<&InventoryItem>> {
        Some(
            self.items
                .iter()
                .filter(|it| Self::selects(&it.asset, scope, kinds, since))
                .collect(),
        )
    }

    fn get_config(&self, asset: &AssetRef, _at: Option<Timestamp>) -> Result<ConfigDoc, PortError> {
        self.by_urn
            .get(&asset.urn)
            .and_then(|i| self.items.get(*i))
            .map(|it| it.config.clone())
            .ok_or_else(|| PortError::NotFound(asset.urn.clone()))
    }

    fn search(&self, query: &InventoryQuery) -> Result<Vec<Asset>, PortError> {
        Ok(self
            .items
            .iter()
            .map(|it| &it.asset)
            .filter(|a| query.kinds.is_empty() || query.kinds.contains(&a.kind))
            .filter(|a| {
                query
                    .name_contains
                    .as_deref()
                    .is_none_or(|n| a.name.as_deref().is_some_and(|x| x.contains(n)))
            })
            .filter(|a| {
                query
                    .properties
                    .iter()
                    .all(|(k, v)| a.property_str(k) == Some(v.as_str()))
            })
            .cloned()
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ci(id: usize, kind: &str, region: &str) -> String {
        format!(
            r#"{{"accountId":"111122223333","configurationItemCaptureTime":"2026-11-20T10:00:00Z","resourceType":"{kind}","resourceId":"r{id}","awsRegion":"{region}","configuration":{{}}}}"#
        )
    }

    #[test]
    fn pages_cover_every_asset_once_with_stable_cursors() {
        let text: String = (0..25)
            .map(|i| ci(i, if i % 2 == 0 { "A" } else { "B" }, "us-east-1") + "\n")
            .collect();
        let inv = JsonlInventory::from_text(&text);
        let mut seen = Vec::new();
        let mut page = PageRequest {
            cursor: None,
            limit: 4,
        };
        loop {
            let p = inv
                .list_assets(&Scope::default(), &["A".to_string()], None, &page)
                .unwrap();
            assert!(p.assets.len() <= 4);
            seen.extend(p.assets.into_iter().map(|a| a.asset_ref.urn));
            match p.next_cursor {
                Some(c) => page.cursor = Some(c),
                None => break,
            }
        }
        assert_eq!(seen.len(), 13);
        let unique: std::collections::BTreeSet<_> = seen.iter().collect();
        assert_eq!(unique.len(), 13);
        let cfg = inv.get_config(&AssetRef { urn: seen[0].clone() }, None).unwrap();
        assert_eq!(cfg.asset.urn, seen[0]);
        assert!(matches!(
            inv.get_config(
                &AssetRef {
                    urn: "urn:asset:aws:x:y".into()
                },
                None
            ),
            Err(PortError::NotFound(_))
        ));
    }

    /// The same inventory through the paging path of the port (no lending).
    struct Paged<'a>(&'a JsonlInventory);

    impl InventoryPort for Paged<'_> {
        fn list_assets(
            &self,
            scope: &Scope,
            kinds: &[String],
            since: Option<Timestamp>,
            page: &PageRequest,
        ) -> Result<AssetPage, PortError> {
            self.0.list_assets(scope, kinds, since, page)
        }
        fn get_config(&self, asset: &AssetRef, at: Option<Timestamp>) -> Result<ConfigDoc, PortError> {
            self.0.get_config(asset, at)
        }
        fn search(&self, query: &InventoryQuery) -> Result<Vec<Asset>, PortError> {
            self.0.search(query)
        }
    }

    #[test]
    fn a_scan_of_lent_items_equals_a_scan_of_paged_copies() {
        use seg_engine::model::EvalRequest;
        use seg_engine::scan::{PolicyEvaluator, ScanOptions};
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let files = read_bundle_dir(&root.join("policy-bundles/cis-aws-foundations")).unwrap();
        let load = seg_engine::policy::LoadOptions::new(seg_engine::policy::Trust::AllowUnsigned(vec![]));
        let bundle = seg_engine::policy::CompiledBundle::load(&files, &load).unwrap();
        let inv = JsonlInventory::from_path(&root.join("operator/demo/aws-demo-account.jsonl")).unwrap();
        let request = EvalRequest {
            scope: Scope {
                org_id: "t".into(),
                ..Scope::default()
            },
            control_ids: Vec::new(),
            assets: None,
            since: None,
        };
        let at = Timestamp::parse("2026-11-23T00:00:00Z").unwrap();
        let scan = |port: &dyn Fn(&ScanOptions) -> seg_engine::scan::ScanReport| port(&ScanOptions::new(at));
        let lent = scan(&|o| {
            PolicyEvaluator {
                bundle: &bundle,
                inventory: &inv,
                options: o.clone(),
            }
            .scan(&request)
            .unwrap()
        });
        let paged = scan(&|o| {
            PolicyEvaluator {
                bundle: &bundle,
                inventory: &Paged(&inv),
                options: o.clone(),
            }
            .scan(&request)
            .unwrap()
        });
        assert!(lent.eval.findings.len() > 100);
        assert_eq!(lent, paged);
    }

    #[test]
    fn lent_items_are_those_list_assets_pages_through_in_the_same_order() {
        let text: String = (0..40)
            .map(|i| {
                let region = if i % 3 == 0 { "eu-west-1" } else { "us-east-1" };
                ci(i, if i % 2 == 0 { "A" } else { "B" }, region) + "\n"
            })
            .collect();
        let inv = JsonlInventory::from_text(&text);
        let scopes = [
            Scope::default(),
            Scope {
                region: Some("eu-west-1".into()),
                ..Scope::default()
            },
        ];
        for scope in &scopes {
            for kinds in [
                vec![],
                vec!["A".to_string()],
                vec!["B".to_string(), "C".to_string()],
            ] {
                let mut listed = Vec::new();
                let mut page = PageRequest {
                    cursor: None,
                    limit: 7,
                };
                loop {
                    let p = inv.list_assets(scope, &kinds, None, &page).unwrap();
                    listed.extend(p.assets.into_iter().map(|a| a.asset_ref.urn));
                    match p.next_cursor {
                        Some(c) => page.cursor = Some(c),
                        None => break,
                    }
                }
                let lent: Vec<String> = inv
                    .borrow_items(scope, &kinds, None)
                    .unwrap()
                    .iter()
                    .map(|i| i.asset.asset_ref.urn.clone())
                    .collect();
                assert!(!lent.is_empty());
                assert_eq!(lent, listed, "{scope:?} {kinds:?}");
            }
        }
    }

    #[test]
    fn scope_tags_select_assets_carrying_every_tag() {
        let tagged = |id: usize, tags: &str| {
            format!(
                r#"{{"accountId":"111122223333","configurationItemCaptureTime":"2026-11-20T10:00:00Z","resourceType":"A","resourceId":"r{id}","awsRegion":"us-east-1","configuration":{{}},"tags":{tags}}}"#
            )
        };
        let text = [
            tagged(1, r#"{"env":"prod","team":"a"}"#),
            tagged(2, r#"{"env":"prod"}"#),
            tagged(3, r#"{"env":"dev","team":"a"}"#),
            tagged(4, "{}"),
        ]
        .join("\n");
        let inv = JsonlInventory::from_text(&text);
        let ids = |tags: &[(&str, &str)]| {
            let scope = Scope {
                tags: tags.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
                ..Scope::default()
            };
            let p = inv
                .list_assets(&scope, &[], None, &PageRequest::default())
                .unwrap();
            p.assets
                .iter()
                .map(|a| a.property_str("resource_id").unwrap().to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&[]), ["r1", "r2", "r3", "r4"]);
        assert_eq!(ids(&[("env", "prod")]), ["r1", "r2"]);
        assert_eq!(ids(&[("env", "prod"), ("team", "a")]), ["r1"]);
        assert_eq!(ids(&[("env", "staging")]), Vec::<String>::new());
    }

    #[test]
    fn scope_region_filters_and_search_matches_properties() {
        let text = format!("{}\n{}\n", ci(1, "A", "us-east-1"), ci(2, "A", "eu-west-1"));
        let inv = JsonlInventory::from_text(&text);
        let scope = Scope {
            region: Some("eu-west-1".into()),
            ..Scope::default()
        };
        let p = inv
            .list_assets(&scope, &[], None, &PageRequest::default())
            .unwrap();
        assert_eq!(p.assets.len(), 1);
        let q = InventoryQuery {
            properties: [("region".to_string(), "us-east-1".to_string())].into(),
            ..Default::default()
        };
        assert_eq!(inv.search(&q).unwrap().len(), 1);
    }

    #[test]
    fn bundle_dirs_are_read_with_relative_paths() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("policies")).unwrap();
        std::fs::write(dir.path().join("manifest.json"), "{}").unwrap();
        std::fs::write(dir.path().join("policies/a.rego"), "package a").unwrap();
        let files = read_bundle_dir(dir.path()).unwrap();
        assert_eq!(
            files.paths().collect::<Vec<_>>(),
            vec!["manifest.json", "policies/a.rego"]
        );
        let err = read_bundle_dir(&dir.path().join("nope")).unwrap_err().to_string();
        assert!(err.contains("nope"), "{err}");
    }
}
