//! The tray icon and its menu, rebuilt from the inventory whenever it changes.

use tauri::image::Image;
use tauri::menu::{IsMenuItem, Menu, MenuEvent, MenuItem, PredefinedMenuItem, Submenu};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager, Runtime};
use time::{OffsetDateTime, UtcOffset};

use crate::core::clients::client_name;
use crate::core::inventory::{Attention, Inventory, Session};
use crate::core::label::sanitize_label;
use crate::core::sso_cache::TokenState;

use super::state::AppState;

const TRAY_ID: &str = "main";

/// Every actionable menu entry. Ids are strings in the menu; this is their typed form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MenuId {
    Refresh(String),
    /// Opens the window's confirmation for a fresh session.
    Fresh(String),
    RefreshExpired,
    OpenWindow,
    Settings,
    Quit,
}

impl MenuId {
    pub fn as_id(&self) -> String {
        match self {
            MenuId::Refresh(key) => format!("refresh:{key}"),
            MenuId::Fresh(key) => format!("fresh:{key}"),
            MenuId::RefreshExpired => "refresh-expired".into(),
            MenuId::OpenWindow => "open".into(),
            MenuId::Settings => "settings".into(),
            MenuId::Quit => "quit".into(),
        }
    }

    pub fn from_id(id: &str) -> Option<Self> {
        Some(match id {
            "refresh-expired" => MenuId::RefreshExpired,
            "open" => MenuId::OpenWindow,
            "settings" => MenuId::Settings,
            "quit" => MenuId::Quit,
            _ => match id.strip_prefix("fresh:") {
                Some(key) => MenuId::Fresh(key.to_owned()),
                None => MenuId::Refresh(id.strip_prefix("refresh:")?.to_owned()),
            },
        })
    }
}

/// The icon for the worst state: valid (or nothing to watch), expiring, expired or never logged in.
pub fn icon_for(worst: Option<TokenState>) -> (&'static str, &'static [u8]) {
    match worst {
        None | Some(TokenState::Valid) => {
            ("valid", include_bytes!("../../../icons/tray-valid.png"))
        }
        Some(TokenState::Expiring) => (
            "expiring",
            include_bytes!("../../../icons/tray-expiring.png"),
        ),
        Some(TokenState::Expired | TokenState::Missing) => {
            ("expired", include_bytes!("../../../icons/tray-expired.png"))
        }
    }
}

/// The menu's first line: the overall state in words, what to do first.
/// "Sign-in needed: 2 of 5 sessions, 1 to refresh", "All fine: 3 sessions".
pub fn headline(
    sessions: &[Session],
    now: OffsetDateTime,
    threshold: std::time::Duration,
) -> String {
    let n = sessions.len();
    let count = |a: Attention| {
        sessions
            .iter()
            .filter(|s| s.token.attention(now, threshold) == a)
            .count()
    };
    let (sign_in, refresh) = (count(Attention::SignIn), count(Attention::Refresh));
    let noun = |k: usize| if k == 1 { "session" } else { "sessions" };
    match (n, sign_in, refresh) {
        (0, _, _) => "No AWS SSO sessions in use".into(),
        (_, 0, 0) => format!("All fine: {n} {}", noun(n)),
        (_, 0, r) => format!("Refresh needed: {r} of {n} {}", noun(n)),
        (_, s, 0) => format!("Sign-in needed: {s} of {n} {}", noun(n)),
        (_, s, r) => format!("Sign-in needed: {s} of {n} {}, {r} to refresh", noun(n)),
    }
}

/// The tooltip: the headline and the most urgent session (`sessions` sorted by urgency).
pub fn tooltip(
    sessions: &[Session],
    now: OffsetDateTime,
    threshold: std::time::Duration,
    offset: UtcOffset,
) -> String {
    let head = headline(sessions, now, threshold);
    match sessions.first() {
        Some(s) if s.token.attention(now, threshold) != Attention::None => {
            format!("{head}\nFirst: {}", session_title(s, false, offset))
        }
        _ => head,
    }
}

/// The menu line of a session: its name, its state and the time that goes with it.
pub fn session_title(s: &Session, refreshing: bool, offset: UtcOffset) -> String {
    let label = sanitize_label(s.label());
    if refreshing {
        return format!("{label} — refreshing…");
    }
    let at = |t: OffsetDateTime| {
        // Near the end of the time range a local offset can leave it: show UTC then.
        let t = t.checked_to_offset(offset).unwrap_or(t);
        format!("{:02}:{:02}", t.hour(), t.minute())
    };
    match (s.token.state, s.token.expires_at) {
        (TokenState::Valid, Some(t)) => format!("{label} — valid until {}", at(t)),
        (TokenState::Expiring, Some(t)) => format!("{label} — expires at {} (soon)", at(t)),
        (TokenState::Expired, Some(t)) => format!("{label} — expired at {}", at(t)),
        (TokenState::Expired, None) => format!("{label} — expired"),
        _ => format!("{label} — never logged in"),
    }
}

fn build_menu<R: Runtime>(
    app: &AppHandle<R>,
    inv: &Inventory,
    sessions: &[Session],
) -> tauri::Result<Menu<R>> {
    let state = app.state::<AppState>();
    let refreshing = state.refreshing();
    let ctx = state.ctx();
    let offset = super::local_offset();
    let menu = Menu::new(app)?;
    let now = OffsetDateTime::now_utc();
    menu.append(&info(
        app,
        headline(sessions, now, ctx.settings.expiring_threshold()),
    )?)?;
    if !sessions.is_empty() {
        menu.append(&PredefinedMenuItem::separator(app)?)?;
    }
    for s in sessions {
        let busy = refreshing.contains(&s.key);
        let sub = Submenu::new(app, session_title(s, busy, offset), true)?;
        let label = if busy { "Refreshing…" } else { "Refresh" };
        sub.append(&MenuItem::with_id(
            app,
            MenuId::Refresh(s.key.clone()).as_id(),
            label,
            !busy,
            None::<&str>,
        )?)?;
        // A fresh session signs out of IAM Identity Center first; a console sign-in has no such step.
        if s.login_session.is_none() {
            sub.append(&MenuItem::with_id(
                app,
                MenuId::Fresh(s.key.clone()).as_id(),
                "Start a fresh session…",
                !busy,
                None::<&str>,
            )?)?;
        }
        sub.append(&PredefinedMenuItem::separator(app)?)?;
        for p in &s.profiles {
            sub.append(&info(app, format!("Profile {}", sanitize_label(p)))?)?;
        }
        for &i in &s.servers {
            if let Some(server) = inv.servers.get(i) {
                let mut text = format!(
                    "Server {} ({})",
                    sanitize_label(&server.name),
                    client_name(server.client)
                );
                // A server that may use several profiles is listed under each of their
                // sessions, naming them all.
                if server.profiles.len() > 1 {
                    let all: Vec<String> =
                        server.profiles.iter().map(|p| sanitize_label(p)).collect();
                    text.push_str(&format!(" — profiles {}", all.join(", ")));
                }
                if !server.enabled {
                    text.push_str(" — disabled");
                }
                sub.append(&info(app, text)?)?;
            }
        }
        menu.append(&sub)?;
    }
    if ctx.settings.show_non_aws {
        let others: Vec<_> = inv.servers.iter().filter(|s| s.profile.is_none()).collect();
        if !others.is_empty() {
            let sub = Submenu::new(app, format!("Servers without AWS ({})", others.len()), true)?;
            for s in others {
                sub.append(&info(
                    app,
                    format!("{} ({})", sanitize_label(&s.name), client_name(s.client)),
                )?)?;
            }
            menu.append(&sub)?;
        }
    }
    let any_expired = sessions
        .iter()
        .any(|s| s.token.state >= TokenState::Expired);
    let items: [&dyn IsMenuItem<R>; 5] = [
        &PredefinedMenuItem::separator(app)?,
        &MenuItem::with_id(
            app,
            MenuId::RefreshExpired.as_id(),
            "Refresh all expired",
            any_expired,
            None::<&str>,
        )?,
        &MenuItem::with_id(
            app,
            MenuId::OpenWindow.as_id(),
            "Open window",
            true,
            None::<&str>,
        )?,
        &MenuItem::with_id(
            app,
            MenuId::Settings.as_id(),
            "Settings…",
            true,
            None::<&str>,
        )?,
        &MenuItem::with_id(app, MenuId::Quit.as_id(), "Quit", true, None::<&str>)?,
    ];
    menu.append_items(&items)?;
    Ok(menu)
}

fn info<R: Runtime>(app: &AppHandle<R>, text: String) -> tauri::Result<MenuItem<R>> {
    MenuItem::new(app, text, false, None::<&str>)
}

/// Creates the tray icon (once, at start).
pub fn create(app: &AppHandle) -> tauri::Result<()> {
    let (_, bytes) = icon_for(None);
    TrayIconBuilder::with_id(TRAY_ID)
        .icon(Image::from_bytes(bytes)?)
        .tooltip("aws-sso-tray")
        .menu(&Menu::new(app)?)
        .show_menu_on_left_click(true)
        .on_menu_event(on_menu_event)
        .build(app)?;
    Ok(())
}

/// Brings the icon, tooltip and menu in line with `inv`.
pub fn update(app: &AppHandle, inv: &Inventory) -> tauri::Result<()> {
    let Some(tray) = app.tray_by_id(TRAY_ID) else {
        return Ok(());
    };
    let (_, bytes) = icon_for(inv.worst_state());
    tray.set_icon(Some(Image::from_bytes(bytes)?))?;
    let now = OffsetDateTime::now_utc();
    let threshold = app.state::<AppState>().ctx().settings.expiring_threshold();
    let sessions = inv.sessions_by_urgency(now, threshold);
    // Sessions used only by disabled servers do not count towards the icon or the tooltip.
    let counted: Vec<Session> = sessions
        .iter()
        .filter(|s| inv.session_counts(s))
        .cloned()
        .collect();
    tray.set_tooltip(Some(tooltip(
        &counted,
        now,
        threshold,
        super::local_offset(),
    )))?;
    tray.set_menu(Some(build_menu(app, inv, &sessions)?))?;
    Ok(())
}

fn on_menu_event(app: &AppHandle, event: MenuEvent) {
    match MenuId::from_id(event.id().as_ref()) {
        Some(MenuId::Refresh(key)) => super::start_refresh(app, key, false),
        // Said before it is done: the window asks, since the current session is lost.
        Some(MenuId::Fresh(key)) => super::open_window(app, Some(&format!("fresh={key}"))),
        Some(MenuId::RefreshExpired) => refresh_expired(app),
        Some(MenuId::OpenWindow) => super::open_window(app, None),
        Some(MenuId::Settings) => super::open_window(app, Some("settings")),
        Some(MenuId::Quit) => app.exit(0),
        None => {}
    }
}

fn refresh_expired(app: &AppHandle) {
    let inv = app.state::<AppState>().inventory();
    for s in inv
        .sessions()
        .into_iter()
        .filter(|s| s.token.state >= TokenState::Expired)
    {
        super::start_refresh(app, s.key, false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::inventory::Token;
    use time::macros::datetime;

    #[test]
    fn menu_ids_round_trip() {
        for id in [
            MenuId::Refresh("lab".into()),
            MenuId::Refresh("https://x.awsapps.com/start/#/".into()),
            MenuId::Fresh("lab".into()),
            MenuId::Fresh("https://x.awsapps.com/start/#/".into()),
            MenuId::Refresh("fresh:odd".into()),
            MenuId::RefreshExpired,
            MenuId::OpenWindow,
            MenuId::Settings,
            MenuId::Quit,
        ] {
            assert_eq!(MenuId::from_id(&id.as_id()), Some(id));
        }
        assert_eq!(MenuId::from_id("info"), None);
    }

    #[test]
    fn headline_tooltip_and_titles_tell_the_worst_first() {
        let now = datetime!(2026-11-22 12:00:00 UTC);
        let t = |state, at| Token {
            state,
            expires_at: at,
            refreshable: false,
            session_ends_at: at,
            session_ends_at_estimated: false,
        };
        let sessions = [
            Session::for_test(
                "a",
                t(TokenState::Valid, Some(datetime!(2026-11-22 18:00:00 UTC))),
            ),
            Session::for_test(
                "b",
                t(
                    TokenState::Expiring,
                    Some(datetime!(2026-11-22 12:09:00 UTC)),
                ),
            ),
            Session::for_test(
                "c",
                t(
                    TokenState::Expired,
                    Some(datetime!(2026-11-22 11:00:00 UTC)),
                ),
            ),
        ];
        let threshold = std::time::Duration::from_secs(900);
        assert_eq!(
            headline(&sessions, now, threshold),
            "Sign-in needed: 2 of 3 sessions"
        );
        assert_eq!(
            headline(&sessions[..1], now, threshold),
            "All fine: 1 session"
        );
        assert_eq!(headline(&[], now, threshold), "No AWS SSO sessions in use");
        let mut renewable = sessions[2].clone();
        renewable.token.refreshable = true;
        renewable.token.session_ends_at = Some(datetime!(2026-11-22 18:00:00 UTC));
        assert_eq!(
            headline(&[renewable, sessions[0].clone()], now, threshold),
            "Refresh needed: 1 of 2 sessions"
        );
        // The tooltip names the most urgent session (callers sort by urgency).
        assert_eq!(
            tooltip(
                &[sessions[2].clone(), sessions[0].clone()],
                now,
                threshold,
                UtcOffset::UTC
            ),
            "Sign-in needed: 1 of 2 sessions\nFirst: c — expired at 11:00"
        );
        assert_eq!(
            tooltip(&sessions[..1], now, threshold, UtcOffset::UTC),
            "All fine: 1 session"
        );
        assert_eq!(
            session_title(&sessions[0], false, UtcOffset::UTC),
            "a — valid until 18:00"
        );
        assert_eq!(
            session_title(&sessions[2], false, UtcOffset::UTC),
            "c — expired at 11:00"
        );
        assert_eq!(
            session_title(&sessions[2], true, UtcOffset::UTC),
            "c — refreshing…"
        );
        assert_eq!(icon_for(Some(TokenState::Missing)).0, "expired");
    }
}
