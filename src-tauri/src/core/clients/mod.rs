//! Finds every MCP server in every client's config files, user and project scope, and the AWS
//! profile each one names. One reader serves all clients; the clients themselves are a table.

mod server_entry;
mod table;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

pub use server_entry::{ProfileRef, ProfileSource};
pub use table::{client_name, Base, ClientSpec, Format, CLIENTS};

use crate::core::paths::Paths;
use crate::core::read::{self, Diagnostic};
use crate::core::settings::Settings;

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
    pub profile: Option<ProfileRef>,
}

/// The result of a discovery run.
#[derive(Debug, Default)]
pub struct Discovery {
    pub servers: Vec<McpServer>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Every user-scope client file, whether or not it exists (for watching).
pub fn user_files(paths: &Paths) -> Vec<PathBuf> {
    CLIENTS
        .iter()
        .flat_map(|c| c.user.iter())
        .map(|(base, rel, _)| match base {
            Base::Home => paths.home.join(rel),
            Base::Config => paths.config_dir.join(rel),
        })
        .collect()
}

/// Reads every known client file: user scope first, then each project root.
pub fn discover(paths: &Paths, settings: &Settings) -> Discovery {
    let mut run = Run::default();
    let user_paths = user_files(paths);
    let user_entries = CLIENTS
        .iter()
        .flat_map(|c| c.user.iter().map(move |(_, _, format)| (c.id, *format)));
    for ((client, format), path) in user_entries.zip(&user_paths) {
        run.file(client, path, format, Scope::User, None);
    }
    let roots = project_roots(paths, settings, std::mem::take(&mut run.claude_projects));
    for (root, client, rel, format) in project_candidates(&roots) {
        run.file(client, &root.join(rel), format, Scope::Project, Some(root));
    }
    run.found
}

/// The servers in the text of one user-scope client file, as if read from `path` (for fuzzing and
/// property tests: no file system involved).
pub fn servers_in_text(client: &'static str, format: Format, path: &Path, text: &str) -> Discovery {
    let mut run = Run::default();
    run.text(client, path, text, format, Scope::User, None);
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

/// The current folder and its ancestors up to home, then the projects Claude Code knows, then the
/// user's extra roots; each once.
fn project_roots(paths: &Paths, settings: &Settings, claude: Vec<PathBuf>) -> Vec<PathBuf> {
    let mut roots = Vec::new();
    if let Some(cwd) = &paths.cwd {
        for dir in cwd.ancestors() {
            if dir.parent().is_none() {
                break; // never the filesystem root
            }
            roots.push(dir.to_path_buf());
            if dir == paths.home {
                break;
            }
        }
    }
    roots.extend(claude);
    roots.extend(settings.project_roots.iter().cloned());
    let mut seen = HashSet::new();
    roots.retain(|r| seen.insert(r.clone()));
    roots
}

#[derive(Default)]
struct Run {
    found: Discovery,
    /// Files already read: the same file can be reached as a user file and from a project root.
    seen: HashSet<PathBuf>,
    claude_projects: Vec<PathBuf>,
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
        match read::text(path) {
            Ok(Some(text)) => self.text(client, path, &text, format, scope, project),
            Ok(None) => {}
            Err(d) => self.found.diagnostics.push(d),
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
                let servers = t.get("mcp_servers").cloned();
                let mut obj = serde_json::Map::new();
                if let Some(s) = servers.and_then(|s| serde_json::to_value(s).ok()) {
                    obj.insert("mcp_servers".to_owned(), s);
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
            Format::CodexToml => self.servers(&at, &doc, "mcp_servers"),
            Format::ClaudeJson => {
                self.servers(&at, &doc, "mcpServers");
                self.claude_projects(&at, &doc);
            }
        }
    }

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
            self.claude_projects.push(root);
        }
    }

    fn servers(&mut self, at: &Place<'_>, doc: &Value, key: &str) {
        let Some(servers) = doc.get(key) else { return };
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
            self.found.servers.push(McpServer {
                name: name.clone(),
                client: at.client,
                scope: at.scope,
                config_path: at.path.to_path_buf(),
                project: at.project.map(Path::to_path_buf),
                profile: server_entry::profile_of(entry),
            });
        }
    }
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
               "projects": {"/nowhere": {"mcpServers": {"l": {"args": ["--profile", "q"]}}}, "rel": {}}}"#,
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
