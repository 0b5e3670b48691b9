//! `aws-sso-tray status` / `status --json` against fixture homes.
//!
//! Each scenario lives in `tests/fixtures/<scenario>/` as a real file tree: `home/` becomes `$HOME`,
//! `xdg_config/` (optional) becomes `$XDG_CONFIG_HOME`. While copying, `{{HOME}}` inside any `.json`
//! file is replaced by the temporary home path (used for `~/.claude.json` "projects" keys and
//! `settings.json` "projectRoots"). The binary runs with a cleared environment, so nothing of the
//! developer's own home can leak in.
//!
//! Scenarios:
//! - `clients`: every MCP client, user/local/project scope, JSONC, Codex TOML, placeholders, every
//!   way of naming a profile; no SSO cache folder at all.
//! - `profiles`: an AWS config (through `AWS_CONFIG_FILE`) with every profile kind and an SSO cache
//!   with every `expiresAt` format plus foreign files.
//! - `broken`: syntax errors in a user JSON file, a project JSON file and the Codex TOML file.
//! - `realworld` (issue 9): configs shaped like the ones real users have — awslabs one-click links
//!   (whole command line in `command`), `AWS_API_MCP_PROFILE_NAME`, `AWS_MCP_PROXY_PROFILES`,
//!   wrappers, docker's one-element `-e`, Gemini `$VAR`, VS Code `envFile`, disabled servers in every
//!   client's syntax, Amazon Q CLI and IDE files, Kiro agents, a Gemini extension, Roo Code and Cline
//!   in several editors, Cline's CLI, a VS Code profile, Codex under `$CODEX_HOME`
//!   with `[projects]`, `~/.aws/credentials`, and a profile whose sso-session is missing.
//!
//! Every secret value in the fixtures starts with `PLANTED-SECRET-`; no output may contain it.

use std::collections::BTreeSet;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

/// Prefix of every secret planted in the fixtures.
const SECRET_MARK: &str = "PLANTED-SECRET-";
/// `status` reads a few small files; anything slower than this is a hang.
const RUN_TIMEOUT: Duration = Duration::from_secs(60);

/// sha1("soon") + ".json": the cache file of `[sso-session soon]`, written by the tests themselves
/// because "expiring" is relative to now.
const SOON_CACHE_FILE: &str = "3f934e4f1268bb825d92d751958ebd7e75019fba.json";
/// sha1("corp") + ".json" etc.: the token files of the `profiles` scenario.
const PROFILES_TOKEN_FILES: &[&str] = &[
    "ee0bfd2552fbd840c02cc48b6e823320543c450f.json", // corp
    "f7fdfe61bc3bba567b855335555e0ba0970c49ef.json", // utc-sess
    "b1e9a872ef96b9cc8e99d53f3a012a3d1b71a648.json", // rust-sdk
    "f22039a53a60b452be91fabc2fa375dd88b4755c.json", // js-sdk
    "78139da3aef12611c458cec20734e4cdffd59e5e.json", // plus-zero
    "35321fded95e365f964e8b85ccf06b29b446f743.json", // https://legacy.awsapps.com/start/#/
];

// ---------------------------------------------------------------------------------------------
// Test environment
// ---------------------------------------------------------------------------------------------

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
}

/// The binary under test: `AWS_SSO_TRAY_BIN` when set, else the one cargo built for this test.
fn binary() -> PathBuf {
    std::env::var_os("AWS_SSO_TRAY_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_aws-sso-tray")))
}

/// Copies `src` into `dst`, replacing `{{HOME}}` with `home` in UTF-8 `.json` and `.toml` files.
fn copy_tree(src: &Path, dst: &Path, home: &Path) {
    fs::create_dir_all(dst).unwrap();
    let home = home.to_str().expect("temp home path is UTF-8");
    for entry in fs::read_dir(src).unwrap() {
        let entry = entry.unwrap();
        let from = entry.path();
        let to = dst.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&from, &to, Path::new(home));
            continue;
        }
        let bytes = fs::read(&from).unwrap();
        let is_json = from.extension().is_some_and(|e| e == "json" || e == "toml");
        match std::str::from_utf8(&bytes) {
            // Inside a JSON or TOML string: a Windows path's backslashes are escaped.
            Ok(text) if is_json && text.contains("{{HOME}}") => {
                fs::write(&to, text.replace("{{HOME}}", &home.replace('\\', "\\\\"))).unwrap()
            }
            _ => fs::write(&to, &bytes).unwrap(),
        }
    }
}

/// A scenario copied into a temporary directory: `<tmp>/home`, `<tmp>/xdg_config`, `<tmp>/xdg_state`.
struct TestHome {
    _tmp: tempfile::TempDir,
    home: PathBuf,
    xdg_config: PathBuf,
    xdg_state: PathBuf,
    aws_config: PathBuf,
    cwd: PathBuf,
}

/// What one run of the binary produced.
struct RunOutput {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl RunOutput {
    fn describe(&self) -> String {
        format!(
            "exit code: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

impl TestHome {
    fn new(scenario: &str) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().canonicalize().unwrap();
        // Windows: `C:\...`, as a shell gives it, not the `\\?\C:\...` that canonicalize returns.
        let root = match root.to_str().and_then(|r| r.strip_prefix(r"\\?\")) {
            Some(plain) => PathBuf::from(plain),
            None => root,
        };
        let home = root.join("home");
        let xdg_config = root.join("xdg_config");
        let xdg_state = root.join("xdg_state");
        let src = fixtures_dir().join(scenario);
        assert!(
            src.join("home").is_dir(),
            "no fixture home for scenario {scenario:?}"
        );
        copy_tree(&src.join("home"), &home, &home);
        if src.join("xdg_config").is_dir() {
            copy_tree(&src.join("xdg_config"), &xdg_config, &home);
        } else {
            fs::create_dir_all(&xdg_config).unwrap();
        }
        fs::create_dir_all(&xdg_state).unwrap();
        TestHome {
            aws_config: home.join(".aws").join("config"),
            // Outside HOME and free of project files: only registered roots count.
            cwd: root,
            _tmp: tmp,
            home,
            xdg_config,
            xdg_state,
        }
    }

    /// Points `AWS_CONFIG_FILE` at `rel` (relative to the temp home).
    fn aws_config_at(mut self, rel: &str) -> Self {
        self.aws_config = self.home.join(rel);
        assert!(
            self.aws_config.is_file(),
            "{} is not a file",
            self.aws_config.display()
        );
        self
    }

    /// Runs the binary from `rel` (relative to the temp home).
    fn cwd_at(mut self, rel: &str) -> Self {
        self.cwd = self.home.join(rel);
        assert!(self.cwd.is_dir(), "{} is not a folder", self.cwd.display());
        self
    }

    fn home_path(&self, rel: &str) -> PathBuf {
        self.home.join(rel)
    }

    fn xdg_path(&self, rel: &str) -> PathBuf {
        self.xdg_config.join(rel)
    }

    fn loc_path(&self, loc: Loc) -> PathBuf {
        match loc {
            Loc::Home(rel) => self.home_path(rel),
            Loc::Xdg(rel) => self.xdg_path(rel),
        }
    }

    fn cache_dir(&self) -> PathBuf {
        self.home.join(".aws").join("sso").join("cache")
    }

    fn write(&self, path: &Path, contents: &str) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, contents).unwrap();
    }

    fn write_settings(&self, json: &str) {
        self.write(&self.xdg_path("aws-sso-tray/settings.json"), json);
    }

    /// Writes the `soon` session's token with `expiresAt = now + secs`; returns the expected
    /// normalised `expiresAt`.
    fn write_soon_token(&self, secs: u64) -> String {
        let expires = format_utc(now_unix() + secs);
        let token = format!(
            r#"{{"startUrl": "https://soon.awsapps.com/start", "region": "us-east-1",
  "accessToken": "PLANTED-SECRET-soon-access-token", "expiresAt": "{expires}",
  "clientId": "PLANTED-SECRET-soon-client-id", "clientSecret": "PLANTED-SECRET-soon-client-secret",
  "registrationExpiresAt": "2099-01-01T00:00:00Z", "refreshToken": "PLANTED-SECRET-soon-refresh-token"}}"#
        );
        self.write(&self.cache_dir().join(SOON_CACHE_FILE), &token);
        expires
    }

    fn command(&self, args: &[&str], extra_env: &[(&str, &str)]) -> Command {
        let mut cmd = Command::new(binary());
        cmd.args(args)
            .env_clear()
            .env("HOME", &self.home)
            .env("XDG_CONFIG_HOME", &self.xdg_config)
            .env("XDG_STATE_HOME", &self.xdg_state)
            // Windows: the same folders under their Windows names.
            .env("USERPROFILE", &self.home)
            .env("APPDATA", &self.xdg_config)
            .env("LOCALAPPDATA", &self.xdg_state)
            .env("AWS_CONFIG_FILE", &self.aws_config)
            .env("PATH", "/usr/bin:/bin")
            .current_dir(&self.cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Runs the binary to completion (killed after `RUN_TIMEOUT`).
    fn run(&self, args: &[&str], extra_env: &[(&str, &str)]) -> RunOutput {
        let mut child = self
            .command(args, extra_env)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary().display()));
        let (tx, rx) = mpsc::channel::<(bool, String)>();
        let mut readers = Vec::new();
        for (is_stdout, pipe) in [
            (
                true,
                Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
            ),
            (
                false,
                Box::new(child.stderr.take().unwrap()) as Box<dyn Read + Send>,
            ),
        ] {
            let tx = tx.clone();
            readers.push(thread::spawn(move || {
                let mut pipe = pipe;
                let mut buf = Vec::new();
                let _ = pipe.read_to_end(&mut buf);
                let _ = tx.send((is_stdout, String::from_utf8_lossy(&buf).into_owned()));
            }));
        }
        drop(tx);
        let deadline = Instant::now() + RUN_TIMEOUT;
        let (mut stdout, mut stderr) = (None, None);
        while stdout.is_none() || stderr.is_none() {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok((true, s)) => stdout = Some(s),
                Ok((false, s)) => stderr = Some(s),
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "`aws-sso-tray {}` did not finish within {RUN_TIMEOUT:?}",
                        args.join(" ")
                    );
                }
            }
        }
        let status = child.wait().unwrap();
        for r in readers {
            r.join().unwrap();
        }
        RunOutput {
            code: status.code(),
            stdout: stdout.unwrap(),
            stderr: stderr.unwrap(),
        }
    }

    /// `status --json`, which must exit 0 and print one JSON object.
    fn status(&self) -> Status {
        let out = self.run(&["status", "--json"], &[]);
        assert_eq!(
            out.code,
            Some(0),
            "status --json failed\n{}",
            out.describe()
        );
        let json: Value = serde_json::from_str(out.stdout.trim()).unwrap_or_else(|e| {
            panic!(
                "status --json printed no valid JSON ({e})\n{}",
                out.describe()
            )
        });
        assert!(
            json.is_object(),
            "status --json is not an object\n{}",
            out.describe()
        );
        Status { json, out }
    }

    /// True when the binary reported `reported` for the file `expected`.
    fn same_path(&self, reported: &str, expected: &Path) -> bool {
        let reported = Path::new(reported);
        reported == expected
            || matches!(
                (reported.canonicalize(), expected.canonicalize()),
                (Ok(a), Ok(b)) if a == b
            )
    }
}

/// The parsed `status --json` reply.
struct Status {
    json: Value,
    out: RunOutput,
}

/// A string field; `None` for null or absent.
fn str_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// True when `key` is null or absent.
fn is_null(v: &Value, key: &str) -> bool {
    v.get(key).is_none_or(Value::is_null)
}

impl Status {
    fn list(&self, key: &str) -> &[Value] {
        self.json
            .get(key)
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_else(|| panic!("status has no {key:?} array:\n{}", self.json))
    }

    fn servers(&self) -> &[Value] {
        self.list("servers")
    }

    fn profiles(&self) -> &[Value] {
        self.list("profiles")
    }

    fn diagnostics(&self) -> &[Value] {
        self.list("diagnostics")
    }

    fn server_summary(&self) -> String {
        self.servers()
            .iter()
            .map(|s| {
                format!(
                    "  {} client={} scope={} profile={:?} source={:?} config={}",
                    str_field(s, "name").unwrap_or("?"),
                    str_field(s, "client").unwrap_or("?"),
                    str_field(s, "scope").unwrap_or("?"),
                    str_field(s, "profile"),
                    str_field(s, "profileSource"),
                    str_field(s, "configPath").unwrap_or("?"),
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn find_server(&self, name: &str, client: &str, scope: &str) -> Option<&Value> {
        self.servers().iter().find(|s| {
            str_field(s, "name") == Some(name)
                && str_field(s, "client") == Some(client)
                && str_field(s, "scope") == Some(scope)
        })
    }

    fn has_server_named(&self, name: &str) -> bool {
        self.servers()
            .iter()
            .any(|s| str_field(s, "name") == Some(name))
    }

    fn server(&self, name: &str, client: &str, scope: &str) -> &Value {
        self.find_server(name, client, scope).unwrap_or_else(|| {
            panic!(
                "no server {name:?} (client {client}, scope {scope}); servers found:\n{}\ndiagnostics: {}",
                self.server_summary(),
                self.json.get("diagnostics").unwrap_or(&Value::Null)
            )
        })
    }

    fn profile_names(&self) -> BTreeSet<String> {
        self.profiles()
            .iter()
            .filter_map(|p| str_field(p, "name").map(str::to_owned))
            .collect()
    }

    fn profile(&self, name: &str) -> &Value {
        self.profiles()
            .iter()
            .find(|p| str_field(p, "name") == Some(name))
            .unwrap_or_else(|| panic!("no profile {name:?}; profiles: {:?}", self.profile_names()))
    }
}

// ---------------------------------------------------------------------------------------------
// Expectations
// ---------------------------------------------------------------------------------------------

/// Where a client config file sits in the scenario.
#[derive(Clone, Copy, Debug)]
enum Loc {
    Home(&'static str),
    Xdg(&'static str),
}

/// One server the binary must report.
#[derive(Debug)]
struct ExpServer {
    name: &'static str,
    client: &'static str,
    scope: &'static str,
    file: Loc,
    profile: Option<&'static str>,
    source: Option<&'static str>,
    unresolved: Option<&'static str>,
}

/// A server naming a real profile.
const fn aws(
    name: &'static str,
    client: &'static str,
    scope: &'static str,
    file: Loc,
    profile: &'static str,
    source: &'static str,
) -> ExpServer {
    ExpServer {
        name,
        client,
        scope,
        file,
        profile: Some(profile),
        source: Some(source),
        unresolved: None,
    }
}

/// A server whose profile is a `${…}` placeholder.
const fn placeholder(
    name: &'static str,
    client: &'static str,
    scope: &'static str,
    file: Loc,
    raw: &'static str,
    source: &'static str,
) -> ExpServer {
    ExpServer {
        name,
        client,
        scope,
        file,
        profile: None,
        source: Some(source),
        unresolved: Some(raw),
    }
}

/// A server without AWS.
const fn plain(
    name: &'static str,
    client: &'static str,
    scope: &'static str,
    file: Loc,
) -> ExpServer {
    ExpServer {
        name,
        client,
        scope,
        file,
        profile: None,
        source: None,
        unresolved: None,
    }
}

use Loc::{Home, Xdg};

const CLAUDE_JSON: Loc = Home(".claude.json");
const CLINE: Loc =
    Xdg("Code/User/globalStorage/saoudrizwan.claude-dev/settings/cline_mcp_settings.json");

/// Every client id of the contract.
const CLIENT_IDS: &[&str] = &[
    "amazon-q",
    "claude-code",
    "claude-desktop",
    "cline",
    "codex",
    "copilot-cli",
    "cursor",
    "gemini-cli",
    "kiro",
    "vscode",
    "windsurf",
    "zed",
];
/// Clients with project-scope files.
const PROJECT_CLIENTS: &[&str] = &[
    "amazon-q",
    "claude-code",
    "cursor",
    "gemini-cli",
    "kiro",
    "vscode",
    "zed",
];

/// Servers of the `clients` scenario found from any cwd (proj-a is a `~/.claude.json` project,
/// proj-c a `projectRoots` entry in settings.json).
#[rustfmt::skip]
const CLIENT_SERVERS: &[ExpServer] = &[
    aws("cc-user-aws",          "claude-code",    "user",    CLAUDE_JSON, "dev.team", "env_aws_profile"),
    plain("cc-user-plain",      "claude-code",    "user",    CLAUDE_JSON),
    aws("cc-local-aws",         "claude-code",    "local",   CLAUDE_JSON, "ops@corp", "arg_profile"),
    plain("cc-local-plain",     "claude-code",    "local",   CLAUDE_JSON),
    aws("cc-proj-aws",          "claude-code",    "project", Home("work/proj-a/.mcp.json"), "qa+1", "env_aws_default_profile"),
    plain("cc-proj-plain",      "claude-code",    "project", Home("work/proj-a/.mcp.json")),
    aws("desktop-aws",          "claude-desktop", "user",    Xdg("Claude/claude_desktop_config.json"), "prod-ro", "docker_env"),
    plain("desktop-plain",      "claude-desktop", "user",    Xdg("Claude/claude_desktop_config.json")),
    // --profile in args wins over env.AWS_PROFILE and env.AWS_DEFAULT_PROFILE (issue 9, item 6).
    aws("cursor-user-aws",      "cursor",         "user",    Home(".cursor/mcp.json"), "dev.team", "arg_profile"),
    plain("cursor-user-plain",  "cursor",         "user",    Home(".cursor/mcp.json")),
    aws("cursor-proj-aws",      "cursor",         "project", Home("work/proj-a/.cursor/mcp.json"), "ops@corp", "arg_profile"),
    plain("cursor-proj-plain",  "cursor",         "project", Home("work/proj-a/.cursor/mcp.json")),
    placeholder("vscode-user-aws", "vscode",      "user",    Xdg("Code/User/mcp.json"), "${env:AWS_PROFILE}", "env_aws_profile"),
    plain("vscode-user-plain",  "vscode",         "user",    Xdg("Code/User/mcp.json")),
    // A remote (http) server: no command, a secret header.
    plain("vscode-user-remote", "vscode",         "user",    Xdg("Code/User/mcp.json")),
    placeholder("vscode-proj-aws", "vscode",      "project", Home("work/proj-a/.vscode/mcp.json"), "${input:awsProfile}", "arg_profile"),
    plain("vscode-proj-plain",  "vscode",         "project", Home("work/proj-a/.vscode/mcp.json")),
    aws("gemini-user-aws",      "gemini-cli",     "user",    Home(".gemini/settings.json"), "with space", "env_aws_profile"),
    plain("gemini-user-plain",  "gemini-cli",     "user",    Home(".gemini/settings.json")),
    aws("gemini-proj-aws",      "gemini-cli",     "project", Home("work/proj-a/.gemini/settings.json"), "qa+1", "docker_env"),
    plain("gemini-proj-plain",  "gemini-cli",     "project", Home("work/proj-a/.gemini/settings.json")),
    aws("copilot-aws",          "copilot-cli",    "user",    Home(".copilot/mcp-config.json"), "dev.team", "env_aws_profile"),
    plain("copilot-plain",      "copilot-cli",    "user",    Home(".copilot/mcp-config.json")),
    aws("amazonq-user-aws",     "amazon-q",       "user",    Home(".aws/amazonq/mcp.json"), "prod-ro", "env_aws_profile"),
    plain("amazonq-user-plain", "amazon-q",       "user",    Home(".aws/amazonq/mcp.json")),
    aws("amazonq-proj-aws",     "amazon-q",       "project", Home("work/proj-a/.amazonq/mcp.json"), "dev.team", "docker_env"),
    plain("amazonq-proj-plain", "amazon-q",       "project", Home("work/proj-a/.amazonq/mcp.json")),
    aws("cline-aws",            "cline",          "user",    CLINE, "ops@corp", "env_aws_profile"),
    plain("cline-plain",        "cline",          "user",    CLINE),
    aws("windsurf-aws",         "windsurf",       "user",    Home(".codeium/windsurf/mcp_config.json"), "prod-ro", "docker_env"),
    plain("windsurf-plain",     "windsurf",       "user",    Home(".codeium/windsurf/mcp_config.json")),
    aws("zed-user-aws",         "zed",            "user",    Xdg("zed/settings.json"), "dev.team", "arg_profile"),
    plain("zed-user-plain",     "zed",            "user",    Xdg("zed/settings.json")),
    aws("zed-proj-aws",         "zed",            "project", Home("work/proj-a/.zed/settings.json"), "qa+1", "env_aws_profile"),
    plain("zed-proj-plain",     "zed",            "project", Home("work/proj-a/.zed/settings.json")),
    aws("kiro-user-aws",        "kiro",           "user",    Home(".kiro/settings/mcp.json"), "prod-ro", "env_aws_profile"),
    plain("kiro-user-plain",    "kiro",           "user",    Home(".kiro/settings/mcp.json")),
    aws("kiro-proj-aws",        "kiro",           "project", Home("work/proj-a/.kiro/settings/mcp.json"), "with space", "arg_profile"),
    plain("kiro-proj-plain",    "kiro",           "project", Home("work/proj-a/.kiro/settings/mcp.json")),
    aws("codex-aws",            "codex",          "user",    Home(".codex/config.toml"), "ops@corp", "env_aws_profile"),
    aws("codex-argprof",        "codex",          "user",    Home(".codex/config.toml"), "qa+1", "arg_profile"),
    plain("codex-plain",        "codex",          "user",    Home(".codex/config.toml")),
    aws("projc-aws",            "cursor",         "project", Home("work/proj-c/.cursor/mcp.json"), "ops@corp", "env_aws_profile"),
    plain("projc-plain",        "cursor",         "project", Home("work/proj-c/.cursor/mcp.json")),
];

/// Servers of the `clients` scenario found only when the cwd is inside proj-b.
#[rustfmt::skip]
const PROJ_B_SERVERS: &[ExpServer] = &[
    aws("projb-aws",            "claude-code",    "project", Home("work/proj-b/.mcp.json"), "dev.team", "env_aws_profile"),
    plain("projb-plain",        "claude-code",    "project", Home("work/proj-b/.mcp.json")),
];

/// Servers of the `broken` scenario, all in files that parse.
#[rustfmt::skip]
const BROKEN_OK_SERVERS: &[ExpServer] = &[
    aws("ok-cc-aws",            "claude-code",    "user",    CLAUDE_JSON, "good", "env_aws_profile"),
    plain("ok-cc-plain",        "claude-code",    "user",    CLAUDE_JSON),
    // A "projects" entry whose folder no longer exists: its servers still live in ~/.claude.json.
    aws("ok-cc-local-gone",     "claude-code",    "local",   CLAUDE_JSON, "good", "env_aws_profile"),
    aws("ok-gemini-aws",        "gemini-cli",     "user",    Home(".gemini/settings.json"), "good", "arg_profile"),
    plain("ok-gemini-plain",    "gemini-cli",     "user",    Home(".gemini/settings.json")),
    aws("ok-kiro-aws",          "kiro",           "user",    Home(".kiro/settings/mcp.json"), "good", "env_aws_default_profile"),
    aws("ok-cursor-proj-aws",   "cursor",         "project", Home("work/proj/.cursor/mcp.json"), "good", "env_aws_profile"),
    aws("ok-vscode-user-aws",   "vscode",         "user",    Xdg("Code/User/mcp.json"), "good", "docker_env"),
];

/// Servers of the `profiles` scenario.
#[rustfmt::skip]
const PROFILE_SERVERS: &[ExpServer] = &[
    aws("p-chained",            "claude-code",    "user",    CLAUDE_JSON, "chained-admin", "env_aws_profile"),
    aws("p-ghost",              "claude-code",    "user",    CLAUDE_JSON, "ghost.profile@nowhere", "arg_profile"),
    aws("p-legacy",             "claude-code",    "user",    CLAUDE_JSON, "legacy-old", "env_aws_profile"),
    aws("p-soon",               "claude-code",    "user",    CLAUDE_JSON, "soon-prof", "env_aws_profile"),
    aws("p-static",             "claude-code",    "user",    CLAUDE_JSON, "static-keys", "env_aws_profile"),
];

fn check_server(th: &TestHome, st: &Status, e: &ExpServer) {
    let s = st.server(e.name, e.client, e.scope);
    let config = str_field(s, "configPath")
        .unwrap_or_else(|| panic!("server {} has no configPath: {s}", e.name));
    let expected_config = th.loc_path(e.file);
    assert!(
        th.same_path(config, &expected_config),
        "server {}: configPath {config:?}, expected {}",
        e.name,
        expected_config.display()
    );
    assert_eq!(
        str_field(s, "profile"),
        e.profile,
        "server {}: profile in {s}",
        e.name
    );
    assert_eq!(
        str_field(s, "profileSource"),
        e.source,
        "server {}: profileSource in {s}",
        e.name
    );
    assert_eq!(
        str_field(s, "profileUnresolved"),
        e.unresolved,
        "server {}: profileUnresolved in {s}",
        e.name
    );
    if e.profile.is_none() {
        assert!(
            is_null(s, "profile"),
            "server {}: profile must be null: {s}",
            e.name
        );
    }
    if e.source.is_none() {
        assert!(
            is_null(s, "profileSource"),
            "server {}: profileSource must be null: {s}",
            e.name
        );
    }
    let want: Vec<&str> = e.profile.into_iter().collect();
    assert_eq!(
        string_list(s, "profiles"),
        want,
        "server {}: profiles in {s}",
        e.name
    );
    assert_eq!(
        s.get("enabled").and_then(Value::as_bool),
        Some(true),
        "server {}: enabled in {s}",
        e.name
    );
}

/// The strings of an array field (panics when it is absent or not an array of strings).
fn string_list<'a>(v: &'a Value, key: &str) -> Vec<&'a str> {
    v.get(key)
        .and_then(Value::as_array)
        .unwrap_or_else(|| panic!("no {key:?} array in {v}"))
        .iter()
        .map(|x| {
            x.as_str()
                .unwrap_or_else(|| panic!("{key}: {x} is not a string"))
        })
        .collect()
}

/// The status lists exactly these servers, no more (issue 12, item 15).
fn check_exact_servers<'a>(st: &Status, expected: impl IntoIterator<Item = &'a ExpServer>) {
    let want: BTreeSet<(String, String, String)> = expected
        .into_iter()
        .map(|e| (e.name.to_owned(), e.client.to_owned(), e.scope.to_owned()))
        .collect();
    let got: Vec<(String, String, String)> = st
        .servers()
        .iter()
        .map(|s| {
            (
                str_field(s, "name").unwrap_or("?").to_owned(),
                str_field(s, "client").unwrap_or("?").to_owned(),
                str_field(s, "scope").unwrap_or("?").to_owned(),
            )
        })
        .collect();
    let got_set: BTreeSet<_> = got.iter().cloned().collect();
    assert_eq!(
        got.len(),
        got_set.len(),
        "a server is listed twice:\n{}",
        st.server_summary()
    );
    assert_eq!(
        got_set,
        want,
        "server set differs; servers found:\n{}",
        st.server_summary()
    );
}

/// Expected `token` object of a profile.
#[derive(Debug)]
struct ExpToken {
    state: &'static str,
    expires_at: Option<&'static str>,
    refreshable: bool,
}

const fn token(
    state: &'static str,
    expires_at: Option<&'static str>,
    refreshable: bool,
) -> ExpToken {
    ExpToken {
        state,
        expires_at,
        refreshable,
    }
}

const MISSING: ExpToken = token("missing", None, false);

fn check_token(p: &Value, want: &ExpToken) {
    let name = str_field(p, "name").unwrap_or("?");
    let t = p
        .get("token")
        .filter(|t| t.is_object())
        .unwrap_or_else(|| panic!("profile {name:?} has no token object: {p}"));
    assert_eq!(
        str_field(t, "state"),
        Some(want.state),
        "profile {name:?}: token.state in {p}"
    );
    assert_eq!(
        str_field(t, "expiresAt"),
        want.expires_at,
        "profile {name:?}: token.expiresAt in {p}"
    );
    if want.expires_at.is_none() {
        assert!(
            is_null(t, "expiresAt"),
            "profile {name:?}: token.expiresAt must be null: {p}"
        );
    }
    assert_eq!(
        t.get("refreshable").and_then(Value::as_bool),
        Some(want.refreshable),
        "profile {name:?}: token.refreshable in {p}"
    );
}

/// Checks a profile's string fields; `None` means null.
fn check_profile_fields(p: &Value, fields: &[(&str, Option<&str>)]) {
    let name = str_field(p, "name").unwrap_or("?");
    for (key, want) in fields {
        assert_eq!(str_field(p, key), *want, "profile {name:?}: {key} in {p}");
        if want.is_none() {
            assert!(is_null(p, key), "profile {name:?}: {key} must be null: {p}");
        }
    }
}

fn names(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| s.to_string()).collect()
}

// ---------------------------------------------------------------------------------------------
// Time helpers (std only)
// ---------------------------------------------------------------------------------------------

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// `YYYY-MM-DDTHH:MM:SSZ` for a Unix time (Howard Hinnant's civil_from_days).
fn format_utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[test]
fn format_utc_matches_known_dates() {
    assert_eq!(format_utc(0), "1970-01-01T00:00:00Z");
    assert_eq!(format_utc(951_782_400), "2000-02-29T00:00:00Z");
    assert_eq!(format_utc(1_795_340_864), "2026-11-22T09:47:44Z");
}

// ---------------------------------------------------------------------------------------------
// Tests: fixture tables
// ---------------------------------------------------------------------------------------------

/// Every client of the contract has an AWS and a non-AWS server at user scope, and at project
/// scope where the client has project files.
#[test]
fn every_client_has_fixture_servers() {
    let has = |client: &str, scope: &str, with_aws: bool| {
        CLIENT_SERVERS
            .iter()
            .any(|e| e.client == client && e.scope == scope && e.source.is_some() == with_aws)
    };
    for client in CLIENT_IDS {
        assert!(
            has(client, "user", true),
            "{client}: no user-scope AWS server"
        );
        assert!(
            has(client, "user", false),
            "{client}: no user-scope plain server"
        );
    }
    for client in PROJECT_CLIENTS {
        assert!(
            has(client, "project", true),
            "{client}: no project-scope AWS server"
        );
        assert!(
            has(client, "project", false),
            "{client}: no project-scope plain server"
        );
    }
    let mut seen = BTreeSet::new();
    for e in CLIENT_SERVERS.iter().chain(PROJ_B_SERVERS) {
        assert!(
            CLIENT_IDS.contains(&e.client),
            "unknown client {}",
            e.client
        );
        assert!(seen.insert(e.name), "server name {} used twice", e.name);
    }
    for loc in CLIENT_SERVERS.iter().chain(PROJ_B_SERVERS).map(|e| e.file) {
        let path = match loc {
            Home(rel) => fixtures_dir().join("clients/home").join(rel),
            Xdg(rel) => fixtures_dir().join("clients/xdg_config").join(rel),
        };
        assert!(path.is_file(), "fixture file {} is missing", path.display());
    }
}

// ---------------------------------------------------------------------------------------------
// Tests: clients scenario
// ---------------------------------------------------------------------------------------------

/// Every client's user, local and project servers, with client, scope, configPath, profile and
/// profileSource; JSONC comments/trailing commas and Codex TOML included.
#[test]
fn clients_servers_found_with_scope_and_profile() {
    let th = TestHome::new("clients");
    let st = th.status();
    for e in CLIENT_SERVERS {
        check_server(&th, &st, e);
    }
    check_exact_servers(&st, CLIENT_SERVERS);
    // Commented-out servers are not servers.
    assert!(
        !st.has_server_named("fake-server"),
        "a server from a /* */ comment was listed"
    );
    assert!(
        st.diagnostics().is_empty(),
        "unexpected diagnostics: {:?}",
        st.diagnostics()
    );
}

/// proj-b is registered nowhere: it is a project root only when the cwd is inside it.
#[test]
fn cwd_and_its_ancestors_are_project_roots() {
    let outside = TestHome::new("clients");
    let st = outside.status();
    for e in PROJ_B_SERVERS {
        assert!(
            !st.has_server_named(e.name),
            "{} found without cwd in proj-b",
            e.name
        );
    }

    let inside = TestHome::new("clients").cwd_at("work/proj-b/src/deep");
    let st = inside.status();
    for e in PROJ_B_SERVERS.iter().chain(CLIENT_SERVERS) {
        check_server(&inside, &st, e);
    }
    check_exact_servers(&st, PROJ_B_SERVERS.iter().chain(CLIENT_SERVERS));
}

/// settings.json "projectRoots" adds proj-c; without it proj-c is not searched.
#[test]
fn settings_project_roots_are_searched() {
    let th = TestHome::new("clients");
    fs::remove_file(th.xdg_path("aws-sso-tray/settings.json")).unwrap();
    let st = th.status();
    assert!(
        !st.has_server_named("projc-aws"),
        "proj-c searched without projectRoots"
    );
    check_server(&th, &st, &CLIENT_SERVERS[0]);

    let th = TestHome::new("clients");
    let st = th.status();
    for e in CLIENT_SERVERS
        .iter()
        .filter(|e| e.name.starts_with("projc-"))
    {
        check_server(&th, &st, e);
    }
}

/// "profiles" = the config's profiles plus profiles servers name that are not in it. Placeholders
/// and names shadowed by a higher-priority source are not profiles.
#[test]
fn clients_profiles_are_config_profiles_only() {
    let th = TestHome::new("clients");
    let st = th.status();
    assert_eq!(
        st.profile_names(),
        names(&["dev.team", "ops@corp", "qa+1", "with space", "prod-ro"]),
        "profiles: {}",
        st.json["profiles"]
    );
    for p in st.profiles() {
        let name = str_field(p, "name").unwrap_or("");
        assert!(!name.contains("${"), "placeholder listed as a profile: {p}");
    }
    let dev = st.profile("dev.team");
    check_profile_fields(
        dev,
        &[
            ("kind", Some("sso_session")),
            ("ssoSession", Some("corp")),
            ("startUrl", Some("https://corp.awsapps.com/start")),
            ("accountId", Some("111111111111")),
            ("roleName", Some("Developer")),
        ],
    );
    // No ~/.aws/sso/cache folder at all in this scenario.
    check_token(dev, &MISSING);
    let spacey = st.profile("with space");
    check_profile_fields(
        spacey,
        &[("kind", Some("sso_session")), ("roleName", Some("Spacey"))],
    );
    check_token(spacey, &MISSING);
    let legacy = st.profile("prod-ro");
    check_profile_fields(
        legacy,
        &[
            ("kind", Some("legacy_sso")),
            ("ssoSession", None),
            ("startUrl", Some("https://old.awsapps.com/start")),
            ("region", Some("us-east-1")),
        ],
    );
    check_token(legacy, &MISSING);
}

/// The human table names every server.
#[test]
fn human_status_lists_every_server() {
    let th = TestHome::new("clients").cwd_at("work/proj-b/src/deep");
    let out = th.run(&["status"], &[]);
    assert_eq!(out.code, Some(0), "status failed\n{}", out.describe());
    for e in CLIENT_SERVERS.iter().chain(PROJ_B_SERVERS) {
        assert!(
            out.stdout.contains(e.name),
            "`status` does not mention {}\n{}",
            e.name,
            out.describe()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Tests: broken scenario
// ---------------------------------------------------------------------------------------------

/// Each broken file gives a diagnostic with its path and the (1-based) line of the error.
#[test]
fn broken_files_report_path_and_line() {
    let th = TestHome::new("broken");
    let st = th.status();
    let broken: &[(&str, u64)] = &[
        (".cursor/mcp.json", 7),
        (".codex/config.toml", 9),
        ("work/proj/.vscode/mcp.json", 5),
    ];
    for (rel, line) in broken {
        let path = th.home_path(rel);
        let diags: Vec<&Value> = st
            .diagnostics()
            .iter()
            .filter(|d| str_field(d, "path").is_some_and(|p| th.same_path(p, &path)))
            .collect();
        assert!(
            !diags.is_empty(),
            "no diagnostic for {}; diagnostics: {}",
            path.display(),
            st.json["diagnostics"]
        );
        assert!(
            diags
                .iter()
                .any(|d| d.get("line").and_then(Value::as_u64) == Some(*line)),
            "diagnostic for {rel} should be at line {line}: {diags:?}"
        );
        for d in &diags {
            assert!(
                str_field(d, "message").is_some_and(|m| !m.is_empty()),
                "diagnostic without a message: {d}"
            );
        }
    }
}

/// Broken files do not hide the servers of the files that parse.
#[test]
fn broken_files_do_not_hide_other_servers() {
    let th = TestHome::new("broken");
    let st = th.status();
    for e in BROKEN_OK_SERVERS {
        check_server(&th, &st, e);
    }
    check_exact_servers(&st, BROKEN_OK_SERVERS);
    let good = st.profile("good");
    check_profile_fields(
        good,
        &[("kind", Some("sso_session")), ("ssoSession", Some("lab"))],
    );
    check_token(good, &MISSING);
}

// ---------------------------------------------------------------------------------------------
// Tests: profiles scenario
// ---------------------------------------------------------------------------------------------

fn profiles_home() -> TestHome {
    TestHome::new("profiles").aws_config_at("elsewhere/aws_config")
}

/// Exactly the config's profiles (comments, `[profile a b]` and `[sso-session]` sections are not
/// profiles) plus the server-named `ghost.profile@nowhere`.
#[test]
fn profile_list_follows_botocore_rules() {
    let th = profiles_home();
    let st = th.status();
    for e in PROFILE_SERVERS {
        check_server(&th, &st, e);
    }
    check_exact_servers(&st, PROFILE_SERVERS);
    assert_eq!(
        st.profile_names(),
        names(&[
            "default",
            "dev.team",
            "ops@corp",
            "qa+1",
            "with space",
            "plus.zero",
            "no-token",
            "soon-prof",
            "legacy-old",
            "chained-admin",
            "chained-deep",
            "chained-legacy",
            "static-keys",
            "proc-creds",
            "upper-keys",
            "ghost.profile@nowhere",
        ]),
        "profiles: {}",
        st.json["profiles"]
    );
}

/// Kinds and fields: sso-session, legacy (start URL with `#/` kept), chained, not_sso,
/// not_in_config, comment lines ignored, upper-case keys.
#[test]
fn profile_kinds_and_fields() {
    let th = profiles_home();
    let st = th.status();

    let corp_url = Some("https://corp.awsapps.com/start/#/");
    check_profile_fields(
        st.profile("default"),
        &[
            ("kind", Some("sso_session")),
            ("ssoSession", Some("corp")),
            ("startUrl", corp_url),
            ("region", Some("eu-west-1")),
            ("accountId", Some("111111111111")),
            ("roleName", Some("ReadOnly")),
            ("sourceProfile", None),
        ],
    );
    // `# sso_account_id = …` and `; sso_role_name = …` lines are comments.
    check_profile_fields(
        st.profile("dev.team"),
        &[
            ("kind", Some("sso_session")),
            ("ssoSession", Some("corp")),
            ("startUrl", corp_url),
            ("accountId", Some("222222222222")),
            ("roleName", Some("Developer")),
            ("sourceProfile", None),
        ],
    );
    check_profile_fields(
        st.profile("with space"),
        &[
            ("kind", Some("sso_session")),
            ("ssoSession", Some("js-sdk")),
            ("startUrl", Some("https://js.awsapps.com/start")),
            ("region", Some("eu-central-1")),
            ("accountId", Some("555555555555")),
        ],
    );
    check_profile_fields(
        st.profile("upper-keys"),
        &[
            ("kind", Some("sso_session")),
            ("ssoSession", Some("corp")),
            ("accountId", Some("161616161616")),
            ("roleName", Some("Upper")),
        ],
    );
    check_profile_fields(
        st.profile("legacy-old"),
        &[
            ("kind", Some("legacy_sso")),
            ("ssoSession", None),
            ("startUrl", Some("https://legacy.awsapps.com/start/#/")),
            ("region", Some("ap-southeast-2")),
            ("accountId", Some("666666666666")),
            ("roleName", Some("LegacyRole")),
            ("sourceProfile", None),
        ],
    );
    for (name, source) in [
        ("chained-admin", "dev.team"),
        ("chained-deep", "dev.team"),
        ("chained-legacy", "legacy-old"),
    ] {
        check_profile_fields(
            st.profile(name),
            &[("kind", Some("chained")), ("sourceProfile", Some(source))],
        );
    }
    for name in ["static-keys", "proc-creds"] {
        let p = st.profile(name);
        check_profile_fields(
            p,
            &[
                ("kind", Some("not_sso")),
                ("ssoSession", None),
                ("startUrl", None),
                ("sourceProfile", None),
            ],
        );
        assert!(
            is_null(p, "token"),
            "profile {name}: token must be null: {p}"
        );
    }
    let ghost = st.profile("ghost.profile@nowhere");
    check_profile_fields(
        ghost,
        &[
            ("kind", Some("not_in_config")),
            ("ssoSession", None),
            ("startUrl", None),
            ("region", None),
            ("accountId", None),
            ("roleName", None),
            ("sourceProfile", None),
        ],
    );
    assert!(
        is_null(ghost, "token"),
        "not_in_config token must be null: {ghost}"
    );
}

/// One token file per `expiresAt` format; `expiresAt` normalised to whole seconds with `Z`.
#[test]
fn token_state_per_expires_at_format() {
    let th = profiles_home();
    let st = th.status();
    #[rustfmt::skip]
    let cases: &[(&str, ExpToken)] = &[
        // `…Z`, refreshToken + client + registration in the future
        ("default",    token("valid",   Some("2099-01-02T03:04:05Z"), true)),
        ("dev.team",   token("valid",   Some("2099-01-02T03:04:05Z"), true)),
        ("upper-keys", token("valid",   Some("2099-01-02T03:04:05Z"), true)),
        // `…UTC`, client registration but no refreshToken
        ("ops@corp",   token("valid",   Some("2099-06-07T08:09:10Z"), false)),
        // `.502193Z`, refreshToken but registration expired
        ("qa+1",       token("expired", Some("2020-03-04T05:06:07Z"), false)),
        // `.123Z`, no refresh fields
        ("with space", token("valid",   Some("2099-12-31T23:59:59Z"), false)),
        // `+00:00`, expired but refreshable
        ("plus.zero",  token("expired", Some("2020-01-01T00:00:00Z"), true)),
        // legacy: file name is sha1 of the start URL including "#/"
        ("legacy-old", token("valid",   Some("2099-05-05T05:05:05Z"), false)),
        // only a client registration (no accessToken) under the session's file name
        ("no-token",   MISSING),
        // the tests write this one when they need it
        ("soon-prof",  MISSING),
    ];
    for (name, want) in cases {
        check_token(st.profile(name), want);
    }
}

/// A chained profile's token is its source SSO profile's token.
#[test]
fn chained_profiles_use_source_token() {
    let th = profiles_home();
    let st = th.status();
    check_token(
        st.profile("chained-admin"),
        &token("valid", Some("2099-01-02T03:04:05Z"), true),
    );
    check_token(
        st.profile("chained-deep"),
        &token("valid", Some("2099-01-02T03:04:05Z"), true),
    );
    check_token(
        st.profile("chained-legacy"),
        &token("valid", Some("2099-05-05T05:05:05Z"), false),
    );
}

/// With only foreign files in the cache (client registrations, another tool's token, a non-JSON
/// file, an empty file), every SSO profile is "missing" and nothing breaks.
#[test]
fn foreign_cache_files_are_ignored() {
    let th = profiles_home();
    for file in PROFILES_TOKEN_FILES {
        fs::remove_file(th.cache_dir().join(file)).unwrap();
    }
    let st = th.status();
    assert!(
        !st.out.stderr.contains("panicked"),
        "panic:\n{}",
        st.out.describe()
    );
    for name in [
        "default",
        "dev.team",
        "ops@corp",
        "qa+1",
        "with space",
        "plus.zero",
        "no-token",
        "legacy-old",
        "chained-admin",
    ] {
        check_token(st.profile(name), &MISSING);
    }
    for e in PROFILE_SERVERS {
        check_server(&th, &st, e);
    }
}

/// A token with 5 minutes left is "expiring" under the default 15-minute threshold.
#[test]
fn expiring_token_uses_default_threshold() {
    let th = profiles_home();
    let expires = th.write_soon_token(5 * 60);
    let st = th.status();
    let p = st.profile("soon-prof");
    let t = &p["token"];
    assert_eq!(str_field(t, "state"), Some("expiring"), "soon-prof: {p}");
    assert_eq!(
        str_field(t, "expiresAt"),
        Some(expires.as_str()),
        "soon-prof: {p}"
    );
    assert_eq!(
        t.get("refreshable").and_then(Value::as_bool),
        Some(true),
        "soon-prof: {p}"
    );
}

/// settings.json `expiringThresholdMinutes` moves the threshold.
#[test]
fn expiring_threshold_comes_from_settings() {
    let th = profiles_home();
    th.write_settings(r#"{ "expiringThresholdMinutes": 1 }"#);
    th.write_soon_token(5 * 60);
    let st = th.status();
    let p = st.profile("soon-prof");
    assert_eq!(
        str_field(&p["token"], "state"),
        Some("valid"),
        "threshold 1 min, 5 min left: {p}"
    );

    let th = profiles_home();
    th.write_settings(r#"{ "expiringThresholdMinutes": 60 }"#);
    th.write_soon_token(30 * 60);
    let st = th.status();
    let p = st.profile("soon-prof");
    assert_eq!(
        str_field(&p["token"], "state"),
        Some("expiring"),
        "threshold 60 min, 30 min left: {p}"
    );
}

// ---------------------------------------------------------------------------------------------
// Tests: secrets
// ---------------------------------------------------------------------------------------------

/// No planted secret appears on stdout or stderr of `status` / `status --json`, even at
/// `RUST_LOG=trace`.
#[test]
fn no_planted_secret_in_any_output() {
    let homes = [
        ("clients", TestHome::new("clients")),
        (
            "clients (cwd proj-b)",
            TestHome::new("clients").cwd_at("work/proj-b/src/deep"),
        ),
        ("profiles", profiles_home()),
        ("broken", TestHome::new("broken")),
        ("realworld", TestHome::new("realworld")),
    ];
    homes[2].1.write_soon_token(5 * 60);
    for (label, th) in &homes {
        for args in [&["status"][..], &["status", "--json"][..]] {
            let out = th.run(args, &[("RUST_LOG", "trace")]);
            assert_eq!(
                out.code,
                Some(0),
                "{label}: `{}` failed\n{}",
                args.join(" "),
                out.describe()
            );
            for (stream, text) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
                if let Some(at) = text.find(SECRET_MARK) {
                    let line = text[at..].lines().next().unwrap_or("");
                    panic!(
                        "{label}: `{}` leaked a secret on {stream}: {line}",
                        args.join(" ")
                    );
                }
            }
        }
    }
}

/// Guard for the test above: every scenario holds planted secrets, each one unique.
#[test]
fn fixtures_hold_unique_planted_secrets() {
    fn collect(dir: &Path, out: &mut Vec<String>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                collect(&path, out);
                continue;
            }
            let text = String::from_utf8_lossy(&fs::read(&path).unwrap()).into_owned();
            for (at, _) in text.match_indices(SECRET_MARK) {
                let secret: String = text[at..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                    .collect();
                out.push(secret);
            }
        }
    }
    let mut all = Vec::new();
    for scenario in ["clients", "profiles", "broken"] {
        let before = all.len();
        collect(&fixtures_dir().join(scenario), &mut all);
        assert!(
            all.len() - before >= 3,
            "scenario {scenario} holds too few planted secrets"
        );
    }
    let mut seen = BTreeSet::new();
    for secret in &all {
        assert!(seen.insert(secret), "planted secret {secret} is not unique");
    }
}

// ---------------------------------------------------------------------------------------------
// Tests: realworld scenario (issue 9)
// ---------------------------------------------------------------------------------------------

/// One server of the `realworld` scenario: every profile it may use (default first), and whether
/// the client starts it.
struct Rw {
    name: &'static str,
    client: &'static str,
    scope: &'static str,
    file: Loc,
    profiles: &'static [&'static str],
    source: Option<&'static str>,
    unresolved: Option<&'static str>,
    enabled: bool,
}

#[allow(clippy::too_many_arguments)]
const fn rw(
    name: &'static str,
    client: &'static str,
    scope: &'static str,
    file: Loc,
    profiles: &'static [&'static str],
    source: &'static str,
    enabled: bool,
) -> Rw {
    Rw {
        name,
        client,
        scope,
        file,
        profiles,
        source: Some(source),
        unresolved: None,
        enabled,
    }
}

const ON: bool = true;
const OFF: bool = false;
const ROO: Loc =
    Xdg("Code/User/globalStorage/rooveterinaryinc.roo-cline/settings/mcp_settings.json");

#[rustfmt::skip]
const RW_SERVERS: &[Rw] = &[
    // awslabs Cursor one-click link: the whole command line in `command`, no `args`.
    rw("awslabs.aurora-dsql-mcp-server", "cursor", "user", Home(".cursor/mcp.json"), &["dev"], "arg_profile", ON),
    // `"-e AWS_PROFILE=ops"` as one element (awslabs cloudwatch README): read, with a diagnostic.
    rw("awslabs.cloudwatch-mcp-server", "cursor", "user", Home(".cursor/mcp.json"), &["ops"], "docker_env", ON),
    rw("cursor-off",             "cursor",      "user",    Home(".cursor/mcp.json"), &["dev"], "env_aws_profile", OFF),
    rw("shared-name",            "cursor",      "user",    Home(".cursor/mcp.json"), &["dev"], "env_aws_profile", ON),
    // AWS_API_MCP_PROFILE_NAME beats AWS_PROFILE for aws-api-mcp-server.
    rw("awslabs.aws-api-mcp-server", "amazon-q", "user",   Home(".aws/amazonq/mcp.json"), &["api"], "env_aws_api_mcp_profile_name", ON),
    rw("shared-name",            "amazon-q",    "user",    Home(".aws/amazonq/mcp.json"), &["dev"], "arg_profile", ON),
    // An Amazon Q CLI agent; AWS_MCP_PROXY_PROFILES lists two profiles and beats --profile.
    rw("aws-mcp",                "amazon-q",    "user",    Home(".aws/amazonq/cli-agents/aws-ops.json"), &["proxy-a", "proxy-b"], "env_aws_mcp_proxy_profiles", ON),
    rw("aws-mcp-mixed",          "amazon-q",    "user",    Home(".aws/amazonq/cli-agents/aws-ops.json"), &["static-keys", "proxy-b"], "env_aws_mcp_proxy_profiles", ON),
    rw("q-proj-agent",           "amazon-q",    "project", Home("work/cc-proj/.amazonq/cli-agents/project.json"), &["api"], "env_aws_api_mcp_profile_name", ON),
    // Gemini CLI expands `$AWS_PROFILE` at launch: not a profile name.
    Rw { name: "cost-explorer", client: "gemini-cli", scope: "user", file: Home(".gemini/settings.json"), profiles: &[], source: Some("env_aws_profile"), unresolved: Some("$AWS_PROFILE"), enabled: ON },
    // A Gemini CLI extension, launched through aws-vault.
    rw("s3-tables",              "gemini-cli",  "user",    Home(".gemini/extensions/aws-tools/gemini-extension.json"), &["vaulted"], "aws_vault", ON),
    // A Kiro agent, launched through `env AWS_PROFILE=…`.
    rw("ecs",                    "kiro",        "user",    Home(".kiro/agents/infra.json"), &["wrapped"], "env_aws_profile", ON),
    rw("roo-docs",               "roo-code",    "user",    ROO, &["legacy-old"], "env_aws_profile", ON),
    rw("roo-off",                "roo-code",    "user",    ROO, &["ops"], "env_aws_profile", OFF),
    rw("roo-proj",               "roo-code",    "project", Home("work/cc-proj/.roo/mcp.json"), &["ops"], "arg_profile", ON),
    // Claude Code: local servers, one switched off with /mcp disable; .mcp.json servers approved,
    // rejected in ~/.claude.json, rejected in the project's settings.local.json.
    rw("cc-local-orphan",        "claude-code", "local",   CLAUDE_JSON, &["orphan"], "env_aws_profile", ON),
    rw("cc-local-off",           "claude-code", "local",   CLAUDE_JSON, &["dev"], "env_aws_profile", OFF),
    rw("cc-approved",            "claude-code", "project", Home("work/cc-proj/.mcp.json"), &["static-keys"], "env_aws_profile", ON),
    rw("cc-rejected",            "claude-code", "project", Home("work/cc-proj/.mcp.json"), &["dev"], "env_aws_profile", OFF),
    rw("cc-settings-rejected",   "claude-code", "project", Home("work/cc-proj/.mcp.json"), &["ops"], "env_aws_profile", OFF),
    // VS Code envFile; the entry's own env wins over it.
    rw("cdk",                    "vscode",      "project", Home("work/cc-proj/.vscode/mcp.json"), &["dev"], "env_aws_profile", ON),
    rw("cdk-own-env",            "vscode",      "project", Home("work/cc-proj/.vscode/mcp.json"), &["wrapped"], "env_aws_profile", ON),
    // Amazon Q in the IDE (AWS docs mcp-ide.html): default.json at both scopes, and agents/*.json
    // (`~/.aws/amazonq/agents/default.json`, as AWS's SageMaker setup writes it).
    rw("q-ide-cdk",              "amazon-q",    "user",    Home(".aws/amazonq/default.json"), &["ops"], "env_aws_profile", ON),
    rw("awslabs.cloudwatch-mcp-server", "amazon-q", "user", Home(".aws/amazonq/agents/default.json"), &["ops"], "env_aws_profile", ON),
    rw("q-ide-proj",             "amazon-q",    "project", Home("work/cc-proj/.amazonq/default.json"), &["dev"], "arg_profile", ON),
    rw("q-proj-ide-agent",       "amazon-q",    "project", Home("work/cc-proj/.amazonq/agents/default.json"), &["wrapped"], "env_aws_profile", OFF),
    // A VS Code profile other than the default keeps its own mcp.json (VS Code docs).
    rw("vscode-profile-srv",     "vscode",      "user",    Xdg("Code/User/profiles/-3f1e2c4a/mcp.json"), &["ops"], "env_aws_profile", ON),
    // Cline and Roo Code in other VS Code-based editors, and Cline's CLI (docs.cline.bot).
    rw("cline-in-cursor",        "cline",       "user",    Xdg("Cursor/User/globalStorage/saoudrizwan.claude-dev/settings/cline_mcp_settings.json"), &["dev"], "env_aws_profile", ON),
    rw("roo-in-vscodium",        "roo-code",    "user",    Xdg("VSCodium/User/globalStorage/rooveterinaryinc.roo-cline/settings/mcp_settings.json"), &["ops"], "env_aws_profile", ON),
    rw("cline-cli-docs",         "cline",       "user",    Home(".cline/data/settings/cline_mcp_settings.json"), &["legacy-old"], "env_aws_profile", ON),
];

/// Found only with `CODEX_HOME` pointing at `~/codex-home` (`~/.codex` does not exist here); the
/// project is listed only under `[projects."…"]` there.
#[rustfmt::skip]
const RW_CODEX: &[Rw] = &[
    rw("codex-on",               "codex",       "user",    Home("codex-home/config.toml"), &["ops"], "env_aws_profile", ON),
    rw("codex-off",              "codex",       "user",    Home("codex-home/config.toml"), &["dev"], "env_aws_profile", OFF),
    rw("codex-proj-srv",         "codex",       "project", Home("work/codex-proj/.codex/config.toml"), &["creds-chained"], "env_aws_profile", ON),
    // From Codex's own environment (`env_vars`, docker's bare `-e`): a placeholder, like `${env:…}`.
    Rw { name: "codex-env-vars", client: "codex", scope: "user", file: Home("codex-home/config.toml"), profiles: &[], source: Some("env_aws_profile"), unresolved: Some("$AWS_PROFILE"), enabled: ON },
    Rw { name: "codex-docker-passthrough", client: "codex", scope: "user", file: Home("codex-home/config.toml"), profiles: &[], source: Some("env_aws_profile"), unresolved: Some("$AWS_PROFILE"), enabled: ON },
    // `env` that `docker run` does not pass into the container: no profile, and a diagnostic.
    Rw { name: "codex-docker-unpassed", client: "codex", scope: "user", file: Home("codex-home/config.toml"), profiles: &[], source: None, unresolved: None, enabled: ON },
];

fn realworld() -> TestHome {
    TestHome::new("realworld")
}

impl TestHome {
    fn status_env(&self, env: &[(&str, &str)]) -> Status {
        let out = self.run(&["status", "--json"], env);
        assert_eq!(
            out.code,
            Some(0),
            "status --json failed\n{}",
            out.describe()
        );
        let json: Value = serde_json::from_str(out.stdout.trim())
            .unwrap_or_else(|e| panic!("no JSON ({e})\n{}", out.describe()));
        Status { json, out }
    }

    fn codex_home(&self) -> String {
        self.home_path("codex-home").display().to_string()
    }
}

fn check_rw(th: &TestHome, st: &Status, e: &Rw) {
    let s = st.server(e.name, e.client, e.scope);
    let config = str_field(s, "configPath").unwrap_or("?");
    assert!(
        th.same_path(config, &th.loc_path(e.file)),
        "server {}: configPath {config:?}, expected {:?}",
        e.name,
        th.loc_path(e.file)
    );
    assert_eq!(
        string_list(s, "profiles"),
        e.profiles,
        "server {}: profiles in {s}",
        e.name
    );
    assert_eq!(
        str_field(s, "profile"),
        e.profiles.first().copied(),
        "server {}: profile in {s}",
        e.name
    );
    assert_eq!(
        str_field(s, "profileSource"),
        e.source,
        "server {}: profileSource in {s}",
        e.name
    );
    assert_eq!(
        str_field(s, "profileUnresolved"),
        e.unresolved,
        "server {}: profileUnresolved in {s}",
        e.name
    );
    assert_eq!(
        s.get("enabled").and_then(Value::as_bool),
        Some(e.enabled),
        "server {}: enabled in {s}",
        e.name
    );
}

fn rw_exact(st: &Status, expected: &[&Rw]) {
    let want: BTreeSet<(String, String, String)> = expected
        .iter()
        .map(|e| (e.name.to_owned(), e.client.to_owned(), e.scope.to_owned()))
        .collect();
    let got: Vec<(String, String, String)> = st
        .servers()
        .iter()
        .map(|s| {
            let f = |k| str_field(s, k).unwrap_or("?").to_owned();
            (f("name"), f("client"), f("scope"))
        })
        .collect();
    assert_eq!(
        got.len(),
        want.len(),
        "server count; found:\n{}",
        st.server_summary()
    );
    assert_eq!(
        got.into_iter().collect::<BTreeSet<_>>(),
        want,
        "servers found:\n{}",
        st.server_summary()
    );
}

/// Every form of issue 9 at once: the exact server set, each server's profiles, source and
/// enabled state.
#[test]
fn realworld_servers_profiles_and_switches() {
    let th = realworld();
    let codex_home = th.codex_home();
    let st = th.status_env(&[("CODEX_HOME", &codex_home)]);
    for e in RW_SERVERS.iter().chain(RW_CODEX) {
        check_rw(&th, &st, e);
    }
    rw_exact(&st, &RW_SERVERS.iter().chain(RW_CODEX).collect::<Vec<_>>());
}

/// Without `CODEX_HOME`, `~/.codex` is read (it does not exist here): no Codex server, and the
/// project Codex alone lists is not searched.
#[test]
fn realworld_codex_home_replaces_dot_codex() {
    let th = realworld();
    let st = th.status();
    rw_exact(&st, &RW_SERVERS.iter().collect::<Vec<_>>());
}

/// Exactly two diagnostics: docker's one-element `-e`, and the missing `[sso-session gone]`.
#[test]
fn realworld_diagnostics() {
    let th = realworld();
    let st = th.status();
    let d = st.diagnostics();
    assert_eq!(d.len(), 2, "diagnostics: {}", st.json["diagnostics"]);
    let docker = d
        .iter()
        .find(|x| {
            str_field(x, "path").is_some_and(|p| th.same_path(p, &th.home_path(".cursor/mcp.json")))
        })
        .unwrap_or_else(|| {
            panic!(
                "no diagnostic for .cursor/mcp.json: {}",
                st.json["diagnostics"]
            )
        });
    let msg = str_field(docker, "message").unwrap_or("");
    assert!(
        msg.contains("awslabs.cloudwatch-mcp-server") && msg.contains(r#""-e", "AWS_PROFILE=ops""#),
        "{msg}"
    );
    let orphan = d
        .iter()
        .find(|x| str_field(x, "path").is_some_and(|p| th.same_path(p, &th.aws_config)))
        .unwrap_or_else(|| {
            panic!(
                "no diagnostic for the AWS config: {}",
                st.json["diagnostics"]
            )
        });
    assert_eq!(
        orphan.get("line").and_then(Value::as_u64),
        Some(55),
        "{orphan}"
    );
    let msg = str_field(orphan, "message").unwrap_or("");
    assert!(
        msg.contains(r#""orphan""#) && msg.contains(r#""gone""#),
        "{msg}"
    );
}

/// With `CODEX_HOME`, one more diagnostic: the docker server whose `env.AWS_PROFILE` never reaches
/// its container.
#[test]
fn realworld_docker_env_not_passed_is_diagnosed() {
    let th = realworld();
    let codex_home = th.codex_home();
    let st = th.status_env(&[("CODEX_HOME", &codex_home)]);
    let config = th.home_path("codex-home/config.toml");
    let on_codex: Vec<&str> = st
        .diagnostics()
        .iter()
        .filter(|x| str_field(x, "path").is_some_and(|p| th.same_path(p, &config)))
        .filter_map(|x| str_field(x, "message"))
        .collect();
    assert_eq!(on_codex.len(), 1, "{}", st.json["diagnostics"]);
    assert!(
        on_codex[0].contains("codex-docker-unpassed")
            && on_codex[0].contains(r#""-e", "AWS_PROFILE""#),
        "{}",
        on_codex[0]
    );
    assert_eq!(st.diagnostics().len(), 3, "{}", st.json["diagnostics"]);
}

/// `~/.aws/credentials` is merged like the CLI does: a static-key profile is `not_sso`, a role
/// there whose source is an SSO profile is `chained` to that session.
#[test]
fn realworld_credentials_file() {
    let th = realworld();
    let codex_home = th.codex_home();
    let st = th.status_env(&[("CODEX_HOME", &codex_home)]);
    check_profile_fields(
        st.profile("static-keys"),
        &[("kind", Some("not_sso")), ("ssoSession", None)],
    );
    assert!(is_null(st.profile("static-keys"), "token"));
    check_profile_fields(
        st.profile("creds-chained"),
        &[
            ("kind", Some("chained")),
            ("sourceProfile", Some("dev")),
            ("ssoSession", Some("corp")),
            ("accountId", Some("123412341234")),
            ("roleName", Some("Deployer")),
        ],
    );
    // AWS_SHARED_CREDENTIALS_FILE moves it.
    let moved = th.home_path("elsewhere-credentials");
    fs::rename(th.home_path(".aws/credentials"), &moved).unwrap();
    let st = th.status();
    check_profile_fields(
        st.profile("static-keys"),
        &[("kind", Some("not_in_config"))],
    );
    let moved = moved.display().to_string();
    let st = th.status_env(&[("AWS_SHARED_CREDENTIALS_FILE", &moved)]);
    check_profile_fields(st.profile("static-keys"), &[("kind", Some("not_sso"))]);
}

/// A config the AWS CLI refuses ("Unable to parse config file", AWS CLI 2.9.19 and 2.36.7): a BOM
/// (Notepad's "UTF-8 with BOM"), a profile pasted twice, a key set twice. Each is reported on its
/// line, and everything else is still shown.
#[test]
fn realworld_config_the_aws_cli_cannot_read() {
    let th = realworld();
    let text = fs::read_to_string(&th.aws_config).unwrap();
    let lines = text.lines().count();
    let broken = format!("\u{feff}{text}\n[profile dev]\nregion = us-east-1\nregion = eu-west-1\n");
    fs::write(&th.aws_config, broken).unwrap();
    let st = th.status();
    let on_config: Vec<&Value> = st
        .diagnostics()
        .iter()
        .filter(|x| str_field(x, "path").is_some_and(|p| th.same_path(p, &th.aws_config)))
        .filter(|x| str_field(x, "message").is_some_and(|m| m.contains("AWS CLI cannot read")))
        .collect();
    let at: Vec<Option<u64>> = on_config
        .iter()
        .map(|x| x.get("line").and_then(Value::as_u64))
        .collect();
    let n = lines as u64;
    assert_eq!(
        at,
        [Some(1), Some(n + 2), Some(n + 4)],
        "{}",
        st.json["diagnostics"]
    );
    // Still read as before: the realworld servers and profiles are all there.
    check_profile_fields(
        st.profile("dev"),
        &[("kind", Some("sso_session")), ("ssoSession", Some("corp"))],
    );
    for e in RW_SERVERS {
        check_rw(&th, &st, e);
    }
}

/// The human table: every profile of a multi-profile server, the start URL for a legacy profile
/// (where sso-session profiles show the session name), and disabled servers marked.
#[test]
fn realworld_human_status() {
    let th = realworld();
    let out = th.run(&["status"], &[]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    let row = |name: &str| {
        out.stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("no row for {name}\n{}", out.describe()))
            .to_owned()
    };
    assert!(
        row("aws-mcp").contains("proxy-a, proxy-b"),
        "{}",
        row("aws-mcp")
    );
    assert!(
        row("roo-docs").contains("https://old.awsapps.com/start"),
        "{}",
        row("roo-docs")
    );
    assert!(row("ecs").contains("corp"), "{}", row("ecs"));
    assert!(
        row("cursor-off").contains("(disabled)"),
        "{}",
        row("cursor-off")
    );
    assert!(!row("ecs").contains("(disabled)"), "{}", row("ecs"));
}

/// A 20 MiB `~/.claude.json` (history padding, as Claude Code grows it) is read in full: its
/// servers are found and the 16 MiB cap of other files does not apply to it.
#[test]
fn realworld_large_claude_json_is_read() {
    let th = realworld();
    let path = th.home_path(".claude.json");
    let text = fs::read_to_string(&path).unwrap();
    let entry = r#"{"display": "a long pasted prompt with \"quotes\" and \\ backslashes \u00e9", "pastedContents": {}}"#;
    let n = 20 * 1024 * 1024 / entry.len() + 1;
    let history = vec![entry; n].join(",");
    let big = text.replacen(
        "\"numStartups\"",
        &format!("\"history\": [{history}], \"numStartups\""),
        1,
    );
    assert!(big.len() > 20 * 1024 * 1024);
    fs::write(&path, big).unwrap();
    let st = th.status();
    for e in RW_SERVERS.iter().filter(|e| e.client == "claude-code") {
        check_rw(&th, &st, e);
    }
    assert_eq!(st.diagnostics().len(), 2, "{}", st.json["diagnostics"]);
    // The other files keep their cap.
    let cursor = th.home_path(".cursor/mcp.json");
    fs::File::create(&cursor)
        .unwrap()
        .set_len(17 * 1024 * 1024)
        .unwrap();
    let st = th.status();
    assert!(
        st.diagnostics()
            .iter()
            .any(|d| str_field(d, "message").is_some_and(|m| m.contains("larger than 16 MiB"))),
        "{}",
        st.json["diagnostics"]
    );
}

/// Issue 9, item 19: the upward walk from the working folder stops at a world-writable folder
/// (a `.mcp.json` planted in a shared folder above is not read), and a project file owned by
/// another user is skipped with a diagnostic.
#[cfg(unix)]
#[test]
fn realworld_walk_stops_at_shared_folders() {
    use std::os::unix::fs::PermissionsExt;
    let th = realworld();
    let root = th.home.parent().unwrap().to_path_buf();
    let shared = root.join("shared");
    let proj = shared.join("proj");
    fs::create_dir_all(proj.join(".cursor")).unwrap();
    fs::set_permissions(&shared, fs::Permissions::from_mode(0o1777)).unwrap();
    let planted = r#"{"mcpServers": {"planted": {"env": {"AWS_PROFILE": "ops"}}}}"#;
    fs::write(shared.join(".mcp.json"), planted).unwrap();
    fs::write(
        proj.join(".cursor/mcp.json"),
        r#"{"mcpServers": {"own": {"env": {"AWS_PROFILE": "dev"}}}}"#,
    )
    .unwrap();
    let mut th = th;
    th.cwd = proj.clone();
    let st = th.status();
    assert!(
        !st.has_server_named("planted"),
        "a .mcp.json in a world-writable folder was read:\n{}",
        st.server_summary()
    );
    assert!(
        st.has_server_named("own"),
        "the project's own file was not read:\n{}",
        st.server_summary()
    );

    // A file owned by someone else (only root can create one for the test).
    if unsafe { libc::geteuid() } == 0 {
        let c =
            std::ffi::CString::new(proj.join(".cursor/mcp.json").as_os_str().as_encoded_bytes())
                .unwrap();
        assert_eq!(unsafe { libc::chown(c.as_ptr(), 65534, 65534) }, 0);
        let st = th.status();
        assert!(!st.has_server_named("own"), "a foreign-owned file was read");
        assert!(
            st.diagnostics()
                .iter()
                .any(|d| str_field(d, "message")
                    .is_some_and(|m| m.contains("owned by another user"))),
            "{}",
            st.json["diagnostics"]
        );
    }
}

/// Issue 9, item 15: a profile whose sso_session names a missing section is refused before the
/// CLI runs, by profile and by server; item 18: a refresh by server says which entry it used.
#[test]
fn realworld_refresh_refusals_and_config_path() {
    let th = realworld();
    let refresh = |args: &[&str]| {
        let mut all = vec!["refresh", "--json", "--silent-only"];
        all.extend_from_slice(args);
        let out = th.run(&all, &[]);
        assert_eq!(out.code, Some(1), "{}", out.describe());
        let v: Value = serde_json::from_str(out.stdout.trim())
            .unwrap_or_else(|e| panic!("{e}\n{}", out.describe()));
        v
    };
    for args in [
        &["--profile", "orphan"][..],
        &["--server", "cc-local-orphan"][..],
    ] {
        let v = refresh(args);
        let msg = str_field(&v, "message").unwrap_or("");
        assert!(
            msg.contains("no [sso-session gone] section"),
            "{args:?}: {v}"
        );
    }
    let v = refresh(&["--server", "cc-local-orphan"]);
    assert!(
        th.same_path(
            str_field(&v, "configPath").unwrap_or("?"),
            &th.home_path(".claude.json")
        ),
        "{v}"
    );

    // The same name in two clients agreeing on the profile: the first entry (client table order).
    let v = refresh(&["--server", "shared-name"]);
    assert!(
        th.same_path(
            str_field(&v, "configPath").unwrap_or("?"),
            &th.home_path(".aws/amazonq/mcp.json")
        ),
        "{v}"
    );
    assert_eq!(str_field(&v, "profile"), Some("dev"), "{v}");

    // Item 2: two profiles on two sessions, each tried.
    let v = refresh(&["--server", "aws-mcp"]);
    assert_eq!(string_list(&v, "profiles"), ["proxy-a", "proxy-b"], "{v}");
    let msg = str_field(&v, "message").unwrap_or("");
    assert!(
        msg.contains("2 distinct SSO sessions")
            && msg.contains("[proxy-a]")
            && msg.contains("[proxy-b]"),
        "{v}"
    );
    assert_eq!(str_field(&v, "profileSource"), Some("mcp_config"), "{v}");

    // A static-key profile among them needs no sign-in: only the SSO one is tried, and the reply says so.
    let v = refresh(&["--server", "aws-mcp-mixed"]);
    assert_eq!(str_field(&v, "profile"), Some("proxy-b"), "{v}");
    assert!(is_null(&v, "profiles"), "{v}");
    let msg = str_field(&v, "message").unwrap_or("");
    assert!(
        msg.contains("not renewed, as they do not use SSO: static-keys"),
        "{v}"
    );

    // A disabled server can still be refreshed by name.
    let v = refresh(&["--server", "cursor-off"]);
    assert_eq!(str_field(&v, "profile"), Some("dev"), "{v}");
}
