//! When each IAM Identity Center sign-in session began, and so when a browser sign-in will be
//! needed again.
//!
//! `expiresAt` in the token cache is the access token's expiry (about an hour), which keep-alive
//! renews with the refresh token. What forces a browser sign-in is the end of the sign-in session
//! behind it (8 hours by default, set per instance from 15 minutes to 90 days): after it the
//! refresh token is refused. No file says when that session began, so this log records it: each
//! browser sign-in this app runs, and each time a session is seen going from unusable to usable
//! through another tool. A sign-in while a session lasts does not move its end (only a sign-out
//! does), so a recorded start is kept until the session is known or estimated to be over.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::core::atomic_write::write_atomically;
use crate::core::error::{Error, Result};
use crate::core::paths::Paths;
use crate::core::read;

/// What is known about one session (keyed like its token file: session name or start URL).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    /// When the sign-in session began (Unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    signed_in_at: Option<i64>,
    /// The start was seen from outside (another tool signed in), not a sign-in of this app.
    #[serde(default)]
    observed: bool,
    /// The refresh token was refused at this moment (Unix seconds): the session is over.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ended_at: Option<i64>,
    /// Whether the token was usable when last looked at, to notice another tool's sign-in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_usable: Option<bool>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct LogFile {
    #[serde(default)]
    sessions: BTreeMap<String, Entry>,
}

/// When a session's browser sign-in will be needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionEnd {
    pub at: OffsetDateTime,
    /// Worked out from a recorded start and the configured session length (not reported by AWS).
    pub estimated: bool,
}

/// The log, as read from `<state dir>/sessions.json` (mode 0600).
#[derive(Debug)]
pub struct SessionLog {
    path: PathBuf,
    file: LogFile,
    changed: bool,
}

/// One writer of the log at a time in this process (the file lock orders processes).
static WRITERS: std::sync::Mutex<()> = std::sync::Mutex::new(());

impl SessionLog {
    /// Reads the log, lets `change` work on it, and writes it back if anything changed, holding
    /// the log's lock throughout so that no other writer's update (another thread, the tray, an
    /// MCP server, a CLI run) is lost. When the lock or the write fails, `change` still runs on
    /// what could be read, and the problem is logged: the log only holds estimates.
    pub fn edit<T>(paths: &Paths, change: impl FnOnce(&mut SessionLog) -> T) -> T {
        let _in_process = WRITERS.lock().unwrap_or_else(|e| e.into_inner());
        let lock = lock_file(paths);
        if let Err(e) = &lock {
            tracing::warn!("cannot lock the sign-in session log: {e}");
        }
        let mut log = SessionLog::load(paths);
        let out = change(&mut log);
        if lock.is_ok() {
            if let Err(e) = log.save() {
                tracing::warn!("cannot record sign-in sessions: {e}");
            }
        }
        out
    }

    /// Reads the log; a missing or unreadable one starts empty (it only holds estimates).
    pub fn load(paths: &Paths) -> SessionLog {
        let path = paths.state_dir.join("sessions.json");
        let file = read::text(&path)
            .ok()
            .flatten()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default();
        SessionLog {
            path,
            file,
            changed: false,
        }
    }

    /// Writes the log if anything changed.
    pub fn save(&mut self) -> Result<()> {
        if !self.changed {
            return Ok(());
        }
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        let body = serde_json::to_vec_pretty(&self.file)
            .map_err(|e| Error::io(&self.path, std::io::Error::other(e)))?;
        write_atomically(&self.path, &body, || Ok(()))?;
        self.changed = false;
        Ok(())
    }

    fn update(&mut self, key: &str, change: impl FnOnce(&mut Entry)) {
        let entry = self.file.sessions.entry(key.to_owned()).or_default();
        let before = entry.clone();
        change(entry);
        self.changed |= *entry != before;
    }

    /// This app renewed `key`'s token silently: it is usable, and its session is not over (a
    /// refusal noted earlier was a rival's spent token, or the session was longer than the
    /// estimate, which is then unknown again). Not a sign-in: the session's start stays.
    pub fn renewed(&mut self, key: &str, now: OffsetDateTime, length: Duration) {
        let now_s = now.unix_timestamp();
        self.update(key, |e| {
            e.ended_at = None;
            if e.signed_in_at.is_some() && !lasts(e, now_s, length) {
                e.signed_in_at = None;
                e.observed = false;
            }
            e.last_usable = Some(true);
        });
    }

    /// This app ran a browser sign-in for `key`. It starts a new session unless the recorded one
    /// still lasts (`length` after its start) and was not refused.
    pub fn signed_in(&mut self, key: &str, now: OffsetDateTime, length: Duration) {
        let now_s = now.unix_timestamp();
        self.update(key, |e| {
            if !lasts(e, now_s, length) {
                *e = Entry {
                    signed_in_at: Some(now_s),
                    ..Entry::default()
                };
            }
            e.last_usable = Some(true);
        });
    }

    /// A fresh session began now (after a sign-out on the server): whatever was recorded is over.
    pub fn fresh(&mut self, key: &str, now: OffsetDateTime) {
        self.update(key, |e| {
            *e = Entry {
                signed_in_at: Some(now.unix_timestamp()),
                last_usable: Some(true),
                ..Entry::default()
            }
        });
    }

    /// The refresh token of `key` was refused: its session is over.
    pub fn ended(&mut self, key: &str, now: OffsetDateTime) {
        self.update(key, |e| {
            e.ended_at = Some(now.unix_timestamp());
        });
    }

    /// Notes whether `key`'s token is usable now. Going from unusable (expired, missing) to usable
    /// without a sign-in of this app means another tool signed in: a session started about now.
    pub fn observe(&mut self, key: &str, usable: bool, now: OffsetDateTime, length: Duration) {
        let now_s = now.unix_timestamp();
        self.update(key, |e| {
            if e.last_usable == Some(false) && usable && !lasts(e, now_s, length) {
                *e = Entry {
                    signed_in_at: Some(now_s),
                    observed: true,
                    ..Entry::default()
                };
            }
            e.last_usable = Some(usable);
        });
    }

    /// When `key`'s session ends: when its refresh token was refused, else its recorded start
    /// plus `length`; `None` when nothing is known.
    pub fn end_of(&self, key: &str, length: Duration) -> Option<SessionEnd> {
        let e = self.file.sessions.get(key)?;
        if let Some(t) = e.ended_at.and_then(time_of) {
            return Some(SessionEnd {
                at: t,
                estimated: false,
            });
        }
        let start = time_of(e.signed_in_at?)?;
        Some(SessionEnd {
            at: start.checked_add(span(length))?,
            estimated: true,
        })
    }
}

/// The log's lock file, locked (released when the file is closed).
fn lock_file(paths: &Paths) -> std::io::Result<std::fs::File> {
    let mut dirs = std::fs::DirBuilder::new();
    dirs.recursive(true);
    let mut options = std::fs::OpenOptions::new();
    options.create(true).truncate(false).write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
        dirs.mode(0o700);
        options.mode(0o600).custom_flags(libc::O_NOFOLLOW);
    }
    dirs.create(&paths.state_dir)?;
    let file = crate::core::permissions::open_private(
        &mut options,
        &paths.state_dir.join("sessions.lock"),
    )?;
    file.lock()?;
    Ok(file)
}

/// The recorded session still lasts at `now`: not refused, and started less than `length` ago.
fn lasts(e: &Entry, now: i64, length: Duration) -> bool {
    let Some(start) = e.signed_in_at else {
        return false;
    };
    let length = i64::try_from(length.as_secs()).unwrap_or(i64::MAX);
    e.ended_at.is_none() && now < start.saturating_add(length)
}

fn time_of(unix: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp(unix).ok()
}

fn span(d: Duration) -> time::Duration {
    time::Duration::try_from(d).unwrap_or(time::Duration::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const EIGHT_HOURS: Duration = Duration::from_secs(8 * 3600);

    #[test]
    fn a_sign_in_during_a_session_keeps_its_end() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::under(dir.path());
        let mut log = SessionLog::load(&paths);
        let nine = datetime!(2026-11-22 09:00:00 UTC);
        log.signed_in("corp", nine, EIGHT_HOURS);
        let want = SessionEnd {
            at: datetime!(2026-11-22 17:00:00 UTC),
            estimated: true,
        };
        assert_eq!(log.end_of("corp", EIGHT_HOURS), Some(want));
        log.signed_in("corp", datetime!(2026-11-22 12:00:00 UTC), EIGHT_HOURS);
        assert_eq!(log.end_of("corp", EIGHT_HOURS), Some(want));
        // After its end, a sign-in starts a new session.
        log.signed_in("corp", datetime!(2026-11-22 18:00:00 UTC), EIGHT_HOURS);
        assert_eq!(
            log.end_of("corp", EIGHT_HOURS).unwrap().at,
            datetime!(2026-11-23 02:00:00 UTC)
        );
        log.save().unwrap();
        let again = SessionLog::load(&paths);
        assert_eq!(
            again.end_of("corp", EIGHT_HOURS),
            log.end_of("corp", EIGHT_HOURS)
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&again.path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn another_tools_sign_in_is_seen_as_unusable_to_usable() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = SessionLog::load(&Paths::under(dir.path()));
        let t = datetime!(2026-11-22 09:00:00 UTC);
        // First look: usable, but when it began is unknown.
        log.observe("corp", true, t, EIGHT_HOURS);
        assert_eq!(log.end_of("corp", EIGHT_HOURS), None);
        log.observe("corp", false, t + time::Duration::hours(1), EIGHT_HOURS);
        log.observe("corp", true, t + time::Duration::hours(2), EIGHT_HOURS);
        assert_eq!(
            log.end_of("corp", EIGHT_HOURS).unwrap().at,
            datetime!(2026-11-22 19:00:00 UTC)
        );
    }

    #[test]
    fn a_refused_refresh_token_ends_the_session_and_a_fresh_one_restarts_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = SessionLog::load(&Paths::under(dir.path()));
        let t = datetime!(2026-11-22 09:00:00 UTC);
        log.signed_in("corp", t, EIGHT_HOURS);
        log.ended("corp", t + time::Duration::hours(3));
        let end = log.end_of("corp", EIGHT_HOURS).unwrap();
        assert_eq!(
            (end.at, end.estimated),
            (datetime!(2026-11-22 12:00:00 UTC), false)
        );
        // The session is over, so a sign-in now starts a new one.
        log.signed_in("corp", t + time::Duration::hours(4), EIGHT_HOURS);
        assert_eq!(
            log.end_of("corp", EIGHT_HOURS).unwrap().at,
            datetime!(2026-11-22 21:00:00 UTC)
        );
        log.fresh("corp", t + time::Duration::hours(5));
        assert_eq!(
            log.end_of("corp", EIGHT_HOURS).unwrap().at,
            datetime!(2026-11-22 22:00:00 UTC)
        );
    }

    #[test]
    fn a_broken_log_starts_empty() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::under(dir.path());
        std::fs::create_dir_all(&paths.state_dir).unwrap();
        std::fs::write(paths.state_dir.join("sessions.json"), "{nope").unwrap();
        let log = SessionLog::load(&paths);
        assert_eq!(log.end_of("corp", EIGHT_HOURS), None);
    }

    #[test]
    fn a_renewal_is_no_sign_in_and_proves_the_session_lasts() {
        // Review of issue 11: this app's own silent renewal after a sleep looked like another
        // tool's sign-in (unusable, then usable), and a refusal noted once was never cleared.
        let dir = tempfile::tempdir().unwrap();
        let mut log = SessionLog::load(&Paths::under(dir.path()));
        let t = datetime!(2026-11-22 09:00:00 UTC);
        log.signed_in("corp", t, EIGHT_HOURS);
        log.observe("corp", false, t + time::Duration::hours(2), EIGHT_HOURS);
        log.renewed("corp", t + time::Duration::hours(2), EIGHT_HOURS);
        log.observe("corp", true, t + time::Duration::hours(2), EIGHT_HOURS);
        assert_eq!(
            log.end_of("corp", EIGHT_HOURS).unwrap().at,
            datetime!(2026-11-22 17:00:00 UTC),
            "the start stays"
        );
        log.ended("corp", t + time::Duration::hours(3));
        log.renewed("corp", t + time::Duration::hours(3), EIGHT_HOURS);
        assert!(
            log.end_of("corp", EIGHT_HOURS).unwrap().estimated,
            "refusal cleared"
        );
        // Renewed after the estimated end: the session is longer than thought, so unknown.
        log.renewed("corp", t + time::Duration::hours(9), EIGHT_HOURS);
        assert_eq!(log.end_of("corp", EIGHT_HOURS), None);
    }

    #[test]
    fn concurrent_editors_lose_no_update() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::under(dir.path());
        let t = datetime!(2026-11-22 09:00:00 UTC);
        std::thread::scope(|s| {
            for i in 0..8 {
                let paths = &paths;
                s.spawn(move || {
                    SessionLog::edit(paths, |log| log.signed_in(&format!("s{i}"), t, EIGHT_HOURS))
                });
            }
        });
        let log = SessionLog::load(&paths);
        for i in 0..8 {
            assert!(
                log.end_of(&format!("s{i}"), EIGHT_HOURS).is_some(),
                "s{i} lost"
            );
        }
    }
}
