//! Runs `aws sso login` safely: the AWS CLI v2 from trusted install folders only, an allow-listed
//! environment, both pipes drained, a timeout that ends the whole process group, and one login per
//! SSO session at a time across every process of this app.

use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

use crate::core::error::{Error, Result};
use crate::core::paths::Paths;
use crate::core::permissions;

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
/// Windows: where AWS's MSI installs the CLI (64-bit only since 2.0; no other place).
#[cfg(windows)]
pub const TRUSTED_CLI_DIRS: &[&str] = &[r"C:\Program Files\Amazon\AWSCLIV2"];

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
const TRUSTED_REAL_PREFIXES: &[&str] = &[r"C:\Program Files\Amazon\AWSCLIV2"];

#[cfg(unix)]
const CLI_NAME: &str = "aws";
#[cfg(windows)]
const CLI_NAME: &str = "aws.exe";

/// Variables a login child may see: what the CLI needs to find its config and reach the network
/// through a proxy. The CLI always runs with `--no-browser` (this app opens the link itself, see
/// [`open_sign_in`]), so nothing that picks or starts a browser is passed: not `BROWSER` (a
/// hostile value would run and receive the link), not the display or `XDG_*`. Loader and
/// interpreter hooks (LD_*, DYLD_*, PYTHON*) are left out too, as is AWS_PROFILE (the profile is
/// always passed explicitly).
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

/// Set for the child, whatever the caller had: Python must not load code from the user's site
/// folder (a `.pth` file there runs at start-up) or from the working folder.
const FORCED_ENV: &[(&str, &str)] = &[("PYTHONNOUSERSITE", "1"), ("PYTHONSAFEPATH", "1")];

/// What the browser opener may see: enough to reach the user's desktop session, nothing that
/// chooses which program handles the link (`BROWSER`, `XDG_DATA_DIRS`, `XDG_CONFIG_*` are left
/// out, so the desktop's own default browser is used).
const OPENER_ENV: &[&str] = &[
    "HOME",
    "USER",
    "LANG",
    "LC_ALL",
    "DISPLAY",
    "WAYLAND_DISPLAY",
    "XAUTHORITY",
    "XDG_RUNTIME_DIR",
    "XDG_CURRENT_DESKTOP",
    "DBUS_SESSION_BUS_ADDRESS",
    "SYSTEMROOT",
    "SystemRoot",
    "USERPROFILE",
    "APPDATA",
    "LOCALAPPDATA",
];

/// The program that opens a sign-in link, at a fixed path (never looked up in PATH).
#[cfg(all(unix, not(target_os = "macos")))]
pub const OPENER: &str = "/usr/bin/xdg-open";
#[cfg(target_os = "macos")]
pub const OPENER: &str = "/usr/bin/open";
#[cfg(windows)]
pub const OPENER: &str = r"C:\Windows\System32\rundll32.exe";

/// PATH given to the child (it needs one to find `xdg-open` or `open`); never the caller's.
#[cfg(unix)]
const CHILD_PATH: &str = "/usr/local/bin:/usr/bin:/bin:/opt/homebrew/bin";
#[cfg(windows)]
const CHILD_PATH: &str = r"C:\Windows\System32;C:\Windows";

/// Keeps the allow-listed variables of `vars`, sets a fixed PATH and the forced variables.
pub fn allowed_env(vars: impl Iterator<Item = (OsString, OsString)>) -> Vec<(OsString, OsString)> {
    let mut env: Vec<_> = vars
        .filter(|(k, _)| k.to_str().is_some_and(|k| ALLOWED_ENV.contains(&k)))
        .collect();
    env.extend(
        FORCED_ENV
            .iter()
            .map(|(k, v)| (OsString::from(k), OsString::from(v))),
    );
    env.push((OsString::from("PATH"), OsString::from(CHILD_PATH)));
    env
}

/// The opener's environment, from `vars`: see [`OPENER_ENV`].
pub fn opener_env(vars: impl Iterator<Item = (OsString, OsString)>) -> Vec<(OsString, OsString)> {
    let mut env: Vec<_> = vars
        .filter(|(k, _)| k.to_str().is_some_and(|k| OPENER_ENV.contains(&k)))
        .collect();
    env.push((OsString::from("PATH"), OsString::from(CHILD_PATH)));
    env
}

/// Whether `url` may be opened as a sign-in link: `https` on a host IAM Identity Center signs in
/// on, and nothing broader (S3, API Gateway and load balancer names end in `.amazonaws.com` too,
/// and anyone can serve a page there):
/// - `device.sso.<region>.amazonaws.com` (device flow), `oidc[-fips].<region>.amazonaws.com` (PKCE's
///   `authorize`), and their `.amazonaws.com.cn` forms;
/// - an access portal: `<name>.awsapps.com` / `.awsapps.cn`, or `<name>.portal.<region>.app.aws`;
/// - or the origin of the OIDC endpoint this app was configured with (`AWS_ENDPOINT_URL_SSO_OIDC`)
///   when it is `https` or on this machine's loopback.
pub fn is_sign_in_link(url: &str, oidc_endpoint: Option<&str>) -> bool {
    fn origin(u: &str) -> Option<(&str, &str)> {
        let (scheme, rest) = u.split_once("://")?;
        let host_port = rest.split(['/', '?', '#']).next()?;
        (!host_port.is_empty() && !host_port.contains('@')).then_some((scheme, host_port))
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    let Some((scheme, host_port)) = origin(url) else {
        return false;
    };
    if let Some((e_scheme, e_host)) = oidc_endpoint.and_then(origin) {
        let loopback = ["127.0.0.1", "[::1]", "localhost"]
            .iter()
            .any(|h| e_host == *h || e_host.starts_with(&format!("{h}:")));
        if (e_scheme, e_host) == (scheme, host_port) && (scheme == "https" || loopback) {
            return true;
        }
    }
    let host = host_port.to_ascii_lowercase();
    if scheme != "https" || host.contains(':') {
        return false;
    }
    let labels: Vec<&str> = host.split('.').collect();
    let word = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    };
    if !labels.iter().all(|l| word(l)) {
        return false;
    }
    matches!(
        labels.as_slice(),
        ["device", "sso", _, "amazonaws", "com"]
            | ["device", "sso", _, "amazonaws", "com", "cn"]
            | ["oidc" | "oidc-fips", _, "amazonaws", "com"]
            | ["oidc" | "oidc-fips", _, "amazonaws", "com", "cn"]
            | [_, "awsapps", "com" | "cn"]
            | [_, "portal", _, "app", "aws"]
            // AWS Sign-In, where `aws login` sends the user.
            | ["signin", "aws", "amazon", "com"]
            | [_, "signin", "aws", "amazon", "com"]
            | [_, "signin", "amazonaws", "cn"]
            | [_, "signin", "amazonaws-us-gov", "com"]
            | [_, "oauth", "signin", "aws"]
            | ["signin", _, "api", "aws"]
    )
}

/// [`is_sign_in_link`] against either endpoint this app was configured with.
fn is_link_for(paths: &Paths, url: &str) -> bool {
    is_sign_in_link(url, paths.oidc_endpoint.as_deref())
        || paths
            .signin_endpoint
            .as_deref()
            .is_some_and(|e| is_sign_in_link(url, Some(e)))
}

/// Opens a checked sign-in link with the fixed opener and a minimal environment. `Err` says why
/// it was not opened (the caller then shows the link to the user instead).
pub async fn open_sign_in(paths: &Paths, url: &str) -> std::result::Result<(), String> {
    if !is_link_for(paths, url) {
        return Err("the link is not on an AWS sign-in host".into());
    }
    let Some(opener) = &paths.opener else {
        return Err("no program to open links is installed".into());
    };
    let mut cmd = Command::new(opener);
    #[cfg(windows)]
    cmd.arg("url.dll,FileProtocolHandler");
    cmd.arg(url)
        .env_clear()
        .envs(paths.opener_env.iter().map(|(k, v)| (k, v)))
        .current_dir(&paths.home)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(false);
    // xdg-open returns once the browser has the link; don't wait on a browser that stays.
    match tokio::time::timeout(Duration::from_secs(10), cmd.status()).await {
        Ok(Ok(st)) if st.success() => Ok(()),
        Ok(Ok(st)) => Err(format!("{} ended with {st}", opener.display())),
        Ok(Err(e)) => Err(format!("{} could not start: {e}", opener.display())),
        Err(_) => Ok(()),
    }
}

/// What `aws sso login` is asked to log in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginTarget {
    /// `--profile NAME`
    Profile(String),
    /// `--sso-session NAME` (used for profiles that reach SSO through a role chain)
    Session(String),
    /// `aws login --profile NAME`: a console sign-in session (AWS CLI 2.32 and later). Without a
    /// region in the profile the CLI would ask for one on the terminal; `us-east-1`, its own
    /// suggestion, is passed instead.
    Console { profile: String, has_region: bool },
}

impl LoginTarget {
    /// The profile or session name the CLI is given.
    pub fn name(&self) -> &str {
        match self {
            LoginTarget::Profile(n) | LoginTarget::Session(n) => n,
            LoginTarget::Console { profile, .. } => profile,
        }
    }
}

/// Where to send the user when the sign-in must be finished by hand: the CLI's verification URL
/// and user code. Only ever shown to the user (the tray window); never logged or returned to an agent.
#[derive(Clone, PartialEq, Eq)]
pub struct DevicePrompt {
    /// The verification URL (with the code filled in, when the CLI printed that form).
    pub url: String,
    /// The user code, e.g. `ABCD-EFGH`; empty for an `authorize` link (PKCE flow).
    pub code: String,
    /// The link was opened in the user's browser; when not, the user must be shown it.
    pub opened: bool,
    /// The sign-in ends with a code the browser shows, which the user pastes back
    /// (`aws login --remote`); it goes to the login's [`LoginOptions::on_code`].
    pub needs_code: bool,
}

impl std::fmt::Debug for DevicePrompt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DevicePrompt(..)")
    }
}

/// Receives the device prompt of a login.
pub type PromptSink = Arc<dyn Fn(DevicePrompt) + Send + Sync>;

/// Asks the user for the code the browser showed at the end of a remote console sign-in;
/// `None` when they gave none.
pub type CodeSource = Arc<
    dyn Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = Option<String>> + Send>>
        + Send
        + Sync,
>;

/// How to run a login.
#[derive(Clone)]
pub struct LoginOptions {
    /// How long the user has to finish the sign-in.
    pub timeout: Duration,
    /// Do not open a browser: the link only goes to `on_prompt`, for the user to open.
    pub no_browser: bool,
    /// Called once with the link (and code, in the device flow) the CLI printed.
    pub on_prompt: Option<PromptSink>,
    /// Stop at once, with [`Error::SignInNotShown`], when the link reached nobody: no browser
    /// opened it and there is no `on_prompt`. For callers whose output no person reads (MCP).
    pub stop_unseen: bool,
    /// Where a pasted sign-in code comes from (`aws login --remote`); without one, such a sign-in
    /// is not started.
    pub on_code: Option<CodeSource>,
}

impl Default for LoginOptions {
    fn default() -> Self {
        LoginOptions {
            timeout: Duration::from_secs(120),
            no_browser: false,
            on_prompt: None,
            stop_unseen: false,
            on_code: None,
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

/// After a sign-in fails, how long further requests for the session get that failure instead of
/// a new sign-in. Callers queued behind the failed one fall in this window too, so a failure is
/// shared with everyone who waited for it rather than repeated once per caller.
pub const FAILURE_COOL_DOWN: Duration = Duration::from_secs(30);
/// At most this many `aws sso login` processes run at once, whatever the number of sessions.
pub const MAX_CONCURRENT_LOGINS: usize = 2;
/// How long `aws --version` may take (a cold start of a PyInstaller CLI takes a few seconds).
const VERSION_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a queued request waits past the login timeout before it answers "in progress".
const LOCK_GRACE: Duration = Duration::from_secs(15);

/// Runs logins. One per process; cheap to share behind an `Arc`.
pub struct LoginRunner {
    sessions: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// The CLI found and checked, with its version, for as long as its file is unchanged.
    cli: tokio::sync::Mutex<Option<Cli>>,
    /// Process groups of running logins, so a shutdown can end them all at once.
    running: Arc<Mutex<Running>>,
    slots: tokio::sync::Semaphore,
    closed: AtomicBool,
    /// Renewed tokens whose file could not be written yet (see [`crate::core::silent_refresh`]).
    pub unwritten: crate::core::silent_refresh::Unwritten,
    /// Silent renewals in flight, which a shutdown waits for (see [`LoginRunner::renewals_finished`]).
    renewals: Arc<tokio::sync::watch::Sender<usize>>,
}

/// The process groups of running CLI processes, and whether a shutdown began: decided under one
/// lock, so a process started during a shutdown is ended at once instead of missed.
#[derive(Default)]
pub struct Running {
    closed: bool,
    groups: HashSet<u32>,
}

/// Counts one renewal in flight until dropped.
pub struct RenewalGuard(Arc<tokio::sync::watch::Sender<usize>>);

impl Drop for RenewalGuard {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n = n.saturating_sub(1));
    }
}

impl Default for LoginRunner {
    fn default() -> Self {
        LoginRunner {
            sessions: Mutex::default(),
            cli: Default::default(),
            running: Arc::default(),
            slots: tokio::sync::Semaphore::new(MAX_CONCURRENT_LOGINS),
            closed: AtomicBool::new(false),
            unwritten: Default::default(),
            renewals: Arc::new(tokio::sync::watch::Sender::new(0)),
        }
    }
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
        self.login_with(
            paths,
            key,
            target,
            token_file,
            is_fresh,
            options,
            || async { Ok(()) },
        )
        .await
    }

    /// [`LoginRunner::login`], running `before` (a sign-out) once everything the login needs is
    /// in place, under the session's locks, right before the CLI starts.
    #[allow(clippy::too_many_arguments)]
    pub async fn login_with<Fut: std::future::Future<Output = Result<()>>>(
        &self,
        paths: &Paths,
        key: &str,
        target: &LoginTarget,
        token_file: &Path,
        is_fresh: impl Fn() -> bool,
        options: &LoginOptions,
        before: impl FnOnce() -> Fut,
    ) -> Result<LoginOutcome> {
        // The slot first: waiting for one must not count against the session lock's bound.
        let _slot = self
            .slots
            .acquire()
            .await
            .map_err(|_| Error::ShuttingDown)?;
        let wait = options.timeout.saturating_add(LOCK_GRACE);
        let ran = self
            .exclusive(paths, key, token_file, is_fresh, wait, || async {
                if let Some(failed) = recent_failure(paths, key) {
                    return Err(failed);
                }
                crate::core::sso_cache::check_private(paths, token_file)?;
                // Its own bound: a CLI cold-starting on a busy machine is no hung one.
                let cli = self.cli(paths, VERSION_TIMEOUT).await?;
                before().await?;
                self.check_open()?;
                let result = run_login(&cli, paths, target, &self.running, options).await;
                // A login ended by a shutdown did not fail: nothing to hold back the next one.
                self.check_open()?;
                if let Err(e @ (Error::LoginTimedOut(_) | Error::LoginFailed { .. })) = &result {
                    // A synced write: off the async runtime.
                    let (paths, key, reason) = (paths.clone(), key.to_owned(), e.to_string());
                    let _ =
                        tokio::task::spawn_blocking(move || record_failure(&paths, &key, reason))
                            .await;
                }
                result
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
    /// this call waited and now holds a fresh token: another caller did the work. Waits at most
    /// `wait` for the locks (a stopped holder must not block everyone for good).
    pub async fn exclusive<T, Fut>(
        &self,
        paths: &Paths,
        key: &str,
        token_file: &Path,
        is_fresh: impl Fn() -> bool,
        wait: Duration,
        work: impl FnOnce() -> Fut,
    ) -> Result<Option<T>>
    where
        Fut: std::future::Future<Output = Result<T>>,
    {
        self.check_open()?;
        let before = fingerprint(token_file);
        let session_lock = lock(&self.sessions)
            .entry(key.to_owned())
            .or_default()
            .clone();
        let in_progress = || Error::RefreshInProgress {
            session: key.to_owned(),
        };
        let deadline = tokio::time::Instant::now() + wait;
        let _in_process = tokio::time::timeout_at(deadline, session_lock.lock())
            .await
            .map_err(|_| in_progress())?;
        let _across_processes =
            tokio::time::timeout_at(deadline, FileLock::acquire(&lock_path(paths, key)))
                .await
                .map_err(|_| in_progress())??;
        if fingerprint(token_file) != before && is_fresh() {
            return Ok(None);
        }
        self.check_open()?;
        work().await.map(Some)
    }

    /// Notes a silent renewal in flight for as long as the guard lives.
    pub fn renewal_started(&self) -> RenewalGuard {
        self.renewals.send_modify(|n| *n += 1);
        RenewalGuard(self.renewals.clone())
    }

    /// Waits (at most `max`) until no silent renewal is in flight: one stopped between its grant
    /// and its write would lose the new token, the old one being spent already.
    pub async fn renewals_finished(&self, max: Duration) {
        let mut rx = self.renewals.subscribe();
        let _ = tokio::time::timeout(max, rx.wait_for(|n| *n == 0)).await;
    }

    /// The CLI to run: found and checked once, again when its file changes (an upgrade).
    async fn cli(&self, paths: &Paths, version_timeout: Duration) -> Result<Cli> {
        let mut known = self.cli.lock().await;
        if let Some(cli) = known.as_ref().filter(|c| c.modified == modified(&c.path)) {
            return Ok(cli.clone());
        }
        let cli = find_cli(paths, &self.running, version_timeout).await?;
        *known = Some(cli.clone());
        Ok(cli)
    }

    /// Ends every running login and whatever it started, and refuses new ones from now on.
    /// Called when the app shuts down (stdin closed, a signal, Quit).
    pub fn shutdown(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.slots.close();
        let groups: Vec<u32> = {
            let mut running = lock(&self.running);
            running.closed = true;
            running.groups.drain().collect()
        };
        for g in groups {
            kill_group(g);
        }
    }

    fn check_open(&self) -> Result<()> {
        if self.closed.load(Ordering::SeqCst) {
            Err(Error::ShuttingDown)
        } else {
            Ok(())
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Identifies a version of the token file; any rewrite changes it (the inode too: a same-length
/// rename-over within one clock tick keeps size and time).
fn fingerprint(path: &Path) -> Option<(SystemTime, u64, u64)> {
    let m = fs::metadata(path).ok()?;
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&m);
    #[cfg(not(unix))]
    let inode = 0;
    Some((m.modified().ok()?, m.len(), inode))
}

fn lock_path(paths: &Paths, key: &str) -> PathBuf {
    let name = sha1_smol::Sha1::from(key).digest();
    paths.state_dir.join("locks").join(format!("{name}.lock"))
}

/// Where the last failed sign-in of a session is noted, for every process of the app.
fn failure_path(paths: &Paths, key: &str) -> PathBuf {
    lock_path(paths, key).with_extension("failed")
}

#[derive(serde::Serialize, serde::Deserialize)]
struct FailureNote {
    /// Unix seconds.
    at: i64,
    reason: String,
}

fn record_failure(paths: &Paths, key: &str, reason: String) {
    let note = FailureNote {
        at: time::OffsetDateTime::now_utc().unix_timestamp(),
        reason,
    };
    let path = failure_path(paths, key);
    if let Ok(body) = serde_json::to_vec(&note) {
        if let Err(e) = crate::core::atomic_write::write_atomically(&path, &body, || Ok(())) {
            tracing::warn!("cannot note the failed sign-in: {e}");
        }
    }
}

/// The failure of a sign-in of `key` that ended less than [`FAILURE_COOL_DOWN`] ago.
fn recent_failure(paths: &Paths, key: &str) -> Option<Error> {
    let text = crate::core::read::text(&failure_path(paths, key)).ok()??;
    let note: FailureNote = serde_json::from_str(&text).ok()?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let ago = u64::try_from(now.checked_sub(note.at)?).ok()?;
    let ago = Duration::from_secs(ago);
    let retry_in = FAILURE_COOL_DOWN.checked_sub(ago)?;
    Some(Error::RecentLoginFailed {
        session: key.to_owned(),
        reason: note.reason.chars().take(300).collect(),
        ago,
        retry_in,
    })
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
        let file = permissions::open_private(&mut options, path).map_err(|e| Error::io(path, e))?;
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
/// The AWS CLI v2 this app runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cli {
    pub path: PathBuf,
    /// `(major, minor, patch)` from `aws --version`.
    pub version: (u32, u32, u32),
    modified: Option<SystemTime>,
}

impl Cli {
    /// `aws sso login --use-device-code` (2.22 and later, which sign in with PKCE by default).
    pub fn has_device_code_flag(&self) -> bool {
        self.version >= (2, 22, 0)
    }

    /// `aws login`, console sign-in sessions (2.32 and later).
    pub fn has_login_command(&self) -> bool {
        self.version >= (2, 32, 0)
    }
}

/// Ends a task when its owner goes (a wait for a pasted code must not outlive the login).
struct AbortOnDrop(Option<tokio::task::JoinHandle<()>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let Some(task) = self.0.take() {
            task.abort();
        }
    }
}

/// A pasted sign-in code as the CLI takes it (base64 of `code=…&state=…`), or `None` for
/// anything else: it becomes a line on the CLI's input, so it must be one short line.
pub fn pasted_code(text: &str) -> Option<String> {
    let code = text.trim();
    let ok = !code.is_empty()
        && code.len() <= 4096
        && code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=' | '-' | '_'));
    ok.then(|| code.to_owned())
}

fn modified(path: &Path) -> Option<SystemTime> {
    fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// `2.36.7` → `(2, 36, 7)`; missing parts are 0.
fn parse_version(v: &str) -> Option<(u32, u32, u32)> {
    let mut parts = v.split('.').map(|p| {
        let digits: String = p.chars().take_while(char::is_ascii_digit).collect();
        digits.parse::<u32>().ok()
    });
    let major = parts.next()??;
    let minor = parts.next().flatten().unwrap_or(0);
    let patch = parts.next().flatten().unwrap_or(0);
    Some((major, minor, patch))
}

async fn find_cli(
    paths: &Paths,
    running: &Arc<Mutex<Running>>,
    version_timeout: Duration,
) -> Result<Cli> {
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
    let modified = modified(&candidate);
    let version = check_cli_version(&candidate, paths, running, version_timeout).await?;
    Ok(Cli {
        path: candidate,
        version,
        modified,
    })
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
    // The file, every folder above it, and the interpreter a script names: someone who can
    // change any of them can change what runs.
    permissions::trusted_program_path(&real).map_err(&reject)?;
    if let Some(interpreter) = interpreter_of(&real) {
        let real_interpreter =
            fs::canonicalize(&interpreter).map_err(|e| Error::io(&interpreter, e))?;
        // Both the path the script names (whoever can change its folders can swap a symlink
        // there) and the file it leads to.
        for p in [&interpreter, &real_interpreter] {
            permissions::trusted_program_path(p)
                .map_err(|r| reject(format!("its interpreter: {r}")))?;
        }
    }
    Ok(())
}

/// The program a `#!` script names (pip and venv installs of the CLI are Python scripts).
fn interpreter_of(script: &Path) -> Option<PathBuf> {
    use std::io::Read;
    let mut head = [0u8; 256];
    let n = fs::File::open(script).ok()?.read(&mut head).ok()?;
    let head = head.get(..n)?.strip_prefix(b"#!")?;
    let line = head.split(|&b| b == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?.trim();
    let program = line.split_whitespace().next()?;
    Some(PathBuf::from(program))
}

async fn check_cli_version(
    cli: &Path,
    paths: &Paths,
    running: &Arc<Mutex<Running>>,
    timeout: Duration,
) -> Result<(u32, u32, u32)> {
    let mut cmd = command(cli, paths);
    cmd.arg("--version")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd.spawn().map_err(|e| Error::io(cli, e))?;
    // A hung `aws --version` is ended with everything it started, like a login.
    let group = GroupGuard::new(child.id(), running);
    let out = tokio::time::timeout(timeout, child.wait_with_output())
        .await
        .map_err(|_| Error::CliRejected {
            path: cli.to_path_buf(),
            reason: "`aws --version` did not answer".into(),
        })?
        .map_err(|e| Error::io(cli, e))?;
    group.disarm();
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
    match parse_version(version) {
        Some(v @ (2, _, _)) => Ok(v),
        _ if version.is_empty() => Err(Error::CliRejected {
            path: cli.to_path_buf(),
            reason: "it does not report an aws-cli version".into(),
        }),
        _ => Err(Error::CliRejected {
            path: cli.to_path_buf(),
            reason: format!(
                "it is AWS CLI {}; `aws sso login` needs AWS CLI v2",
                version.chars().take(40).collect::<String>()
            ),
        }),
    }
}

/// A command for the CLI with the allow-listed environment, in its own process group, ended
/// with this process on Linux even if this process is killed outright.
fn command(cli: &Path, paths: &Paths) -> Command {
    let mut cmd = Command::new(cli);
    cmd.env_clear()
        .envs(paths.login_env.iter().map(|(k, v)| (k, v)))
        .current_dir(&paths.home)
        .stdin(Stdio::null())
        .kill_on_drop(true);
    #[cfg(unix)]
    cmd.process_group(0);
    #[cfg(target_os = "linux")]
    {
        // SAFETY: getpid is async-signal-safe.
        let parent = unsafe { libc::getpid() };
        // SAFETY: only async-signal-safe calls (prctl, getppid) between fork and exec. The death
        // signal follows the thread that spawned the child: logins are spawned from runtime
        // threads, which live as long as the process.
        unsafe {
            cmd.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // The parent may have died before prctl took effect.
                if libc::getppid() != parent {
                    return Err(std::io::Error::other("parent exited"));
                }
                Ok(())
            });
        }
    }
    // No console window; suspended until GroupGuard::new has put it in its job.
    #[cfg(windows)]
    cmd.creation_flags(crate::core::windows::job::CREATION_FLAGS);
    cmd
}

async fn run_login(
    cli: &Cli,
    paths: &Paths,
    target: &LoginTarget,
    running: &Arc<Mutex<Running>>,
    options: &LoginOptions,
) -> Result<()> {
    let timeout = options.timeout;
    let (cli, cli_info) = (cli.path.as_path(), cli);
    let mut cmd = command(cli, paths);
    // Whether the user pastes a code back (a console sign-in without a browser here).
    let mut remote = false;
    match target {
        LoginTarget::Profile(_) | LoginTarget::Session(_) => {
            // Always: the CLI must not start a browser itself (it would honour BROWSER); the
            // link is checked and opened here, or handed to the user.
            cmd.args(["sso", "login", "--no-browser"]);
            // No browser here, or the user asked for none: the PKCE flow's redirect to this
            // machine's loopback may never arrive, so sign in with a code, on any device.
            if (!paths.has_browser || options.no_browser) && cli_info.has_device_code_flag() {
                cmd.arg("--use-device-code");
            }
        }
        LoginTarget::Console { has_region, .. } => {
            if !cli_info.has_login_command() {
                return Err(Error::LoginFailed {
                    status: "not started".into(),
                    detail: Some(format!(
                        "`aws login` needs AWS CLI 2.32 or later; {} is {}.{}.{}",
                        cli.display(),
                        cli_info.version.0,
                        cli_info.version.1,
                        cli_info.version.2
                    )),
                });
            }
            // `aws login` has no --no-browser: the CLI's own attempt finds no browser in the
            // allow-listed environment (no DISPLAY, no BROWSER), and the link is handled here.
            cmd.arg("login");
            remote = !paths.has_browser || options.no_browser;
            if remote {
                if options.on_code.is_none() {
                    return Err(Error::SignInNotShown {
                        finish: String::new(),
                    });
                }
                cmd.arg("--remote").stdin(Stdio::piped());
            }
            if !has_region {
                cmd.args(["--region", "us-east-1"]);
            }
        }
    }
    match target {
        LoginTarget::Profile(p) | LoginTarget::Console { profile: p, .. } => {
            cmd.arg("--profile").arg(p)
        }
        LoginTarget::Session(s) => cmd.arg("--sso-session").arg(s),
    };
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| Error::io(cli, e))?;
    tracing::trace!(pid = child.id(), "aws sso login started");
    let group = GroupGuard::new(child.id(), running);
    // Both pipes are drained while the CLI runs, so a chatty CLI cannot block on a full pipe.
    // Their text holds the device code and URL, so it is kept only to pick a safe error line.
    let (links, mut found) = tokio::sync::mpsc::channel(2);
    let stdout = tokio::spawn(drain(child.stdout.take(), Some(links.clone())));
    let mut stderr = tokio::spawn(drain(child.stderr.take(), Some(links)));
    let deadline = tokio::time::Instant::now() + timeout;
    let mut handled = false;
    let mut stdin = child.stdin.take();
    let mut pasted = AbortOnDrop(None);
    let status = loop {
        tokio::select! {
            status = child.wait() => break status.map_err(|e| Error::io(cli, e))?,
            Some(prompt) = found.recv(), if !handled => {
                handled = true;
                if !is_link_for(paths, &prompt.url) {
                    drop(group);
                    let _ = child.wait().await;
                    stdout.abort();
                    stderr.abort();
                    return Err(Error::LoginFailed {
                        status: "stopped".into(),
                        detail: Some("the AWS CLI printed a sign-in link outside the AWS sign-in hosts; it was not opened".into()),
                    });
                }
                let prompt = DevicePrompt { needs_code: remote, ..prompt };
                if let (true, Some(source), Some(mut pipe)) = (remote, options.on_code.clone(), stdin.take()) {
                    // The code the user pastes goes to the CLI's prompt; none (or a malformed
                    // one) closes its input and the CLI gives up.
                    pasted.0 = Some(tokio::spawn(async move {
                        if let Some(code) = source().await.and_then(|c| pasted_code(&c)) {
                            let _ = pipe.write_all(format!("{code}\n").as_bytes()).await;
                            let _ = pipe.flush().await;
                        }
                        drop(pipe);
                    }));
                }
                if !hand_over(paths, prompt, options).await && options.stop_unseen {
                    drop(group);
                    let _ = child.wait().await;
                    stdout.abort();
                    stderr.abort();
                    return Err(Error::SignInNotShown { finish: String::new() });
                }
            }
            () = tokio::time::sleep_until(deadline) => {
                drop(group); // ends the CLI and anything it started
                let _ = child.wait().await;
                stdout.abort();
                stderr.abort();
                return Err(Error::LoginTimedOut(timeout));
            }
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

/// Gives a checked sign-in link to the user: the browser opens it, unless the caller asked not
/// to or there is no browser here, and the caller's sink always gets it (the tray's window). The
/// link itself is never logged. Returns whether it reached anyone: when not, waiting is pointless.
async fn hand_over(paths: &Paths, mut prompt: DevicePrompt, options: &LoginOptions) -> bool {
    if !options.no_browser && paths.has_browser {
        match open_sign_in(paths, &prompt.url).await {
            Ok(()) => prompt.opened = true,
            Err(why) => tracing::warn!("the sign-in page could not be opened ({why})"),
        }
    }
    let opened = prompt.opened;
    match &options.on_prompt {
        Some(sink) => {
            sink(prompt);
            true
        }
        None => opened,
    }
}

/// Reads a pipe to its end, keeping only the last few KiB, and sends the sign-in prompt (if the
/// CLI prints one) to `prompts`.
async fn drain(
    pipe: Option<impl AsyncRead + Unpin>,
    prompts: Option<tokio::sync::mpsc::Sender<DevicePrompt>>,
) -> String {
    const KEEP: usize = 4096;
    let Some(mut pipe) = pipe else {
        return String::new();
    };
    let mut tail = Vec::new();
    let mut prompt = prompts.map(|sink| (PromptParser::default(), sink));
    let mut buf = vec![0u8; 16 * 1024];
    while let Ok(n) = pipe.read(&mut buf).await {
        if n == 0 {
            break;
        }
        let chunk = buf.get(..n).unwrap_or_default();
        if let Some((parser, sink)) = &mut prompt {
            if let Some(found) = parser.feed(chunk) {
                let _ = sink.send(found).await;
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
    authorize: Option<String>,
    code: Option<String>,
}

impl PromptParser {
    const MAX_LINE: usize = 2048;

    /// Feeds output; returns the prompt once both URL and code have been seen, or at once for an
    /// `authorize` link (the PKCE flow of CLI 2.22 and later prints no code).
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
        if let Some(url) = &self.authorize {
            return Some(DevicePrompt {
                url: url.clone(),
                code: String::new(),
                opened: false,
                needs_code: false,
            });
        }
        let code = self.code.clone()?;
        let url = self.url_with_code.clone().or(self.url.clone())?;
        Some(DevicePrompt {
            url,
            code,
            opened: false,
            needs_code: false,
        })
    }

    fn line_done(&mut self, line: &str) {
        // `http` too: a configured loopback endpoint (checked with every other link later).
        let link = line.starts_with("https://") || line.starts_with("http://");
        if link && !line.contains(char::is_whitespace) {
            if line.contains("/authorize?") && self.authorize.is_none() {
                self.authorize = Some(line.to_owned());
            } else if line.contains("user_code=") {
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

/// The AWS CLI's own error summary from its last line, `An error occurred (Code) when calling
/// the Operation operation`, and nothing after it: the rest is the service's message, which may
/// echo a device code, a link or a secret. Any other line is withheld.
pub fn safe_error_line(stderr: &str) -> Option<String> {
    const HEAD: &str = "An error occurred (";
    let line = stderr.lines().map(str::trim).rfind(|l| !l.is_empty())?;
    let (_, rest) = line.split_once(HEAD)?;
    let (code, rest) = rest.split_once(") when calling the ")?;
    let (operation, _) = rest.split_once(" operation")?;
    let word = |w: &str| {
        (1..=64).contains(&w.len()) && w.chars().all(|c| c.is_ascii_alphanumeric() || c == '.')
    };
    (word(code) && word(operation))
        .then(|| format!("{HEAD}{code}) when calling the {operation} operation"))
}

/// Kills the child's whole process group when dropped (timeout, or the caller went away),
/// unless disarmed after a normal exit; registered in the runner meanwhile for [`LoginRunner::shutdown`].
struct GroupGuard {
    pid: Option<u32>,
    running: Arc<Mutex<Running>>,
}

impl GroupGuard {
    fn new(pid: Option<u32>, running: &Arc<Mutex<Running>>) -> Self {
        #[cfg(windows)]
        if let Some(Err(e)) = pid.map(crate::core::windows::job::adopt) {
            tracing::warn!("the AWS CLI was stopped: it could not be put in a job object ({e})");
        }
        let mut r = lock(running);
        if r.closed {
            // Started while shutting down: ended now, not missed.
            if let Some(pid) = pid {
                kill_group(pid);
            }
        } else {
            r.groups.extend(pid);
        }
        drop(r);
        GroupGuard {
            pid,
            running: running.clone(),
        }
    }

    fn disarm(mut self) {
        if let Some(pid) = self.pid.take() {
            lock(&self.running).groups.remove(&pid);
            #[cfg(windows)]
            crate::core::windows::job::release(pid);
        }
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(pid) = self.pid.take() {
            lock(&self.running).groups.remove(&pid);
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
    #[cfg(windows)]
    crate::core::windows::job::end(pid);
}

// Unix only: the fake CLIs are shell scripts, and the tests read process groups and modes. The
// Windows counterparts (job objects, DACLs, the CLI folder) are in core/windows.
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
        let err = find_cli(&paths, &Default::default(), VERSION_TIMEOUT)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("needs AWS CLI v2"), "{err}");
    }

    #[tokio::test]
    async fn missing_cli_names_the_folders() {
        let dir = tempfile::tempdir().unwrap();
        let mut paths = Paths::under(dir.path());
        paths.trusted_cli_dirs = vec![dir.path().join("nothing-here")];
        let err = find_cli(&paths, &Default::default(), VERSION_TIMEOUT)
            .await
            .unwrap_err();
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
    fn a_script_whose_interpreter_others_can_change_is_refused() {
        // Issue 12 #8: only the CLI file and its folder were checked.
        let dir = tempfile::tempdir().unwrap();
        let shared = dir.path().join("shared");
        fs::create_dir(&shared).unwrap();
        std::os::unix::fs::symlink("/bin/sh", shared.join("python3")).unwrap();
        let paths = fake_cli(dir.path(), "echo aws-cli/2.9.19");
        let bin = paths.trusted_cli_dirs[0].clone();
        let aws = bin.join("aws");
        fs::write(
            &aws,
            format!("#!{}/python3\necho aws-cli/2.9.19\n", shared.display()),
        )
        .unwrap();
        fs::set_permissions(&shared, fs::Permissions::from_mode(0o755)).unwrap();
        assert!(check_cli_file(&aws, std::slice::from_ref(&bin)).is_ok());
        fs::set_permissions(&shared, fs::Permissions::from_mode(0o777)).unwrap();
        let err = check_cli_file(&aws, std::slice::from_ref(&bin)).unwrap_err();
        assert!(err.to_string().contains("its interpreter"), "{err}");
        // And a folder above the CLI itself.
        fs::set_permissions(&shared, fs::Permissions::from_mode(0o755)).unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o777)).unwrap();
        let err = check_cli_file(&aws, std::slice::from_ref(&bin)).unwrap_err();
        assert!(
            err.to_string().contains("can be changed by any user"),
            "{err}"
        );
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700)).unwrap();
    }

    #[test]
    fn versions_are_read_and_compared() {
        assert_eq!(parse_version("2.36.7"), Some((2, 36, 7)));
        assert_eq!(parse_version("2.9.19"), Some((2, 9, 19)));
        assert_eq!(parse_version("2.22"), Some((2, 22, 0)));
        assert_eq!(parse_version("2.0.0dev1"), Some((2, 0, 0)));
        assert_eq!(parse_version("x"), None);
        let cli = |version| Cli {
            path: PathBuf::from("/usr/bin/aws"),
            version,
            modified: None,
        };
        assert!(!cli((2, 9, 19)).has_device_code_flag());
        assert!(cli((2, 22, 0)).has_device_code_flag());
        assert!(cli((2, 36, 7)).has_device_code_flag());
        assert!(!cli((2, 31, 9)).has_login_command());
        assert!(cli((2, 32, 0)).has_login_command());
    }

    #[test]
    fn a_pasted_code_is_one_short_base64_line() {
        assert_eq!(
            pasted_code("  Y29kZT1hJnN0YXRlPWI=\n").as_deref(),
            Some("Y29kZT1hJnN0YXRlPWI=")
        );
        assert_eq!(pasted_code("abc-_+/="), Some("abc-_+/=".into()));
        for bad in ["", "  \n", "a b", "a\nb", "a;rm", "código"] {
            assert_eq!(pasted_code(bad), None, "{bad:?}");
        }
        assert_eq!(pasted_code(&"A".repeat(4097)), None);
    }

    #[test]
    fn aws_sign_in_hosts_of_aws_login_are_sign_in_links() {
        for ok in [
            "https://us-east-1.signin.aws.amazon.com/v1/authorize?client_id=x",
            "https://signin.aws.amazon.com/v1/authorize?x",
            "https://cn-north-1.signin.amazonaws.cn/v1/authorize?x",
            "https://us-gov-west-1.signin.amazonaws-us-gov.com/v1/authorize?x",
            "https://us-east-1.oauth.signin.aws/v1/authorize?x",
            "https://signin.us-east-1.api.aws/v1/authorize?x",
        ] {
            assert!(is_sign_in_link(ok, None), "{ok}");
        }
        for bad in [
            "https://signin.aws.amazon.com.evil.example/x",
            "https://evil.amazon.com/v1/authorize",
            "http://us-east-1.signin.aws.amazon.com/v1/authorize",
            "https://a.b.signin.aws.amazon.com.cn/x",
        ] {
            assert!(!is_sign_in_link(bad, None), "{bad}");
        }
        // A loopback AWS_ENDPOINT_URL_SIGNIN (tests, private endpoints) counts too.
        let mut paths = Paths::under(Path::new("/home/u"));
        let link = "http://127.0.0.1:4567/v1/authorize?client_id=x";
        assert!(!is_link_for(&paths, link));
        paths.signin_endpoint = Some("http://127.0.0.1:4567".into());
        assert!(is_link_for(&paths, link));
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
            ("BROWSER", "/tmp/evil"),
            ("PYTHONNOUSERSITE", "0"),
            ("XDG_DATA_DIRS", "/tmp/evil"),
        ]
        .map(|(k, v)| (OsString::from(k), OsString::from(v)));
        let env = allowed_env(vars.clone().into_iter());
        let pairs: Vec<_> = env
            .iter()
            .map(|(k, v)| (k.to_str().unwrap(), v.to_str().unwrap()))
            .collect();
        // Issue 12 #1: BROWSER ran a hostile program; a .pth file in the user site ran in the CLI.
        assert_eq!(
            pairs,
            [
                ("HOME", "/h"),
                ("https_proxy", "http://p"),
                ("PYTHONNOUSERSITE", "1"),
                ("PYTHONSAFEPATH", "1"),
                ("PATH", CHILD_PATH)
            ]
        );
        let opener: Vec<_> = opener_env(vars.into_iter())
            .into_iter()
            .map(|(k, _)| k.into_string().unwrap())
            .collect();
        assert_eq!(opener, ["HOME", "DISPLAY", "PATH"]);
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
        // Issue 12 #4: a device-grant error echoing the device code reached an MCP reply.
        assert_eq!(
            safe_error_line("x\nAn error occurred (InvalidGrantException) when calling the CreateToken operation: device code e2eDeviceCode-1 is bad\n\n").as_deref(),
            Some("An error occurred (InvalidGrantException) when calling the CreateToken operation")
        );
        assert_eq!(safe_error_line("Error: AccessDenied"), None);
        assert_eq!(
            safe_error_line("An error occurred (ABCD-EFGH) when calling the X operation"),
            None
        );
        assert_eq!(safe_error_line("Then enter the code:\n\nABCD-EFGH\n"), None);
        assert_eq!(
            safe_error_line("open https://device.sso/?user_code=X"),
            None
        );
    }

    #[test]
    fn only_aws_sign_in_links_are_opened() {
        for ok in [
            "https://device.sso.us-east-1.amazonaws.com/?user_code=ABCD-EFGH",
            "https://oidc.eu-west-1.amazonaws.com/authorize?response_type=code&client_id=x",
            "https://d-123.awsapps.com/start/#/",
            "https://oidc.cn-north-1.amazonaws.com.cn/authorize?x",
            "https://ssoins-7223abcd.portal.us-east-1.app.aws/",
            "https://oidc-fips.us-gov-west-1.amazonaws.com/authorize?x",
        ] {
            assert!(is_sign_in_link(ok, None), "{ok}");
        }
        for bad in [
            "https://evil.s3.amazonaws.com/login.html",
            "https://abc123.execute-api.us-east-1.amazonaws.com/prod",
            "https://x.y.awsapps.com/start",
            "http://device.sso.us-east-1.amazonaws.com/",
            "https://amazonaws.com.evil.example/",
            "https://evil.example/?x=.amazonaws.com",
            "https://user@device.sso.us-east-1.amazonaws.com/",
            "https://device.sso.us-east-1.amazonaws.com:8443/",
            "https://.amazonaws.com/",
            "file:///etc/passwd",
            "https://device.sso.us-east-1.amazonaws.com/ x",
            "javascript:alert(1)",
        ] {
            assert!(!is_sign_in_link(bad, None), "{bad}");
        }
        assert!(is_sign_in_link(
            "http://127.0.0.1:4321/authorize?x",
            Some("http://127.0.0.1:4321")
        ));
        assert!(!is_sign_in_link(
            "http://127.0.0.1:9999/authorize?x",
            Some("http://127.0.0.1:4321")
        ));
        // A plain-http endpoint elsewhere is no reason to open its links.
        assert!(!is_sign_in_link(
            "http://proxy.example:8080/authorize?x",
            Some("http://proxy.example:8080")
        ));
    }

    #[tokio::test]
    async fn the_opener_gets_the_link_and_no_browser_choice() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("opened");
        let opener = dir.path().join("opener");
        fs::write(
            &opener,
            format!("#!/bin/sh\n{{ echo \"$1\"; env; }} > {}\n", log.display()),
        )
        .unwrap();
        fs::set_permissions(&opener, fs::Permissions::from_mode(0o755)).unwrap();
        let mut paths = Paths::under(dir.path());
        paths.opener = Some(opener);
        paths.opener_env = opener_env(
            [("DISPLAY", ":5"), ("BROWSER", "/tmp/evil")]
                .map(|(k, v)| (OsString::from(k), OsString::from(v)))
                .into_iter(),
        );
        let url = "https://device.sso.us-east-1.amazonaws.com/?user_code=ABCD-EFGH";
        open_sign_in(&paths, url).await.unwrap();
        let seen = fs::read_to_string(&log).unwrap();
        assert!(seen.starts_with(url), "{seen}");
        assert!(
            seen.contains("DISPLAY=:5") && !seen.contains("BROWSER"),
            "{seen}"
        );
        fs::remove_file(&log).unwrap();
        let err = open_sign_in(&paths, "https://evil.example/")
            .await
            .unwrap_err();
        assert!(err.contains("not on an AWS sign-in host"));
        assert!(!log.exists());
    }

    #[tokio::test]
    async fn a_link_opened_in_the_browser_is_marked_so_the_user_is_not_asked_again() {
        let dir = tempfile::tempdir().unwrap();
        let opener = dir.path().join("opener");
        fs::write(&opener, "#!/bin/sh\nexit 0\n").unwrap();
        fs::set_permissions(&opener, fs::Permissions::from_mode(0o755)).unwrap();
        let mut paths = Paths::under(dir.path());
        paths.has_browser = true;
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink: PromptSink = {
            let seen = seen.clone();
            Arc::new(move |p: DevicePrompt| lock(&seen).push(p.opened))
        };
        let options = LoginOptions {
            on_prompt: Some(sink),
            ..LoginOptions::default()
        };
        let prompt = || DevicePrompt {
            url: "https://device.sso.us-east-1.amazonaws.com/?user_code=ABCD-EFGH".into(),
            code: "ABCD-EFGH".into(),
            opened: false,
            needs_code: false,
        };
        assert!(hand_over(&paths, prompt(), &options).await); // no opener installed
        paths.opener = Some(opener);
        assert!(hand_over(&paths, prompt(), &options).await);
        let asked_not_to = LoginOptions {
            no_browser: true,
            ..options.clone()
        };
        assert!(hand_over(&paths, prompt(), &asked_not_to).await);
        assert_eq!(*lock(&seen), [false, true, false]);
        // Nobody to give it to: opened by the browser counts, not opened does not.
        let nobody = LoginOptions {
            on_prompt: None,
            ..options.clone()
        };
        assert!(hand_over(&paths, prompt(), &nobody).await);
        let nobody_and_no_browser = LoginOptions {
            no_browser: true,
            ..nobody
        };
        assert!(!hand_over(&paths, prompt(), &nobody_and_no_browser).await);
    }

    /// A fake CLI whose `sso login` notes each run in `runs` and then runs `login`.
    fn counting_cli(dir: &Path, login: &str) -> (Paths, PathBuf) {
        let runs = dir.join("runs");
        let paths = fake_cli(
            dir,
            &format!(
                "if [ \"$1\" = --version ]; then echo aws-cli/2.9.19; exit 0; fi\necho \"$$ $(date +%s.%N) $*\" >> {}\n{login}",
                runs.display()
            ),
        );
        (paths, runs)
    }

    fn runs(path: &Path) -> Vec<String> {
        fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn quick(timeout_secs: u64) -> LoginOptions {
        LoginOptions {
            timeout: Duration::from_secs(timeout_secs),
            no_browser: true,
            on_prompt: None,
            stop_unseen: false,
            on_code: None,
        }
    }

    #[tokio::test]
    async fn a_link_nobody_can_see_stops_the_login_at_once_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let (paths, ran) = counting_cli(
            dir.path(),
            "printf 'Browser will not be automatically opened.\\nPlease visit the following URL:\\n\\nhttps://device.sso.us-east-1.amazonaws.com/\\n\\nThen enter the code:\\n\\nWXYZ-1234\\n'\nexec sleep 30",
        );
        let runner = Arc::new(LoginRunner::default());
        let token = dir.path().join("token.json");
        let target = LoginTarget::Session("s".into());
        let options = LoginOptions {
            stop_unseen: true,
            ..quick(25)
        };
        let err = runner
            .login(&paths, "s", &target, &token, || false, &options)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::SignInNotShown { .. }), "{err}");
        assert_eq!(runs(&ran).len(), 1);
    }

    /// One login of session `key` (its token at `token`), as a task.
    fn sign_in(
        runner: &Arc<LoginRunner>,
        paths: &Paths,
        key: &str,
        token: &Path,
        timeout_secs: u64,
    ) -> tokio::task::JoinHandle<Result<LoginOutcome>> {
        let (runner, paths, key, token) = (
            runner.clone(),
            paths.clone(),
            key.to_owned(),
            token.to_path_buf(),
        );
        tokio::spawn(async move {
            let target = LoginTarget::Session(key.clone());
            runner
                .login(
                    &paths,
                    &key,
                    &target,
                    &token,
                    || false,
                    &quick(timeout_secs),
                )
                .await
        })
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_login_is_shared_with_every_queued_caller() {
        // Issue 12 #2: 20 queued refreshes of a session whose sign-in failed ran 20 sign-ins.
        let dir = tempfile::tempdir().unwrap();
        let (paths, log) = counting_cli(dir.path(), "sleep 1; echo 'An error occurred (AccessDeniedException) when calling the CreateToken operation: no' >&2; exit 255");
        let runner = Arc::new(LoginRunner::default());
        let token = dir.path().join("token.json");
        let calls = (0..8).map(|_| sign_in(&runner, &paths, "lab", &token, 30));
        let results: Vec<_> = futures_join(calls).await;
        assert_eq!(
            runs(&log).len(),
            1,
            "one sign-in for eight callers: {:?}",
            runs(&log)
        );
        let shared = results
            .iter()
            .filter(|r| matches!(r, Err(Error::RecentLoginFailed { .. })))
            .count();
        assert_eq!(shared, 7, "{results:?}");
        assert!(results
            .iter()
            .any(|r| matches!(r, Err(Error::LoginFailed { .. }))));
        // A new request inside the cool-down gets the same answer without a sign-in.
        let again = sign_in(&runner, &paths, "lab", &token, 30)
            .await
            .unwrap()
            .unwrap_err();
        assert!(
            again.to_string().contains("AccessDeniedException"),
            "{again}"
        );
        assert_eq!(runs(&log).len(), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn at_most_two_logins_run_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let (paths, log) = counting_cli(
            dir.path(),
            "sleep 1; echo \"$$ end $(date +%s.%N)\" >> $0.ends; exit 0",
        );
        let runner = Arc::new(LoginRunner::default());
        let calls = (0..4).map(|i| {
            let token = dir.path().join(format!("t{i}.json"));
            sign_in(&runner, &paths, &format!("s{i}"), &token, 30)
        });
        for r in futures_join(calls).await {
            r.unwrap();
        }
        let starts: Vec<f64> = runs(&log)
            .iter()
            .map(|l| l.split(' ').nth(1).unwrap().parse().unwrap())
            .collect();
        let ends: Vec<f64> = runs(&paths.trusted_cli_dirs[0].join("aws.ends"))
            .iter()
            .map(|l| l.split(' ').nth(2).unwrap().parse().unwrap())
            .collect();
        assert_eq!((starts.len(), ends.len()), (4, 4));
        for &t in &starts {
            let running = starts
                .iter()
                .zip(&ends)
                .filter(|(s, e)| **s <= t && t < **e)
                .count();
            assert!(
                running <= MAX_CONCURRENT_LOGINS,
                "{running} at {t}: {starts:?} {ends:?}"
            );
        }
    }

    #[tokio::test]
    async fn a_stopped_lock_holder_does_not_block_for_good() {
        // Issue 12 #7: the cross-process lock waited forever behind a stopped holder.
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::under(dir.path());
        let other_process = LoginRunner::default();
        let token = dir.path().join("token.json");
        let _held = FileLock::acquire(&lock_path(&paths, "lab")).await.unwrap();
        let err = other_process
            .exclusive(
                &paths,
                "lab",
                &token,
                || false,
                Duration::from_millis(300),
                || async { Ok(()) },
            )
            .await
            .unwrap_err();
        assert!(matches!(err, Error::RefreshInProgress { .. }), "{err}");
        drop(_held);
        let ran = other_process
            .exclusive(
                &paths,
                "lab",
                &token,
                || false,
                Duration::from_millis(300),
                || async { Ok(()) },
            )
            .await
            .unwrap();
        assert_eq!(ran, Some(()));
    }

    #[tokio::test]
    async fn after_shutdown_no_login_starts() {
        // Issue 12 #3: a login queued behind others still started after stdin closed.
        let dir = tempfile::tempdir().unwrap();
        let (paths, log) = counting_cli(dir.path(), "exit 0");
        let runner = Arc::new(LoginRunner::default());
        runner.shutdown();
        let err = sign_in(&runner, &paths, "lab", &dir.path().join("t"), 5)
            .await
            .unwrap()
            .unwrap_err();
        assert!(matches!(err, Error::ShuttingDown), "{err}");
        assert!(runs(&log).is_empty());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_login_ended_by_shutdown_is_no_failure() {
        // Found by the e2e attack tests: stdin EOF during a sign-in started a 30 s cool-down for
        // every other process of the app.
        let dir = tempfile::tempdir().unwrap();
        let (paths, log) = counting_cli(dir.path(), "sleep 30");
        let runner = Arc::new(LoginRunner::default());
        let login = sign_in(&runner, &paths, "lab", &dir.path().join("t"), 60);
        while runs(&log).is_empty() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        runner.shutdown();
        let err = login.await.unwrap().unwrap_err();
        assert!(matches!(err, Error::ShuttingDown), "{err}");
        assert!(recent_failure(&paths, "lab").is_none());
    }

    #[tokio::test]
    async fn a_hung_version_check_ends_with_everything_it_started() {
        // Issue 12 #3: a hung `aws --version` left its children running.
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("grandchild");
        let paths = fake_cli(
            dir.path(),
            &format!("sleep 300 & echo $! > {}\nwait", pid_file.display()),
        );
        let err = find_cli(&paths, &Default::default(), Duration::from_secs(1))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("did not answer"), "{err}");
        let pid: i32 = fs::read_to_string(&pid_file)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        // SAFETY: signal 0 only checks that the process exists.
        while unsafe { libc::kill(pid, 0) } == 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "the grandchild {pid} outlived the check"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    #[test]
    fn a_same_length_rewrite_changes_the_fingerprint() {
        // Issue 12 #14: (mtime, len) missed a same-length rename-over within one clock tick.
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.json");
        fs::write(&p, "aaaa").unwrap();
        let before = fingerprint(&p);
        let tmp = dir.path().join("new");
        fs::write(&tmp, "bbbb").unwrap();
        let f = fs::File::options().write(true).open(&tmp).unwrap();
        f.set_modified(fs::metadata(&p).unwrap().modified().unwrap())
            .unwrap();
        fs::rename(&tmp, &p).unwrap();
        assert_ne!(fingerprint(&p), before);
    }

    async fn futures_join<T: Send + 'static>(
        handles: impl Iterator<Item = tokio::task::JoinHandle<T>>,
    ) -> Vec<T> {
        let mut out = Vec::new();
        for h in handles.collect::<Vec<_>>() {
            out.push(h.await.unwrap());
        }
        out
    }
}
