//! Who may read or change a file on Windows, from its owner and DACL: the counterpart of the
//! mode bits and owners that `permissions` and `read` check on Unix, and of mode 0600 for the
//! files this app writes (an owner-only, protected DACL).
//!
//! Trusted besides the user: `SYSTEM`, `Administrators` and `TrustedInstaller`, as root is on
//! Unix; anyone who is one of them can change any file anyway.

use std::ffi::c_void;
use std::path::Path;

use windows_sys::Win32::Foundation::{CloseHandle, LocalFree, HANDLE};
use windows_sys::Win32::Security::Authorization::{
    ConvertStringSidToSidW, GetNamedSecurityInfoW, SetNamedSecurityInfoW, SetSecurityInfo,
    SE_FILE_OBJECT,
};
use windows_sys::Win32::Security::{
    AddAccessAllowedAceEx, CreateWellKnownSid, GetAce, GetLengthSid, GetTokenInformation,
    InitializeAcl, IsValidSid, TokenUser, WinBuiltinAdministratorsSid, WinLocalSystemSid,
    ACCESS_ALLOWED_ACE, ACE_HEADER, ACL, ACL_REVISION, CONTAINER_INHERIT_ACE,
    DACL_SECURITY_INFORMATION, INHERIT_ONLY_ACE, OBJECT_INHERIT_ACE, OWNER_SECURITY_INFORMATION,
    PROTECTED_DACL_SECURITY_INFORMATION, PSID, TOKEN_QUERY, TOKEN_USER, WELL_KNOWN_SID_TYPE,
};
use windows_sys::Win32::Storage::FileSystem::{
    DELETE, FILE_ALL_ACCESS, FILE_APPEND_DATA, FILE_DELETE_CHILD, FILE_WRITE_DATA, WRITE_DAC,
    WRITE_OWNER,
};
use windows_sys::Win32::System::Threading::{GetCurrentProcess, OpenProcessToken};

const GENERIC_WRITE: u32 = 0x4000_0000;
const GENERIC_ALL: u32 = 0x1000_0000;
/// Rights that let a holder change what the object is: its content, its entries (a folder),
/// its name, or its DACL and owner.
const WRITE_RIGHTS: u32 = FILE_WRITE_DATA
    | FILE_APPEND_DATA
    | FILE_DELETE_CHILD
    | DELETE
    | WRITE_DAC
    | WRITE_OWNER
    | GENERIC_WRITE
    | GENERIC_ALL;
/// For a folder above a program's own folder, only what replaces an existing entry counts:
/// deleting or renaming children or the folder, or taking over its DACL or owner. Adding entries
/// does not change the path: every signed-in user may create folders in `C:\`, and Windows then
/// still lets nobody but the administrators rename `C:\Program Files`.
const ANCESTOR_RIGHTS: u32 = FILE_DELETE_CHILD | DELETE | WRITE_DAC | WRITE_OWNER | GENERIC_ALL;
const ACCESS_ALLOWED: u8 = 0;
const TRUSTED_INSTALLER: &str = "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464";

/// A security identifier, as its bytes (byte equality is SID equality).
#[derive(Clone, PartialEq, Eq)]
pub struct Sid(Vec<u8>);

impl Sid {
    /// Copies the SID at `p`.
    ///
    /// # Safety
    /// `p` is null or points to memory holding a SID for the duration of the call.
    unsafe fn copy_from(p: PSID) -> Option<Sid> {
        // SAFETY: the caller's promise; IsValidSid checks the structure before its length is read.
        unsafe {
            if p.is_null() || IsValidSid(p) == 0 {
                return None;
            }
            let len = GetLengthSid(p) as usize;
            Some(Sid(std::slice::from_raw_parts(p.cast::<u8>(), len).to_vec()))
        }
    }

    fn as_psid(&self) -> PSID {
        self.0.as_ptr().cast_mut().cast::<c_void>()
    }

    /// The user this process runs as.
    pub fn current_user() -> std::io::Result<Sid> {
        let mut token: HANDLE = std::ptr::null_mut();
        // SAFETY: the pseudo-handle of this process needs no closing; `token` is an out-parameter.
        if unsafe { OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &mut token) } == 0 {
            return Err(std::io::Error::last_os_error());
        }
        let mut buf = vec![0u64; 128]; // 1 KiB, aligned for TOKEN_USER
        let mut len = 0u32;
        // SAFETY: `buf` is writable for the size given; `len` is an out-parameter.
        let ok = unsafe {
            GetTokenInformation(
                token,
                TokenUser,
                buf.as_mut_ptr().cast(),
                (buf.len() * 8) as u32,
                &mut len,
            )
        };
        // SAFETY: `token` was opened above.
        unsafe { CloseHandle(token) };
        if ok == 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: on success `buf` starts with a TOKEN_USER whose SID points inside `buf`.
        let user = unsafe { &*buf.as_ptr().cast::<TOKEN_USER>() };
        // SAFETY: as above.
        unsafe { Sid::copy_from(user.User.Sid) }
            .ok_or_else(|| std::io::Error::other("the process token has no valid user SID"))
    }

    fn well_known(kind: WELL_KNOWN_SID_TYPE) -> Option<Sid> {
        let mut buf = vec![0u8; 68]; // SECURITY_MAX_SID_SIZE
        let mut len = buf.len() as u32;
        // SAFETY: `buf` is writable for `len` bytes.
        let ok = unsafe {
            CreateWellKnownSid(
                kind,
                std::ptr::null_mut(),
                buf.as_mut_ptr().cast(),
                &mut len,
            )
        };
        (ok != 0).then(|| {
            buf.truncate(len as usize);
            Sid(buf)
        })
    }

    fn parse(text: &str) -> Option<Sid> {
        let wide: Vec<u16> = text.encode_utf16().chain(Some(0)).collect();
        let mut p: PSID = std::ptr::null_mut();
        // SAFETY: `wide` is NUL-terminated; `p` is an out-parameter freed with LocalFree below.
        if unsafe { ConvertStringSidToSidW(wide.as_ptr(), &mut p) } == 0 {
            return None;
        }
        // SAFETY: `p` holds the SID just made.
        let sid = unsafe { Sid::copy_from(p) };
        // SAFETY: allocated by ConvertStringSidToSidW.
        unsafe { LocalFree(p) };
        sid
    }
}

/// The user plus the accounts that administer the machine.
struct Trusted {
    me: Sid,
    admins: Vec<Sid>,
}

impl Trusted {
    fn new() -> Result<Trusted, String> {
        let me = Sid::current_user().map_err(|e| format!("your user cannot be found ({e})"))?;
        let admins = [
            Sid::well_known(WinLocalSystemSid),
            Sid::well_known(WinBuiltinAdministratorsSid),
            Sid::parse(TRUSTED_INSTALLER),
        ]
        .into_iter()
        .flatten()
        .collect();
        Ok(Trusted { me, admins })
    }

    fn is_trusted(&self, sid: &Sid) -> bool {
        *sid == self.me || self.admins.contains(sid)
    }
}

/// One access-allowed entry of a DACL that applies to the object itself.
struct Allowed {
    mask: u32,
    sid: Sid,
}

/// The owner and DACL of a file or folder. `dacl: None` is a null DACL: everyone has full access.
struct Security {
    owner: Option<Sid>,
    dacl: Option<Vec<Allowed>>,
}

fn security_of(path: &Path) -> std::io::Result<Security> {
    let name = super::wide(path);
    let mut owner: PSID = std::ptr::null_mut();
    let mut dacl: *mut ACL = std::ptr::null_mut();
    let mut sd: *mut c_void = std::ptr::null_mut();
    // SAFETY: `name` is NUL-terminated; the out-parameters point into `sd`, freed below.
    let rc = unsafe {
        GetNamedSecurityInfoW(
            name.as_ptr(),
            SE_FILE_OBJECT,
            OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION,
            &mut owner,
            std::ptr::null_mut(),
            &mut dacl,
            std::ptr::null_mut(),
            &mut sd,
        )
    };
    win32_result(rc)?;
    // SAFETY: owner and dacl point into `sd`, which lives until the LocalFree below.
    let security = unsafe {
        Security {
            owner: Sid::copy_from(owner),
            dacl: (!dacl.is_null()).then(|| allowed_entries(dacl)),
        }
    };
    // SAFETY: allocated by GetNamedSecurityInfoW.
    unsafe { LocalFree(sd) };
    Ok(security)
}

/// # Safety
/// `dacl` points to a valid ACL.
unsafe fn allowed_entries(dacl: *mut ACL) -> Vec<Allowed> {
    let mut out = Vec::new();
    // SAFETY: the caller's promise.
    let count = unsafe { (*dacl).AceCount };
    for i in 0..u32::from(count) {
        let mut ace: *mut c_void = std::ptr::null_mut();
        // SAFETY: `i` is below the ACL's count; `ace` then points to an entry inside it.
        if unsafe { GetAce(dacl, i, &mut ace) } == 0 || ace.is_null() {
            continue;
        }
        // SAFETY: every ACE starts with an ACE_HEADER.
        let header = unsafe { &*ace.cast::<ACE_HEADER>() };
        if header.AceType != ACCESS_ALLOWED || header.AceFlags & INHERIT_ONLY_ACE as u8 != 0 {
            continue;
        }
        let allowed = ace.cast::<ACCESS_ALLOWED_ACE>();
        // SAFETY: an ACCESS_ALLOWED_ACE: the mask, then the SID from `SidStart` on.
        let (mask, sid) = unsafe {
            (
                (*allowed).Mask,
                Sid::copy_from((&raw mut (*allowed).SidStart).cast()),
            )
        };
        if let Some(sid) = sid {
            out.push(Allowed { mask, sid });
        }
    }
    out
}

/// Why someone other than `trusted` could change `path`, or `Ok`.
fn others_cannot_change(path: &Path, s: &Security, trusted: &Trusted) -> Result<(), String> {
    others_lack(path, s, trusted, WRITE_RIGHTS)
}

/// Why someone other than `trusted` holds any of `rights` on `path`, or `Ok`.
fn others_lack(path: &Path, s: &Security, trusted: &Trusted, rights: u32) -> Result<(), String> {
    let Some(dacl) = &s.dacl else {
        return Err(format!(
            "{} has no access control list: any user can change it",
            path.display()
        ));
    };
    match dacl
        .iter()
        .find(|a| a.mask & rights != 0 && !trusted.is_trusted(&a.sid))
    {
        Some(_) => Err(format!("{} can be changed by other users", path.display())),
        None => Ok(()),
    }
}

/// Windows' `permissions::private_to_user`: the user (or the administrators) owns `path` and no
/// one else may change it.
pub fn private_to_user(path: &Path) -> Result<(), String> {
    let trusted = Trusted::new()?;
    let s = security_of(path).map_err(|e| format!("it cannot be checked ({e})"))?;
    if !s.owner.as_ref().is_some_and(|o| trusted.is_trusted(o)) {
        return Err("it belongs to another user, not to you".into());
    }
    others_cannot_change(path, &s, &trusted).map_err(|_| "other users can change it".into())
}

/// Windows' `permissions::trusted_program_path`: `path` and every folder above it are owned by
/// the user or the administrators, nobody else may change the program or add to its folder (a
/// DLL planted beside an `.exe` is loaded by it), and nobody else may replace a folder on the way.
pub fn trusted_program_path(path: &Path) -> Result<(), String> {
    let trusted = Trusted::new()?;
    let levels = path.ancestors().filter(|p| !p.as_os_str().is_empty());
    for (depth, p) in levels.enumerate() {
        let s = security_of(p).map_err(|e| format!("{} cannot be checked ({e})", p.display()))?;
        if !s.owner.as_ref().is_some_and(|o| trusted.is_trusted(o)) {
            return Err(format!("{} belongs to another user", p.display()));
        }
        others_lack(p, &s, &trusted, rights_that_matter(depth))?;
    }
    Ok(())
}

/// The rights others must not hold on the program (`depth` 0), its folder (1) and the folders
/// above (2 and up).
fn rights_that_matter(depth: usize) -> u32 {
    if depth < 2 {
        WRITE_RIGHTS
    } else {
        ANCESTOR_RIGHTS
    }
}

/// Windows' `read::foreign_owner`: `Some` when another user owns `path`.
pub fn foreign_owner(path: &Path) -> Option<String> {
    let trusted = Trusted::new().ok()?;
    let owner = security_of(path).ok()?.owner?;
    (!trusted.is_trusted(&owner)).then(|| {
        "owned by another user, skipped: a file someone else can write must not choose your AWS profile"
            .to_owned()
    })
}

/// Windows' `read::is_shared_dir`: another user owns `dir` or may add to it (such as `C:\`, where
/// every signed-in user may create folders). Unreadable counts as shared.
pub fn is_shared_dir(dir: &Path) -> bool {
    let Ok(trusted) = Trusted::new() else {
        return true;
    };
    let Ok(s) = security_of(dir) else {
        return true;
    };
    !s.owner.as_ref().is_some_and(|o| trusted.is_trusted(o))
        || others_cannot_change(dir, &s, &trusted).is_err()
}

/// Gives every user full control of `path`, for tests that need a shared file or folder.
#[cfg(test)]
pub fn let_everyone_write(path: &Path) -> std::io::Result<()> {
    use windows_sys::Win32::Security::WinWorldSid;
    let everyone = Sid::well_known(WinWorldSid).ok_or_else(std::io::Error::last_os_error)?;
    set_dacl(path, &one_entry_acl(&everyone, 0)?)
}

fn set_dacl(path: &Path, acl: &[u64]) -> std::io::Result<()> {
    let name = super::wide(path);
    // SAFETY: `name` is NUL-terminated; `acl` is a valid ACL.
    let rc = unsafe {
        SetNamedSecurityInfoW(
            name.as_ptr(),
            SE_FILE_OBJECT,
            OWNER_ONLY,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            acl.as_ptr().cast(),
            std::ptr::null(),
        )
    };
    win32_result(rc)
}

/// The `Result` of a security call that returns a Win32 error code (0: success).
fn win32_result(rc: u32) -> std::io::Result<()> {
    match rc {
        0 => Ok(()),
        e => Err(std::io::Error::from_raw_os_error(e as i32)),
    }
}

/// A DACL with one entry: the current user, full control; inherited by files and folders below
/// when `inherit` (for a folder).
fn owner_only_acl(inherit: bool) -> std::io::Result<Vec<u64>> {
    let flags = if inherit {
        OBJECT_INHERIT_ACE | CONTAINER_INHERIT_ACE
    } else {
        0
    };
    one_entry_acl(&Sid::current_user()?, flags)
}

/// A DACL with one entry: `sid`, full control, with the inheritance `flags`.
fn one_entry_acl(sid: &Sid, flags: u32) -> std::io::Result<Vec<u64>> {
    let size = size_of::<ACL>() + size_of::<ACCESS_ALLOWED_ACE>() + sid.0.len();
    let mut acl = vec![0u64; size.div_ceil(8)];
    // SAFETY: `acl` is writable, aligned and at least `size` bytes; `sid` is a valid SID.
    let ok = unsafe {
        InitializeAcl(
            acl.as_mut_ptr().cast(),
            (acl.len() * 8) as u32,
            ACL_REVISION,
        ) != 0
            && AddAccessAllowedAceEx(
                acl.as_mut_ptr().cast(),
                ACL_REVISION,
                flags,
                FILE_ALL_ACCESS,
                sid.as_psid(),
            ) != 0
    };
    if !ok {
        return Err(std::io::Error::last_os_error());
    }
    Ok(acl)
}

const OWNER_ONLY: u32 = DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION;

/// Mode 0600 on Windows: replaces the DACL of an open file (opened with `WRITE_DAC`) with the
/// owner-only one, dropping inherited entries.
pub fn restrict_file(file: &std::fs::File) -> std::io::Result<()> {
    use std::os::windows::io::AsRawHandle;
    let acl = owner_only_acl(false)?;
    // SAFETY: the handle is open for the file's lifetime; `acl` is a valid ACL.
    let rc = unsafe {
        SetSecurityInfo(
            file.as_raw_handle(),
            SE_FILE_OBJECT,
            OWNER_ONLY,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            acl.as_ptr().cast(),
            std::ptr::null(),
        )
    };
    win32_result(rc)
}

/// Mode 0700 on Windows: an owner-only DACL on `dir`, inherited by what is created in it.
pub fn restrict_dir(dir: &Path) -> std::io::Result<()> {
    set_dacl(dir, &owner_only_acl(true)?)
}

/// The entries of the DACL that [`restrict_file`] applies: (SID is the user's, access mask).
#[cfg(test)]
pub fn owner_only_entries() -> Vec<(bool, u32)> {
    let me = Sid::current_user().unwrap();
    let mut acl = owner_only_acl(false).unwrap();
    // SAFETY: a valid ACL built above.
    unsafe { allowed_entries(acl.as_mut_ptr().cast()) }
        .into_iter()
        .map(|a| (a.sid == me, a.mask))
        .collect()
}

/// `Ok` when only the current user has any access to `path` (what [`restrict_file`] leaves).
pub fn only_user_can_access(path: &Path) -> Result<(), String> {
    let me = Sid::current_user().map_err(|e| e.to_string())?;
    let s = security_of(path).map_err(|e| e.to_string())?;
    let dacl = s.dacl.ok_or("a null DACL: everyone has access")?;
    if dacl.is_empty() {
        return Err("the DACL grants nobody access".into());
    }
    match dacl.iter().find(|a| a.sid != me) {
        Some(_) => Err("another account has access".into()),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creating_folders_in_c_drive_root_does_not_taint_program_files() {
        // `C:\` grants Authenticated Users "create folders" (FILE_APPEND_DATA) on itself.
        assert_eq!(rights_that_matter(3) & FILE_APPEND_DATA, 0);
        // Beside the program, adding a file is planting a DLL.
        assert_ne!(rights_that_matter(1) & FILE_WRITE_DATA, 0);
        let replace = DELETE | WRITE_DAC | WRITE_OWNER | GENERIC_ALL;
        for depth in 0..4 {
            assert_eq!(rights_that_matter(depth) & replace, replace);
        }
        assert_ne!(rights_that_matter(2) & FILE_DELETE_CHILD, 0);
    }
}
