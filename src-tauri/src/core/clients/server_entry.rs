//! One server entry of a client config: which AWS profile(s) the server really uses, resolved the
//! way the server itself resolves them.
//!
//! The entry is first turned into what the server process will see: an argument vector (`command`
//! split like a shell would when it carries the whole command line, wrappers such as `env` and
//! `aws-vault exec` unwrapped, docker's `-e` options read) and an environment (`env`, a VS Code
//! `envFile`, an `env K=V` wrapper, docker `-e`). Then [`PRECEDENCE`] is walked in order; the
//! first source that names a profile wins.
//!
//! A variable the server takes from the client's own environment (Codex `env_vars`, docker's bare
//! `-e AWS_PROFILE`) is known only at launch: it stands as the placeholder `$NAME`. A `docker run`
//! container sees only what `-e` passes in, so an `env` setting it does not pass is not credited.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Map, Value};

use crate::core::read;

/// Where in a server's entry the profile was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProfileSource {
    /// `AWS_MCP_PROXY_PROFILES` (mcp-proxy-for-aws): a space-separated list, the first is the default.
    EnvAwsMcpProxyProfiles,
    /// `args`: `--profile NAME` or `--profile=NAME`
    ArgProfile,
    /// `AWS_API_MCP_PROFILE_NAME` (awslabs aws-api-mcp-server)
    EnvAwsApiMcpProfileName,
    /// `aws-vault exec NAME -- cmd …`: the wrapper puts NAME's credentials in the environment.
    AwsVault,
    /// `args`: `-e AWS_PROFILE=NAME` / `--env AWS_PROFILE=NAME` (docker-launched servers); a bare
    /// `-e AWS_PROFILE` passes the client's own `AWS_PROFILE` (placeholder `$AWS_PROFILE`).
    DockerEnv,
    /// `env.AWS_PROFILE` (also from `envFile` or an `env AWS_PROFILE=NAME cmd` wrapper); Codex's
    /// `env_vars = ["AWS_PROFILE"]` forwards the client's own (placeholder `$AWS_PROFILE`).
    EnvAwsProfile,
    /// `env.AWS_DEFAULT_PROFILE` (same places)
    EnvAwsDefaultProfile,
}

/// The order in which a server resolves its profile: the first row that names one wins.
/// Each row cites where that behaviour is documented. The README's table follows this one; a test
/// keeps the two in step.
#[rustfmt::skip]
pub const PRECEDENCE: &[(ProfileSource, &str)] = &[
    // aws/mcp-proxy-for-aws README ("Multiple profiles"): AWS_MCP_PROXY_PROFILES lists the profiles,
    // separated by spaces, the first being the default, and takes precedence over --profile and AWS_PROFILE.
    (ProfileSource::EnvAwsMcpProxyProfiles, "env `AWS_MCP_PROXY_PROFILES` (space-separated; first is the default)"),
    // awslabs/mcp servers (e.g. src/*/server.py): `args.profile or os.getenv("AWS_PROFILE")`; an explicit
    // profile_name also beats credentials in the environment (botocore's resolver).
    (ProfileSource::ArgProfile, "`--profile NAME` / `--profile=NAME` in the command line"),
    // awslabs/mcp src/aws-api-mcp-server README and awslabs/aws_api_mcp_server/core/common/config.py:
    // AWS_API_MCP_PROFILE_NAME is the profile its AWS calls use (a boto3 Session(profile_name=…)).
    (ProfileSource::EnvAwsApiMcpProfileName, "env `AWS_API_MCP_PROFILE_NAME`"),
    // 99designs/aws-vault USAGE.md: `aws-vault exec PROFILE -- cmd` exports PROFILE's credentials as
    // AWS_ACCESS_KEY_ID etc.; botocore's env provider comes before a profile named by AWS_PROFILE.
    (ProfileSource::AwsVault, "`aws-vault exec NAME [flags] -- cmd …` wrapper"),
    // docker run reference (--env): the container's environment; awslabs cloudtrail/cloudwatch READMEs.
    // A bare `-e VAR` takes VAR from docker's own environment (docker/cli#1780 quotes the reference).
    (ProfileSource::DockerEnv, "docker `-e AWS_PROFILE=NAME` / `--env AWS_PROFILE=NAME`"),
    // AWS CLI/SDK configuration docs ("Environment variables"): AWS_PROFILE.
    (ProfileSource::EnvAwsProfile, "env `AWS_PROFILE` (entry `env`, then `env K=V` wrapper, then VS Code `envFile`)"),
    // AWS CLI v1/botocore: AWS_DEFAULT_PROFILE, read when AWS_PROFILE is unset.
    (ProfileSource::EnvAwsDefaultProfile, "env `AWS_DEFAULT_PROFILE`"),
];

/// The environment variables that name a profile; nothing else of an `envFile` is kept.
const PROFILE_VARS: &[&str] = &[
    "AWS_MCP_PROXY_PROFILES",
    "AWS_API_MCP_PROFILE_NAME",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
];

/// The profile a server uses, as written in its entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileRef {
    /// Where it was found.
    pub source: ProfileSource,
    /// The raw value.
    pub value: String,
}

impl ProfileRef {
    /// A value such as `${env:AWS_PROFILE}`, `${input:p}` (VS Code) or `$AWS_PROFILE` (Gemini CLI)
    /// is expanded by the client at launch; only the client knows what it becomes, so it is not a
    /// profile name. No valid profile name contains `$`.
    pub fn is_placeholder(&self) -> bool {
        self.value.contains('$')
    }
}

/// What an entry says about AWS profiles.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntryProfiles {
    /// The profile the server's AWS calls use by default.
    pub profile: Option<ProfileRef>,
    /// Every profile the server may use (more than one only for a list such as
    /// `AWS_MCP_PROXY_PROFILES`); the default first.
    pub all: Vec<ProfileRef>,
    /// Problems worth telling the user, without the path (the caller adds it).
    pub notes: Vec<String>,
}

/// What an entry's relative paths and `${…}` variables resolve against.
#[derive(Debug, Clone, Copy)]
pub struct EntryPlace<'a> {
    pub home: &'a Path,
    /// The project folder of a project- or local-scope entry (`${workspaceFolder}`).
    pub project: Option<&'a Path>,
}

/// Finds the profile(s) in a server entry.
pub fn profiles_of(entry: &Map<String, Value>, place: EntryPlace<'_>) -> EntryProfiles {
    let mut out = EntryProfiles::default();
    // Zed's older layout nests command, args and env in a `command` object.
    let inner = entry
        .get("command")
        .and_then(Value::as_object)
        .unwrap_or(entry);
    let argv = argv_of(inner);
    let launch = unwrap_launch(&argv, &mut out.notes);

    // The environment the server process sees, lowest priority first.
    let mut env: BTreeMap<&'static str, (String, bool)> = BTreeMap::new();
    // Codex `env_vars` (developers.openai.com/codex/mcp): variables forwarded from Codex's own
    // environment; the entry's `env` wins over them.
    if let Some(list) = inner.get("env_vars").and_then(Value::as_array) {
        for key in list
            .iter()
            .filter_map(Value::as_str)
            .filter_map(profile_var)
        {
            env.insert(key, (format!("${key}"), false));
        }
    }
    if let Some(file) = inner.get("envFile").and_then(Value::as_str) {
        for (k, v) in env_file(file, place, &mut out.notes) {
            env.insert(k, (v, false));
        }
    }
    if let Some(map) = inner.get("env").and_then(Value::as_object) {
        for key in PROFILE_VARS {
            if let Some(v) = map.get(*key).and_then(Value::as_str) {
                env.insert(key, (v.to_owned(), false));
            }
        }
    }
    for (k, v) in launch.env {
        env.insert(k, (v, false));
    }
    if launch.docker_run {
        // The container gets only what `-e` passes: a bare `-e NAME` passes docker's own NAME (the
        // entry's `env` when set there, else the client's), anything else stays outside.
        env.retain(|key, (v, _)| {
            let passed = launch.docker_pass.contains(key);
            if !passed && !v.trim().is_empty() {
                out.notes.push(format!(
                    "`{key}` is set for the docker command but not passed into the container (no \"-e\", \"{key}\" in args), \
                     so the server does not use it"
                ));
            }
            passed
        });
        for key in &launch.docker_pass {
            env.entry(*key).or_insert_with(|| (format!("${key}"), true));
        }
    }
    for (k, v) in launch.docker_env {
        env.insert(k, (v, true));
    }
    let value = |key: &str| {
        env.get(key)
            .map(|(v, docker)| (v.trim(), *docker))
            .filter(|(v, _)| !v.is_empty())
    };

    for (source, _) in PRECEDENCE {
        let found: Vec<String> = match source {
            ProfileSource::EnvAwsMcpProxyProfiles => value("AWS_MCP_PROXY_PROFILES")
                .map(|(v, _)| v.split_whitespace().map(str::to_owned).collect())
                .unwrap_or_default(),
            ProfileSource::ArgProfile => launch.arg_profile.iter().cloned().collect(),
            ProfileSource::EnvAwsApiMcpProfileName => value("AWS_API_MCP_PROFILE_NAME")
                .map(|(v, _)| vec![v.to_owned()])
                .unwrap_or_default(),
            ProfileSource::AwsVault => launch.aws_vault.iter().cloned().collect(),
            ProfileSource::DockerEnv => value("AWS_PROFILE")
                .filter(|(_, docker)| *docker)
                .map(|(v, _)| vec![v.to_owned()])
                .unwrap_or_default(),
            ProfileSource::EnvAwsProfile => value("AWS_PROFILE")
                .filter(|(_, docker)| !*docker)
                .map(|(v, _)| vec![v.to_owned()])
                .unwrap_or_default(),
            ProfileSource::EnvAwsDefaultProfile => value("AWS_DEFAULT_PROFILE")
                .map(|(v, _)| vec![v.to_owned()])
                .unwrap_or_default(),
        };
        if found.is_empty() {
            continue;
        }
        let mut all: Vec<ProfileRef> = Vec::new();
        for value in found {
            if !all.iter().any(|p| p.value == value) {
                all.push(ProfileRef {
                    source: *source,
                    value,
                });
            }
        }
        out.profile = all.first().cloned();
        out.all = all;
        break;
    }
    out
}

/// The first profile an entry names (see [`profiles_of`]), for callers without a place.
pub fn profile_of(entry: &Map<String, Value>) -> Option<ProfileRef> {
    profiles_of(
        entry,
        EntryPlace {
            home: Path::new("/nonexistent"),
            project: None,
        },
    )
    .profile
}

/// `command` and `args` as one argument vector. Cursor's one-click links write the whole command
/// line into `command` with no `args`: that is split the way a shell would.
fn argv_of(inner: &Map<String, Value>) -> Vec<String> {
    let mut argv = Vec::new();
    let args = inner.get("args").and_then(Value::as_array);
    let no_args = args.is_none_or(|a| a.is_empty());
    if let Some(cmd) = inner
        .get("command")
        .or_else(|| inner.get("path"))
        .and_then(Value::as_str)
    {
        let cmd = cmd.trim();
        // With `args` present, or naming a file that exists, spaces are part of a path.
        if no_args && cmd.contains(char::is_whitespace) && !Path::new(cmd).exists() {
            match shlex::split(cmd) {
                Some(parts) => argv.extend(parts),
                None => argv.push(cmd.to_owned()),
            }
        } else if !cmd.is_empty() {
            argv.push(cmd.to_owned());
        }
    }
    if let Some(args) = args {
        argv.extend(args.iter().filter_map(Value::as_str).map(str::to_owned));
    }
    argv
}

/// What the launch command line says, wrappers unwrapped.
#[derive(Debug, Default)]
struct Launch {
    arg_profile: Option<String>,
    aws_vault: Option<String>,
    /// From an `env K=V … cmd` wrapper.
    env: Vec<(&'static str, String)>,
    /// From docker's `-e K=V` / `--env K=V`.
    docker_env: Vec<(&'static str, String)>,
    /// Profile variables passed by a bare `-e K` / `--env K` (docker takes them from its own environment).
    docker_pass: Vec<&'static str>,
    /// The command is `docker run`: the server runs in a container that sees only what `-e` passes.
    docker_run: bool,
}

fn profile_var(key: &str) -> Option<&'static str> {
    PROFILE_VARS.iter().copied().find(|k| *k == key)
}

fn file_name(arg: &str) -> &str {
    arg.rsplit(['/', '\\']).next().unwrap_or(arg)
}

fn unwrap_launch(argv: &[String], notes: &mut Vec<String>) -> Launch {
    let mut launch = Launch::default();
    let mut i = 0;
    // Wrappers first: `env [-i] [K=V]… cmd …`, `aws-vault exec PROFILE [flags] -- cmd …`.
    while let Some(first) = argv.get(i) {
        match file_name(first) {
            "env" => {
                i += 1;
                while let Some(arg) = argv.get(i) {
                    if let Some((k, v)) = arg.split_once('=').filter(|(k, _)| !k.starts_with('-')) {
                        if let Some(key) = profile_var(k) {
                            launch.env.push((key, v.to_owned()));
                        }
                    } else if !arg.starts_with('-') {
                        break;
                    }
                    i += 1;
                }
            }
            "aws-vault" if argv.get(i + 1).is_some_and(|a| a == "exec") => {
                i += 2;
                // The first non-flag argument is the profile; the command follows `--`.
                while let Some(arg) = argv.get(i) {
                    i += 1;
                    if arg == "--" {
                        break;
                    }
                    if launch.aws_vault.is_none() && !arg.starts_with('-') && !arg.trim().is_empty()
                    {
                        launch.aws_vault = Some(arg.trim().to_owned());
                    }
                }
            }
            _ => break,
        }
    }
    let rest = argv.get(i..).unwrap_or_default();
    launch.docker_run = rest
        .first()
        .is_some_and(|c| matches!(file_name(c), "docker" | "docker.exe"))
        && match rest.get(1).map(String::as_str) {
            Some("run") => true,
            Some("container") => rest.get(2).is_some_and(|a| a == "run"),
            _ => false,
        };
    let mut iter = rest.iter().peekable();
    while let Some(arg) = iter.next() {
        let arg = arg.as_str();
        if arg == "--profile" {
            if let Some(v) = iter.peek().filter(|v| !v.trim().is_empty()) {
                launch
                    .arg_profile
                    .get_or_insert_with(|| v.trim().to_owned());
            }
        } else if let Some(v) = arg.strip_prefix("--profile=") {
            if !v.trim().is_empty() {
                launch
                    .arg_profile
                    .get_or_insert_with(|| v.trim().to_owned());
            }
        } else if arg == "-e" || arg == "--env" {
            if let Some(kv) = iter.peek() {
                docker_env(kv, &mut launch);
            }
        } else if let Some(kv) = arg
            .strip_prefix("-e=")
            .or_else(|| arg.strip_prefix("--env="))
        {
            docker_env(kv, &mut launch);
        } else if let Some(kv) = arg
            .strip_prefix("-e ")
            .or_else(|| arg.strip_prefix("--env "))
        {
            // `"-e AWS_PROFILE=dev"` as one array element (verbatim in some READMEs): docker gets
            // one argument and sets a variable named " AWS_PROFILE", not AWS_PROFILE.
            if docker_env(kv.trim_start(), &mut launch) {
                notes.push(format!(
                    "argument {arg:?} is passed to docker as one argument, so the container does not get \
                     that variable; write it as two elements: \"{}\", \"{}\"",
                    arg.split_whitespace().next().unwrap_or("-e"),
                    kv.trim_start()
                ));
            }
        }
    }
    launch
}

/// Reads `K=V` (or a bare `K`) of a docker `-e`; true when it names a profile variable.
fn docker_env(kv: &str, launch: &mut Launch) -> bool {
    let Some((k, v)) = kv.split_once('=') else {
        return match profile_var(kv.trim()) {
            Some(key) => {
                launch.docker_pass.push(key);
                true
            }
            None => false,
        };
    };
    match profile_var(k.trim()) {
        Some(key) => {
            launch.docker_env.push((key, v.to_owned()));
            true
        }
        None => false,
    }
}

/// The profile variables of a VS Code `envFile` (dotenv). Only those are kept: the file may hold
/// secrets. The entry's own `env` wins over it.
fn env_file(
    raw: &str,
    place: EntryPlace<'_>,
    notes: &mut Vec<String>,
) -> Vec<(&'static str, String)> {
    let Some(path) = resolve_env_file(raw, place) else {
        notes.push(format!(
            "envFile {raw:?} cannot be located outside the client (it depends on the workspace or a variable the client resolves); it was not read"
        ));
        return Vec::new();
    };
    match read::text(&path) {
        Ok(Some(text)) => dotenv_profile_vars(&text),
        Ok(None) => {
            notes.push(format!("envFile {} does not exist", path.display()));
            Vec::new()
        }
        Err(d) => {
            notes.push(format!("envFile {}: {}", d.path.display(), d.message));
            Vec::new()
        }
    }
}

fn resolve_env_file(raw: &str, place: EntryPlace<'_>) -> Option<PathBuf> {
    let raw = raw.trim();
    let mut s = raw.to_owned();
    if let Some(project) = place.project {
        let p = project.to_string_lossy();
        s = s
            .replace("${workspaceFolder}", &p)
            .replace("${workspaceRoot}", &p);
    }
    s = s.replace("${userHome}", &place.home.to_string_lossy());
    if let Some(rest) = s.strip_prefix("~/") {
        s = place.home.join(rest).to_string_lossy().into_owned();
    }
    if s.contains("${") || s.is_empty() {
        return None;
    }
    let path = PathBuf::from(&s);
    if path.is_absolute() {
        Some(path)
    } else {
        place.project.map(|p| p.join(path))
    }
}

/// `KEY=VALUE` lines, `export ` allowed, `#` comments, optional single or double quotes.
fn dotenv_profile_vars(text: &str) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        let line = line.strip_prefix("export ").unwrap_or(line).trim_start();
        if line.starts_with('#') {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let Some(key) = profile_var(k.trim()) else {
            continue;
        };
        let v = v.trim();
        let v = if let Some(q) = v
            .strip_prefix('"')
            .and_then(|r| r.split_once('"'))
            .or_else(|| v.strip_prefix('\'').and_then(|r| r.split_once('\'')))
        {
            q.0
        } else {
            v.split(" #").next().unwrap_or(v).trim()
        };
        out.push((key, v.to_owned()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use ProfileSource::*;

    fn all(v: Value) -> EntryProfiles {
        profiles_of(
            v.as_object().unwrap(),
            EntryPlace {
                home: Path::new("/home/u"),
                project: None,
            },
        )
    }

    fn of(v: Value) -> Option<(ProfileSource, String)> {
        profile_of(v.as_object().unwrap()).map(|p| (p.source, p.value))
    }

    #[test]
    fn arg_profile_wins_over_env_as_awslabs_servers_resolve_it() {
        let got = of(json!({"env": {"AWS_PROFILE": "a"}, "args": ["--profile", "b"]}));
        assert_eq!(got, Some((ArgProfile, "b".into())));
        let got = of(json!({"env": {"AWS_DEFAULT_PROFILE": "d"}}));
        assert_eq!(got, Some((EnvAwsDefaultProfile, "d".into())));
        let got = of(json!({"env": {"AWS_DEFAULT_PROFILE": "d", "AWS_PROFILE": "p"}}));
        assert_eq!(got, Some((EnvAwsProfile, "p".into())));
    }

    #[test]
    fn server_specific_variables() {
        let got = of(json!({"env": {"AWS_API_MCP_PROFILE_NAME": "api", "AWS_PROFILE": "p"}}));
        assert_eq!(got, Some((EnvAwsApiMcpProfileName, "api".into())));
        let e = all(
            json!({"args": ["mcp-proxy-for-aws@latest", "https://x/mcp", "--profile", "ignored"],
                           "env": {"AWS_MCP_PROXY_PROFILES": " one  two one\tthree "}}),
        );
        let names: Vec<_> = e.all.iter().map(|p| p.value.as_str()).collect();
        assert_eq!(names, ["one", "two", "three"]);
        assert_eq!(e.profile.unwrap().source, EnvAwsMcpProxyProfiles);
    }

    #[test]
    fn args_and_docker_forms() {
        for (args, want) in [
            (json!(["x", "--profile", "p1"]), Some((ArgProfile, "p1"))),
            (json!(["--profile=p.2"]), Some((ArgProfile, "p.2"))),
            (
                json!(["run", "-e", "AWS_PROFILE=p3", "img"]),
                Some((DockerEnv, "p3")),
            ),
            (
                json!(["run", "--env", "AWS_PROFILE=p4"]),
                Some((DockerEnv, "p4")),
            ),
            (
                json!(["run", "--env=AWS_PROFILE=p5"]),
                Some((DockerEnv, "p5")),
            ),
            (
                json!(["run", "-e", "AWS_API_MCP_PROFILE_NAME=p6", "img"]),
                Some((EnvAwsApiMcpProfileName, "p6")),
            ),
            (json!(["run", "-e", "AWS_REGION=x", "--profile"]), None),
            (json!([1, null, "--profile", ""]), None),
        ] {
            let got = of(json!({ "args": args }));
            assert_eq!(got, want.map(|(s, v)| (s, v.to_owned())), "{args}");
        }
    }

    #[test]
    fn one_element_docker_env_is_read_and_noted() {
        let e =
            all(json!({"command": "docker", "args": ["run", "--rm", "-e AWS_PROFILE=dev", "img"]}));
        assert_eq!(
            e.profile.unwrap(),
            ProfileRef {
                source: DockerEnv,
                value: "dev".into()
            }
        );
        assert_eq!(e.notes.len(), 1);
        assert!(
            e.notes[0].contains("\"-e\", \"AWS_PROFILE=dev\""),
            "{}",
            e.notes[0]
        );
    }

    #[test]
    fn variables_from_the_clients_environment_are_placeholders() {
        // Codex `env_vars` forwards Codex's own AWS_PROFILE; the entry's `env` wins over it.
        let e = all(
            json!({"command": "uvx", "args": ["srv"], "env_vars": ["AWS_REGION", "AWS_PROFILE"]}),
        );
        let p = e.profile.unwrap();
        assert_eq!(
            (p.source, p.value.as_str()),
            (EnvAwsProfile, "$AWS_PROFILE")
        );
        assert!(p.is_placeholder());
        let got = of(json!({"env_vars": ["AWS_PROFILE"], "env": {"AWS_PROFILE": "own"}}));
        assert_eq!(got, Some((EnvAwsProfile, "own".into())));
        assert_eq!(of(json!({"env_vars": ["AWS_REGION", 3]})), None);

        // docker: a bare `-e NAME` passes docker's own NAME, which is the client's here.
        for args in [
            json!([
                "run",
                "-i",
                "--rm",
                "-e",
                "AWS_PROFILE",
                "-e",
                "AWS_REGION",
                "img"
            ]),
            json!(["run", "--env", "AWS_PROFILE", "img"]),
            json!(["run", "--env=AWS_PROFILE", "img"]),
        ] {
            let e = all(json!({"command": "docker", "args": args}));
            let p = e.profile.unwrap();
            assert_eq!(
                (p.source, p.value.as_str()),
                (DockerEnv, "$AWS_PROFILE"),
                "{args}"
            );
            assert!(e.notes.is_empty(), "{:?}", e.notes);
        }
        // ... or the entry's `env` when set there (awslabs READMEs write it so): credited as before.
        let e = all(
            json!({"command": "docker", "args": ["run", "-i", "--rm", "-e", "AWS_PROFILE", "img"],
                           "env": {"AWS_PROFILE": "dev"}}),
        );
        assert_eq!(e.profile.unwrap().value, "dev");
        assert!(e.notes.is_empty(), "{:?}", e.notes);
        let got = of(
            json!({"command": "docker", "args": ["run", "-e", "AWS_PROFILE", "img"],
                            "env_vars": ["AWS_PROFILE"]}),
        );
        assert_eq!(got, Some((EnvAwsProfile, "$AWS_PROFILE".into())));
    }

    #[test]
    fn docker_env_not_passed_into_the_container_is_not_credited() {
        let e = all(json!({"command": "docker",
                           "args": ["run", "-i", "--rm", "-v", "/home/u/.aws:/root/.aws", "img"],
                           "env": {"AWS_PROFILE": "dev", "AWS_REGION": "us-east-1"}}));
        assert_eq!(e.profile, None);
        assert_eq!(e.notes.len(), 1, "{:?}", e.notes);
        assert!(
            e.notes[0].contains("`AWS_PROFILE`") && e.notes[0].contains(r#""-e", "AWS_PROFILE""#)
        );
        // `docker container run` is the same command; an explicit `-e` value is what the server gets.
        let e = all(
            json!({"command": "docker", "args": ["container", "run", "-e", "AWS_PROFILE=ops", "img"],
                           "env": {"AWS_PROFILE": "dev"}}),
        );
        assert_eq!(e.profile.unwrap().value, "ops");
        assert_eq!(e.notes.len(), 1, "{:?}", e.notes);
        // Arguments after the image go to the server.
        let got = of(
            json!({"command": "docker", "args": ["run", "img", "--profile", "p"], "env": {"AWS_PROFILE": "dev"}}),
        );
        assert_eq!(got, Some((ArgProfile, "p".into())));
        // Not `docker run`: the environment reaches the command as before.
        let got = of(
            json!({"command": "docker", "args": ["mcp", "gateway", "run"], "env": {"AWS_PROFILE": "dev"}}),
        );
        assert_eq!(got, Some((EnvAwsProfile, "dev".into())));
    }

    #[test]
    fn whole_command_line_in_command_is_split_like_a_shell() {
        let got = of(
            json!({"command": "uvx awslabs.aurora-dsql-mcp-server@latest --cluster_endpoint 'a b' --profile dev"}),
        );
        assert_eq!(got, Some((ArgProfile, "dev".into())));
    }

    #[test]
    fn wrappers() {
        let got = of(
            json!({"command": "aws-vault", "args": ["exec", "vaulted", "--duration=1h", "--", "uvx", "srv"]}),
        );
        assert_eq!(got, Some((AwsVault, "vaulted".into())));
        let got = of(
            json!({"command": "/usr/bin/env", "args": ["AWS_PROFILE=wrapped", "FOO=1", "uvx", "srv"],
                            "env": {"AWS_PROFILE": "outer"}}),
        );
        assert_eq!(got, Some((EnvAwsProfile, "wrapped".into())));
        let got = of(
            json!({"command": "env AWS_PROFILE=w2 aws-vault exec inner -- uvx srv --profile explicit"}),
        );
        assert_eq!(got, Some((ArgProfile, "explicit".into())));
    }

    #[test]
    fn placeholders_of_every_client() {
        for raw in [
            "${env:AWS_PROFILE}",
            "${input:p}",
            "$AWS_PROFILE",
            "${AWS_PROFILE}",
        ] {
            let e = all(json!({"env": {"AWS_PROFILE": raw}}));
            assert!(e.profile.unwrap().is_placeholder(), "{raw}");
        }
        let got = profile_of(
            json!({"command": {"path": "x", "env": {"AWS_PROFILE": "${env:AWS_PROFILE}"}}})
                .as_object()
                .unwrap(),
        )
        .unwrap();
        assert!(got.is_placeholder());
    }

    #[test]
    fn readme_table_follows_the_precedence_table() {
        let readme = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"));
        let table = readme
            .split("### Where profiles come from")
            .nth(1)
            .expect("README has the precedence section");
        let mut at = 0;
        for (i, (source, _)) in PRECEDENCE.iter().enumerate() {
            let id = serde_json::to_value(source).unwrap();
            let row = format!("| {} | `{}` |", i + 1, id.as_str().unwrap());
            let found = table[at..]
                .find(&row)
                .unwrap_or_else(|| panic!("README row {row} missing or out of order"));
            at += found + row.len();
        }
        assert_eq!(PRECEDENCE.len(), 7, "every ProfileSource has a row");
    }

    #[test]
    fn env_file_is_read_and_env_wins() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(".env"),
            "# c\nexport AWS_PROFILE='from-file'\nAWS_SECRET_ACCESS_KEY=PLANTED-SECRET-x\nAWS_DEFAULT_PROFILE=d # note\n",
        )
        .unwrap();
        let place = EntryPlace {
            home: Path::new("/home/u"),
            project: Some(dir.path()),
        };
        let entry = json!({"envFile": "${workspaceFolder}/.env"});
        let e = profiles_of(entry.as_object().unwrap(), place);
        assert_eq!(e.profile.unwrap().value, "from-file");
        let entry = json!({"envFile": ".env", "env": {"AWS_PROFILE": "own"}});
        let e = profiles_of(entry.as_object().unwrap(), place);
        assert_eq!(e.profile.unwrap().value, "own");
        assert_eq!(
            dotenv_profile_vars("AWS_DEFAULT_PROFILE=d # note\nAWS_SECRET_ACCESS_KEY=s"),
            vec![("AWS_DEFAULT_PROFILE", "d".to_owned())]
        );
        let e = all(json!({"envFile": "${workspaceFolder}/.env"}));
        assert!(e.profile.is_none());
        assert_eq!(e.notes.len(), 1);
    }
}
