//! Replacing a file so that readers see the old or the new content, never a mix.

use std::fs;
use std::io::{Seek, Write};
use std::path::{Path, PathBuf};

use crate::core::error::{Error, Result};

/// A replacement made ready before its content is known: the temporary file exists beside the
/// target, mode 0600, with room for `reserve` bytes written and synced. A write that cannot happen
/// (read-only folder, full disk) fails here, before anything irreversible is done.
pub struct Prepared {
    target: PathBuf,
    tmp: PathBuf,
    file: Option<fs::File>,
}

impl Prepared {
    pub fn create(path: &Path, reserve: usize) -> Result<Prepared> {
        Self::create_with(path, reserve, || ())
    }

    /// `after_cleanup` runs between the removal of a leftover and the creation (tests plant there).
    fn create_with(path: &Path, reserve: usize, after_cleanup: impl FnOnce()) -> Result<Prepared> {
        let dir = path.parent().unwrap_or(Path::new("."));
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
        // A leftover of ours (same pid, earlier crash) is replaced; `create_new` then refuses
        // anything planted in between, a symlink included, so the body goes nowhere else.
        let _ = fs::remove_file(&tmp);
        after_cleanup();
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut prepared = Prepared {
            target: path.to_path_buf(),
            tmp: tmp.clone(),
            file: None,
        };
        let mut file = crate::core::permissions::open_private(&mut options, &tmp)
            .map_err(|e| Error::io(path, e))?;
        prepared.file = Some(fs::File::try_clone(&file).map_err(|e| Error::io(path, e))?);
        // Zeros, not `set_len`: a sparse file would reserve nothing.
        (|| {
            file.write_all(&vec![0u8; reserve])?;
            file.sync_all()
        })()
        .map_err(|e| Error::io(path, e))?;
        Ok(prepared)
    }

    /// Writes `body` into the prepared file and renames it over the target. `before_rename` lets
    /// tests stop there. On failure the target is untouched and the temporary file removed.
    pub fn commit(
        mut self,
        body: &[u8],
        before_rename: impl FnOnce() -> std::io::Result<()>,
    ) -> Result<()> {
        let Some(mut f) = self.file.take() else {
            return Err(Error::io(
                &self.target,
                std::io::Error::other("already used"),
            ));
        };
        let result = (|| {
            f.rewind()?;
            f.write_all(body)?;
            f.set_len(body.len() as u64)?;
            f.sync_all()?;
            before_rename()?;
            fs::rename(&self.tmp, &self.target)
        })();
        result.map_err(|e| Error::io(&self.target, e))
    }
}

impl Drop for Prepared {
    fn drop(&mut self) {
        // After a successful rename the name is gone and this does nothing.
        let _ = fs::remove_file(&self.tmp);
    }
}

/// Replaces `path` with `body` the way a crash cannot half-do: a temporary file in the same
/// folder, mode 0600, synced, then renamed over the original. `before_rename` lets tests stop there.
pub fn write_atomically(
    path: &Path,
    body: &[u8],
    before_rename: impl FnOnce() -> std::io::Result<()>,
) -> Result<()> {
    Prepared::create(path, 0)?.commit(body, before_rename)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_crash_before_rename_leaves_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.json");
        fs::write(&p, b"old").unwrap();
        let err = write_atomically(&p, b"new", || Err(std::io::Error::other("simulated crash")));
        assert!(err.is_err());
        assert_eq!(fs::read(&p).unwrap(), b"old");
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary file left behind"
        );
        write_atomically(&p, b"new", || Ok(())).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"new");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                fs::metadata(&p).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
    }

    #[test]
    fn a_prepared_write_reserves_room_then_holds_exactly_the_body() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.json");
        let prepared = Prepared::create(&p, 8192).unwrap();
        let tmp = dir
            .path()
            .join(format!(".t.json.{}.tmp", std::process::id()));
        assert_eq!(fs::metadata(&tmp).unwrap().len(), 8192);
        prepared.commit(b"{}", || Ok(())).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"{}");
        assert!(!tmp.exists());
        // Dropped unused: nothing is left behind.
        drop(Prepared::create(&p, 16).unwrap());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        // A folder that cannot take the file fails before any content exists.
        assert!(Prepared::create(&dir.path().join("no/such/dir/t.json"), 16).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_planted_after_the_cleanup_is_refused() {
        // Issue 12 #15: the old test never reached `create_new`, because the leftover removal took
        // the symlink away first. This one plants it after that step.
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        fs::write(&victim, b"untouched").unwrap();
        let p = dir.path().join("t.json");
        let tmp = dir
            .path()
            .join(format!(".t.json.{}.tmp", std::process::id()));
        let plant = || std::os::unix::fs::symlink(&victim, &tmp).unwrap();
        let err = Prepared::create_with(&p, 0, plant).err().unwrap();
        assert!(
            matches!(&err, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::AlreadyExists),
            "{err}"
        );
        assert_eq!(fs::read(&victim).unwrap(), b"untouched");
        assert!(!p.exists());
        // A leftover symlink at the name is removed, never followed.
        write_atomically(&p, b"secret", || Ok(())).unwrap();
        assert_eq!(fs::read(&victim).unwrap(), b"untouched");
        assert_eq!(fs::read(&p).unwrap(), b"secret");
    }
}
