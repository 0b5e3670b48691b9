//! Where things live. Built once from the process environment in `main`; the rest of the core
//! takes a `&Paths` and never reads the environment itself, so tests can point it anywhere.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Folders and files the core reads and writes, plus the environment a login child may inherit.
#[derive(Debug, Clone)]
pub struct Paths {
    /// The user's home folder. The SSO cache is always under it, as in botocore.
    pub home: PathBuf,
    /// The platform's per-user config folder (`$XDG_CONFIG_HOME`, `~/Library/Application Support`, `%APPDATA%`).
    pub config_dir: PathBuf,
    /// The platform's per-user local data folder (`%LOCALAPPDATA%`, `$XDG_DATA_HOME`,
    /// `~/Library/Application Support`).
    pub local_data_dir: PathBuf,
    /// `$AWS_CONFIG_FILE`, default `~/.aws/config`.
    pub aws_config: PathBuf,
    /// `$AWS_SHARED_CREDENTIALS_FILE`, default `~/.aws/credentials`. Only its structure is read:
    /// key values are never kept.
    pub aws_credentials: PathBuf,
    /// `$CODEX_HOME`, default `~/.codex`.
    pub codex_home: PathBuf,
    /// Where this app keeps state such as lock files.
    pub state_dir: PathBuf,
    /// The process's working directory; MCP clients start servers in the project folder.
    pub cwd: Option<PathBuf>,
    /// Folders in which the AWS CLI may be found; see [`crate::core::login::TRUSTED_CLI_DIRS`].
    pub trusted_cli_dirs: Vec<PathBuf>,
    /// The allow-listed part of the environment, passed to `aws sso login`.
    pub login_env: Vec<(OsString, OsString)>,
    /// The fixed program that opens sign-in links, when installed.
    pub opener: Option<PathBuf>,
    /// The environment the opener gets (the desktop session, nothing that picks a browser).
    pub opener_env: Vec<(OsString, OsString)>,
    /// A browser can be shown here: a display on Linux and other Unix desktops; always on macOS and Windows.
    pub has_browser: bool,
    /// SSO OIDC endpoint override: `AWS_ENDPOINT_URL_SSO_OIDC` (the SDK's standard variable), for
    /// private endpoints and tests. The `aws` child does not get it (its environment is allow-listed).
    pub oidc_endpoint: Option<String>,
    /// SSO portal endpoint override (`AWS_ENDPOINT_URL_SSO`), for sign-out.
    pub sso_endpoint: Option<String>,
    /// AWS Sign-In endpoint override (`AWS_ENDPOINT_URL_SIGNIN`): links of `aws login` on it are
    /// sign-in links too.
    pub signin_endpoint: Option<String>,
    /// `AWS_LOGIN_CACHE_DIRECTORY`, as set.
    pub login_cache_override: Option<String>,
}

/// The variable that names the home folder. Windows programs take it from `USERPROFILE`, never
/// `HOME` (Python's `expanduser`, so the AWS CLI, and Node's `os.homedir`, so Claude Code, Cursor
/// and VS Code; Git Bash sets `HOME` to a path of its own).
#[cfg(windows)]
const HOME_VAR: &str = "USERPROFILE";
#[cfg(not(windows))]
const HOME_VAR: &str = "HOME";

impl Paths {
    /// Reads the real environment. Only `main` calls this.
    pub fn from_process_env() -> Self {
        let var = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let home = var(HOME_VAR)
            .or_else(dirs::home_dir)
            .unwrap_or_else(|| PathBuf::from("."));
        // On Windows, `%APPDATA%` and `%LOCALAPPDATA%` as the Node-based clients read them.
        let windows_var = |k: &str| if cfg!(windows) { var(k) } else { None };
        let config_dir = windows_var("APPDATA")
            .or_else(dirs::config_dir)
            .unwrap_or_else(|| home.join(".config"));
        let cwd = std::env::current_dir().ok();
        // The login child runs in the home folder: a relative path must mean the same file there.
        let absolute = |v: OsString| {
            let p = expand_tilde(Path::new(&v), &home);
            match &cwd {
                Some(c) if p.is_relative() => c.join(p),
                _ => p,
            }
        };
        let aws_config = std::env::var_os("AWS_CONFIG_FILE")
            .filter(|v| !v.is_empty())
            .map(absolute)
            .unwrap_or_else(|| home.join(".aws").join("config"));
        let aws_credentials = std::env::var_os("AWS_SHARED_CREDENTIALS_FILE")
            .filter(|v| !v.is_empty())
            .map(|v| expand_tilde(Path::new(&v), &home))
            .unwrap_or_else(|| home.join(".aws").join("credentials"));
        let codex_home = std::env::var_os("CODEX_HOME")
            .filter(|v| !v.is_empty())
            .map(|v| expand_tilde(Path::new(&v), &home))
            .unwrap_or_else(|| home.join(".codex"));
        let mut login_env = crate::core::login::allowed_env(std::env::vars_os());
        for (k, v) in &mut login_env {
            if k == "AWS_CONFIG_FILE" || k == "AWS_SHARED_CREDENTIALS_FILE" {
                *v = absolute(std::mem::take(v)).into_os_string();
            }
        }
        let set = |k: &str| std::env::var_os(k).is_some_and(|v| !v.is_empty());
        let display = set("DISPLAY") || set("WAYLAND_DISPLAY");
        // Over SSH a browser opened on macOS or Windows shows on a screen the user is not at.
        let ssh = set("SSH_CONNECTION") || set("SSH_TTY");
        let local_data_dir = windows_var("LOCALAPPDATA")
            .or_else(dirs::data_local_dir)
            .unwrap_or_else(|| home.join(".local").join("share"));
        // `$XDG_STATE_HOME` on Linux; the local data folder on macOS and Windows.
        let state_dir = dirs::state_dir()
            .unwrap_or_else(|| local_data_dir.clone())
            .join("aws-sso-tray");
        Paths {
            config_dir,
            local_data_dir,
            aws_config,
            aws_credentials,
            codex_home,
            state_dir,
            cwd,
            trusted_cli_dirs: crate::core::login::TRUSTED_CLI_DIRS
                .iter()
                .map(PathBuf::from)
                .collect(),
            login_env,
            opener: Some(PathBuf::from(crate::core::login::OPENER)).filter(|p| p.is_file()),
            opener_env: crate::core::login::opener_env(std::env::vars_os()),
            has_browser: if cfg!(all(unix, not(target_os = "macos"))) {
                display
            } else {
                !ssh
            },
            // Only the service-specific variables: the generic AWS_ENDPOINT_URL usually points at a
            // local emulator (LocalStack, moto), which must not receive refresh tokens.
            oidc_endpoint: set_var("AWS_ENDPOINT_URL_SSO_OIDC"),
            sso_endpoint: set_var("AWS_ENDPOINT_URL_SSO"),
            signin_endpoint: set_var("AWS_ENDPOINT_URL_SIGNIN"),
            login_cache_override: set_var("AWS_LOGIN_CACHE_DIRECTORY"),
            home,
        }
    }

    /// A layout rooted in one folder, for tests and benchmarks.
    pub fn under(home: &Path) -> Self {
        Paths {
            home: home.to_path_buf(),
            config_dir: home.join(".config"),
            local_data_dir: home.join(".local").join("share"),
            aws_config: home.join(".aws").join("config"),
            aws_credentials: home.join(".aws").join("credentials"),
            codex_home: home.join(".codex"),
            state_dir: home.join(".local").join("state").join("aws-sso-tray"),
            cwd: None,
            trusted_cli_dirs: Vec::new(),
            login_env: vec![(OsString::from("HOME"), home.as_os_str().to_owned())],
            opener: None,
            opener_env: Vec::new(),
            has_browser: false,
            oidc_endpoint: None,
            sso_endpoint: None,
            signin_endpoint: None,
            login_cache_override: None,
        }
    }

    /// `~/.aws/sso/cache`.
    pub fn sso_cache_dir(&self) -> PathBuf {
        self.home.join(".aws").join("sso").join("cache")
    }

    /// Where `aws login` caches its tokens: `AWS_LOGIN_CACHE_DIRECTORY` (as the CLI reads it, `~`
    /// expanded), else `~/.aws/login/cache`.
    pub fn login_cache_dir(&self) -> PathBuf {
        match self.login_cache_override.as_deref() {
            Some(dir) => match dir.strip_prefix("~/") {
                Some(rest) => self.home.join(rest),
                None => PathBuf::from(dir),
            },
            None => self.home.join(".aws").join("login").join("cache"),
        }
    }

    /// This app's settings file, shared by every front.
    pub fn settings_file(&self) -> PathBuf {
        self.config_dir.join("aws-sso-tray").join("settings.json")
    }
}

/// botocore expands `~` in `AWS_CONFIG_FILE`.
/// A variable's value, unless it is unset or blank (as the AWS SDKs treat a blank one).
fn set_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn expand_tilde(p: &Path, home: &Path) -> PathBuf {
    match p.strip_prefix("~") {
        Ok(rest) => home.join(rest),
        Err(_) => p.to_path_buf(),
    }
}
