//! The Windows side of "a timeout ends the CLI and everything it started": each AWS CLI process
//! runs in its own job object with `JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE`. On Unix the same is a
//! process group and `killpg`.
//!
//! The CLI is started suspended ([`CREATION_FLAGS`]), put in its job by [`adopt`] and only then
//! resumed, so nothing it starts can escape the job. Ending the job ([`end`]) ends every process
//! in it; so does this process exiting by any means, since the kernel closes the job handle then
//! (what `PR_SET_PDEATHSIG` does on Linux).

use std::collections::HashMap;
use std::sync::Mutex;

use windows_sys::Win32::Foundation::{CloseHandle, HANDLE, INVALID_HANDLE_VALUE};
use windows_sys::Win32::System::Diagnostics::ToolHelp::{
    CreateToolhelp32Snapshot, Thread32First, Thread32Next, TH32CS_SNAPTHREAD, THREADENTRY32,
};
use windows_sys::Win32::System::JobObjects::{
    AssignProcessToJobObject, CreateJobObjectW, JobObjectExtendedLimitInformation,
    SetInformationJobObject, TerminateJobObject, JOBOBJECT_EXTENDED_LIMIT_INFORMATION,
    JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE,
};
use windows_sys::Win32::System::Threading::{
    OpenProcess, OpenThread, ResumeThread, TerminateProcess, CREATE_NO_WINDOW, CREATE_SUSPENDED,
    PROCESS_SET_QUOTA, PROCESS_TERMINATE, THREAD_SUSPEND_RESUME,
};

/// Creation flags for a CLI child: no console window, and suspended until [`adopt`] has put it
/// in its job.
pub const CREATION_FLAGS: u32 = CREATE_NO_WINDOW | CREATE_SUSPENDED;

/// An owned kernel handle, closed on drop.
struct Handle(HANDLE);

// SAFETY: a kernel handle is a process-wide value; the functions used on it are thread-safe.
unsafe impl Send for Handle {}

impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: the handle was returned open by the kernel and is closed only here.
        unsafe { CloseHandle(self.0) };
    }
}

impl Handle {
    fn new(h: HANDLE) -> std::io::Result<Handle> {
        if h.is_null() || h == INVALID_HANDLE_VALUE {
            Err(std::io::Error::last_os_error())
        } else {
            Ok(Handle(h))
        }
    }
}

/// The job of each running CLI, by process id (the id cannot be reused while the `Child` that
/// owns it holds its process handle).
static JOBS: Mutex<Option<HashMap<u32, Handle>>> = Mutex::new(None);

fn jobs() -> std::sync::MutexGuard<'static, Option<HashMap<u32, Handle>>> {
    JOBS.lock().unwrap_or_else(|e| e.into_inner())
}

/// Puts the suspended process `pid` in a new kill-on-close job and resumes it. If either fails
/// the process is ended rather than left outside a job or suspended (the caller's wait then sees
/// it exit); `Err` says why.
pub fn adopt(pid: u32) -> std::io::Result<()> {
    let job = match job_for(pid) {
        Ok(job) => job,
        Err(e) => {
            terminate_process(pid);
            return Err(e);
        }
    };
    jobs().get_or_insert_with(HashMap::new).insert(pid, job);
    resume(pid).inspect_err(|_| end(pid))
}

fn job_for(pid: u32) -> std::io::Result<Handle> {
    // SAFETY: null attributes and name make an unnamed job with default security.
    let job = Handle::new(unsafe { CreateJobObjectW(std::ptr::null(), std::ptr::null()) })?;
    // SAFETY: an all-zero limit structure is valid; only the flag below is set.
    let mut limits: JOBOBJECT_EXTENDED_LIMIT_INFORMATION = unsafe { std::mem::zeroed() };
    limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
    // SAFETY: `limits` is the structure the information class names, with its exact size.
    let ok = unsafe {
        SetInformationJobObject(
            job.0,
            JobObjectExtendedLimitInformation,
            (&raw const limits).cast(),
            size_of::<JOBOBJECT_EXTENDED_LIMIT_INFORMATION>() as u32,
        )
    };
    if ok == 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: plain call; the handle is checked.
    let process =
        Handle::new(unsafe { OpenProcess(PROCESS_SET_QUOTA | PROCESS_TERMINATE, 0, pid) })?;
    // SAFETY: both handles are open with the rights AssignProcessToJobObject needs.
    if unsafe { AssignProcessToJobObject(job.0, process.0) } == 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(job)
}

/// Resumes every thread of `pid` (a process started suspended has one, its main thread).
fn resume(pid: u32) -> std::io::Result<()> {
    // SAFETY: plain call; the handle is checked.
    let snapshot = Handle::new(unsafe { CreateToolhelp32Snapshot(TH32CS_SNAPTHREAD, 0) })?;
    // SAFETY: all-zero is a valid THREADENTRY32; dwSize is set as the API requires.
    let mut entry: THREADENTRY32 = unsafe { std::mem::zeroed() };
    entry.dwSize = size_of::<THREADENTRY32>() as u32;
    let mut resumed = 0;
    // SAFETY: `entry` is a valid, sized THREADENTRY32 for the snapshot's lifetime.
    let mut more = unsafe { Thread32First(snapshot.0, &mut entry) } != 0;
    while more {
        if entry.th32OwnerProcessID == pid {
            // SAFETY: plain call; the handle is checked before use.
            let thread = unsafe { OpenThread(THREAD_SUSPEND_RESUME, 0, entry.th32ThreadID) };
            if let Ok(thread) = Handle::new(thread) {
                // SAFETY: the handle has THREAD_SUSPEND_RESUME.
                if unsafe { ResumeThread(thread.0) } != u32::MAX {
                    resumed += 1;
                }
            }
        }
        // SAFETY: as above.
        more = unsafe { Thread32Next(snapshot.0, &mut entry) } != 0;
    }
    if resumed == 0 {
        return Err(std::io::Error::other(format!(
            "no thread of process {pid} could be resumed"
        )));
    }
    Ok(())
}

fn terminate_process(pid: u32) {
    // SAFETY: plain calls; the handle is checked and closed by `Handle`.
    if let Ok(p) = Handle::new(unsafe { OpenProcess(PROCESS_TERMINATE, 0, pid) }) {
        unsafe { TerminateProcess(p.0, 1) };
    }
}

/// Ends the CLI `pid` and every process in its job.
pub fn end(pid: u32) {
    let job = jobs().as_mut().and_then(|j| j.remove(&pid));
    match job {
        // SAFETY: the job handle is open; dropping it afterwards also kills (kill-on-close).
        Some(job) => unsafe {
            TerminateJobObject(job.0, 1);
        },
        None => terminate_process(pid),
    }
}

/// Forgets the job of a CLI that has exited on its own, leaving whatever it started alone (as a
/// Unix process group is left): the kill-on-close limit is lifted before the handle is closed.
pub fn release(pid: u32) {
    let Some(job) = jobs().as_mut().and_then(|j| j.remove(&pid)) else {
        return;
    };
    // SAFETY: an all-zero limit structure sets no limits.
    let limits: JOBOBJECT_EXTENDED_LIMIT_INFORMATION = unsafe { std::mem::zeroed() };
    // SAFETY: as in `job_for`.
    unsafe {
        SetInformationJobObject(
            job.0,
            JobObjectExtendedLimitInformation,
            (&raw const limits).cast(),
            size_of::<JOBOBJECT_EXTENDED_LIMIT_INFORMATION>() as u32,
        );
    }
}
