//! Runs `aws sso login` safely: the AWS CLI v2 from trusted install folders only, an allow-listed
//! environment, both pipes drained, a timeout that ends the whole process group, and one login per
//! SSO session at a time across every process of this app.

use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;
use tokio::sync::OnceCell;

use crate::core::error::{Error, Result};
use crate::core::paths::Paths;

/// Folders searched for `aws`, in order. PATH is never consulted: a hostile PATH entry must not
/// get to run instead of the real CLI.
#[cfg(unix)]
pub const TRUSTED_CLI_DIRS: &[&str] = &[
    "/usr/local/bin",
    "/usr/bin",
    "/opt/homebrew/bin",
    "/usr/local/aws-cli",
    "/bin",
];
#[cfg(windows)]
pub const TRUSTED_CLI_DIRS: &[&str] = &[
    r"C:\Program Files\Amazon\AWSCLIV2",
    r"C:\Program Files (x86)\Amazon\AWSCLIV2",
];

/// Where the real file behind a trusted `aws` may live (installers symlink into these).
#[cfg(unix)]
const TRUSTED_REAL_PREFIXES: &[&str] = &[
    "/usr/bin",
    "/usr/local/bin",
    "/bin",
    "/usr/lib",
    "/usr/local/aws-cli",
    "/usr/local/Cellar",
    "/opt/homebrew",
];
#[cfg(windows)]
const TRUSTED_REAL_PREFIXES: &[&str] =
    &[r"C:\Program Files\Amazon", r"C:\Program Files (x86)\Amazon"];

#[cfg(unix)]
const CLI_NAME: &str = "aws";
#[cfg(windows)]
const CLI_NAME: &str = "aws.exe";

/// Variables a login child may see: what the CLI needs to find its config, reach the network
/// through a proxy and open a browser. Loader and interpreter hooks (LD_*, DYLD_*, PYTHON*) are
/// left out, as is AWS_PROFILE (the profile is always passed explicitly).
const ALLOWED_ENV: &[&str] = &[
    "HOME",
    "USER",
    "LOGNAME",
    "LANG",
    "LANGUAGE",
    "LC_ALL",
    "LC_CTYPE",
    "LC_MESSAGES",
    "TZ",
    "TMPDIR",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_CA_BUNDLE",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "all_proxy",
    "DISPLAY",
    "WAYLAND_DISPLAY",
    "XAUTHORITY",
    "XDG_RUNTIME_DIR",
    "XDG_CONFIG_HOME",
    "XDG_DATA_DIRS",
    "XDG_CURRENT_DESKTOP",
    "DBUS_SESSION_BUS_ADDRESS",
    "BROWSER",
    // Windows
    "SYSTEMROOT",
    "SystemRoot",
    "WINDIR",
    "USERPROFILE",
    "APPDATA",
    "LOCALAPPDATA",
    "TEMP",
    "TMP",
    "PATHEXT",
    "COMSPEC",
    "USERNAME",
    "HOMEDRIVE",
    "HOMEPATH",
    "ProgramFiles",
    "ProgramData",
];

/// PATH given to the child (it needs one to find `xdg-open` or `open`); never the caller's.
#[cfg(unix)]
const CHILD_PATH: &str = "/usr/local/bin:/usr/bin:/bin:/opt/homebrew/bin";
#[cfg(windows)]
const CHILD_PATH: &str = r"C:\Windows\System32;C:\Windows";

/// Keeps the allow-listed variables of `vars` and sets a fixed PATH.
pub fn allowed_env(vars: impl Iterator<Item = (OsString, OsString)>) -> Vec<(OsString, OsString)> {
    let mut env: Vec<_> = vars
        .filter(|(k, _)| k.to_str().is_some_and(|k| ALLOWED_ENV.contains(&k)))
        .collect();
    env.push((OsString::from("PATH"), OsString::from(CHILD_PATH)));
    env
}

/// What `aws sso login` is asked to log in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginTarget {
    /// `--profile NAME`
    Profile(String),
    /// `--sso-session NAME` (used for profiles that reach SSO through a role chain)
    Session(String),
}

/// Where to send the user when the sign-in must be finished by hand: the CLI's verification URL
/// and user code. Only ever shown to the user (the tray window); never logged or returned to an agent.
#[derive(Clone, PartialEq, Eq)]
pub struct DevicePrompt {
    /// The verification URL (with the code filled in, when the CLI printed that form).
    pub url: String,
    /// The user code, e.g. `ABCD-EFGH`.
    pub code: String,
}

impl std::fmt::Debug for DevicePrompt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DevicePrompt(..)")
    }
}

/// Receives the device prompt of a login.
pub type PromptSink = Arc<dyn Fn(DevicePrompt) + Send + Sync>;

/// How to run a login.
#[derive(Clone)]
pub struct LoginOptions {
    /// How long the user has to finish the sign-in.
    pub timeout: Duration,
    /// Pass `--no-browser`: the user opens the URL themselves.
    pub no_browser: bool,
    /// Called once with the URL and code the CLI printed.
    pub on_prompt: Option<PromptSink>,
}

impl Default for LoginOptions {
    fn default() -> Self {
        LoginOptions {
            timeout: Duration::from_secs(120),
            no_browser: false,
            on_prompt: None,
        }
    }
}

/// How a login request ended when it did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginOutcome {
    /// This call ran the CLI and it exited successfully.
    LoggedIn,
    /// Another caller (in this process or another) finished a login for the session meanwhile.
    Shared,
}

/// Runs logins. One per process; cheap to share behind an `Arc`.
#[derive(Default)]
pub struct LoginRunner {
    sessions: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    cli: OnceCell<PathBuf>,
    /// Process groups of running logins, so a shutdown can end them all at once.
    running: Arc<Mutex<HashSet<u32>>>,
}

impl LoginRunner {
    /// Logs in `target`, whose token lives in `token_file`, unless a login for the same session
    /// (`key`) completes while this call waits for its turn. `is_fresh` tells whether the token
    /// file now holds a usable token.
    pub async fn login(
        &self,
        paths: &Paths,
        key: &str,
        target: &LoginTarget,
        token_file: &Path,
        is_fresh: impl Fn() -> bool,
        options: &LoginOptions,
    ) -> Result<LoginOutcome> {
        let ran = self
            .exclusive(paths, key, token_file, is_fresh, || async {
                let cli = self.cli.get_or_try_init(|| find_cli(paths)).await?;
                run_login(cli, paths, target, &self.running, options).await
            })
            .await?;
        Ok(if ran.is_some() {
            LoginOutcome::LoggedIn
        } else {
            LoginOutcome::Shared
        })
    }

    /// Runs `work` while holding the session's locks: one writer per SSO session, in this process
    /// and across processes. Returns `None` without running it when the token file changed while
    /// this call waited and now holds a fresh token: another caller did the work.
    pub async fn exclusive<T, Fut>(
        &self,
        paths: &Paths,
        key: &str,
        token_file: &Path,
        is_fresh: impl Fn() -> bool,
        work: impl FnOnce() -> Fut,
    ) -> Result<Option<T>>
    where
        Fut: std::future::Future<Output = Result<T>>,
    {
        let before = fingerprint(token_file);
        let session_lock = lock(&self.sessions)
            .entry(key.to_owned())
            .or_default()
            .clone();
        let _in_process = session_lock.lock().await;
        let _across_processes = FileLock::acquire(&lock_path(paths, key)).await?;
        if fingerprint(token_file) != before && is_fresh() {
            return Ok(None);
        }
        work().await.map(Some)
    }

    /// Ends every running login and whatever it started. Called when the app shuts down.
    pub fn kill_all(&self) {
        let groups: Vec<u32> = lock(&self.running).drain().collect();
        for g in groups {
            kill_group(g);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Identifies a version of the token file; any rewrite changes it.
fn fingerprint(path: &Path) -> Option<(SystemTime, u64)> {
    let m = fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len()))
}

fn lock_path(paths: &Paths, key: &str) -> PathBuf {
    let name = sha1_smol::Sha1::from(key).digest();
    paths.state_dir.join("locks").join(format!("{name}.lock"))
}

/// An OS file lock; released on drop, and by the OS if the process dies.
struct FileLock(fs::File);

impl FileLock {
    async fn acquire(path: &Path) -> Result<FileLock> {
        let mut dirs = fs::DirBuilder::new();
        dirs.recursive(true);
        let mut options = fs::OpenOptions::new();
        options.create(true).truncate(false).write(true);
        // Private to the user, and never through a symlink someone else placed.
        #[cfg(unix)]
        {
            use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
            dirs.mode(0o700);
            options.mode(0o600).custom_flags(libc::O_NOFOLLOW);
        }
        if let Some(dir) = path.parent() {
            dirs.create(dir).map_err(|e| Error::io(dir, e))?;
        }
        let file = options.open(path).map_err(|e| Error::io(path, e))?;
        // Polling keeps the wait cancellable (a blocking lock would pin a thread past shutdown).
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(FileLock(file)),
                Err(fs::TryLockError::WouldBlock) => {
                    tokio::time::sleep(Duration::from_millis(50)).await
                }
                Err(fs::TryLockError::Error(e)) => return Err(Error::io(path, e)),
            }
        }
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        let _ = self.0.unlock();
    }
}

/// Finds the AWS CLI v2 in the trusted folders and checks it.
async fn find_cli(paths: &Paths) -> Result<PathBuf> {
    let candidate = paths
        .trusted_cli_dirs
        .iter()
        .map(|d| d.join(CLI_NAME))
        .find(|p| p.is_file())
        .ok_or_else(|| Error::CliNotFound {
            searched: paths
                .trusted_cli_dirs
                .iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        })?;
    check_cli_file(&candidate, &paths.trusted_cli_dirs)?;
    check_cli_version(&candidate, paths).await?;
    Ok(candidate)
}

fn check_cli_file(candidate: &Path, trusted_dirs: &[PathBuf]) -> Result<()> {
    let reject = |reason: String| Error::CliRejected {
        path: candidate.to_path_buf(),
        reason,
    };
    let real = fs::canonicalize(candidate).map_err(|e| Error::io(candidate, e))?;
    let trusted = TRUSTED_REAL_PREFIXES
        .iter()
        .map(PathBuf::from)
        .chain(trusted_dirs.iter().cloned())
        .any(|prefix| real.starts_with(prefix));
    if !trusted {
        return Err(reject(format!(
            "it resolves to {}, outside the trusted folders",
            real.display()
        )));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let world_writable =
            |p: &Path| fs::metadata(p).is_ok_and(|m| m.permissions().mode() & 0o002 != 0);
        if world_writable(&real) || real.parent().is_some_and(world_writable) {
            return Err(reject(
                "it, or its folder, can be changed by any user".to_owned(),
            ));
        }
    }
    Ok(())
}

async fn check_cli_version(cli: &Path, paths: &Paths) -> Result<()> {
    let mut cmd = command(cli, paths);
    cmd.arg("--version")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let out = tokio::time::timeout(Duration::from_secs(20), cmd.output())
        .await
        .map_err(|_| Error::CliRejected {
            path: cli.to_path_buf(),
            reason: "`aws --version` did not answer".into(),
        })?
        .map_err(|e| Error::io(cli, e))?;
    // v1 prints its version on stderr, v2 on stdout.
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let version = text
        .split_whitespace()
        .find_map(|w| w.strip_prefix("aws-cli/"))
        .unwrap_or("");
    if version.starts_with("2.") {
        Ok(())
    } else if version.is_empty() {
        Err(Error::CliRejected {
            path: cli.to_path_buf(),
            reason: "it does not report an aws-cli version".into(),
        })
    } else {
        Err(Error::CliRejected {
            path: cli.to_path_buf(),
            reason: format!("it is AWS CLI {version}; `aws sso login` needs AWS CLI v2"),
        })
    }
}

/// A command for the CLI with the allow-listed environment, in its own process group.
fn command(cli: &Path, paths: &Paths) -> Command {
    let mut cmd = Command::new(cli);
    cmd.env_clear()
        .envs(paths.login_env.iter().map(|(k, v)| (k, v)))
        .current_dir(&paths.home)
        .stdin(Stdio::null())
        .kill_on_drop(true);
    #[cfg(unix)]
    cmd.process_group(0);
    #[cfg(windows)]
    cmd.creation_flags(0x0800_0000); // CREATE_NO_WINDOW
    cmd
}

async fn run_login(
    cli: &Path,
    paths: &Paths,
    target: &LoginTarget,
    running: &Arc<Mutex<HashSet<u32>>>,
    options: &LoginOptions,
) -> Result<()> {
    let timeout = options.timeout;
    let mut cmd = command(cli, paths);
    cmd.args(["sso", "login"]);
    if options.no_browser {
        cmd.arg("--no-browser");
    }
    match target {
        LoginTarget::Profile(p) => cmd.arg("--profile").arg(p),
        LoginTarget::Session(s) => cmd.arg("--sso-session").arg(s),
    };
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| Error::io(cli, e))?;
    let group = GroupGuard::new(child.id(), running);
    // Both pipes are drained while the CLI runs, so a chatty CLI cannot block on a full pipe.
    // Their text holds the device code and URL, so it is kept only to pick a safe error line.
    let stdout = tokio::spawn(drain(child.stdout.take(), options.on_prompt.clone()));
    let mut stderr = tokio::spawn(drain(child.stderr.take(), options.on_prompt.clone()));
    let status = match tokio::time::timeout(timeout, child.wait()).await {
        Ok(status) => status.map_err(|e| Error::io(cli, e))?,
        Err(_) => {
            drop(group); // ends the CLI and anything it started
            let _ = child.wait().await;
            stdout.abort();
            stderr.abort();
            return Err(Error::LoginTimedOut(timeout));
        }
    };
    group.disarm();
    // A browser the CLI started may inherit the pipes and keep them open: don't wait on it.
    stdout.abort();
    let err_tail = match tokio::time::timeout(Duration::from_millis(500), &mut stderr).await {
        Ok(Ok(tail)) => tail,
        _ => String::new(),
    };
    stderr.abort();
    if status.success() {
        return Ok(());
    }
    Err(Error::LoginFailed {
        status: match status.code() {
            Some(code) => format!("exit code {code}"),
            None => "killed by a signal".to_owned(),
        },
        detail: safe_error_line(&err_tail),
    })
}

/// Reads a pipe to its end, keeping only the last few KiB, and hands the device prompt (if the
/// CLI prints one) to `on_prompt`.
async fn drain(pipe: Option<impl AsyncRead + Unpin>, on_prompt: Option<PromptSink>) -> String {
    const KEEP: usize = 4096;
    let Some(mut pipe) = pipe else {
        return String::new();
    };
    let mut tail = Vec::new();
    let mut prompt = on_prompt.map(|sink| (PromptParser::default(), sink));
    let mut buf = vec![0u8; 16 * 1024];
    while let Ok(n) = pipe.read(&mut buf).await {
        if n == 0 {
            break;
        }
        let chunk = buf.get(..n).unwrap_or_default();
        if let Some((parser, sink)) = &mut prompt {
            if let Some(found) = parser.feed(chunk) {
                sink(found);
                prompt = None;
            }
        }
        tail.extend_from_slice(chunk);
        if tail.len() > 2 * KEEP {
            tail.drain(..tail.len() - KEEP);
        }
    }
    String::from_utf8_lossy(&tail).into_owned()
}

/// Finds the verification URL and user code in the CLI's output, line by line, with a bounded
/// line buffer (a flood of output cannot grow it).
#[derive(Default)]
pub struct PromptParser {
    line: Vec<u8>,
    url: Option<String>,
    url_with_code: Option<String>,
    code: Option<String>,
}

impl PromptParser {
    const MAX_LINE: usize = 2048;

    /// Feeds output; returns the prompt once both URL and code have been seen.
    pub fn feed(&mut self, bytes: &[u8]) -> Option<DevicePrompt> {
        for &b in bytes {
            if b == b'\n' {
                let line = String::from_utf8_lossy(&self.line).trim().to_owned();
                self.line.clear();
                self.line_done(&line);
            } else if self.line.len() < Self::MAX_LINE {
                self.line.push(b);
            }
        }
        let code = self.code.clone()?;
        let url = self.url_with_code.clone().or(self.url.clone())?;
        Some(DevicePrompt { url, code })
    }

    fn line_done(&mut self, line: &str) {
        if line.starts_with("https://") && !line.contains(char::is_whitespace) {
            if line.contains("user_code=") {
                self.url_with_code = Some(line.to_owned());
            } else if self.url.is_none() {
                self.url = Some(line.to_owned());
            }
        } else if is_user_code(line) {
            self.code = Some(line.to_owned());
        }
    }
}

fn is_user_code(w: &str) -> bool {
    let parts: Vec<_> = w.split('-').collect();
    parts.len() == 2
        && parts.iter().all(|p| {
            p.len() == 4
                && p.chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        })
}

/// The CLI's last error line, unless it could carry a verification URL or a user code.
pub fn safe_error_line(stderr: &str) -> Option<String> {
    let line = stderr.lines().map(str::trim).rfind(|l| !l.is_empty())?;
    let looks_like_code = line
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '-')
        .any(is_user_code);
    if line.contains("://") || looks_like_code || line.len() > 300 {
        return None;
    }
    Some(line.to_owned())
}

/// Kills the child's whole process group when dropped (timeout, or the caller went away),
/// unless disarmed after a normal exit; registered in the runner meanwhile for [`LoginRunner::kill_all`].
struct GroupGuard {
    pid: Option<u32>,
    running: Arc<Mutex<HashSet<u32>>>,
}

impl GroupGuard {
    fn new(pid: Option<u32>, running: &Arc<Mutex<HashSet<u32>>>) -> Self {
        lock(running).extend(pid);
        GroupGuard {
            pid,
            running: running.clone(),
        }
    }

    fn disarm(mut self) {
        if let Some(pid) = self.pid.take() {
            lock(&self.running).remove(&pid);
        }
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(pid) = self.pid.take() {
            lock(&self.running).remove(&pid);
            kill_group(pid);
        }
    }
}

fn kill_group(pid: u32) {
    #[cfg(unix)]
    if let Ok(pid) = i32::try_from(pid) {
        // SAFETY: killpg only sends a signal; the group id is the child's pid (process_group(0)).
        unsafe {
            libc::killpg(pid, libc::SIGKILL);
        }
    }
    #[cfg(not(unix))]
    let _ = pid; // Windows: kill_on_drop ends the CLI itself.
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn fake_cli(dir: &Path, script: &str) -> Paths {
        let bin = dir.join("bin");
        fs::create_dir_all(&bin).unwrap();
        let aws = bin.join("aws");
        fs::write(&aws, format!("#!/bin/sh\n{script}\n")).unwrap();
        fs::set_permissions(&aws, fs::Permissions::from_mode(0o755)).unwrap();
        fs::set_permissions(&bin, fs::Permissions::from_mode(0o755)).unwrap();
        let mut paths = Paths::under(dir);
        paths.trusted_cli_dirs = vec![bin];
        paths
    }

    #[tokio::test]
    async fn cli_v1_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let paths = fake_cli(
            dir.path(),
            "echo 'aws-cli/1.45.11 Python/3.11.7 Linux botocore/1.43.11' >&2",
        );
        let err = find_cli(&paths).await.unwrap_err();
        assert!(err.to_string().contains("needs AWS CLI v2"), "{err}");
    }

    #[tokio::test]
    async fn missing_cli_names_the_folders() {
        let dir = tempfile::tempdir().unwrap();
        let mut paths = Paths::under(dir.path());
        paths.trusted_cli_dirs = vec![dir.path().join("nothing-here")];
        let err = find_cli(&paths).await.unwrap_err();
        assert!(matches!(err, Error::CliNotFound { .. }), "{err}");
    }

    #[tokio::test]
    async fn symlink_out_of_trusted_folders_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        let real = elsewhere.path().join("aws");
        fs::write(&real, "#!/bin/sh\necho aws-cli/2.9.19\n").unwrap();
        fs::set_permissions(&real, fs::Permissions::from_mode(0o755)).unwrap();
        let bin = dir.path().join("bin");
        fs::create_dir_all(&bin).unwrap();
        std::os::unix::fs::symlink(&real, bin.join("aws")).unwrap();
        let err = check_cli_file(&bin.join("aws"), &[bin]).unwrap_err();
        assert!(
            err.to_string().contains("outside the trusted folders"),
            "{err}"
        );
    }

    #[test]
    fn world_writable_cli_or_folder_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let paths = fake_cli(dir.path(), "echo aws-cli/2.9.19");
        let bin = paths.trusted_cli_dirs[0].clone();
        let aws = bin.join("aws");
        assert!(check_cli_file(&aws, std::slice::from_ref(&bin)).is_ok());
        for (path, mode) in [(&aws, 0o757), (&bin, 0o777)] {
            fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
            let err = check_cli_file(&aws, std::slice::from_ref(&bin)).unwrap_err();
            assert!(err.to_string().contains("changed by any user"), "{err}");
            fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
        }
    }

    #[test]
    fn environment_is_allow_listed() {
        let vars = [
            ("HOME", "/h"),
            ("LD_PRELOAD", "x.so"),
            ("PYTHONPATH", "/evil"),
            ("PATH", "/evil"),
            ("AWS_PROFILE", "p"),
            ("DISPLAY", ":1"),
            ("https_proxy", "http://p"),
        ]
        .map(|(k, v)| (OsString::from(k), OsString::from(v)));
        let env = allowed_env(vars.into_iter());
        let keys: Vec<_> = env.iter().map(|(k, _)| k.to_str().unwrap()).collect();
        assert_eq!(keys, ["HOME", "DISPLAY", "https_proxy", "PATH"]);
        assert_eq!(env.last().unwrap().1, CHILD_PATH);
    }

    #[test]
    fn prompt_is_read_from_the_cli_output() {
        let out = "Browser will not be automatically opened.\nPlease visit the following URL:\n\n\
                   https://device.sso.us-east-1.amazonaws.com/\n\nThen enter the code:\n\nWXYZ-1234\n\n\
                   Alternatively, you may visit the following URL which will autofill the code upon loading:\n\
                   https://device.sso.us-east-1.amazonaws.com/?user_code=WXYZ-1234\n";
        let mut p = PromptParser::default();
        let mut found = None;
        for chunk in out.as_bytes().chunks(7) {
            found = found.or(p.feed(chunk));
        }
        let found = found.unwrap();
        assert_eq!(found.code, "WXYZ-1234");
        assert!(found
            .url
            .starts_with("https://device.sso.us-east-1.amazonaws.com/"));
        let mut flood = PromptParser::default();
        assert_eq!(flood.feed(&vec![b'x'; 1 << 20]), None);
        assert!(flood.line.len() <= PromptParser::MAX_LINE);
    }

    #[test]
    fn error_lines_with_codes_or_urls_are_withheld() {
        assert_eq!(
            safe_error_line("x\nError: AccessDenied\n\n").as_deref(),
            Some("Error: AccessDenied")
        );
        assert_eq!(safe_error_line("Then enter the code:\n\nABCD-EFGH\n"), None);
        assert_eq!(
            safe_error_line("open https://device.sso/?user_code=X"),
            None
        );
    }
}
