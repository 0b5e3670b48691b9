//! Whether a tray is running for this user: the tray holds an exclusive lock on a file in the
//! state folder for as long as it runs, and the other fronts test it. A crashed tray leaves no
//! stale answer, since the kernel drops the lock with the process.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use crate::core::paths::Paths;

/// Held by the tray while it runs.
pub struct TrayPresence(#[allow(dead_code)] File);

fn lock_path(paths: &Paths) -> PathBuf {
    paths.state_dir.join("tray.lock")
}

fn open(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.create(true).truncate(false).write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
        options.mode(0o600).custom_flags(libc::O_NOFOLLOW);
        if let Some(dir) = path.parent() {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)?;
        }
    }
    #[cfg(not(unix))]
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    options.open(path)
}

impl TrayPresence {
    /// Announces the tray; `None` when the lock cannot be taken (the fronts then say less).
    pub fn hold(paths: &Paths) -> Option<TrayPresence> {
        let file = open(&lock_path(paths)).ok()?;
        file.try_lock().ok()?;
        Some(TrayPresence(file))
    }
}

/// Whether a tray holds its lock now.
pub fn tray_running(paths: &Paths) -> bool {
    let Ok(file) = File::open(lock_path(paths)) else {
        return false;
    };
    match file.try_lock_shared() {
        Ok(()) => {
            let _ = file.unlock();
            false
        }
        Err(TryLockError::WouldBlock) => true,
        Err(TryLockError::Error(_)) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_means_a_tray_runs_and_dropping_it_ends_that() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::under(dir.path());
        assert!(!tray_running(&paths));
        let held = TrayPresence::hold(&paths).expect("lock taken");
        assert!(tray_running(&paths));
        assert!(TrayPresence::hold(&paths).is_none(), "one tray at a time");
        drop(held);
        assert!(!tray_running(&paths));
    }
}
