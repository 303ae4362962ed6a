//! Validation of tenant-supplied names (pure).

use crate::TenantFsError;

/// The longest accepted path component, in bytes (`NAME_MAX`).
pub const MAX_COMPONENT_BYTES: usize = 255;
/// The longest accepted relative path, in bytes.
pub const MAX_PATH_BYTES: usize = 1024;
/// The most components a relative path may have (directories and the file name).
pub const MAX_COMPONENTS: usize = 8;
/// The longest namespace name (a DNS-1123 label), in bytes.
pub const MAX_NAMESPACE_BYTES: usize = 63;

/// A validated relative path: 1 to [`MAX_COMPONENTS`] components separated by single `/`, none of
/// them empty, `.` or `..`, none with a NUL or another control character.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RelPath {
    text: String,
}

impl RelPath {
    /// The path as given (it needs no normalization to be valid).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The components, the directories first and the file name last (never empty).
    pub fn components(&self) -> impl Iterator<Item = &str> + '_ {
        self.text.split('/')
    }

    /// The last component.
    pub fn file_name(&self) -> &str {
        self.text.rsplit('/').next().unwrap_or(&self.text)
    }

    /// The directories before the file name (possibly none).
    pub(crate) fn dirs(&self) -> Vec<&str> {
        let mut all: Vec<&str> = self.components().collect();
        all.pop();
        all
    }

    /// The first `n` components joined with `/` (`.` for none: the namespace directory).
    pub(crate) fn prefix(&self, n: usize) -> String {
        if n == 0 {
            return ".".to_string();
        }
        self.components().take(n).collect::<Vec<_>>().join("/")
    }
}

impl std::fmt::Display for RelPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl AsRef<str> for RelPath {
    fn as_ref(&self) -> &str {
        &self.text
    }
}

pub(crate) fn check_relative(rel: &str) -> Result<RelPath, TenantFsError> {
    let bad = |reason: String| Err(TenantFsError::invalid_path(rel, reason));
    if rel.is_empty() {
        return bad("the path is empty".into());
    }
    if rel.starts_with('/') {
        return bad("the path must be relative (it starts with `/`)".into());
    }
    if rel.len() > MAX_PATH_BYTES {
        return bad(format!("the path is longer than {MAX_PATH_BYTES} bytes"));
    }
    if rel.contains('\0') {
        return bad("the path contains a NUL character".into());
    }
    if rel.chars().any(char::is_control) {
        return bad("the path contains a control character".into());
    }
    let mut count = 0usize;
    for c in rel.split('/') {
        count += 1;
        match c {
            "" => return bad("the path has an empty component (`//` or a trailing `/`)".into()),
            "." => return bad("the path has a `.` component".into()),
            ".." => return bad("the path has a `..` component".into()),
            _ if c.len() > MAX_COMPONENT_BYTES => {
                return bad(format!("a component is longer than {MAX_COMPONENT_BYTES} bytes"))
            }
            _ => {}
        }
    }
    if count > MAX_COMPONENTS {
        return bad(format!("the path has more than {MAX_COMPONENTS} components"));
    }
    Ok(RelPath {
        text: rel.to_string(),
    })
}

/// A namespace is a DNS-1123 label: `[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most 63 bytes.
pub(crate) fn check_namespace(ns: &str) -> Result<(), TenantFsError> {
    let bad = |reason: &str| {
        Err(TenantFsError::InvalidNamespace {
            namespace: ns.to_string(),
            reason: reason.to_string(),
        })
    };
    if ns.is_empty() {
        return bad("the namespace is empty");
    }
    if ns.len() > MAX_NAMESPACE_BYTES {
        return bad("the namespace is longer than 63 bytes");
    }
    if !ns
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return bad("a namespace has only lower-case letters, digits and `-`");
    }
    if ns.starts_with('-') || ns.ends_with('-') {
        return bad("a namespace starts and ends with a letter or digit");
    }
    Ok(())
}
