//! Who may change a file or folder. Tokens are written, and programs run, only where no other
//! user could have put something of theirs first (a symlink, a file, a replaced folder).

use std::path::Path;

/// Why `path` is not safe for this user, or `Ok` when only the user (or root) can change it.
/// Group write is accepted only for the user's own private group (the usual `umask 002` setup).
#[cfg(unix)]
pub fn private_to_user(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).map_err(|e| format!("it cannot be checked ({e})"))?;
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    if m.uid() != me {
        return Err(format!("it belongs to user id {}, not to you", m.uid()));
    }
    if m.mode() & 0o002 != 0 {
        return Err("any user can write to it".into());
    }
    if m.mode() & 0o020 != 0 && !is_private_group(m.gid(), me) {
        return Err(format!("members of group id {} can write to it", m.gid()));
    }
    Ok(())
}

/// Windows: the owner and DACL, see [`crate::core::windows::acl::private_to_user`].
#[cfg(windows)]
pub fn private_to_user(path: &Path) -> Result<(), String> {
    crate::core::windows::acl::private_to_user(path)
}

/// Why a program file or one of its folders could be changed by someone other than root or the
/// user, or `Ok`. Every ancestor is checked: a writable folder anywhere up the path lets another
/// user swap what lies below it. Root-owned sticky folders (`/tmp`) are accepted, since nobody
/// else can replace an entry in them.
#[cfg(unix)]
pub fn trusted_program_path(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    for p in path.ancestors() {
        if p.as_os_str().is_empty() {
            continue;
        }
        let m =
            std::fs::metadata(p).map_err(|e| format!("{} cannot be checked ({e})", p.display()))?;
        let sticky_root = m.uid() == 0 && m.mode() & 0o1000 != 0 && m.is_dir() && p != path;
        if m.uid() != 0 && m.uid() != me {
            return Err(format!("{} belongs to user id {}", p.display(), m.uid()));
        }
        if m.mode() & 0o002 != 0 && !sticky_root {
            return Err(format!("{} can be changed by any user", p.display()));
        }
        // Group write is fine for root's group (and macOS's admin, which owns Homebrew).
        let trusted_group = m.gid() == 0 || (cfg!(target_os = "macos") && m.gid() == 80);
        if m.mode() & 0o020 != 0 && !trusted_group && !sticky_root {
            return Err(format!(
                "{} can be changed by members of group id {}",
                p.display(),
                m.gid()
            ));
        }
    }
    Ok(())
}

/// Windows: owners and DACLs up the path, see [`crate::core::windows::acl::trusted_program_path`].
#[cfg(windows)]
pub fn trusted_program_path(path: &Path) -> Result<(), String> {
    crate::core::windows::acl::trusted_program_path(path)
}

/// Opens `path` with `options` as a file only this user can read or write (the 0600 rule). On
/// Unix the caller's options carry the mode; on Windows the file's DACL is replaced by an
/// owner-only one before anything is written to it, and a symlink planted at `path` is opened
/// as itself, not followed.
pub fn open_private(
    options: &mut std::fs::OpenOptions,
    path: &Path,
) -> std::io::Result<std::fs::File> {
    #[cfg(windows)]
    {
        use std::os::windows::fs::OpenOptionsExt;
        // GENERIC_READ | GENERIC_WRITE | WRITE_DAC (to replace the DACL); FILE_FLAG_OPEN_REPARSE_POINT.
        options
            .access_mode(0x8000_0000 | 0x4000_0000 | 0x0004_0000)
            .custom_flags(0x0020_0000);
        let file = options.open(path)?;
        crate::core::windows::acl::restrict_file(&file)?;
        Ok(file)
    }
    #[cfg(not(windows))]
    options.open(path)
}

/// A user-private group: the user's primary group, named like the user, with no other members.
#[cfg(unix)]
fn is_private_group(gid: u32, uid: u32) -> bool {
    let Some((user, primary)) = user_of(uid) else {
        return false;
    };
    primary == gid
        && group_of(gid)
            .is_some_and(|(name, members)| name == user && members.iter().all(|m| *m == user))
}

#[cfg(unix)]
fn user_of(uid: u32) -> Option<(String, u32)> {
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: an all-zero passwd is a valid out-parameter; buf outlives the call and its result.
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut out = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the sizes given.
    let rc = unsafe { libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr(), buf.len(), &mut out) };
    if rc != 0 || out.is_null() || pwd.pw_name.is_null() {
        return None;
    }
    // SAFETY: getpwuid_r succeeded, so pw_name points to a NUL-terminated string inside buf.
    let name = unsafe { std::ffi::CStr::from_ptr(pwd.pw_name) };
    Some((name.to_string_lossy().into_owned(), pwd.pw_gid))
}

#[cfg(unix)]
fn group_of(gid: u32) -> Option<(String, Vec<String>)> {
    let mut buf = vec![0 as libc::c_char; 64 * 1024];
    // SAFETY: as in `user_of`.
    let mut grp: libc::group = unsafe { std::mem::zeroed() };
    let mut out = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the sizes given.
    let rc = unsafe { libc::getgrgid_r(gid, &mut grp, buf.as_mut_ptr(), buf.len(), &mut out) };
    if rc != 0 || out.is_null() || grp.gr_name.is_null() {
        return None;
    }
    // SAFETY: getgrgid_r succeeded: gr_name is a C string and gr_mem a NULL-terminated array of them, in buf.
    unsafe {
        let name = std::ffi::CStr::from_ptr(grp.gr_name)
            .to_string_lossy()
            .into_owned();
        let mut members = Vec::new();
        let mut p = grp.gr_mem;
        while !p.is_null() && !(*p).is_null() {
            members.push(std::ffi::CStr::from_ptr(*p).to_string_lossy().into_owned());
            p = p.add(1);
        }
        Some((name, members))
    }
}

// Unix only: mode bits, uids and groups. The DACL checks are tested in core/windows.
#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn writable_by_others_is_not_private() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("cache");
        fs::create_dir(&d).unwrap();
        fs::set_permissions(&d, fs::Permissions::from_mode(0o700)).unwrap();
        assert_eq!(private_to_user(&d), Ok(()));
        fs::set_permissions(&d, fs::Permissions::from_mode(0o777)).unwrap();
        assert_eq!(private_to_user(&d), Err("any user can write to it".into()));
        // A group that is not the user's private group (here: a group id no user is named after).
        fs::set_permissions(&d, fs::Permissions::from_mode(0o770)).unwrap();
        // Changing a folder's group to one we are not in needs root, which the test suites run as.
        if std::os::unix::fs::chown(&d, None, Some(54321)).is_ok() {
            assert!(private_to_user(&d).unwrap_err().contains("group id 54321"));
        }
    }

    #[test]
    fn every_ancestor_of_a_program_is_checked() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("a/b");
        fs::create_dir_all(&bin).unwrap();
        let prog = bin.join("aws");
        fs::write(&prog, "#!/bin/sh\n").unwrap();
        for p in [dir.path(), &dir.path().join("a"), &bin] {
            fs::set_permissions(p, fs::Permissions::from_mode(0o755)).unwrap();
        }
        assert_eq!(
            trusted_program_path(&prog),
            Ok(()),
            "/tmp is root-owned and sticky"
        );
        fs::set_permissions(dir.path().join("a"), fs::Permissions::from_mode(0o777)).unwrap();
        let err = trusted_program_path(&prog).unwrap_err();
        assert!(err.ends_with("/a can be changed by any user"), "{err}");
    }
}
