//! The app's settings file (`<config dir>/aws-sso-tray/settings.json`), read by every front.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::core::paths::Paths;
use crate::core::read::{self, Diagnostic};

/// User settings with their defaults filled in.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Extra folders searched for project-scope MCP configs.
    pub project_roots: Vec<PathBuf>,
    /// A token with less than this left is reported as `expiring`.
    pub expiring_threshold: Duration,
    /// How long the user has to finish a browser sign-in before the login is stopped.
    pub login_timeout: Duration,
    /// Renew refreshable sessions before they expire; `None` leaves it to the front's default
    /// (on in the tray, off in the MCP server).
    pub keep_alive: Option<bool>,
    /// How long before expiry keep-alive renews a session.
    pub keep_alive_lead: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            project_roots: Vec::new(),
            expiring_threshold: Duration::from_secs(15 * 60),
            login_timeout: Duration::from_secs(120),
            keep_alive: None,
            keep_alive_lead: Duration::from_secs(10 * 60),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SettingsFile {
    #[serde(default)]
    project_roots: Vec<PathBuf>,
    expiring_threshold_minutes: Option<u64>,
    login_timeout_seconds: Option<u64>,
    keep_alive: Option<bool>,
    keep_alive_minutes: Option<u64>,
}

impl Settings {
    /// Loads the settings file; a missing file gives the defaults, a broken one the defaults and a diagnostic.
    pub fn load(paths: &Paths) -> (Settings, Option<Diagnostic>) {
        let path = paths.settings_file();
        let text = match read::text(&path) {
            Ok(Some(t)) => t,
            Ok(None) => return (Settings::default(), None),
            Err(d) => return (Settings::default(), Some(d)),
        };
        let parsed = read::jsonc(&path, &text).and_then(|v| {
            serde_json::from_value::<SettingsFile>(v)
                .map_err(|e| Diagnostic::new(&path, None, format!("invalid settings: {e}")))
        });
        match parsed {
            Ok(f) => {
                let d = Settings::default();
                let settings = Settings {
                    project_roots: f.project_roots.into_iter().filter(|p| p.is_absolute()).collect(),
                    expiring_threshold: f
                        .expiring_threshold_minutes
                        .map_or(d.expiring_threshold, |m| Duration::from_secs(m.saturating_mul(60))),
                    login_timeout: f
                        .login_timeout_seconds
                        .filter(|s| *s > 0)
                        .map_or(d.login_timeout, Duration::from_secs),
                    keep_alive: f.keep_alive,
                    keep_alive_lead: f
                        .keep_alive_minutes
                        .map_or(d.keep_alive_lead, |m| Duration::from_secs(m.saturating_mul(60))),
                };
                (settings, None)
            }
            Err(diag) => (Settings::default(), Some(diag)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_keys_and_keeps_defaults_for_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::under(dir.path());
        std::fs::create_dir_all(paths.settings_file().parent().unwrap()).unwrap();
        std::fs::write(
            paths.settings_file(),
            r#"{ "projectRoots": ["/srv/code", "relative"], "loginTimeoutSeconds": 5, }"#,
        )
        .unwrap();
        let (s, diag) = Settings::load(&paths);
        assert_eq!(diag, None);
        assert_eq!(s.project_roots, vec![PathBuf::from("/srv/code")]);
        assert_eq!(s.login_timeout, Duration::from_secs(5));
        assert_eq!(s.expiring_threshold, Duration::from_secs(900));
    }

    #[test]
    fn broken_file_gives_defaults_and_a_diagnostic() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::under(dir.path());
        std::fs::create_dir_all(paths.settings_file().parent().unwrap()).unwrap();
        std::fs::write(paths.settings_file(), "{ \"loginTimeoutSeconds\": \"soon\" }").unwrap();
        let (s, diag) = Settings::load(&paths);
        assert_eq!(s, Settings::default());
        assert!(diag.is_some());
    }
}
