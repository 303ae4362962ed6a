//! The system calls, one path component at a time, relative to an open directory descriptor.
//!
//! Every name handed to these functions is a single validated component (no `/`, never `.` or
//! `..`), and every open carries `O_NOFOLLOW`: a symbolic link as the component is refused, and a
//! directory swapped for a symbolic link after it was opened does not matter, because the next
//! step is relative to the descriptor, not to a path. Where the kernel has `openat2`, each open
//! also carries `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS`, so the kernel
//! itself refuses anything that leaves the directory or crosses a link.

use std::sync::atomic::{AtomicU8, Ordering};

use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::fs::{AtFlags, FileType, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;
use rustix::path::Arg;

/// How directories and files are opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resolver {
    /// `openat2` with the `RESOLVE_*` flags, `openat` with `O_NOFOLLOW` where the kernel (or a
    /// seccomp filter) refuses `openat2`.
    Auto,
    /// `openat` with `O_NOFOLLOW` only (the fallback; the tests run every case both ways).
    #[cfg_attr(not(test), allow(dead_code))]
    OpenatOnly,
}

const OPENAT2_UNKNOWN: u8 = 0;
const OPENAT2_YES: u8 = 1;
const OPENAT2_NO: u8 = 2;
static OPENAT2: AtomicU8 = AtomicU8::new(OPENAT2_UNKNOWN);

/// Flags of every directory open.
pub(crate) const DIR_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::DIRECTORY)
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC);

/// Open the single component `name` of `dir`, never following a symbolic link.
pub(crate) fn open_beneath<P: Arg + Copy>(
    dir: BorrowedFd<'_>,
    name: P,
    flags: OFlags,
    mode: Mode,
    resolver: Resolver,
) -> Result<OwnedFd, Errno> {
    let flags = flags | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    if resolver == Resolver::Auto && OPENAT2.load(Ordering::Relaxed) != OPENAT2_NO {
        let resolve = ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS;
        match rustix::fs::openat2(dir, name, flags, mode, resolve) {
            Err(Errno::NOSYS) => OPENAT2.store(OPENAT2_NO, Ordering::Relaxed),
            // Container runtimes with an old seccomp profile answer EPERM for system calls they
            // do not know. The fallback is as safe for one component, and a genuine EPERM comes
            // back from it again.
            Err(Errno::PERM) => {}
            other => {
                OPENAT2.store(OPENAT2_YES, Ordering::Relaxed);
                return other;
            }
        }
    }
    rustix::io::retry_on_intr(|| rustix::fs::openat(dir, name, flags, mode))
}

/// Whether `openat2` has been used successfully (for the tests).
#[cfg(test)]
pub(crate) fn openat2_used() -> bool {
    OPENAT2.load(Ordering::Relaxed) == OPENAT2_YES
}

/// The type of `name` in `dir`, without following a symbolic link; `None` if it does not exist.
pub(crate) fn type_of<P: Arg>(dir: BorrowedFd<'_>, name: P) -> Result<Option<FileType>, Errno> {
    match rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) => Ok(Some(FileType::from_raw_mode(st.st_mode))),
        Err(Errno::NOENT) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The type and size of an open file.
pub(crate) fn fstat(fd: BorrowedFd<'_>) -> Result<(FileType, u64), Errno> {
    let st = rustix::fs::fstat(fd)?;
    Ok((
        FileType::from_raw_mode(st.st_mode),
        u64::try_from(st.st_size).unwrap_or(0),
    ))
}

/// A word for a file type, for messages.
pub(crate) fn kind_name(t: FileType) -> &'static str {
    match t {
        FileType::RegularFile => "regular file",
        FileType::Directory => "directory",
        FileType::Symlink => "symbolic link",
        FileType::Fifo => "FIFO",
        FileType::Socket => "socket",
        FileType::CharacterDevice => "character device",
        FileType::BlockDevice => "block device",
        FileType::Unknown => "file of unknown type",
    }
}

/// Count the regular files in the tree of `dir`, stopping at `limit`. Symbolic links are neither
/// followed nor counted; directories are opened like every other directory (`O_NOFOLLOW`, one
/// component at a time) down to `max_depth` levels.
pub(crate) fn count_files(
    dir: BorrowedFd<'_>,
    limit: usize,
    max_depth: usize,
    resolver: Resolver,
) -> Result<usize, Errno> {
    if limit == 0 {
        return Ok(0);
    }
    let first = open_beneath(dir, ".", DIR_FLAGS, Mode::empty(), Resolver::OpenatOnly)?;
    let mut stack = vec![rustix::fs::Dir::new(first)?];
    let mut count = 0usize;
    loop {
        let depth = stack.len();
        let Some(top) = stack.last_mut() else {
            break;
        };
        let entry = match top.read() {
            None => {
                stack.pop();
                continue;
            }
            Some(entry) => entry?,
        };
        let name = entry.file_name();
        if name.to_bytes() == b"." || name.to_bytes() == b".." {
            continue;
        }
        let parent = top.fd()?;
        let kind = match entry.file_type() {
            FileType::Unknown => match type_of(parent, name)? {
                Some(kind) => kind,
                None => continue,
            },
            kind => kind,
        };
        let sub = match kind {
            FileType::RegularFile => {
                count += 1;
                if count >= limit {
                    return Ok(count);
                }
                None
            }
            FileType::Directory if depth < max_depth => {
                match open_beneath(parent, name, DIR_FLAGS, Mode::empty(), resolver) {
                    Ok(fd) => Some(fd),
                    // Removed or replaced since it was listed.
                    Err(Errno::NOENT | Errno::NOTDIR | Errno::LOOP) => None,
                    Err(e) => return Err(e),
                }
            }
            _ => None,
        };
        if let Some(fd) = sub {
            stack.push(rustix::fs::Dir::new(fd)?);
        }
    }
    Ok(count)
}

/// Removes a temporary file when dropped, unless [`TempFile::keep`] was called: on every error
/// path and on a panic of the writer.
pub(crate) struct TempFile<'a> {
    pub(crate) dir: BorrowedFd<'a>,
    pub(crate) name: String,
    armed: bool,
}

impl<'a> TempFile<'a> {
    pub(crate) fn new(dir: BorrowedFd<'a>, name: String) -> Self {
        TempFile {
            dir,
            name,
            armed: true,
        }
    }

    pub(crate) fn keep(mut self) {
        self.armed = false;
    }
}

impl Drop for TempFile<'_> {
    fn drop(&mut self) {
        if self.armed {
            let _ = rustix::fs::unlinkat(self.dir.as_fd(), self.name.as_str(), AtFlags::empty());
        }
    }
}
