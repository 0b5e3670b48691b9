//! Native notifications: before and at expiry (once per session per expiry, remembered across
//! restarts), and the outcome of a refresh. Without a notification server the app keeps working
//! and says so once in its log.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

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
    /// Sign-in session ends warned about, per session.
    #[serde(default)]
    sign_in: HashMap<String, String>,
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

    /// The warnings due for `sessions` at `now`, each returned once per session and moment. A
    /// session that keep-alive renews is warned about the end of its sign-in session (before it,
    /// and when a refresh token is refused), never about its hourly access token; the others
    /// about their token's expiry, before and at it.
    pub fn expiry_notes(
        &self,
        sessions: &[Session],
        settings: &Settings,
        now: OffsetDateTime,
    ) -> Vec<Note> {
        let keep_alive = settings.keep_alive.unwrap_or(true);
        let mut shown = self.shown.lock().unwrap_or_else(|e| e.into_inner());
        let mut notes = Vec::new();
        for s in sessions {
            let label = sanitize_label(s.label());
            let renewed_here = keep_alive && s.token.refreshable;
            let (map, stamp, enabled, summary, body) = if renewed_here {
                let Some(end) = s.token.session_ends_at else {
                    continue;
                };
                if !s.token.sign_in_due(now, settings.expiring_threshold()) {
                    continue;
                }
                let when = local_time(end, s.token.session_ends_at_estimated);
                let (summary, body) = if end <= now {
                    (
                        format!("AWS SSO session {label} needs a sign-in"),
                        format!(
                            "Its sign-in session has ended; MCP servers using {} will fail once \
                             the current token expires. Sign in again.",
                            profiles(s)
                        ),
                    )
                } else {
                    (
                        format!("AWS SSO session {label}: sign-in needed at {when}"),
                        "Its sign-in session ends then and cannot be renewed without you. \
                         Sign in before long work, or start a fresh session."
                            .to_owned(),
                    )
                };
                (
                    &mut shown.sign_in,
                    format_time(end),
                    settings.notify_before_expiry,
                    summary,
                    body,
                )
            } else {
                let Some(expires_at) = s.token.expires_at else {
                    continue;
                };
                match s.token.state {
                    TokenState::Expiring => (
                        &mut shown.expiring,
                        format_time(expires_at),
                        settings.notify_before_expiry,
                        format!("AWS SSO session {label} expires soon"),
                        format!(
                            "The token expires at {}. Refresh it now to keep your agents working.",
                            format_time(expires_at)
                        ),
                    ),
                    TokenState::Expired => (
                        &mut shown.expired,
                        format_time(expires_at),
                        settings.notify_at_expiry,
                        format!("AWS SSO session {label} has expired"),
                        format!(
                            "MCP servers using {} will fail until you sign in again.",
                            profiles(s)
                        ),
                    ),
                    _ => continue,
                }
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

/// `17:40` in local time, `≈ 17:40` for an estimate.
fn local_time(t: OffsetDateTime, estimated: bool) -> String {
    let t = t.checked_to_offset(super::local_offset()).unwrap_or(t);
    let approx = if estimated { "≈ " } else { "" };
    format!("{approx}{:02}:{:02}", t.hour(), t.minute())
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
                session_ends_at: Some(at),
                session_ends_at_estimated: false,
            },
        )
    }

    #[test]
    fn each_warning_once_per_expiry_even_after_a_restart() {
        const NOW: OffsetDateTime = datetime!(2026-11-22 11:55:00 UTC);
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::under(dir.path());
        let s = Settings::default();
        let at = datetime!(2026-11-22 12:00:00 UTC);
        let n = Notifier::new(&paths);
        assert_eq!(
            n.expiry_notes(&[session(TokenState::Expiring, at)], &s, NOW)
                .len(),
            1
        );
        assert_eq!(
            n.expiry_notes(&[session(TokenState::Expiring, at)], &s, NOW)
                .len(),
            0
        );
        let restarted = Notifier::new(&paths);
        assert_eq!(
            restarted
                .expiry_notes(&[session(TokenState::Expiring, at)], &s, NOW)
                .len(),
            0
        );
        assert_eq!(
            restarted
                .expiry_notes(&[session(TokenState::Expired, at)], &s, NOW)
                .len(),
            1
        );
        let later = datetime!(2026-11-22 20:00:00 UTC);
        assert_eq!(
            restarted
                .expiry_notes(&[session(TokenState::Expiring, later)], &s, NOW)
                .len(),
            1,
            "new expiry, new warning"
        );
        assert_eq!(
            restarted
                .expiry_notes(&[session(TokenState::Valid, later)], &s, NOW)
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
                .expiry_notes(&[session(TokenState::Expired, other)], &off, NOW)
                .len(),
            0
        );
    }

    #[test]
    fn a_renewed_session_is_warned_about_its_sign_in_not_its_hourly_token() {
        // Issue 11: "expires soon" five minutes before keep-alive renews the token anyway, and
        // nothing before the moment that matters.
        let dir = tempfile::tempdir().unwrap();
        let n = Notifier::new(&Paths::under(dir.path()));
        let s = Settings::default();
        let now = datetime!(2026-11-22 12:00:00 UTC);
        let renewed = |state, end| {
            Session::for_test(
                "corp",
                Token {
                    state,
                    expires_at: Some(datetime!(2026-11-22 12:05:00 UTC)),
                    refreshable: true,
                    session_ends_at: Some(end),
                    session_ends_at_estimated: true,
                },
            )
        };
        let far = datetime!(2026-11-22 19:00:00 UTC);
        assert!(n
            .expiry_notes(&[renewed(TokenState::Expiring, far)], &s, now)
            .is_empty());
        let soon = datetime!(2026-11-22 12:10:00 UTC);
        let notes = n.expiry_notes(&[renewed(TokenState::Expiring, soon)], &s, now);
        assert_eq!(notes.len(), 1);
        assert!(
            notes[0].summary.contains("sign-in needed at"),
            "{:?}",
            notes[0]
        );
        assert!(n
            .expiry_notes(&[renewed(TokenState::Valid, soon)], &s, now)
            .is_empty());
        // A refused refresh token: the session ended now (not estimated).
        let mut ended = renewed(TokenState::Valid, now);
        ended.token.session_ends_at_estimated = false;
        let notes = n.expiry_notes(&[ended], &s, now);
        assert!(
            notes[0].summary.ends_with("needs a sign-in"),
            "{:?}",
            notes[0]
        );
        // Keep-alive off: the hourly token is the user's business again.
        let off = Settings {
            keep_alive: Some(false),
            ..Settings::default()
        };
        let notes = n.expiry_notes(&[renewed(TokenState::Expiring, far)], &off, now);
        assert!(notes[0].summary.ends_with("expires soon"), "{:?}", notes[0]);
    }
}
