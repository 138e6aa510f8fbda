//! The default store, prepared once per binary: loading the embedded seed (parse, check,
//! insert, indexes, baseline) costs several times what the rest of a start does, and the
//! file it makes is the same on every start of one binary. The first start of a binary
//! keeps a copy of that file (an *image*) in the user's cache folder
//! (`$XDG_CACHE_HOME/qualys-mock`, else `~/.cache/qualys-mock`); later starts copy the image
//! into their private file and write only when their baseline was made.
//!
//! - An image is named for the binary that made it (its version, the schema version, and
//!   the executable's size, modification time and inode): a rebuilt or another binary never
//!   reads an image it did not make.
//! - It is written under a temporary name and renamed into place, so starts at the same
//!   moment read a whole image or none (two first starts both write one; the same bytes).
//! - It is used only from a folder of this user's that no one else may write, and only if
//!   it is this user's file that no one else may write: a store copied from a file someone
//!   else could plant would serve their data.
//! - Any trouble — no home folder, a read-only or full file system, an image that is not a
//!   complete store of this schema — and the start loads the seed as before: the cache can
//!   make a start faster, never make it fail.
//! - The folder keeps the images of the last few binaries ([`KEEP`]); older ones are
//!   removed when a new one is written.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// How many images (of as many binaries) the cache folder keeps.
const KEEP: usize = 4;

const PREFIX: &str = "default-";
const SUFFIX: &str = ".sqlite";

/// Where the default store's prepared image is kept (`--store-cache`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum StoreCache {
    /// The user's cache folder: `$XDG_CACHE_HOME/qualys-mock`, else `~/.cache/qualys-mock`.
    #[default]
    User,
    /// This folder (made if missing); used only if it is this user's and no one else may
    /// write it, as the user's cache folder.
    Dir(PathBuf),
    /// No image: every start loads the seed, and nothing is written outside the temporary
    /// folder.
    Off,
}

/// Where this binary's image of the default store is, or would be.
#[derive(Debug, Clone)]
pub(super) struct ImageCache {
    dir: PathBuf,
    name: String,
}

impl ImageCache {
    /// This binary's image in the user's cache folder (made if missing). `None` where there
    /// is no such folder of this user's own, or the binary cannot be told apart from others.
    pub(super) fn for_this_binary(setting: &StoreCache) -> Option<ImageCache> {
        let dir = match setting {
            StoreCache::Off => return None,
            StoreCache::Dir(dir) => dir.clone(),
            StoreCache::User => match std::env::var_os("XDG_CACHE_HOME").map(PathBuf::from) {
                Some(dir) if dir.is_absolute() => dir,
                _ => PathBuf::from(std::env::var_os("HOME")?).join(".cache"),
            }
            .join("qualys-mock"),
        };
        let cache = ImageCache::in_dir(&dir, &binary_key()?);
        if cache.is_none() && matches!(setting, StoreCache::Dir(_)) {
            tracing::warn!(
                "the store cache folder {} cannot be used (it must be this user's, and no one \
                 else may write it); the default seed is loaded without it",
                dir.display()
            );
        }
        cache
    }

    /// The image named `key` in `dir` (made if missing), if `dir` is this user's own and
    /// no one else may write it.
    pub(super) fn in_dir(dir: &Path, key: &str) -> Option<ImageCache> {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(dir).ok()?;
        let meta = std::fs::metadata(dir).ok()?;
        (meta.is_dir() && owned_by_us(&meta)).then(|| ImageCache {
            dir: dir.to_owned(),
            name: format!("{PREFIX}{key}{SUFFIX}"),
        })
    }

    pub(super) fn path(&self) -> PathBuf {
        self.dir.join(&self.name)
    }

    /// Copy the image into `to` (an empty file): `false` when there is none, or it is not
    /// this user's own, or the copy failed.
    pub(super) fn copy_to(&self, to: &Path) -> bool {
        let Ok(mut image) = File::open(self.path()) else {
            return false;
        };
        let trusted = image
            .metadata()
            .is_ok_and(|m| m.is_file() && m.len() > 0 && owned_by_us(&m));
        if !trusted {
            return false;
        }
        let copied = OpenOptions::new()
            .write(true)
            .open(to)
            .and_then(|mut out| std::io::copy(&mut image, &mut out));
        match copied {
            Ok(_) => true,
            Err(e) => {
                tracing::debug!("cannot copy the prepared default store: {e}");
                false
            }
        }
    }

    /// Keep a copy of `from` (a complete store file, not being written) as the image.
    /// Failures are logged at debug level and otherwise ignored.
    pub(super) fn keep(&self, from: &Path) {
        let tmp = self.dir.join(format!(
            ".{}.{}-{}.tmp",
            self.name,
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        let written = (|| -> std::io::Result<()> {
            let mut source = File::open(from)?;
            let mut options = OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut out = options.open(&tmp)?;
            std::io::copy(&mut source, &mut out)?;
            out.flush()?;
            std::fs::rename(&tmp, self.path())
        })();
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            tracing::debug!(
                "cannot keep the prepared default store in {}: {e}",
                self.dir.display()
            );
            return;
        }
        self.prune();
    }

    /// Remove all but the [`KEEP`] newest images (this one always kept), and temporary
    /// files of writes that were stopped long ago.
    fn prune(&self) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let mut images = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Ok(modified) = entry.metadata().and_then(|m| m.modified()) else {
                continue;
            };
            if name.starts_with(&format!(".{PREFIX}")) && name.ends_with(".tmp") {
                let old = modified
                    .elapsed()
                    .is_ok_and(|age| age > std::time::Duration::from_secs(3600));
                if old {
                    let _ = std::fs::remove_file(entry.path());
                }
            } else if name.starts_with(PREFIX) && name.ends_with(SUFFIX) && name != self.name {
                images.push((modified, entry.path()));
            }
        }
        images.sort();
        let excess = images.len().saturating_sub(KEEP - 1);
        for (_, path) in images.into_iter().take(excess) {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// What tells this binary from any other: its version, the schema version, and the
/// executable file's size, modification time and inode.
#[cfg(unix)]
fn binary_key() -> Option<String> {
    use std::os::unix::fs::MetadataExt as _;
    let exe = std::env::current_exe().ok()?;
    let meta = std::fs::metadata(exe).ok()?;
    let modified = meta
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_nanos();
    Some(format!(
        "{}-s{}-{:x}-{:x}-{:x}-{:x}",
        env!("CARGO_PKG_VERSION"),
        super::SCHEMA_VERSION,
        meta.len(),
        modified,
        meta.dev(),
        meta.ino()
    ))
}

#[cfg(not(unix))]
fn binary_key() -> Option<String> {
    None
}

/// Whether a file or folder is this user's and no one else may write it (never, where
/// that cannot be told).
#[cfg(not(unix))]
fn owned_by_us(_: &std::fs::Metadata) -> bool {
    false
}

/// Whether a file or folder is this user's and no one else may write it.
#[cfg(unix)]
fn owned_by_us(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt as _;
    // The owner of this process's /proc entry is its effective user.
    let Ok(me) = std::fs::metadata("/proc/self") else {
        return false;
    };
    meta.uid() == me.uid() && meta.mode() & 0o022 == 0
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn an_image_is_kept_whole_copied_back_and_old_ones_pruned() {
        let dir = tempfile::tempdir().unwrap();
        let cache_dir = dir.path().join("cache");
        let source = dir.path().join("store.db");
        std::fs::write(&source, b"the store's bytes").unwrap();
        for i in 0..KEEP + 2 {
            let cache = ImageCache::in_dir(&cache_dir, &format!("k{i}")).unwrap();
            cache.keep(&source);
        }
        let mut left: Vec<String> = std::fs::read_dir(&cache_dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left.len(), KEEP, "{left:?}");
        assert!(
            left.contains(&format!("{PREFIX}k{}{SUFFIX}", KEEP + 1)),
            "{left:?}"
        );
        let cache = ImageCache::in_dir(&cache_dir, &format!("k{}", KEEP + 1)).unwrap();
        let to = dir.path().join("private.db");
        std::fs::write(&to, b"").unwrap();
        assert!(cache.copy_to(&to));
        assert_eq!(std::fs::read(&to).unwrap(), b"the store's bytes");
        // No image of this key: nothing copied.
        let other = ImageCache::in_dir(&cache_dir, "never-kept").unwrap();
        assert!(!other.copy_to(&to));
    }

    #[test]
    fn a_folder_or_image_others_may_write_is_not_used() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let shared = dir.path().join("shared");
        std::fs::create_dir(&shared).unwrap();
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(ImageCache::in_dir(&shared, "k").is_none());

        let own = dir.path().join("own");
        let cache = ImageCache::in_dir(&own, "k").unwrap();
        let source = dir.path().join("store.db");
        std::fs::write(&source, b"bytes").unwrap();
        cache.keep(&source);
        let to = dir.path().join("private.db");
        std::fs::write(&to, b"").unwrap();
        assert!(cache.copy_to(&to));
        std::fs::set_permissions(cache.path(), std::fs::Permissions::from_mode(0o666)).unwrap();
        assert!(!cache.copy_to(&to), "an image anyone may write was used");
    }
}
