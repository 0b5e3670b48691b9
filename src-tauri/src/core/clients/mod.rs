//! Finds every MCP server in every client's config files, user and project scope, and the AWS
//! profile each one names. One reader serves all clients; the clients themselves are a table.

mod claude_json;
mod server_entry;
mod table;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

pub use server_entry::{profile_of, EntryPlace, ProfileRef, ProfileSource, PRECEDENCE};
pub use table::{client_name, Base, ClientSpec, Format, CLIENTS};

use crate::core::paths::Paths;
use crate::core::read::{self, Diagnostic};
use crate::core::settings::Settings;

/// At most this many files are read per `*` pattern in one folder.
const MAX_PATTERN_MATCHES: usize = 256;

/// Whose configuration a server comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// The user's own file, valid in every project.
    User,
    /// A file inside a project folder.
    Project,
    /// The user's file, but only for one project (Claude Code's `projects[path]`).
    Local,
}

/// One configured MCP server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct McpServer {
    pub name: String,
    /// Client id, see [`CLIENTS`].
    pub client: &'static str,
    pub scope: Scope,
    pub config_path: PathBuf,
    /// The project the server belongs to (project and local scope).
    pub project: Option<PathBuf>,
    /// The profile its AWS calls use by default.
    pub profile: Option<ProfileRef>,
    /// Every profile it may use, the default first (more than one only for a profile list).
    pub profiles: Vec<ProfileRef>,
    /// False when the client will not start it (`"disabled": true`, Codex `enabled = false`,
    /// Claude Code's `disabledMcpjsonServers` / `disabledMcpServers`).
    pub enabled: bool,
}

/// The result of a discovery run.
#[derive(Debug, Default)]
pub struct Discovery {
    pub servers: Vec<McpServer>,
    pub diagnostics: Vec<Diagnostic>,
}

fn base_dir(paths: &Paths, base: Base) -> &Path {
    match base {
        Base::Home => &paths.home,
        Base::Config => &paths.config_dir,
        Base::CodexHome => &paths.codex_home,
        Base::LocalData => &paths.local_data_dir,
    }
}

/// Every user-scope client file, whether or not it exists (for watching), one per table entry.
/// A pattern entry (`cli-agents/*.json`) is returned as written.
pub fn user_files(paths: &Paths) -> Vec<PathBuf> {
    CLIENTS
        .iter()
        .flat_map(|c| c.user.iter())
        .map(|(base, rel, _)| base_dir(paths, *base).join(rel))
        .collect()
}

/// True when `path` is `pattern` (a [`user_files`] entry, which may hold `*` components) or a
/// folder on the way to it: for a watcher deciding whether an event matters.
pub fn matches_pattern(pattern: &Path, path: &Path) -> bool {
    let mut want = pattern.components();
    for got in path.components() {
        let Some(w) = want.next() else {
            return false;
        };
        let (w, g) = (
            w.as_os_str().to_string_lossy(),
            got.as_os_str().to_string_lossy(),
        );
        let ok = match w.split_once('*') {
            Some((prefix, suffix)) => {
                g.len() >= prefix.len() + suffix.len()
                    && g.starts_with(prefix)
                    && g.ends_with(suffix)
            }
            None => w == g,
        };
        if !ok {
            return false;
        }
    }
    true
}

/// `rel` under `base`, each `*` component matched against the folder's entries (hidden ones
/// excluded), in name order.
fn expand(base: &Path, rel: &str) -> Vec<PathBuf> {
    let mut found = vec![base.to_path_buf()];
    for part in rel.split('/') {
        let Some((prefix, suffix)) = part.split_once('*') else {
            for p in &mut found {
                p.push(part);
            }
            continue;
        };
        let mut next = Vec::new();
        for dir in &found {
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            let mut names: Vec<String> = entries
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|n| {
                    !n.starts_with('.')
                        && n.len() >= prefix.len() + suffix.len()
                        && n.starts_with(prefix)
                        && n.ends_with(suffix)
                })
                .collect();
            names.sort_unstable();
            next.extend(
                names
                    .into_iter()
                    .take(MAX_PATTERN_MATCHES)
                    .map(|n| dir.join(n)),
            );
        }
        found = next;
    }
    found
}

/// Reads every known client file: user scope first, then each project root.
pub fn discover(paths: &Paths, settings: &Settings) -> Discovery {
    let mut run = Run {
        home: paths.home.clone(),
        ..Run::default()
    };
    for client in CLIENTS {
        for (base, rel, format) in client.user {
            for path in expand(base_dir(paths, *base), rel) {
                run.file(client.id, &path, *format, Scope::User, None);
            }
        }
    }
    let mut listed = std::mem::take(&mut run.claude_projects);
    listed.append(&mut run.codex_projects);
    let roots = project_roots(paths, settings, listed);
    for (root, client, rel, format) in project_candidates(&roots) {
        for path in expand(root, rel) {
            run.file(client, &path, format, Scope::Project, Some(root));
        }
    }
    run.apply_claude_switches(paths);
    run.found
}

/// The servers in the text of one user-scope client file, as if read from `path` (for fuzzing and
/// property tests: no file system involved).
pub fn servers_in_text(client: &'static str, format: Format, path: &Path, text: &str) -> Discovery {
    let mut run = Run::default();
    match format {
        // The same streaming parse as for the real file.
        Format::ClaudeJson => run.claude_bytes(client, path, text.as_bytes(), Scope::User, None),
        _ => run.text(client, path, text, format, Scope::User, None),
    }
    run.found
}

/// The project files that may exist: one directory listing per root instead of an open attempt
/// per client file, since `~/.claude.json` can list thousands of projects. Listing is spread
/// over the available cores; the order of the result follows `roots`.
fn project_candidates(roots: &[PathBuf]) -> Vec<Candidate<'_>> {
    let first_names: HashSet<&str> = CLIENTS
        .iter()
        .flat_map(|c| c.project.iter())
        .filter_map(|(rel, _)| rel.split('/').next())
        .collect();
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    if threads < 2 || roots.len() < 256 {
        return roots
            .iter()
            .flat_map(|r| scan_root(r, &first_names))
            .collect();
    }
    let chunk = roots.len().div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = roots
            .chunks(chunk)
            .map(|part| {
                let names = &first_names;
                s.spawn(move || {
                    part.iter()
                        .flat_map(|r| scan_root(r, names))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        // A panicking scan thread (it cannot, but) would only lose its own roots.
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    })
}

type Candidate<'a> = (&'a Path, &'static str, &'static str, Format);

fn scan_root<'a>(root: &'a Path, first_names: &HashSet<&str>) -> Vec<Candidate<'a>> {
    let Ok(entries) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let present: HashSet<String> = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| first_names.contains(n.as_str()))
        .collect();
    let mut found = Vec::new();
    for client in CLIENTS {
        for (rel, format) in client.project {
            if rel.split('/').next().is_some_and(|f| present.contains(f)) {
                found.push((root, client.id, *rel, *format));
            }
        }
    }
    found
}

/// The current folder and its ancestors up to home (never a shared folder such as `/tmp`, nor one
/// owned by someone else: a file planted there would choose the profile), then the projects Claude
/// Code and Codex know, then the user's extra roots; each once.
fn project_roots(paths: &Paths, settings: &Settings, listed: Vec<PathBuf>) -> Vec<PathBuf> {
    let mut roots = Vec::new();
    if let Some(cwd) = &paths.cwd {
        for dir in cwd.ancestors() {
            if dir.parent().is_none() {
                break; // never the filesystem root
            }
            if dir != paths.home && read::is_shared_dir(dir) {
                break;
            }
            roots.push(dir.to_path_buf());
            if dir == paths.home {
                break;
            }
        }
    }
    roots.extend(listed);
    roots.extend(settings.project_roots.iter().cloned());
    let mut seen = HashSet::new();
    roots.retain(|r| seen.insert(r.clone()));
    roots
}

/// What Claude Code recorded for one project: which servers the user switched off.
#[derive(Debug, Default)]
struct ClaudeSwitches {
    /// `.mcp.json` servers rejected (`disabledMcpjsonServers`).
    rejected: Vec<String>,
    /// Any server switched off in this project (`disabledMcpServers`).
    disabled: Vec<String>,
}

#[derive(Default)]
struct Run {
    found: Discovery,
    home: PathBuf,
    /// Files already read: the same file can be reached as a user file and from a project root.
    seen: HashSet<PathBuf>,
    claude_projects: Vec<PathBuf>,
    codex_projects: Vec<PathBuf>,
    claude_switches: HashMap<PathBuf, ClaudeSwitches>,
}

impl Run {
    fn file(
        &mut self,
        client: &'static str,
        path: &Path,
        format: Format,
        scope: Scope,
        project: Option<&Path>,
    ) {
        if !self.seen.insert(path.to_path_buf()) {
            return;
        }
        if scope == Scope::Project {
            if let Some(why) = read::foreign_owner(path) {
                return self
                    .found
                    .diagnostics
                    .push(Diagnostic::new(path, None, why));
            }
        }
        if format == Format::ClaudeJson {
            return self.claude_json(client, path, scope, project);
        }
        if let Some(text) = read::text_or_note(path, &mut self.found.diagnostics) {
            self.text(client, path, &text, format, scope, project);
        }
    }

    /// `~/.claude.json`, which may be far larger than any other file: parsed without a tree.
    fn claude_json(
        &mut self,
        client: &'static str,
        path: &Path,
        scope: Scope,
        project: Option<&Path>,
    ) {
        match read::bytes_up_to(path, read::MAX_CLAUDE_JSON_BYTES) {
            Ok(Some(bytes)) => self.claude_bytes(client, path, &bytes, scope, project),
            Ok(None) => {}
            Err(d) => self.found.diagnostics.push(d),
        }
    }

    fn claude_bytes(
        &mut self,
        client: &'static str,
        path: &Path,
        bytes: &[u8],
        scope: Scope,
        project: Option<&Path>,
    ) {
        let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let parsed = match claude_json::parse(body) {
            Ok(p) => p,
            // Not strict JSON: a file within the usual cap may still be JSONC (comments,
            // trailing commas), read the usual way.
            Err(_) if body.len() as u64 <= read::MAX_FILE_BYTES => {
                return match std::str::from_utf8(body) {
                    Ok(text) => self.text(client, path, text, Format::ClaudeJson, scope, project),
                    Err(e) => self.found.diagnostics.push(Diagnostic::new(
                        path,
                        Some(read::line_of(body, e.valid_up_to())),
                        "not valid UTF-8",
                    )),
                };
            }
            Err((line, msg)) => {
                let msg = format!("not valid JSON: {msg}");
                return self
                    .found
                    .diagnostics
                    .push(Diagnostic::new(path, Some(line), msg));
            }
        };
        let at = Place {
            client,
            path,
            scope,
            project,
        };
        if let Some(servers) = &parsed.mcp_servers {
            self.servers_value(&at, servers, "mcpServers");
        }
        for (dir, entry) in &parsed.projects {
            let root = PathBuf::from(dir);
            if !root.is_absolute() {
                continue;
            }
            if let Some(entry) = entry {
                let local = Place {
                    scope: Scope::Local,
                    project: Some(&root),
                    ..at
                };
                if let Some(servers) = &entry.mcp_servers {
                    self.servers_value(&local, servers, "mcpServers");
                }
                let owned = |v: Option<&Value>| {
                    claude_json::string_list(v)
                        .into_iter()
                        .map(str::to_owned)
                        .collect::<Vec<_>>()
                };
                let switches = ClaudeSwitches {
                    rejected: owned(entry.disabled_mcpjson.as_ref()),
                    disabled: owned(entry.disabled.as_ref()),
                };
                if !switches.rejected.is_empty() || !switches.disabled.is_empty() {
                    self.claude_switches.insert(root.clone(), switches);
                }
            }
            self.claude_projects.push(root);
        }
    }

    fn text(
        &mut self,
        client: &'static str,
        path: &Path,
        text: &str,
        format: Format,
        scope: Scope,
        project: Option<&Path>,
    ) {
        let doc = match format {
            Format::CodexToml => read::toml(path, text).map(|t| {
                let mut obj = serde_json::Map::new();
                for key in ["mcp_servers", "projects"] {
                    if let Some(v) = t.get(key).and_then(|v| serde_json::to_value(v).ok()) {
                        obj.insert(key.to_owned(), v);
                    }
                }
                Value::Object(obj)
            }),
            _ => read::jsonc(path, text),
        };
        let doc = match doc {
            Ok(d) => d,
            Err(d) => return self.found.diagnostics.push(d),
        };
        let at = Place {
            client,
            path,
            scope,
            project,
        };
        match format {
            Format::Json(key) => self.servers(&at, &doc, key),
            Format::CodexToml => {
                self.servers(&at, &doc, "mcp_servers");
                // `[projects."<path>"]`: the folders Codex knows; each may hold `.codex/config.toml`.
                if let Some(projects) = doc.get("projects").and_then(Value::as_object) {
                    self.codex_projects.extend(
                        projects
                            .keys()
                            .map(PathBuf::from)
                            .filter(|p| p.is_absolute()),
                    );
                }
            }
            Format::ClaudeJson => {
                self.servers(&at, &doc, "mcpServers");
                self.claude_projects(&at, &doc);
            }
        }
    }

    /// The JSONC fallback of `~/.claude.json` (small files only).
    fn claude_projects(&mut self, at: &Place<'_>, doc: &Value) {
        let Some(projects) = doc.get("projects").and_then(Value::as_object) else {
            return;
        };
        for (dir, entry) in projects {
            let root = PathBuf::from(dir);
            if !root.is_absolute() {
                continue;
            }
            let local = Place {
                scope: Scope::Local,
                project: Some(&root),
                ..*at
            };
            self.servers(&local, entry, "mcpServers");
            let list = |k: &str| {
                claude_json::string_list(entry.get(k))
                    .into_iter()
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            };
            let switches = ClaudeSwitches {
                rejected: list("disabledMcpjsonServers"),
                disabled: list("disabledMcpServers"),
            };
            if !switches.rejected.is_empty() || !switches.disabled.is_empty() {
                self.claude_switches.insert(root.clone(), switches);
            }
            self.claude_projects.push(root);
        }
    }

    fn servers(&mut self, at: &Place<'_>, doc: &Value, key: &str) {
        if let Some(servers) = doc.get(key) {
            self.servers_value(at, servers, key);
        }
    }

    fn servers_value(&mut self, at: &Place<'_>, servers: &Value, key: &str) {
        let Some(servers) = servers.as_object() else {
            let msg = format!("`{key}` is not an object; its servers were skipped");
            return self
                .found
                .diagnostics
                .push(Diagnostic::new(at.path, None, msg));
        };
        for (name, entry) in servers {
            let Some(entry) = entry.as_object() else {
                let msg = format!("server {name:?} is not an object; skipped");
                self.found
                    .diagnostics
                    .push(Diagnostic::new(at.path, None, msg));
                continue;
            };
            let place = EntryPlace {
                home: &self.home,
                project: at.project,
            };
            let found = server_entry::profiles_of(entry, place);
            for note in found.notes {
                self.found.diagnostics.push(Diagnostic::new(
                    at.path,
                    None,
                    format!("server {name:?}: {note}"),
                ));
            }
            // Cursor, Claude Desktop, Cline, Roo Code, Kiro, Amazon Q: `"disabled": true`;
            // Codex: `enabled = false`.
            let enabled = entry.get("disabled").and_then(Value::as_bool) != Some(true)
                && entry.get("enabled").and_then(Value::as_bool) != Some(false);
            self.found.servers.push(McpServer {
                name: name.clone(),
                client: at.client,
                scope: at.scope,
                config_path: at.path.to_path_buf(),
                project: at.project.map(Path::to_path_buf),
                profile: found.profile,
                profiles: found.all,
                enabled,
            });
        }
    }

    /// Claude Code's per-project switches: `disabledMcpjsonServers` (from `~/.claude.json` and the
    /// project's and user's `settings.json` / `settings.local.json`) for `.mcp.json` servers, and
    /// `disabledMcpServers` for local and project servers. A `.mcp.json` server neither approved
    /// nor rejected yet counts as enabled: Claude Code asks about it at its next start.
    fn apply_claude_switches(&mut self, paths: &Paths) {
        let user_settings = claude_settings_rejected(&paths.home.join(".claude/settings.json"));
        let mut per_root: HashMap<PathBuf, Vec<String>> = HashMap::new();
        for s in &mut self.found.servers {
            if s.client != "claude-code" {
                continue;
            }
            let Some(root) = s.project.clone() else {
                continue;
            };
            let switches = self.claude_switches.get(&root);
            let off = switches.is_some_and(|w| w.disabled.contains(&s.name));
            let rejected = s.scope == Scope::Project && {
                let from_settings = per_root.entry(root.clone()).or_insert_with(|| {
                    let mut v = claude_settings_rejected(&root.join(".claude/settings.json"));
                    v.extend(claude_settings_rejected(
                        &root.join(".claude/settings.local.json"),
                    ));
                    v
                });
                switches.is_some_and(|w| w.rejected.contains(&s.name))
                    || from_settings.contains(&s.name)
                    || user_settings.contains(&s.name)
            };
            if off || rejected {
                s.enabled = false;
            }
        }
    }
}

/// `disabledMcpjsonServers` of a Claude Code settings file, if it exists and parses.
fn claude_settings_rejected(path: &Path) -> Vec<String> {
    let Ok(Some(text)) = read::text(path) else {
        return Vec::new();
    };
    let Ok(doc) = read::jsonc(path, &text) else {
        return Vec::new();
    };
    claude_json::string_list(doc.get("disabledMcpjsonServers"))
        .into_iter()
        .map(str::to_owned)
        .collect()
}

#[derive(Clone, Copy)]
struct Place<'a> {
    client: &'static str,
    path: &'a Path,
    scope: Scope,
    project: Option<&'a Path>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn client_table_is_sorted_unique_and_complete() {
        let ids: Vec<_> = CLIENTS.iter().map(|c| c.id).collect();
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(ids, sorted);
        for id in [
            "claude-code",
            "claude-desktop",
            "cursor",
            "vscode",
            "gemini-cli",
            "copilot-cli",
            "amazon-q",
            "cline",
            "windsurf",
            "zed",
            "kiro",
            "codex",
        ] {
            assert!(ids.contains(&id), "{id} missing");
        }
    }

    #[test]
    fn patterns_match_files_and_the_folders_on_the_way() {
        let p = Path::new("/h/.gemini/extensions/*/gemini-extension.json");
        assert!(matches_pattern(
            p,
            Path::new("/h/.gemini/extensions/aws/gemini-extension.json")
        ));
        assert!(matches_pattern(p, Path::new("/h/.gemini/extensions/new")));
        assert!(!matches_pattern(
            p,
            Path::new("/h/.gemini/extensions/aws/other.json")
        ));
        let q = Path::new("/h/.aws/amazonq/cli-agents/*.json");
        assert!(matches_pattern(
            q,
            Path::new("/h/.aws/amazonq/cli-agents/ops.json")
        ));
        assert!(!matches_pattern(
            q,
            Path::new("/h/.aws/amazonq/cli-agents/ops.txt")
        ));
        assert!(!matches_pattern(
            q,
            Path::new("/h/.aws/amazonq/cli-agents/a/b.json")
        ));
    }

    #[test]
    fn globbed_agent_files_and_codex_projects_are_read() {
        let home = tempfile::tempdir().unwrap();
        let h = home.path();
        fs::create_dir_all(h.join(".kiro/agents")).unwrap();
        for (name, body) in [
            (
                "b.json",
                r#"{"mcpServers": {"kb": {"env": {"AWS_PROFILE": "p"}}}}"#,
            ),
            ("a.json", r#"{"mcpServers": {"ka": {}}}"#),
            (".hidden.json", r#"{"mcpServers": {"hidden": {}}}"#),
            ("notes.txt", r#"{"mcpServers": {"txt": {}}}"#),
        ] {
            fs::write(h.join(".kiro/agents").join(name), body).unwrap();
        }
        let proj = h.join("elsewhere/proj");
        fs::create_dir_all(proj.join(".codex")).unwrap();
        fs::write(
            proj.join(".codex/config.toml"),
            "[mcp_servers.cp]\nenabled = false\nenv = { AWS_PROFILE = \"q\" }\n",
        )
        .unwrap();
        let mut paths = Paths::under(h);
        paths.codex_home = h.join("ch");
        fs::create_dir_all(&paths.codex_home).unwrap();
        fs::write(
            paths.codex_home.join("config.toml"),
            format!(
                "[projects.{:?}]\ntrust_level = \"trusted\"\n",
                proj.display().to_string()
            ),
        )
        .unwrap();
        let d = discover(&paths, &Settings::default());
        let names: Vec<_> = d
            .servers
            .iter()
            .map(|s| (s.name.as_str(), s.enabled))
            .collect();
        assert_eq!(
            names,
            [("ka", true), ("kb", true), ("cp", false)],
            "{:?}",
            d.diagnostics
        );
    }

    #[test]
    fn broken_file_is_reported_and_others_still_read() {
        let home = tempfile::tempdir().unwrap();
        let paths = Paths::under(home.path());
        fs::create_dir_all(home.path().join(".cursor")).unwrap();
        fs::write(
            home.path().join(".cursor/mcp.json"),
            "{\n \"mcpServers\": {\n  \"a\": {,}\n}",
        )
        .unwrap();
        fs::write(
            home.path().join(".claude.json"),
            r#"{"mcpServers": {"u": {"env": {"AWS_PROFILE": "p"}}, "bad": 3},
               "projects": {"ABS": {"mcpServers": {"l": {"args": ["--profile", "q"]}}}, "rel": {}}}"#
                // Claude Code's project keys on Windows: `C:/Users/...`.
                .replace("ABS", if cfg!(windows) { "C:/nowhere" } else { "/nowhere" }),
        )
        .unwrap();
        let d = discover(&paths, &Settings::default());
        let names: Vec<_> = d
            .servers
            .iter()
            .map(|s| (s.name.as_str(), s.scope))
            .collect();
        assert_eq!(names, vec![("u", Scope::User), ("l", Scope::Local)]);
        assert_eq!(d.diagnostics.len(), 2, "{:?}", d.diagnostics);
        assert!(d
            .diagnostics
            .iter()
            .any(|x| x.path.ends_with(".cursor/mcp.json") && x.line == Some(3)));
    }

    #[test]
    fn cwd_ancestors_are_project_roots_up_to_home() {
        let home = tempfile::tempdir().unwrap();
        let proj = home.path().join("code/app/sub");
        fs::create_dir_all(&proj).unwrap();
        fs::create_dir_all(home.path().join("code/app/.vscode")).unwrap();
        fs::write(
            home.path().join("code/app/.vscode/mcp.json"),
            "{ // jsonc\n \"servers\": { \"v\": { \"env\": { \"AWS_PROFILE\": \"${input:p}\" } }, } }",
        )
        .unwrap();
        let mut paths = Paths::under(home.path());
        paths.cwd = Some(proj);
        let d = discover(&paths, &Settings::default());
        assert_eq!(d.servers.len(), 1);
        let s = &d.servers[0];
        assert_eq!((s.client, s.scope), ("vscode", Scope::Project));
        assert_eq!(
            s.project.as_deref(),
            Some(home.path().join("code/app").as_path())
        );
        assert!(s.profile.as_ref().unwrap().is_placeholder());
    }
}
