//! Keep-alive: renew each refreshable SSO session a while before it expires, without asking.
//! A failure backs off, and after a few the session is left alone until its token changes (a
//! login happened); the front then falls back to warning the user. It never loops.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;

use crate::core::aws_config::ProfileKind;
use crate::core::inventory::Inventory;
use crate::core::silent_refresh;
use crate::core::Context;

/// Failed renewals of one token before keep-alive gives up on it.
const MAX_FAILURES: u32 = 3;
/// First wait after a failure; doubled after each further one.
const FIRST_BACKOFF: Duration = Duration::from_secs(5 * 60);
/// Shortest time between two renewals of one session.
const MIN_GAP: time::Duration = time::Duration::minutes(1);
/// Longest sleep between two looks at the inventory, so edits to the files are noticed.
const MAX_SLEEP: Duration = Duration::from_secs(5 * 60);

/// A session that is due for renewal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    pub session: String,
    pub region: String,
    /// The expiry of the token being renewed; failures are remembered against it.
    pub expires_at: OffsetDateTime,
}

/// What happened to one renewal, for the front to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Renewed {
        session: String,
        expires_at: OffsetDateTime,
    },
    /// Renewal failed; `gave_up` means no further attempt until the user logs in.
    Failed {
        session: String,
        reason: String,
        gave_up: bool,
    },
}

#[derive(Debug, Clone, Copy)]
struct Backoff {
    expires_at: OffsetDateTime,
    failures: u32,
    until: OffsetDateTime,
}

/// The schedule: which sessions to renew when, and what failed.
#[derive(Debug)]
pub struct KeepAlive {
    lead: Duration,
    backoff: HashMap<String, Backoff>,
    /// When each session was last renewed here.
    renewed: HashMap<String, OffsetDateTime>,
}

impl KeepAlive {
    /// Renews sessions `lead` before they expire.
    pub fn new(lead: Duration) -> Self {
        KeepAlive {
            lead,
            backoff: HashMap::new(),
            renewed: HashMap::new(),
        }
    }

    /// The sessions due now, and when the next one falls due.
    pub fn plan(&self, inv: &Inventory, now: OffsetDateTime) -> (Vec<Due>, Option<OffsetDateTime>) {
        // One entry per session: its profiles share the token.
        let mut sessions: BTreeMap<&str, (&str, OffsetDateTime)> = BTreeMap::new();
        for p in &inv.profiles {
            let (Some(session), Some(region), Some(token)) = (&p.sso_session, &p.region, p.token)
            else {
                continue;
            };
            let (true, Some(expires_at)) = (token.refreshable, token.expires_at) else {
                continue;
            };
            if matches!(p.kind, ProfileKind::SsoSession | ProfileKind::Chained) {
                sessions.insert(session, (region, expires_at));
            }
        }
        let mut due = Vec::new();
        let mut next: Option<OffsetDateTime> = None;
        for (session, (region, expires_at)) in sessions {
            let lead = time::Duration::try_from(self.lead).unwrap_or(time::Duration::MAX);
            let mut at = expires_at.checked_sub(lead).unwrap_or(now);
            // A token that lives less than the lead time would be due again at once after each
            // renewal (issue 12 #10): wait at least half its remaining life, and a minute.
            if let Some(&last) = self.renewed.get(session) {
                let half: time::Duration = (expires_at - last) / 2;
                at = at.max(last.checked_add(half.max(MIN_GAP)).unwrap_or(at));
            }
            if let Some(b) = self
                .backoff
                .get(session)
                .filter(|b| b.expires_at == expires_at)
            {
                if b.failures >= MAX_FAILURES {
                    continue;
                }
                at = at.max(b.until);
            }
            if at <= now {
                due.push(Due {
                    session: session.to_owned(),
                    region: region.to_owned(),
                    expires_at,
                });
            } else {
                next = Some(next.map_or(at, |n| n.min(at)));
            }
        }
        (due, next)
    }

    /// Records the result of renewing `due`; returns whether keep-alive now gives up on it.
    pub fn record(&mut self, due: &Due, ok: bool, now: OffsetDateTime) -> bool {
        if ok {
            self.backoff.remove(&due.session);
            self.renewed.insert(due.session.clone(), now);
            return false;
        }
        let entry = self
            .backoff
            .entry(due.session.clone())
            .and_modify(|b| {
                if b.expires_at != due.expires_at {
                    *b = Backoff {
                        expires_at: due.expires_at,
                        failures: 0,
                        until: now,
                    };
                }
            })
            .or_insert(Backoff {
                expires_at: due.expires_at,
                failures: 0,
                until: now,
            });
        entry.failures += 1;
        let wait = FIRST_BACKOFF.saturating_mul(1 << (entry.failures - 1).min(6));
        entry.until = now
            .checked_add(time::Duration::try_from(wait).unwrap_or(time::Duration::MAX))
            .unwrap_or(now);
        entry.failures >= MAX_FAILURES
    }
}

/// Runs keep-alive until the task is dropped, reporting each renewal to `on_event`. `current`
/// gives the context to use now, or `None` while keep-alive is switched off; the lead time is
/// read from its settings each round.
pub async fn run(current: impl Fn() -> Option<Arc<Context>>, on_event: impl Fn(Event)) {
    let mut schedule: Option<KeepAlive> = None;
    loop {
        let Some(ctx) = current() else {
            schedule = None;
            tokio::time::sleep(MAX_SLEEP).await;
            continue;
        };
        let lead = ctx.settings.keep_alive_lead();
        let schedule = match &mut schedule {
            Some(s) if s.lead == lead => s,
            slot => slot.insert(KeepAlive::new(lead)),
        };
        let inv = {
            let ctx = ctx.clone();
            match tokio::task::spawn_blocking(move || ctx.inventory()).await {
                Ok(inv) => inv,
                Err(_) => return,
            }
        };
        let (due, next) = schedule.plan(&inv, OffsetDateTime::now_utc());
        for d in &due {
            let result = silent_refresh::renew(&ctx, &d.session, &d.region).await;
            let now = OffsetDateTime::now_utc();
            match result {
                Ok(renewed) => {
                    schedule.record(d, true, now);
                    // `None`: another process renewed it; report the expiry it wrote.
                    let expires_at = match renewed {
                        Some(r) => r.expires_at,
                        None => current_expiry(&ctx, &d.session).unwrap_or(d.expires_at),
                    };
                    on_event(Event::Renewed {
                        session: d.session.clone(),
                        expires_at,
                    });
                }
                // Someone else is renewing or signing in (or the app is stopping): not a failure.
                Err(
                    crate::core::Error::RefreshInProgress { .. } | crate::core::Error::ShuttingDown,
                ) => {}
                Err(e) => {
                    let gave_up = schedule.record(d, false, now);
                    on_event(Event::Failed {
                        session: d.session.clone(),
                        reason: e.to_string(),
                        gave_up,
                    });
                }
            }
        }
        // After renewals, look again at once: the new expiries set the next wake-up.
        if due.is_empty() {
            let now = OffsetDateTime::now_utc();
            let sleep = next.map_or(MAX_SLEEP, |n| {
                Duration::try_from(n - now).unwrap_or(Duration::ZERO)
            });
            tokio::time::sleep(sleep.clamp(Duration::from_secs(1), MAX_SLEEP)).await;
        }
    }
}

fn current_expiry(ctx: &Context, session: &str) -> Option<OffsetDateTime> {
    crate::core::sso_cache::read_status(
        &ctx.paths.sso_cache_dir(),
        session,
        OffsetDateTime::now_utc(),
        Duration::ZERO,
        &mut Vec::new(),
    )
    .expires_at
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::inventory::{Profile, Token};
    use crate::core::sso_cache::TokenState;
    use time::macros::datetime;

    fn inv(refreshable: bool, expires_at: OffsetDateTime) -> Inventory {
        let profile = |name: &str| Profile {
            name: name.into(),
            kind: ProfileKind::SsoSession,
            sso_session: Some("lab".into()),
            start_url: Some("https://x".into()),
            region: Some("us-east-1".into()),
            account_id: None,
            role_name: None,
            source_profile: None,
            login_session: None,
            token: Some(Token {
                state: TokenState::Valid,
                expires_at: Some(expires_at),
                refreshable,
                session_ends_at: None,
                session_ends_at_estimated: false,
            }),
        };
        Inventory {
            servers: vec![],
            profiles: vec![profile("a"), profile("b")],
            diagnostics: vec![],
        }
    }

    #[test]
    fn due_at_lead_time_once_per_session() {
        let k = KeepAlive::new(Duration::from_secs(600));
        let exp = datetime!(2026-11-22 12:00:00 UTC);
        let (due, next) = k.plan(&inv(true, exp), datetime!(2026-11-22 11:00:00 UTC));
        assert!(due.is_empty());
        assert_eq!(next, Some(datetime!(2026-11-22 11:50:00 UTC)));
        let (due, _) = k.plan(&inv(true, exp), datetime!(2026-11-22 11:51:00 UTC));
        assert_eq!(due.len(), 1, "two profiles, one session");
        let (due, next) = k.plan(&inv(false, exp), datetime!(2026-11-22 11:51:00 UTC));
        assert!(
            due.is_empty() && next.is_none(),
            "not refreshable: left to the user"
        );
    }

    #[test]
    fn failures_back_off_then_give_up_until_the_token_changes() {
        let mut k = KeepAlive::new(Duration::from_secs(600));
        let exp = datetime!(2026-11-22 12:00:00 UTC);
        let mut now = datetime!(2026-11-22 11:51:00 UTC);
        let (due, _) = k.plan(&inv(true, exp), now);
        assert!(!k.record(&due[0], false, now));
        let (again, next) = k.plan(&inv(true, exp), now);
        assert!(again.is_empty(), "backing off");
        assert_eq!(next, Some(now + FIRST_BACKOFF));
        now += FIRST_BACKOFF;
        assert!(!k.record(&k.plan(&inv(true, exp), now).0[0].clone(), false, now));
        now += FIRST_BACKOFF * 2;
        assert!(
            k.record(&k.plan(&inv(true, exp), now).0[0].clone(), false, now),
            "third failure gives up"
        );
        let (due, next) = k.plan(&inv(true, exp), now + Duration::from_secs(3600));
        assert!(due.is_empty() && next.is_none());
        // A login writes a new token: keep-alive resumes for it.
        let new_exp = datetime!(2026-11-22 20:00:00 UTC);
        let (_, next) = k.plan(&inv(true, new_exp), now);
        assert_eq!(next, Some(datetime!(2026-11-22 19:50:00 UTC)));
    }

    #[test]
    fn a_token_shorter_than_the_lead_is_not_renewed_in_a_loop() {
        // Issue 12 #10: a renewal whose new expiry minus the lead was already past made the
        // session due again at once, forever.
        let mut k = KeepAlive::new(Duration::from_secs(600));
        let now = datetime!(2026-11-22 11:00:00 UTC);
        let short = datetime!(2026-11-22 11:05:00 UTC);
        let (due, _) = k.plan(&inv(true, short), now);
        assert_eq!(due.len(), 1);
        k.record(&due[0], true, now);
        let renewed = datetime!(2026-11-22 11:09:00 UTC); // the service gave 9 minutes
        let (due, next) = k.plan(&inv(true, renewed), now);
        assert!(due.is_empty(), "due again at once: {due:?}");
        assert_eq!(next, Some(datetime!(2026-11-22 11:04:30 UTC)));
    }

    #[test]
    fn huge_lead_times_do_not_overflow() {
        let k = KeepAlive::new(Duration::from_secs(u64::MAX / 4));
        let now = datetime!(2026-11-22 11:00:00 UTC);
        let (due, _) = k.plan(&inv(true, datetime!(2026-11-22 12:00:00 UTC)), now);
        assert_eq!(due.len(), 1);
    }
}
