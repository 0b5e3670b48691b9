//! The tray app (feature `desktop`): tray menu, on-demand window, notifications, file watching
//! and keep-alive, all over the same core as the MCP server and the CLI.

mod commands;
mod geometry;
mod notify;
mod state;
mod tray;
mod watch;

use std::sync::{Arc, OnceLock};

use tauri::{AppHandle, Manager, RunEvent, WebviewUrl, WebviewWindowBuilder};
use time::UtcOffset;

use crate::core::keep_alive;
use crate::core::label::sanitize_label;
use crate::core::login::{LoginOptions, PromptSink};
use crate::core::refresh::{self, RefreshOptions};
use crate::core::Context;

use notify::Note;
use state::AppState;

const WINDOW: &str = "main";

static LOCAL_OFFSET: OnceLock<UtcOffset> = OnceLock::new();

/// The local UTC offset, read once at start (reading it later, with threads running, is unsound on Linux).
pub fn local_offset() -> UtcOffset {
    *LOCAL_OFFSET.get().unwrap_or(&UtcOffset::UTC)
}

/// Runs the tray until the user quits. `show` opens the window at start.
pub fn run(ctx: Context, show: bool) -> anyhow::Result<()> {
    let _ = LOCAL_OFFSET.set(UtcOffset::current_local_offset().unwrap_or(UtcOffset::UTC));
    // Held until the process ends: MCP servers and the CLI send users to this window.
    let _presence = crate::core::tray_presence::TrayPresence::hold(&ctx.paths);
    let app = tauri::Builder::default()
        // First: a second start hands its arguments to this instance and exits.
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            open_window(app, None)
        }))
        .plugin(tauri_plugin_shell::init())
        .plugin(tauri_plugin_autostart::init(
            tauri_plugin_autostart::MacosLauncher::LaunchAgent,
            None,
        ))
        .manage(AppState::new(ctx))
        .invoke_handler(tauri::generate_handler![
            commands::get_view,
            commands::refresh_session,
            commands::fresh_session,
            commands::submit_sign_in_code,
            commands::open_config,
            commands::open_portal,
            commands::save_settings,
        ])
        .setup(move |app| {
            tray::create(app.handle())?;
            watch::spawn(app.handle().clone());
            spawn_keep_alive(app.handle().clone());
            spawn_signal_handler(app.handle().clone());
            if show {
                open_window(app.handle(), None);
            }
            Ok(())
        })
        .build(tauri::generate_context!())?;
    app.run(|app, event| match event {
        // Closing the window destroys it; the tray stays.
        RunEvent::ExitRequested {
            api, code: None, ..
        } => api.prevent_exit(),
        RunEvent::WindowEvent {
            label,
            event: tauri::WindowEvent::Destroyed,
            ..
        } if label == WINDOW => {
            end_webkit_network_process(app.clone());
        }
        RunEvent::WindowEvent {
            label,
            event: tauri::WindowEvent::Resized(size),
            ..
        } if label == WINDOW => remember_geometry(app, Some((size.width, size.height)), None),
        RunEvent::WindowEvent {
            label,
            event: tauri::WindowEvent::Moved(at),
            ..
        } if label == WINDOW => remember_geometry(app, None, Some((at.x, at.y))),
        // Quit: no sign-in may outlive the tray; a renewal between grant and write finishes.
        RunEvent::Exit => {
            let logins = app.state::<AppState>().ctx().logins.clone();
            logins.shutdown();
            tauri::async_runtime::block_on(
                logins.renewals_finished(std::time::Duration::from_secs(10)),
            );
        }
        _ => {}
    });
    Ok(())
}

/// Shows the window, creating it if needed; `section` selects a part of the page.
pub fn open_window(app: &AppHandle, section: Option<&str>) {
    let hash = section
        .map(|s| format!("#{}", hash_safe(s)))
        .unwrap_or_default();
    if let Some(w) = app.get_webview_window(WINDOW) {
        let _ = w.show();
        let _ = w.unminimize();
        let _ = w.set_focus();
        if section.is_some() {
            let _ = w.eval(format!("location.hash = {:?}", hash));
        }
        return;
    }
    let remembered = app.state::<AppState>().geometry.load();
    let (width, height) = remembered.map_or(geometry::DEFAULT_SIZE, |g| (g.width, g.height));
    let mut builder = WebviewWindowBuilder::new(
        app,
        WINDOW,
        WebviewUrl::App(format!("index.html{hash}").into()),
    )
    .title("AWS SSO sessions")
    .inner_size(width, height)
    .min_inner_size(geometry::MIN_SIZE.0, geometry::MIN_SIZE.1)
    // Ctrl + / Ctrl - / Ctrl 0 zoom the page; the layout holds at 200 %.
    .zoom_hotkeys_enabled(true);
    if let Some((Some(x), Some(y))) = remembered.map(|g| (g.x, g.y)) {
        builder = builder.position(x, y);
    }
    if let Err(e) = builder.build() {
        tracing::warn!("cannot open the window: {e}");
    }
}

/// Records the window's new size or position (physical pixels) in logical pixels and saves it a
/// moment after the changes stop.
fn remember_geometry(app: &AppHandle, size: Option<(u32, u32)>, at: Option<(i32, i32)>) {
    let Some(window) = app.get_webview_window(WINDOW) else {
        return;
    };
    // A minimized or hidden window reports sizes it will not reopen at.
    if window.is_minimized().unwrap_or(false) || size == Some((0, 0)) {
        return;
    }
    let scale = window.scale_factor().unwrap_or(1.0);
    let size = match size {
        // Resized carries the outer size on some platforms: the builder takes the inner one.
        Some(_) => window
            .inner_size()
            .ok()
            .map(|s| (f64::from(s.width) / scale, f64::from(s.height) / scale)),
        None => None,
    };
    let at = at.map(|(x, y)| (f64::from(x) / scale, f64::from(y) / scale));
    let state = app.state::<AppState>();
    if state.geometry.update(size, at) {
        let app = app.clone();
        tauri::async_runtime::spawn(async move {
            tokio::time::sleep(geometry::Remembered::SETTLE).await;
            app.state::<AppState>().geometry.save();
        });
    }
}

/// `s` with everything but letters, digits and `=._-` percent-encoded, for a URL fragment that is
/// also evaluated as a script string.
fn hash_safe(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'=' | b'.' | b'_' | b'-' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Starts a refresh of session `key` unless one is running; the outcome is a notification.
/// `fresh`: sign out first so a full-length session starts (the user confirmed in the window).
pub fn start_refresh(app: &AppHandle, key: String, fresh: bool) {
    let state = app.state::<AppState>();
    let Some(session) = state
        .inventory()
        .sessions()
        .into_iter()
        .find(|s| s.key == key)
    else {
        return;
    };
    if !state.start_refresh(&key) {
        return;
    }
    state.changed.notify_one();
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let state = app.state::<AppState>();
        let ctx = state.ctx();
        let sink: PromptSink = {
            let (app, key, label) = (app.clone(), key.clone(), sanitize_label(session.label()));
            Arc::new(move |prompt| {
                let state = app.state::<AppState>();
                // The link and code go to the window only: notification servers keep a history.
                let note = Note {
                    summary: format!("Sign in to AWS SSO session {label}"),
                    body: "The sign-in link and code are in the aws-sso-tray window.".into(),
                    refresh: None,
                };
                // Not opened (asked not to, no display, or no opener): the user needs the window.
                let opened = prompt.opened;
                state.set_prompt(&key, prompt);
                state.changed.notify_one();
                if !opened {
                    open_window(&app, None);
                    show_notes(&app, vec![note]);
                }
            })
        };
        let options = RefreshOptions {
            silent_only: false,
            fresh,
            // "Do not open a browser" is applied by the core, for every front.
            login: LoginOptions {
                on_prompt: Some(sink),
                on_code: Some({
                    let (app, key) = (app.clone(), key.clone());
                    Arc::new(move || {
                        let waiting = app.state::<AppState>().expect_code(&key);
                        Box::pin(async move { waiting.await.ok() })
                    })
                }),
                ..LoginOptions::default()
            },
            // The window asked before this started.
            on_sign_out: None,
        };
        let reply = refresh::refresh(&ctx, Some(&session.login_profile), None, options).await;
        state.end_refresh(&key);
        state.changed.notify_one();
        if ctx.settings.notify_refresh_result {
            let label = sanitize_label(session.label());
            let note = match reply {
                Ok(r) if r.success && fresh => Note {
                    summary: format!("Fresh AWS SSO session {label} started"),
                    body: r.message,
                    refresh: None,
                },
                Ok(r) if r.success => Note {
                    summary: format!("AWS SSO session {label} refreshed"),
                    body: r.message,
                    refresh: None,
                },
                Ok(r) => Note {
                    summary: format!("Refreshing {label} failed"),
                    body: r.message,
                    refresh: Some(key.clone()),
                },
                Err(e) => Note {
                    summary: format!("Refreshing {label} failed"),
                    body: e.to_string(),
                    refresh: None,
                },
            };
            show_notes(&app, vec![note]);
        }
    });
}

/// Shows notes off the event loop (the D-Bus call blocks); a "Refresh" action starts a refresh.
pub fn show_notes(app: &AppHandle, notes: Vec<Note>) {
    for note in notes {
        let app = app.clone();
        tauri::async_runtime::spawn_blocking(move || {
            let on_refresh = {
                let app = app.clone();
                move |key: String| start_refresh(&app, key, false)
            };
            app.state::<AppState>().notifier.show(note, on_refresh);
        });
    }
}

/// WebKitGTK keeps its network process for the life of the web context, which Tauri keeps for
/// reuse, so an idle tray would hold it (~40 MB) forever. With the window gone nothing uses it;
/// WebKit starts a new one with the next window.
fn end_webkit_network_process(app: AppHandle) {
    #[cfg(not(target_os = "linux"))]
    let _ = app;
    #[cfg(target_os = "linux")]
    std::thread::spawn(move || {
        // Give WebKit a moment to finish with the closed page first.
        std::thread::sleep(std::time::Duration::from_millis(500));
        // A window opened again in that moment uses the process: leave it.
        if app.get_webview_window(WINDOW).is_some() {
            return;
        }
        let me = std::process::id().to_string();
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return;
        };
        for entry in entries.flatten() {
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            // "pid (comm) state ppid ...": comm may hold spaces, so split after the last ')'.
            let Some((head, rest)) = stat.rsplit_once(')') else {
                continue;
            };
            let is_child = rest.split_whitespace().nth(1) == Some(me.as_str());
            if is_child && head.ends_with("(WebKitNetworkPr") {
                if let Some(pid) = entry
                    .file_name()
                    .to_str()
                    .and_then(|p| p.parse::<i32>().ok())
                {
                    tracing::info!(pid, "window closed; ending WebKit's network process");
                    // SAFETY: sends SIGTERM to a child process of ours.
                    unsafe {
                        libc::kill(pid, libc::SIGTERM);
                    }
                }
            }
        }
    });
}

/// SIGTERM, SIGINT or SIGHUP end the tray like Quit does, running sign-ins included.
fn spawn_signal_handler(app: AppHandle) {
    tauri::async_runtime::spawn(async move {
        let signal = crate::cli::shutdown_signal().await;
        tracing::info!(signal, "stopping");
        app.state::<AppState>().ctx().logins.shutdown();
        app.exit(0);
    });
}

/// Keep-alive, on by default here: sessions with a refresh token are renewed before they expire.
fn spawn_keep_alive(app: AppHandle) {
    let current = {
        let app = app.clone();
        move || {
            let ctx = app.state::<AppState>().ctx();
            ctx.settings.keep_alive.unwrap_or(true).then_some(ctx)
        }
    };
    tauri::async_runtime::spawn(keep_alive::run(current, move |event| {
        let state = app.state::<AppState>();
        state.changed.notify_one();
        if let keep_alive::Event::Failed {
            session,
            reason,
            gave_up: true,
        } = event
        {
            let note = Note {
                summary: format!(
                    "AWS SSO session {} needs a sign-in",
                    sanitize_label(&session)
                ),
                body: reason,
                refresh: Some(session),
            };
            show_notes(&app, vec![note]);
        }
    }));
}
