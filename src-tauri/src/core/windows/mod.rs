//! What only Windows needs, behind small seams in the shared files: the job object that ends the
//! AWS CLI with everything it started ([`job`]), and the owner-only DACL that stands in for
//! Unix's mode 0600, with the checks of who else may change a file or folder ([`acl`]).

pub mod acl;
pub mod job;

/// `path` as a NUL-terminated UTF-16 string for the wide Win32 functions.
fn wide(path: &std::path::Path) -> Vec<u16> {
    use std::os::windows::ffi::OsStrExt;
    path.as_os_str().encode_wide().chain(Some(0)).collect()
}

#[cfg(test)]
mod tests {
    use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle};
    use std::os::windows::process::CommandExt;
    use std::path::Path;
    use std::process::Command;
    use std::time::{Duration, Instant};

    use windows_sys::Win32::Foundation::WAIT_OBJECT_0;
    use windows_sys::Win32::System::Threading::{
        OpenProcess, TerminateProcess, WaitForSingleObject, PROCESS_TERMINATE,
    };

    use super::{acl, job};

    const ROLE: &str = "AWS_SSO_TRAY_JOB_TEST_ROLE";
    const PID_FILE: &str = "AWS_SSO_TRAY_JOB_TEST_PID_FILE";
    const SYNCHRONIZE: u32 = 0x0010_0000;

    /// Not a test of its own: the process tree the job tests start. As `parent` it starts a
    /// `child` copy of this test, writes the child's id to a file and sleeps; as `child` it
    /// sleeps. Without the variable it returns at once.
    #[test]
    fn job_test_process() {
        match std::env::var(ROLE).as_deref() {
            Ok("parent") => {
                let mut child = Command::new(std::env::current_exe().unwrap())
                    .args([
                        "--exact",
                        "core::windows::tests::job_test_process",
                        "--quiet",
                    ])
                    .env(ROLE, "child")
                    .spawn()
                    .unwrap();
                let file = std::env::var(PID_FILE).unwrap();
                std::fs::write(format!("{file}.tmp"), child.id().to_string()).unwrap();
                std::fs::rename(format!("{file}.tmp"), file).unwrap();
                std::thread::sleep(Duration::from_secs(120));
                let _ = child.kill();
                let _ = child.wait();
            }
            Ok("child") => std::thread::sleep(Duration::from_secs(120)),
            _ => {}
        }
    }

    fn open(pid: u32, rights: u32) -> OwnedHandle {
        // SAFETY: plain call; the handle is checked, then owned.
        let h = unsafe { OpenProcess(rights, 0, pid) };
        assert!(!h.is_null(), "process {pid} cannot be opened");
        // SAFETY: a fresh handle owned by nobody else.
        unsafe { OwnedHandle::from_raw_handle(h) }
    }

    fn ended_within(process: &OwnedHandle, max: Duration) -> bool {
        // SAFETY: the handle has SYNCHRONIZE.
        let rc = unsafe { WaitForSingleObject(process.as_raw_handle(), max.as_millis() as u32) };
        rc == WAIT_OBJECT_0
    }

    /// Starts a suspended `parent` (as `login::command` does), adopts it, and returns the parent
    /// and the grandchild it started (opened for waiting and, in cleanup, ending).
    fn start_tree(dir: &Path) -> (std::process::Child, OwnedHandle) {
        let pid_file = dir.join("grandchild.pid");
        let mut parent = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "core::windows::tests::job_test_process",
                "--quiet",
            ])
            .env(ROLE, "parent")
            .env(PID_FILE, &pid_file)
            .creation_flags(job::CREATION_FLAGS)
            .spawn()
            .unwrap();
        job::adopt(parent.id()).unwrap();
        let start = Instant::now();
        let grandchild = loop {
            if let Ok(text) = std::fs::read_to_string(&pid_file) {
                break text.trim().parse::<u32>().unwrap();
            }
            if let Ok(Some(status)) = parent.try_wait() {
                panic!("the parent ended early: {status}");
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "no grandchild started"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        (parent, open(grandchild, SYNCHRONIZE | PROCESS_TERMINATE))
    }

    #[test]
    fn ending_a_job_ends_the_cli_and_what_it_started() {
        let dir = tempfile::tempdir().unwrap();
        let (mut parent, grandchild) = start_tree(dir.path());
        assert!(!ended_within(&grandchild, Duration::from_millis(200)));
        job::end(parent.id());
        assert!(
            ended_within(&grandchild, Duration::from_secs(20)),
            "the grandchild outlived the job"
        );
        let status = parent.wait().unwrap();
        assert!(!status.success(), "{status}");
    }

    #[test]
    fn a_released_job_leaves_what_the_cli_started_alone() {
        let dir = tempfile::tempdir().unwrap();
        let (mut parent, grandchild) = start_tree(dir.path());
        job::release(parent.id());
        parent.kill().unwrap();
        parent.wait().unwrap();
        assert!(
            !ended_within(&grandchild, Duration::from_secs(1)),
            "a released job still ended the grandchild"
        );
        // SAFETY: the handle has PROCESS_TERMINATE.
        unsafe { TerminateProcess(grandchild.as_raw_handle(), 1) };
    }

    #[test]
    fn the_aws_cli_is_looked_for_where_the_msi_installs_it_only() {
        assert_eq!(
            crate::core::login::TRUSTED_CLI_DIRS,
            [r"C:\Program Files\Amazon\AWSCLIV2"]
        );
    }

    /// Wine (8.0) accepts a new DACL but keeps none: it reports one made up from the Unix mode
    /// bits. Reading a DACL back is shown on Windows only.
    fn under_wine() -> bool {
        use windows_sys::Win32::System::LibraryLoader::{GetModuleHandleA, GetProcAddress};
        // SAFETY: NUL-terminated names; ntdll is loaded in every process.
        unsafe {
            let ntdll = GetModuleHandleA(c"ntdll.dll".as_ptr().cast());
            !ntdll.is_null() && GetProcAddress(ntdll, c"wine_get_version".as_ptr().cast()).is_some()
        }
    }

    #[test]
    fn written_files_and_lock_files_are_the_users_alone() {
        // The DACL given to every file this app writes: one entry, the user, full control.
        assert_eq!(acl::owner_only_entries(), vec![(true, 0x001F_01FF)]);
        let dir = tempfile::tempdir().unwrap();
        let token = dir.path().join("token.json");
        crate::core::atomic_write::write_atomically(&token, b"{}", || Ok(())).unwrap();
        let lock = dir.path().join("x.lock");
        let mut options = std::fs::OpenOptions::new();
        options.create(true).truncate(false).write(true);
        let file = crate::core::permissions::open_private(&mut options, &lock).unwrap();
        file.try_lock().unwrap();
        if !under_wine() {
            acl::only_user_can_access(&token).unwrap();
            acl::only_user_can_access(&lock).unwrap();
        }
        // Our own files are ours, and checked as such.
        crate::core::permissions::private_to_user(&token).unwrap();
        assert_eq!(crate::core::read::foreign_owner(&token), None);
    }

    #[test]
    fn a_folder_anyone_can_change_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let shared = dir.path().join("shared");
        std::fs::create_dir(&shared).unwrap();
        acl::restrict_dir(&shared).unwrap();
        let program = shared.join("aws.exe");
        std::fs::write(&program, "").unwrap();
        if !under_wine() {
            acl::only_user_can_access(&program).unwrap(); // inherited from the folder
        }
        assert!(!crate::core::read::is_shared_dir(&shared));
        crate::core::permissions::private_to_user(&shared).unwrap();
        acl::let_everyone_write(&shared).unwrap();
        assert!(crate::core::read::is_shared_dir(&shared));
        let err = crate::core::permissions::private_to_user(&shared).unwrap_err();
        assert!(err.contains("other users"), "{err}");
        let err = crate::core::permissions::trusted_program_path(&program).unwrap_err();
        assert!(err.contains("shared"), "{err}");
    }
}
