//! The private file behind a default store: `qualys-mock-<pid>-<random>.db` in the
//! temporary folder, made for one process and removed (with its `-wal` and `-shm`) when the
//! store closes.
//!
//! Beside it stands `…​.lock`, locked (`flock`) for as long as the store lives. A process
//! killed with SIGKILL cannot remove its files; the next store to be made in that folder
//! removes every store file whose lock nobody holds. The lock, not the pid in the name,
//! decides: pids are reused, and servers in containers that share one `/tmp` see each
//! other's files under pids from other namespaces.
//!
//! A lock is never visible unlocked while its store lives: it is made and locked as
//! `…​.locking`, a name sweeps leave alone (unless it is old and free: a process killed in
//! that instant), and only then renamed to `…​.lock`; the store file is made after that.
//! So servers started at the same moment in one folder, each sweeping it, never take each
//! other's files.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

const PREFIX: &str = "qualys-mock-";

/// The suffix of a lock being made (not yet renamed to `.lock`).
const LOCKING: &str = ".locking";

/// How old a free `.locking` file must be before a sweep removes it: far longer than the
/// instant between its creation and its lock.
const STALE_LOCKING: std::time::Duration = std::time::Duration::from_secs(60);

/// A private store file, its lock held until dropped.
pub(super) struct PrivateFile {
    path: PathBuf,
    lock_path: PathBuf,
    /// Held (locked) for the life of the store; closing it releases the lock.
    _lock: File,
}

impl PrivateFile {
    /// A new, empty private file in the temporary folder.
    pub(super) fn new() -> std::io::Result<PrivateFile> {
        PrivateFile::new_in(&std::env::temp_dir())
    }

    /// A new, empty private file in `dir`, after removing the stale ones there.
    pub(super) fn new_in(dir: &Path) -> std::io::Result<PrivateFile> {
        sweep(dir);
        let stem = format!(
            "{PREFIX}{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        );
        let lock_path = dir.join(format!("{stem}.lock"));
        // Locked under a name no sweep takes, then renamed into place: a sweep that opens
        // `.lock` always finds it locked. The store file is made after that, so a sweep
        // never sees a store file whose lock is free while its process lives.
        let locking = dir.join(format!("{stem}{LOCKING}"));
        let lock = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&locking)?;
        let placed = lock
            .try_lock()
            .map_err(std::io::Error::other)
            .and_then(|()| std::fs::rename(&locking, &lock_path));
        if let Err(e) = placed {
            let _ = std::fs::remove_file(&locking);
            return Err(e);
        }
        let path = dir.join(format!("{stem}.db"));
        // Made here, with no one else's content: SQLite opens it as an empty database.
        if let Err(e) = OpenOptions::new().write(true).create_new(true).open(&path) {
            let _ = std::fs::remove_file(&lock_path);
            return Err(e);
        }
        Ok(PrivateFile {
            path,
            lock_path,
            _lock: lock,
        })
    }

    pub(super) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for PrivateFile {
    fn drop(&mut self) {
        remove_store_files(&self.path);
        // Still locked while it goes: no sweep can take it for a stale one first.
        let _ = std::fs::remove_file(&self.lock_path);
    }
}

fn remove_store_files(path: &Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(name));
    }
}

/// The stem (`qualys-mock-<pid>-<32 hex>`) of a private store's file or lock, if `name`
/// is one.
fn stem_of(name: &str) -> Option<&str> {
    let stem = name
        .strip_suffix(".db")
        .or_else(|| name.strip_suffix(".lock"))?;
    ours(stem).then_some(stem)
}

/// Whether `stem` is a private store's (`qualys-mock-<pid>-<32 hex>`).
fn ours(stem: &str) -> bool {
    let Some((pid, nonce)) = stem
        .strip_prefix(PREFIX)
        .and_then(|rest| rest.split_once('-'))
    else {
        return false;
    };
    !pid.is_empty()
        && pid.bytes().all(|b| b.is_ascii_digit())
        && nonce.len() == 32
        && nonce.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Remove the store files in `dir` whose lock nobody holds (or that have no lock), and
/// the locks being made that are old and free (their process was killed in that instant).
fn sweep(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut stems = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            continue;
        };
        if let Some(stem) = stem_of(name) {
            stems.push(stem.to_owned());
        } else if name.strip_suffix(LOCKING).is_some_and(ours) {
            remove_stale_locking(&entry.path());
        }
    }
    stems.sort();
    stems.dedup();
    for stem in stems {
        let lock_path = dir.join(format!("{stem}.lock"));
        let held_by_us = match File::open(&lock_path) {
            Ok(lock) => match lock.try_lock() {
                Ok(()) => Some(lock),
                Err(_) => continue, // a live store's
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(_) => continue,
        };
        remove_store_files(&dir.join(format!("{stem}.db")));
        let _ = std::fs::remove_file(&lock_path);
        drop(held_by_us);
    }
}

/// Remove a `.locking` file nobody holds that is older than [`STALE_LOCKING`]. Its age is
/// a real duration on the file system's clock (its modification time), not the server's
/// clock, which may be set anywhere.
fn remove_stale_locking(path: &Path) {
    let old = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .is_ok_and(|made| {
            made.elapsed()
                .is_ok_and(|age: std::time::Duration| age > STALE_LOCKING)
        });
    if !old {
        return;
    }
    if let Ok(lock) = File::open(path)
        && lock.try_lock().is_ok()
    {
        let _ = std::fs::remove_file(path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_private_file_is_removed_with_its_sidecars_and_its_lock() {
        let dir = tempfile::tempdir().unwrap();
        let file = PrivateFile::new_in(dir.path()).unwrap();
        let wal = PathBuf::from(format!("{}-wal", file.path().display()));
        std::fs::write(&wal, b"x").unwrap();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 3);
        drop(file);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_sweep_removes_files_whose_lock_is_free_and_keeps_live_and_foreign_ones() {
        let dir = tempfile::tempdir().unwrap();
        let live = PrivateFile::new_in(dir.path()).unwrap();
        // A store whose process was killed: its lock file is there, but nobody holds it.
        let dead = "qualys-mock-4242-0123456789abcdef0123456789abcdef";
        for ext in ["db", "db-wal", "lock"] {
            std::fs::write(dir.path().join(format!("{dead}.{ext}")), b"").unwrap();
        }
        // Files that are not a private store's, however alike.
        let foreign = [
            "qualys-mock-notes.db",
            "qualys-mock-12-short.db",
            "qualys-mock-x1-0123456789abcdef0123456789abcdef.db",
        ];
        for name in foreign {
            std::fs::write(dir.path().join(name), b"").unwrap();
        }
        // Locks being made: one from a process killed in that instant long ago (free and
        // old: removed), one of this very moment (kept, though nobody holds it yet).
        let killed = dir
            .path()
            .join("qualys-mock-4243-0123456789abcdef0123456789abcdef.locking");
        let fresh = "qualys-mock-4244-0123456789abcdef0123456789abcdef.locking";
        let old = File::create(&killed).unwrap();
        old.set_modified(std::time::SystemTime::now() - 2 * STALE_LOCKING)
            .unwrap();
        drop(old);
        std::fs::write(dir.path().join(fresh), b"").unwrap();
        let next = PrivateFile::new_in(dir.path()).unwrap();
        assert!(!killed.exists() && dir.path().join(fresh).exists());
        std::fs::remove_file(dir.path().join(fresh)).unwrap();
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert!(left.iter().all(|n| !n.starts_with(dead)), "{left:?}");
        for name in foreign {
            assert!(left.iter().any(|n| n == name), "{left:?}");
        }
        // Both live stores keep their files (the lock is held within this process too).
        assert!(live.path().exists() && next.path().exists());
        assert_eq!(left.len(), foreign.len() + 4, "{left:?}");
    }
    /// Stores made at the same moment in one folder, each sweeping it first, never take
    /// each other's lock or files (the lock must never be visible unlocked).
    #[test]
    fn stores_made_at_once_in_one_folder_never_sweep_each_other() {
        let dir = tempfile::tempdir().unwrap();
        let lost = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    for _ in 0..150 {
                        let file = match PrivateFile::new_in(dir.path()) {
                            Ok(file) => file,
                            Err(_) => {
                                lost.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                                continue;
                            }
                        };
                        // Other threads sweep meanwhile; a live store keeps both files.
                        std::thread::yield_now();
                        let lock = File::open(&file.lock_path);
                        let kept =
                            file.path().exists() && lock.is_ok_and(|lock| lock.try_lock().is_err());
                        if !kept {
                            lost.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        }
                    }
                });
            }
        });
        assert_eq!(
            lost.into_inner(),
            0,
            "stores that lost their files or failed"
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
