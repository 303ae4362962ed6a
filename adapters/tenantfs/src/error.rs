//! The error type. Every message names paths relative to the namespace directory (the namespace
//! directory itself is `.`), never the operator's root: tenants read these messages in the status
//! of their resources, and the caller prefixes the field (`spec.export.path: ...`).

/// Why a tenant file operation failed.
///
/// [`TenantFsError::is_invalid`] separates what the tenant must fix in its spec from a transient
/// failure of the volume.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TenantFsError {
    /// The relative path is not acceptable (syntax, length, `..`, absolute, ...).
    #[error("invalid path {}: {reason}", shorten(path))]
    InvalidPath {
        /// The path as given.
        path: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The namespace is not a DNS-1123 label.
    #[error("invalid namespace {}: {reason}", shorten(namespace))]
    InvalidNamespace {
        /// The namespace as given.
        namespace: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The file (or one of its directories, or the namespace directory) does not exist.
    #[error("{path}: not found")]
    NotFound {
        /// The path asked for.
        path: String,
    },

    /// The path names something that is not a regular file (a directory, a FIFO, a socket, a
    /// device). It is refused without being opened for reading or writing, so a FIFO never blocks.
    #[error("{path}: is a {kind}, not a regular file")]
    NotRegularFile {
        /// The path asked for.
        path: String,
        /// `directory`, `FIFO`, `socket`, `character device`, `block device`, ...
        kind: &'static str,
    },

    /// A component in the middle of the path exists and is not a directory.
    #[error("{path}: is not a directory")]
    NotADirectory {
        /// The path up to that component.
        path: String,
    },

    /// A component of the path (the namespace directory `.`, a directory, or the file) is a
    /// symbolic link. Symbolic links are never followed.
    #[error("{path}: is a symbolic link (symbolic links are not followed)")]
    Symlink {
        /// The path up to the symbolic link.
        path: String,
    },

    /// Resolution would have left the namespace directory (`EXDEV` from `RESOLVE_BENEATH`).
    #[error("{path}: resolves outside the namespace directory")]
    Escapes {
        /// The path up to the component that escapes.
        path: String,
    },

    /// A file to read is larger than the read limit, or the content written is larger than the
    /// write limit.
    #[error("{path}: larger than the limit of {limit} bytes")]
    TooLarge {
        /// The path asked for.
        path: String,
        /// The limit in bytes.
        limit: u64,
    },

    /// Creating one more file would exceed the number of files a namespace may hold.
    #[error("namespace {namespace} already holds the maximum of {limit} files")]
    TooManyFiles {
        /// The namespace.
        namespace: String,
        /// The maximum number of regular files.
        limit: usize,
    },

    /// A file read as text is not UTF-8.
    #[error("{path}: is not UTF-8 text")]
    NotUtf8 {
        /// The path asked for.
        path: String,
    },

    /// The volume failed: permission, space, I/O. Transient as far as the tenant is concerned.
    #[error("{op} {path}: {source}")]
    Io {
        /// The path (relative to the namespace directory) the operation was on.
        path: String,
        /// The operation: `open`, `read`, `write`, `mkdir`, `rename`, ...
        op: &'static str,
        /// The error of the system call (its message names no path).
        source: std::io::Error,
    },
}

impl TenantFsError {
    /// `true` when the tenant must change its spec (or the files it points at) for the operation
    /// to succeed; `false` for an I/O failure of the volume, which may succeed on a retry.
    pub fn is_invalid(&self) -> bool {
        !matches!(self, TenantFsError::Io { .. })
    }

    /// The path relative to the namespace directory the error is about, if any.
    pub fn path(&self) -> Option<&str> {
        match self {
            TenantFsError::InvalidPath { path, .. }
            | TenantFsError::NotFound { path }
            | TenantFsError::NotRegularFile { path, .. }
            | TenantFsError::NotADirectory { path }
            | TenantFsError::Symlink { path }
            | TenantFsError::Escapes { path }
            | TenantFsError::TooLarge { path, .. }
            | TenantFsError::NotUtf8 { path }
            | TenantFsError::Io { path, .. } => Some(path),
            TenantFsError::InvalidNamespace { .. } | TenantFsError::TooManyFiles { .. } => None,
        }
    }

    pub(crate) fn invalid_path(path: &str, reason: impl Into<String>) -> Self {
        TenantFsError::InvalidPath {
            path: path.to_string(),
            reason: reason.into(),
        }
    }

    pub(crate) fn io(path: &str, op: &'static str, source: impl Into<std::io::Error>) -> Self {
        TenantFsError::Io {
            path: path.to_string(),
            op,
            source: source.into(),
        }
    }
}

/// At most 128 characters of a tenant-supplied string in a message, escaped (`{:?}`).
fn shorten(s: &str) -> String {
    const MAX: usize = 128;
    match s.char_indices().nth(MAX) {
        Some((end, _)) => format!("{:?}...", &s[..end]),
        None => format!("{s:?}"),
    }
}
