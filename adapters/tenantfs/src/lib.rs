//! Confined file access for tenants: each namespace gets `<root>/<namespace>/` of one shared
//! directory, and a tenant-supplied relative path (`spec.export.path`, `spec.inventory.path`)
//! can name nothing else.
//!
//! - Paths are validated before any system call ([`TenantDir::check_relative`]): relative, no
//!   `..` or `.`, no empty components, no NUL or control characters, bounded lengths and depth.
//!   The namespace must be a DNS-1123 label, so tenant A has no way to name tenant B's directory.
//! - Resolution goes one component at a time from a descriptor of the root, each directory opened
//!   with `O_DIRECTORY | O_NOFOLLOW` relative to its parent's descriptor (with `openat2` and
//!   `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS` where the kernel has it). A
//!   symbolic link anywhere (the namespace directory, a directory, the file) is refused, and
//!   swapping a directory for a link after the check changes nothing: the next step is relative
//!   to the descriptor already open.
//! - A file is read only if it is a regular file: its type is checked without opening it, then it
//!   is opened with `O_NOFOLLOW | O_NONBLOCK` and checked again with `fstat`, so a FIFO, socket or
//!   device is refused and never blocks. Reads are bounded.
//! - Writes are atomic (a temporary file in the same directory, fsync, rename), bounded in size,
//!   and the number of files a namespace holds is bounded.
//!
//! Error messages name paths relative to the namespace directory, never the root.
//!
//! ```no_run
//! # fn demo() -> Result<(), seg_adapter_tenantfs::TenantFsError> {
//! use std::io::Write;
//! use seg_adapter_tenantfs::TenantDir;
//!
//! let exports = TenantDir::new("/var/lib/seg/exports")?.with_limits(1 << 20, 1 << 30, 100);
//! let written = exports.write_atomic("team-a", "scans/weekly.ocsf.jsonl", |w| w.write_all(b"{}\n"))?;
//! let text = exports.read_to_string("team-a", "scans/weekly.ocsf.jsonl")?;
//! # let _ = (written, text);
//! # Ok(())
//! # }
//! ```
//!
//! Linux only: the operator runs on Linux, and the guarantees rest on its system calls.

mod error;
mod path;
mod sys;
#[cfg(test)]
mod tests;

use std::io::{Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;

pub use error::TenantFsError;
pub use path::{RelPath, MAX_COMPONENTS, MAX_COMPONENT_BYTES, MAX_NAMESPACE_BYTES, MAX_PATH_BYTES};

use sys::{Resolver, TempFile, DIR_FLAGS};

/// Default largest file [`TenantDir::read_to_string`] reads: 256 MiB.
pub const DEFAULT_MAX_READ_BYTES: u64 = 256 << 20;
/// Default largest content [`TenantDir::write_atomic`] writes: 1 GiB.
pub const DEFAULT_MAX_WRITE_BYTES: u64 = 1 << 30;
/// Default number of regular files a namespace directory tree may hold.
pub const DEFAULT_MAX_FILES_PER_NAMESPACE: usize = 1000;
/// Temporary files of [`TenantDir::write_atomic`] are named `<TEMP_PREFIX><unique>.tmp`.
pub const TEMP_PREFIX: &str = ".tenantfs-";

/// How deep the file count descends below the namespace directory (paths written through this
/// crate are at most [`MAX_COMPONENTS`] deep; deeper trees were not made by it).
const MAX_COUNT_DEPTH: usize = 32;

/// One shared directory with a subdirectory per namespace. See the crate documentation.
#[derive(Debug, Clone)]
pub struct TenantDir {
    root: PathBuf,
    max_read_bytes: u64,
    max_write_bytes: u64,
    max_files_per_namespace: usize,
    resolver: Resolver,
}

impl TenantDir {
    /// A tenant directory over `root`, which must be an existing directory (the operator's
    /// configuration: it may itself be reached through symbolic links). Default limits:
    /// [`DEFAULT_MAX_READ_BYTES`], [`DEFAULT_MAX_WRITE_BYTES`], [`DEFAULT_MAX_FILES_PER_NAMESPACE`].
    pub fn new(root: impl Into<PathBuf>) -> Result<TenantDir, TenantFsError> {
        let dir = TenantDir {
            root: root.into(),
            max_read_bytes: DEFAULT_MAX_READ_BYTES,
            max_write_bytes: DEFAULT_MAX_WRITE_BYTES,
            max_files_per_namespace: DEFAULT_MAX_FILES_PER_NAMESPACE,
            resolver: Resolver::Auto,
        };
        dir.open_root()?;
        Ok(dir)
    }

    /// The same directory with other limits: the largest file read, the largest content written
    /// (both in bytes), and the number of regular files a namespace may hold.
    pub fn with_limits(self, max_read_bytes: u64, max_write_bytes: u64, max_files: usize) -> Self {
        TenantDir {
            max_read_bytes,
            max_write_bytes,
            max_files_per_namespace: max_files,
            ..self
        }
    }

    /// The root directory (for the operator's logs; never put it in a tenant-visible message).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Validate a tenant-supplied relative path (pure): non-empty, relative, no `..` or `.`
    /// component, no empty component (`a//b`, a trailing `/`), no NUL or other control character,
    /// each component at most [`MAX_COMPONENT_BYTES`], the whole at most [`MAX_PATH_BYTES`], at
    /// most [`MAX_COMPONENTS`] components. The error says what is wrong; the caller prefixes the
    /// field.
    pub fn check_relative(rel: &str) -> Result<RelPath, TenantFsError> {
        path::check_relative(rel)
    }

    /// Validate a namespace name (pure): a DNS-1123 label of at most 63 bytes.
    pub fn check_namespace(namespace: &str) -> Result<(), TenantFsError> {
        path::check_namespace(namespace)
    }

    /// The absolute path `<root>/<namespace>/<rel>` (no file system access; for the operator).
    pub fn absolute_path(&self, namespace: &str, rel: &RelPath) -> PathBuf {
        self.root.join(namespace).join(rel.as_str())
    }

    /// Read the regular file `<root>/<namespace>/<rel>` as UTF-8 text. Fails with
    /// [`TenantFsError::TooLarge`] if it is larger than the read limit, and without blocking if
    /// it is a FIFO, a socket or a device.
    pub fn read_to_string(&self, namespace: &str, rel: &str) -> Result<String, TenantFsError> {
        let rel = Self::prepare(namespace, rel)?;
        let not_found = |e: TenantFsError| match e {
            TenantFsError::NotFound { .. } => TenantFsError::NotFound {
                path: rel.to_string(),
            },
            e => e,
        };
        let root = self.open_root()?;
        let mut dir = self.open_dir(root.as_fd(), namespace, ".").map_err(not_found)?;
        for (i, name) in rel.dirs().into_iter().enumerate() {
            dir = self
                .open_dir(dir.as_fd(), name, &rel.prefix(i + 1))
                .map_err(not_found)?;
        }
        let shown = rel.as_str();
        let name = rel.file_name();
        // The type first, without opening: a device is never opened at all.
        if !self.expect_regular_file(dir.as_fd(), name, shown)? {
            return Err(TenantFsError::NotFound {
                path: shown.to_string(),
            });
        }
        let file = self.open_file(dir.as_fd(), name, shown)?;
        let limit = self.max_read_bytes;
        let (_, size) = sys::fstat(file.as_fd()).map_err(|e| TenantFsError::io(shown, "stat", e))?;
        if size > limit {
            return Err(TenantFsError::TooLarge {
                path: shown.to_string(),
                limit,
            });
        }
        let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        // One byte more than the limit: a file that grew since the fstat is caught too.
        std::fs::File::from(file)
            .take(limit.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|e| TenantFsError::io(shown, "read", e))?;
        if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > limit {
            return Err(TenantFsError::TooLarge {
                path: shown.to_string(),
                limit,
            });
        }
        String::from_utf8(bytes).map_err(|_| TenantFsError::NotUtf8 {
            path: shown.to_string(),
        })
    }

    /// Write `<root>/<namespace>/<rel>` atomically: the missing directories are created (mode
    /// 0700, with `mkdirat` relative to their parent's descriptor), `write` writes into a
    /// temporary file (mode 0600) in the same directory through a writer bounded at the write
    /// limit, then the file is flushed, fsynced and renamed over the target, and the directory is
    /// fsynced. A reader sees the old content or the new one, never a mix.
    ///
    /// If `write` fails, writes past the limit (even if it then ignores the error) or panics, the
    /// temporary file is removed and the previous file is left as it was. A new file is refused
    /// with [`TenantFsError::TooManyFiles`] when the namespace already holds the maximum number of
    /// regular files (temporary files left by a crash count too); replacing an existing file is
    /// always allowed. Two concurrent writes of new files may both pass the count.
    ///
    /// Returns the absolute path written (for the operator).
    pub fn write_atomic(
        &self,
        namespace: &str,
        rel: &str,
        write: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
    ) -> Result<PathBuf, TenantFsError> {
        let rel = Self::prepare(namespace, rel)?;
        let root = self.open_root()?;
        // Whether the target is known to be a new file (and the count has been checked): decided
        // before any directory is created, so a namespace at its limit gets no new directories.
        let mut checked_new = false;
        let ns_dir = match self.open_dir(root.as_fd(), namespace, ".") {
            Ok(fd) => fd,
            Err(TenantFsError::NotFound { .. }) => {
                self.ensure_room(namespace, None)?;
                checked_new = true;
                self.make_dir(root.as_fd(), namespace, ".")?
            }
            Err(e) => return Err(e),
        };
        let mut dirs: Vec<OwnedFd> = Vec::new();
        for (i, name) in rel.dirs().into_iter().enumerate() {
            let shown = rel.prefix(i + 1);
            let parent = dirs.last().unwrap_or(&ns_dir).as_fd();
            let fd = match self.open_dir(parent, name, &shown) {
                Ok(fd) => fd,
                Err(TenantFsError::NotFound { .. }) => {
                    if !checked_new {
                        self.ensure_room(namespace, Some(ns_dir.as_fd()))?;
                        checked_new = true;
                    }
                    self.make_dir(parent, name, &shown)?
                }
                Err(e) => return Err(e),
            };
            dirs.push(fd);
        }
        let dir = dirs.last().unwrap_or(&ns_dir).as_fd();
        let shown = rel.as_str();
        let name = rel.file_name();
        if !self.expect_regular_file(dir, name, shown)? && !checked_new {
            self.ensure_room(namespace, Some(ns_dir.as_fd()))?;
        }

        let (temp, file) = self.create_temp(dir, shown)?;
        let limit = self.max_write_bytes;
        let mut bounded = Bounded {
            inner: std::io::BufWriter::new(std::fs::File::from(file)),
            written: 0,
            limit,
            exceeded: false,
        };
        let result = write(&mut bounded);
        if bounded.exceeded {
            return Err(TenantFsError::TooLarge {
                path: shown.to_string(),
                limit,
            });
        }
        result.map_err(|e| TenantFsError::io(shown, "write", e))?;
        let file = bounded
            .inner
            .into_inner()
            .map_err(|e| TenantFsError::io(shown, "write", e.into_error()))?;
        file.sync_all()
            .map_err(|e| TenantFsError::io(shown, "fsync", e))?;
        drop(file);
        match rustix::fs::renameat(dir, temp.name.as_str(), dir, name) {
            Ok(()) => temp.keep(),
            Err(Errno::ISDIR) => {
                return Err(TenantFsError::NotRegularFile {
                    path: shown.to_string(),
                    kind: sys::kind_name(FileType::Directory),
                })
            }
            Err(e) => return Err(TenantFsError::io(shown, "rename", e)),
        }
        rustix::fs::fsync(dir).map_err(|e| TenantFsError::io(&rel.prefix(rel.dirs().len()), "fsync", e))?;
        Ok(self.absolute_path(namespace, &rel))
    }

    /// Remove the regular file `<root>/<namespace>/<rel>`. `Ok(false)` when it (or its directory,
    /// or the namespace directory) does not exist. A symbolic link is refused, never followed
    /// (and a link swapped in at the last moment is removed itself, its target untouched); a
    /// directory or any other non-regular file is refused.
    pub fn remove(&self, namespace: &str, rel: &str) -> Result<bool, TenantFsError> {
        let rel = Self::prepare(namespace, rel)?;
        let root = self.open_root()?;
        let mut dir = match self.open_dir(root.as_fd(), namespace, ".") {
            Ok(fd) => fd,
            Err(TenantFsError::NotFound { .. }) => return Ok(false),
            Err(e) => return Err(e),
        };
        for (i, name) in rel.dirs().into_iter().enumerate() {
            dir = match self.open_dir(dir.as_fd(), name, &rel.prefix(i + 1)) {
                Ok(fd) => fd,
                Err(TenantFsError::NotFound { .. }) => return Ok(false),
                Err(e) => return Err(e),
            };
        }
        let shown = rel.as_str();
        let name = rel.file_name();
        if !self.expect_regular_file(dir.as_fd(), name, shown)? {
            return Ok(false);
        }
        // unlinkat never follows a link, and refuses a directory without AT_REMOVEDIR.
        match rustix::fs::unlinkat(dir.as_fd(), name, AtFlags::empty()) {
            Ok(()) => Ok(true),
            Err(Errno::NOENT) => Ok(false),
            Err(Errno::ISDIR) => Err(TenantFsError::NotRegularFile {
                path: shown.to_string(),
                kind: sys::kind_name(FileType::Directory),
            }),
            Err(e) => Err(TenantFsError::io(shown, "unlink", e)),
        }
    }

    fn prepare(namespace: &str, rel: &str) -> Result<RelPath, TenantFsError> {
        path::check_namespace(namespace)?;
        path::check_relative(rel)
    }

    /// The root, opened as a directory. The root is the operator's and may be reached through
    /// links; nothing below it is.
    fn open_root(&self) -> Result<OwnedFd, TenantFsError> {
        rustix::fs::open(&self.root, DIR_FLAGS.difference(OFlags::NOFOLLOW), Mode::empty())
            .map_err(|e| TenantFsError::io(".", "open root", e))
    }

    /// Open the directory `name` of `parent`; `shown` names it in errors.
    fn open_dir(&self, parent: BorrowedFd<'_>, name: &str, shown: &str) -> Result<OwnedFd, TenantFsError> {
        sys::open_beneath(parent, name, DIR_FLAGS, Mode::empty(), self.resolver)
            .map_err(|e| self.open_error(parent, name, shown, e))
    }

    /// Create the directory `name` of `parent` (mode 0700) if it is missing, and open it.
    fn make_dir(&self, parent: BorrowedFd<'_>, name: &str, shown: &str) -> Result<OwnedFd, TenantFsError> {
        match rustix::fs::mkdirat(parent, name, Mode::RWXU) {
            // EEXIST: made concurrently, or a link or file is there; the open tells which.
            Ok(()) | Err(Errno::EXIST) => {}
            Err(e) => return Err(TenantFsError::io(shown, "mkdir", e)),
        }
        self.open_dir(parent, name, shown)
    }

    /// Open the regular file `name` of `dir` for reading, without following a link and without
    /// blocking, and check with `fstat` that it is a regular file.
    fn open_file(&self, dir: BorrowedFd<'_>, name: &str, shown: &str) -> Result<OwnedFd, TenantFsError> {
        let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY;
        let fd = sys::open_beneath(dir, name, flags, Mode::empty(), self.resolver)
            .map_err(|e| self.open_error(dir, name, shown, e))?;
        let (kind, _) = sys::fstat(fd.as_fd()).map_err(|e| TenantFsError::io(shown, "stat", e))?;
        if kind != FileType::RegularFile {
            return Err(TenantFsError::NotRegularFile {
                path: shown.to_string(),
                kind: sys::kind_name(kind),
            });
        }
        // O_NONBLOCK stays set: it has no effect on a regular file.
        Ok(fd)
    }

    /// `true` if `name` of `dir` is a regular file, `false` if it does not exist, an error for a
    /// link or anything else. Nothing is opened.
    fn expect_regular_file(
        &self,
        dir: BorrowedFd<'_>,
        name: &str,
        shown: &str,
    ) -> Result<bool, TenantFsError> {
        match sys::type_of(dir, name) {
            Ok(None) => Ok(false),
            Ok(Some(FileType::RegularFile)) => Ok(true),
            Ok(Some(FileType::Symlink)) => Err(TenantFsError::Symlink {
                path: shown.to_string(),
            }),
            Ok(Some(kind)) => Err(TenantFsError::NotRegularFile {
                path: shown.to_string(),
                kind: sys::kind_name(kind),
            }),
            Err(e) => Err(TenantFsError::io(shown, "stat", e)),
        }
    }

    /// The error of opening `name` of `parent` with `O_NOFOLLOW` (and the `RESOLVE_*` flags).
    fn open_error(&self, parent: BorrowedFd<'_>, name: &str, shown: &str, e: Errno) -> TenantFsError {
        match e {
            Errno::NOENT => TenantFsError::NotFound {
                path: shown.to_string(),
            },
            Errno::LOOP => TenantFsError::Symlink {
                path: shown.to_string(),
            },
            Errno::XDEV => TenantFsError::Escapes {
                path: shown.to_string(),
            },
            // O_DIRECTORY | O_NOFOLLOW on a link gives ENOTDIR, as on a file: look which.
            Errno::NOTDIR => match sys::type_of(parent, name) {
                Ok(Some(FileType::Symlink)) => TenantFsError::Symlink {
                    path: shown.to_string(),
                },
                _ => TenantFsError::NotADirectory {
                    path: shown.to_string(),
                },
            },
            e => TenantFsError::io(shown, "open", e),
        }
    }

    /// Refuse a new file when the namespace already holds the maximum number of regular files.
    fn ensure_room(&self, namespace: &str, ns_dir: Option<BorrowedFd<'_>>) -> Result<(), TenantFsError> {
        let limit = self.max_files_per_namespace;
        let count = match ns_dir {
            Some(dir) => sys::count_files(dir, limit, MAX_COUNT_DEPTH, self.resolver)
                .map_err(|e| TenantFsError::io(".", "count files", e))?,
            None => 0,
        };
        if count >= limit {
            return Err(TenantFsError::TooManyFiles {
                namespace: namespace.to_string(),
                limit,
            });
        }
        Ok(())
    }

    /// Create a new temporary file (mode 0600, `O_EXCL`) in `dir`.
    fn create_temp<'a>(
        &self,
        dir: BorrowedFd<'a>,
        shown: &str,
    ) -> Result<(TempFile<'a>, OwnedFd), TenantFsError> {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL;
        let mut attempts = 0;
        loop {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0);
            let name = format!(
                "{TEMP_PREFIX}{}-{}-{nanos}.tmp",
                std::process::id(),
                SEQ.fetch_add(1, Ordering::Relaxed)
            );
            let mode = Mode::RUSR | Mode::WUSR;
            match sys::open_beneath(dir, name.as_str(), flags, mode, self.resolver) {
                Ok(fd) => return Ok((TempFile::new(dir, name), fd)),
                Err(Errno::EXIST) if attempts < 16 => attempts += 1,
                Err(e) => return Err(TenantFsError::io(shown, "create temporary file for", e)),
            }
        }
    }
}

/// The writer handed to [`TenantDir::write_atomic`]'s closure: refuses any write that would take
/// the content past the limit, and remembers that it did.
struct Bounded<W> {
    inner: W,
    written: u64,
    limit: u64,
    exceeded: bool,
}

impl<W: Write> Write for Bounded<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let len = u64::try_from(buf.len()).unwrap_or(u64::MAX);
        if self.exceeded || self.written.saturating_add(len) > self.limit {
            self.exceeded = true;
            return Err(std::io::Error::new(
                std::io::ErrorKind::FileTooLarge,
                format!("the content is larger than the limit of {} bytes", self.limit),
            ));
        }
        let n = self.inner.write(buf)?;
        self.written = self.written.saturating_add(u64::try_from(n).unwrap_or(u64::MAX));
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
