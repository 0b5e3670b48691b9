//! The app's settings file (`<config dir>/aws-sso-tray/settings.json`), read by every front and
//! written by the tray's settings view. The file format is this struct, camelCase, every key optional.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::core::atomic_write::write_atomically;
use crate::core::error::{Error, Result};
use crate::core::paths::Paths;
use crate::core::read::{self, Diagnostic};

/// User settings; missing keys take their defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Settings {
    /// Extra folders searched for project-scope MCP configs (absolute paths).
    pub project_roots: Vec<PathBuf>,
    /// A token with less than this many minutes left is `expiring`.
    pub expiring_threshold_minutes: u64,
    /// How long the user has to finish a browser sign-in before the login is stopped.
    pub login_timeout_seconds: u64,
    /// The tray renews refreshable sessions before they expire; unset means on.
    pub keep_alive: Option<bool>,
    /// An MCP server renews them too (opt-in: every MCP client starts its own server). Kept
    /// apart from `keepAlive`, which the tray's window writes.
    pub mcp_keep_alive: bool,
    /// How many minutes before expiry keep-alive renews a session.
    pub keep_alive_minutes: u64,
    /// Notify when a session enters the expiring threshold.
    pub notify_before_expiry: bool,
    /// Notify when a session expires.
    pub notify_at_expiry: bool,
    /// Notify when a refresh from the tray succeeds or fails.
    pub notify_refresh_result: bool,
    /// Start the tray when the user logs in.
    pub start_at_login: bool,
    /// List MCP servers that use no AWS profile, and profiles without SSO.
    pub show_non_aws: bool,
    /// Never open a browser for a login; show the verification URL and code in the window instead.
    pub login_without_browser: bool,
    /// How long an IAM Identity Center sign-in session lasts (the instance's setting; 8 h by
    /// default), to estimate when a browser sign-in will be needed.
    pub session_length_minutes: u64,
    /// The same per sso-session name, for instances set differently.
    pub session_length_minutes_by_session: BTreeMap<String, u64>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            project_roots: Vec::new(),
            expiring_threshold_minutes: 15,
            login_timeout_seconds: 120,
            keep_alive: None,
            mcp_keep_alive: false,
            keep_alive_minutes: 10,
            notify_before_expiry: true,
            notify_at_expiry: true,
            notify_refresh_result: true,
            start_at_login: false,
            show_non_aws: false,
            login_without_browser: false,
            session_length_minutes: 8 * 60,
            session_length_minutes_by_session: BTreeMap::new(),
        }
    }
}

/// Accepted ranges; values outside are clamped on load and save, so no later arithmetic on them
/// can overflow (issue 12 #9).
const THRESHOLD_MINUTES: std::ops::RangeInclusive<u64> = 1..=7 * 24 * 60;
const KEEP_ALIVE_MINUTES: std::ops::RangeInclusive<u64> = 1..=12 * 60;
const LOGIN_TIMEOUT_SECONDS: std::ops::RangeInclusive<u64> = 1..=3600;
/// IAM Identity Center accepts 15 minutes to 90 days; shorter values are kept for tests.
const SESSION_MINUTES: std::ops::RangeInclusive<u64> = 1..=90 * 24 * 60;

fn clamp(v: u64, range: &std::ops::RangeInclusive<u64>) -> u64 {
    v.clamp(*range.start(), *range.end())
}

impl Settings {
    /// The same settings with every number in its accepted range.
    pub fn clamped(mut self) -> Self {
        self.expiring_threshold_minutes =
            clamp(self.expiring_threshold_minutes, &THRESHOLD_MINUTES);
        self.keep_alive_minutes = clamp(self.keep_alive_minutes, &KEEP_ALIVE_MINUTES);
        self.login_timeout_seconds = clamp(self.login_timeout_seconds, &LOGIN_TIMEOUT_SECONDS);
        self.session_length_minutes = clamp(self.session_length_minutes, &SESSION_MINUTES);
        for v in self.session_length_minutes_by_session.values_mut() {
            *v = clamp(*v, &SESSION_MINUTES);
        }
        self
    }

    /// How long the sign-in session of `session` (an sso-session name or legacy start URL) lasts.
    pub fn session_length(&self, session: &str) -> Duration {
        let minutes = self
            .session_length_minutes_by_session
            .get(session)
            .copied()
            .unwrap_or(self.session_length_minutes);
        Duration::from_secs(minutes.saturating_mul(60))
    }

    pub fn expiring_threshold(&self) -> Duration {
        Duration::from_secs(self.expiring_threshold_minutes.saturating_mul(60))
    }

    pub fn login_timeout(&self) -> Duration {
        Duration::from_secs(self.login_timeout_seconds.max(1))
    }

    pub fn keep_alive_lead(&self) -> Duration {
        Duration::from_secs(self.keep_alive_minutes.saturating_mul(60))
    }

    /// Loads the settings file; a missing file gives the defaults, a broken one the defaults and a diagnostic.
    pub fn load(paths: &Paths) -> (Settings, Option<Diagnostic>) {
        let path = paths.settings_file();
        let text = match read::text(&path) {
            Ok(Some(t)) => t,
            Ok(None) => return (Settings::default(), None),
            Err(d) => return (Settings::default(), Some(d)),
        };
        let parsed = read::jsonc(&path, &text).and_then(|v| {
            serde_json::from_value::<Settings>(v).map_err(|e| {
                Diagnostic::new(&path, None, format!("invalid settings, defaults used: {e}"))
            })
        });
        match parsed {
            Ok(mut s) => {
                s.project_roots.retain(|p| p.is_absolute());
                (s.clamped(), None)
            }
            Err(diag) => (Settings::default(), Some(diag)),
        }
    }

    /// Writes the settings file atomically.
    pub fn save(&self, paths: &Paths) -> Result<()> {
        let path = paths.settings_file();
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        let mut body = serde_json::to_vec_pretty(&self.clone().clamped())
            .map_err(|e| Error::io(&path, std::io::Error::other(e)))?;
        body.push(b'\n');
        write_atomically(&path, &body, || Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An absolute path on this platform (`/srv/code` has no drive on Windows, so is relative there).
    const ROOT: &str = if cfg!(windows) {
        "C:/srv/code"
    } else {
        "/srv/code"
    };

    #[test]
    fn reads_keys_and_keeps_defaults_for_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::under(dir.path());
        std::fs::create_dir_all(paths.settings_file().parent().unwrap()).unwrap();
        std::fs::write(
            paths.settings_file(),
            format!(r#"{{ "projectRoots": ["{ROOT}", "relative"], "loginTimeoutSeconds": 5, }}"#),
        )
        .unwrap();
        let (s, diag) = Settings::load(&paths);
        assert_eq!(diag, None);
        assert_eq!(s.project_roots, vec![PathBuf::from(ROOT)]);
        assert_eq!(s.login_timeout(), Duration::from_secs(5));
        assert_eq!(s.expiring_threshold(), Duration::from_secs(900));
    }

    #[test]
    fn broken_file_gives_defaults_and_a_diagnostic() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::under(dir.path());
        std::fs::create_dir_all(paths.settings_file().parent().unwrap()).unwrap();
        std::fs::write(
            paths.settings_file(),
            "{ \"loginTimeoutSeconds\": \"soon\" }",
        )
        .unwrap();
        let (s, diag) = Settings::load(&paths);
        assert_eq!(s, Settings::default());
        assert!(diag.is_some());
    }

    #[test]
    fn save_then_load_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::under(dir.path());
        let s = Settings {
            expiring_threshold_minutes: 30,
            keep_alive: Some(false),
            show_non_aws: true,
            ..Settings::default()
        };
        s.save(&paths).unwrap();
        assert_eq!(Settings::load(&paths), (s, None));
    }

    #[test]
    fn huge_numbers_are_clamped_on_load_and_save() {
        // Issue 12 #9: these overflowed date arithmetic in the tray and keep-alive.
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::under(dir.path());
        std::fs::create_dir_all(paths.settings_file().parent().unwrap()).unwrap();
        std::fs::write(
            paths.settings_file(),
            r#"{"expiringThresholdMinutes": 18446744073709551615, "keepAliveMinutes": 0,
                "loginTimeoutSeconds": 99999999999}"#,
        )
        .unwrap();
        let (s, diag) = Settings::load(&paths);
        assert_eq!(diag, None);
        assert_eq!(s.expiring_threshold_minutes, 7 * 24 * 60);
        assert_eq!(s.keep_alive_minutes, 1);
        assert_eq!(s.login_timeout_seconds, 3600);
        let raw = Settings {
            keep_alive_minutes: u64::MAX,
            ..Settings::default()
        };
        raw.save(&paths).unwrap();
        assert_eq!(Settings::load(&paths).0.keep_alive_minutes, 12 * 60);
    }
}
