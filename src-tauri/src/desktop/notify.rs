//! Native notifications: before and at expiry (once per session per expiry, remembered across
//! restarts), and the outcome of a refresh. Without a notification server the app keeps working
//! and says so once in its log.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::core::atomic_write::write_atomically;
use crate::core::inventory::Session;
use crate::core::label::sanitize_label;
use crate::core::paths::Paths;
use crate::core::settings::Settings;
use crate::core::sso_cache::{format_time, TokenState};

/// Which warnings were already shown, per session, for which expiry.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Shown {
    #[serde(default)]
    expiring: HashMap<String, String>,
    #[serde(default)]
    expired: HashMap<String, String>,
}

/// One notification to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub summary: String,
    pub body: String,
    /// Offer a "Refresh" action for this session key.
    pub refresh: Option<String>,
}

pub struct Notifier {
    path: PathBuf,
    shown: Mutex<Shown>,
    unavailable_logged: AtomicBool,
}

impl Notifier {
    pub fn new(paths: &Paths) -> Self {
        let path = paths.state_dir.join("notified.json");
        // Through the core's reader: bounded, and a FIFO there cannot block the start.
        let shown = crate::core::read::bytes(&path)
            .ok()
            .flatten()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        Notifier {
            path,
            shown: Mutex::new(shown),
            unavailable_logged: AtomicBool::new(false),
        }
    }

    /// The expiry warnings due for `sessions`, each returned once per session and expiry.
    pub fn expiry_notes(&self, sessions: &[Session], settings: &Settings) -> Vec<Note> {
        let mut shown = self.shown.lock().unwrap_or_else(|e| e.into_inner());
        let mut notes = Vec::new();
        for s in sessions {
            let Some(expires_at) = s.token.expires_at else {
                continue;
            };
            let stamp = format_time(expires_at);
            let label = sanitize_label(s.label());
            let (map, enabled, summary, body) = match s.token.state {
                TokenState::Expiring => (
                    &mut shown.expiring,
                    settings.notify_before_expiry,
                    format!("AWS SSO session {label} expires soon"),
                    format!(
                        "The token expires at {stamp}. Refresh it now to keep your agents working."
                    ),
                ),
                TokenState::Expired => (
                    &mut shown.expired,
                    settings.notify_at_expiry,
                    format!("AWS SSO session {label} has expired"),
                    format!(
                        "MCP servers using {} will fail until you sign in again.",
                        profiles(s)
                    ),
                ),
                _ => continue,
            };
            if !enabled || map.get(&s.key) == Some(&stamp) {
                continue;
            }
            map.insert(s.key.clone(), stamp);
            notes.push(Note {
                summary,
                body,
                refresh: Some(s.key.clone()),
            });
        }
        if !notes.is_empty() {
            if let Ok(body) = serde_json::to_vec(&*shown) {
                if let Some(dir) = self.path.parent() {
                    let _ = std::fs::create_dir_all(dir);
                }
                if let Err(e) = write_atomically(&self.path, &body, || Ok(())) {
                    tracing::warn!("cannot remember shown notifications: {e}");
                }
            }
        }
        notes
    }

    /// Shows a note; `on_refresh` runs when the user picks its "Refresh" action.
    pub fn show(&self, note: Note, on_refresh: impl FnOnce(String) + Send + 'static) {
        let mut n = notify_rust::Notification::new();
        n.appname("aws-sso-tray")
            .summary(&note.summary)
            .body(&note.body);
        #[cfg(all(unix, not(target_os = "macos")))]
        if note.refresh.is_some() {
            n.action("refresh", "Refresh");
        }
        match n.show() {
            Ok(handle) => {
                #[cfg(all(unix, not(target_os = "macos")))]
                if let Some(key) = note.refresh {
                    // Waiting for the action blocks; one short-lived thread per actionable note.
                    std::thread::spawn(move || {
                        handle.wait_for_action(|action| {
                            if action == "refresh" {
                                on_refresh(key);
                            }
                        })
                    });
                }
                #[cfg(not(all(unix, not(target_os = "macos"))))]
                let _ = (handle, on_refresh);
            }
            Err(e) => {
                if !self.unavailable_logged.swap(true, Ordering::Relaxed) {
                    tracing::warn!("no notification server reachable, notifications are off: {e}");
                }
            }
        }
    }
}

fn profiles(s: &Session) -> String {
    s.profiles
        .iter()
        .map(|p| sanitize_label(p))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::inventory::Token;
    use time::macros::datetime;

    fn session(state: TokenState, at: time::OffsetDateTime) -> Session {
        Session::for_test(
            "lab",
            Token {
                state,
                expires_at: Some(at),
                refreshable: false,
            },
        )
    }

    #[test]
    fn each_warning_once_per_expiry_even_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::under(dir.path());
        let s = Settings::default();
        let at = datetime!(2026-11-22 12:00:00 UTC);
        let n = Notifier::new(&paths);
        assert_eq!(
            n.expiry_notes(&[session(TokenState::Expiring, at)], &s)
                .len(),
            1
        );
        assert_eq!(
            n.expiry_notes(&[session(TokenState::Expiring, at)], &s)
                .len(),
            0
        );
        let restarted = Notifier::new(&paths);
        assert_eq!(
            restarted
                .expiry_notes(&[session(TokenState::Expiring, at)], &s)
                .len(),
            0
        );
        assert_eq!(
            restarted
                .expiry_notes(&[session(TokenState::Expired, at)], &s)
                .len(),
            1
        );
        let later = datetime!(2026-11-22 20:00:00 UTC);
        assert_eq!(
            restarted
                .expiry_notes(&[session(TokenState::Expiring, later)], &s)
                .len(),
            1,
            "new expiry, new warning"
        );
        assert_eq!(
            restarted
                .expiry_notes(&[session(TokenState::Valid, later)], &s)
                .len(),
            0
        );
        let off = Settings {
            notify_at_expiry: false,
            ..Settings::default()
        };
        let other = datetime!(2026-11-23 20:00:00 UTC);
        assert_eq!(
            restarted
                .expiry_notes(&[session(TokenState::Expired, other)], &off)
                .len(),
            0
        );
    }
}
