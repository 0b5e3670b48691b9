//! Commands the window may call. Each is a thin wrapper over the core or the desktop state; the
//! page names things by index or key, and paths and URLs are looked up here, never taken from it.

use std::collections::HashMap;

use serde::Serialize;
use tauri::{AppHandle, Manager, State};
use tauri_plugin_autostart::ManagerExt as _;
use tauri_plugin_shell::ShellExt as _;

use time::OffsetDateTime;

use crate::core::inventory::{Attention, Inventory, Session};
use crate::core::settings::Settings;

use super::state::AppState;

/// An error as the page sees it: one sentence.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("{0}")]
    Core(#[from] crate::core::Error),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Desktop(String),
}

impl Serialize for CommandError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

type Result<T> = std::result::Result<T, CommandError>;

/// A sign-in the user has to finish by hand.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Prompt {
    url: String,
    code: String,
    /// The sign-in ends with a code the browser shows, pasted into the window.
    needs_code: bool,
}

/// A session as the window lists it: what the user has to do, and whether the action needs a
/// browser sign-in ("Sign in") or renews silently ("Refresh").
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    #[serde(flatten)]
    session: Session,
    attention: Attention,
    sign_in: bool,
}

/// Everything the window shows. No token, secret or client registration is in it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct View {
    inventory: Inventory,
    /// The overall state in words, as the tray menu's first line says it.
    headline: String,
    /// The most urgent first.
    sessions: Vec<SessionView>,
    refreshing: Vec<String>,
    prompts: HashMap<String, Prompt>,
    settings: Settings,
    local_offset_minutes: i32,
}

#[tauri::command]
pub(crate) fn get_view(state: State<'_, AppState>) -> View {
    let inv = state.inventory();
    let ctx = state.ctx();
    let mut refreshing: Vec<String> = state.refreshing().into_iter().collect();
    refreshing.sort();
    let now = OffsetDateTime::now_utc();
    let threshold = ctx.settings.expiring_threshold();
    let sessions = inv.sessions_by_urgency(now, threshold);
    View {
        headline: super::tray::headline(&sessions, now, threshold),
        sessions: sessions
            .into_iter()
            .map(|session| SessionView {
                attention: session.token.attention(now, threshold),
                sign_in: !session.token.renews_silently(now),
                session,
            })
            .collect(),
        inventory: (*inv).clone(),
        refreshing,
        prompts: state
            .prompts()
            .into_iter()
            .map(|(k, p)| {
                (
                    k,
                    Prompt {
                        url: p.url,
                        code: p.code,
                        needs_code: p.needs_code,
                    },
                )
            })
            .collect(),
        settings: ctx.settings.clone(),
        local_offset_minutes: i32::from(super::local_offset().whole_minutes()),
    }
}

#[tauri::command]
pub(crate) fn refresh_session(app: AppHandle, key: String) -> Result<()> {
    start_refresh(&app, key, false)
}

/// Signs out of session `key` and signs in again, so a full-length session starts now. The window
/// asks the user first: the current session is lost.
#[tauri::command]
pub(crate) fn fresh_session(app: AppHandle, key: String) -> Result<()> {
    start_refresh(&app, key, true)
}

fn start_refresh(app: &AppHandle, key: String, fresh: bool) -> Result<()> {
    let inv = app.state::<AppState>().inventory();
    if !inv.sessions().iter().any(|s| s.key == key) {
        return Err(CommandError::NotFound(
            "that session is no longer in the configuration".into(),
        ));
    }
    super::start_refresh(app, key, fresh);
    Ok(())
}

/// Gives the code the browser showed at the end of a console sign-in (`aws login --remote`) to
/// session `key`'s waiting sign-in.
#[tauri::command]
pub(crate) fn submit_sign_in_code(
    state: State<'_, AppState>,
    key: String,
    code: String,
) -> Result<()> {
    let code = crate::core::login::pasted_code(&code).ok_or_else(|| {
        CommandError::Desktop("that is not a sign-in code: paste the code the browser shows".into())
    })?;
    if !state.give_code(&key, code) {
        return Err(CommandError::NotFound(
            "no sign-in is waiting for a code".into(),
        ));
    }
    Ok(())
}

/// Opens the config file of server `index` in the user's default application.
#[tauri::command]
pub(crate) fn open_config(app: AppHandle, state: State<'_, AppState>, index: usize) -> Result<()> {
    let inv = state.inventory();
    let server = inv
        .servers
        .get(index)
        .ok_or_else(|| CommandError::NotFound("no such server".into()))?;
    open(&app, server.config_path.display().to_string())
}

/// Opens the AWS access portal (start URL) of a session.
#[tauri::command]
pub(crate) fn open_portal(app: AppHandle, state: State<'_, AppState>, key: String) -> Result<()> {
    let sessions = state.inventory().sessions();
    let session = sessions
        .iter()
        .find(|s| s.key == key)
        .ok_or_else(|| CommandError::NotFound("no such session".into()))?;
    let url = session
        .start_url
        .clone()
        .filter(|u| u.starts_with("https://"));
    open(
        &app,
        url.ok_or_else(|| CommandError::NotFound("the session has no https start URL".into()))?,
    )
}

#[allow(deprecated)] // tauri-plugin-opener would be a second plugin for the same two calls
fn open(app: &AppHandle, target: String) -> Result<()> {
    app.shell()
        .open(target, None)
        .map_err(|e| CommandError::Desktop(e.to_string()))
}

#[tauri::command]
pub(crate) fn save_settings(
    app: AppHandle,
    state: State<'_, AppState>,
    settings: Settings,
) -> Result<()> {
    let ctx = state.ctx();
    let mut settings = settings;
    settings.project_roots.retain(|p| p.is_absolute());
    settings.save(&ctx.paths)?;
    let autostart = app.autolaunch();
    let result = if settings.start_at_login {
        autostart.enable()
    } else {
        autostart.disable()
    };
    if let Err(e) = result {
        tracing::warn!("cannot change start at login: {e}");
    }
    state.reload_settings();
    state.changed.notify_one();
    Ok(())
}
