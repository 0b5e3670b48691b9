//! Keeps the inventory current without polling: file events (debounced) on the client configs,
//! the AWS config and the SSO cache, plus one timer set to the next state change.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use notify::event::{AccessKind, AccessMode};
use notify::{EventKind, RecursiveMode};
use notify_debouncer_full::{new_debouncer, DebounceEventResult};
use tauri::{AppHandle, Emitter, Manager};
use time::OffsetDateTime;

use crate::core::clients;
use crate::core::inventory::Inventory;
use crate::core::Context;

use super::state::AppState;

/// Files whose change matters, and the folders to watch for them.
struct Interest {
    files: BTreeSet<PathBuf>,
    cache_dir: PathBuf,
}

impl Interest {
    fn of(ctx: &Context, inv: &Inventory) -> Self {
        let mut files: BTreeSet<PathBuf> = clients::user_files(&ctx.paths).into_iter().collect();
        files.extend(inv.servers.iter().map(|s| s.config_path.clone()));
        files.insert(ctx.paths.aws_config.clone());
        files.insert(ctx.paths.aws_credentials.clone());
        files.insert(ctx.paths.settings_file());
        Interest {
            files,
            cache_dir: ctx.paths.sso_cache_dir(),
        }
    }

    /// The nearest existing folder of each file (a folder created later shows up as an event there).
    fn dirs(&self) -> BTreeSet<PathBuf> {
        let existing = |p: &Path| p.ancestors().find(|a| a.is_dir()).map(Path::to_path_buf);
        self.files
            .iter()
            .filter_map(|f| f.parent())
            .chain([self.cache_dir.as_path()])
            .filter_map(existing)
            .collect()
    }

    fn matters(&self, path: &Path) -> bool {
        self.files.contains(path)
            || path.parent() == Some(self.cache_dir.as_path())
            || self.files.iter().any(|f| f.starts_with(path))
            // Pattern entries (`cli-agents/*.json`, `extensions/*/gemini-extension.json`): a new
            // agent or extension file, or its folder, appears as an event below them.
            || self
                .files
                .iter()
                .any(|f| f.to_string_lossy().contains('*') && clients::matches_pattern(f, path))
            || self.cache_dir.starts_with(path)
    }
}

/// Runs the update loop for the life of the app.
pub fn spawn(app: AppHandle) {
    tauri::async_runtime::spawn(async move {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Vec<PathBuf>>();
        // The debouncer's thread wakes every tick even when nothing happens: keep ticks few.
        let debouncer = new_debouncer(
            Duration::from_millis(400),
            Some(Duration::from_millis(200)),
            move |res: DebounceEventResult| {
                if let Ok(events) = res {
                    let changes = events.into_iter().filter(|e| is_change(&e.event.kind));
                    let _ = tx.send(changes.flat_map(|e| e.event.paths).collect());
                }
            },
        );
        let mut debouncer = match debouncer {
            Ok(d) => Some(d),
            Err(e) => {
                tracing::warn!("file watching unavailable, updates come from the timer only: {e}");
                None
            }
        };
        let mut watched: BTreeSet<PathBuf> = BTreeSet::new();
        let mut update_watches = |want: BTreeSet<PathBuf>| -> bool {
            let Some(d) = debouncer.as_mut() else {
                return false;
            };
            if want == watched {
                return false;
            }
            for gone in watched.difference(&want) {
                let _ = d.unwatch(gone);
            }
            for new in want.difference(&watched) {
                if let Err(e) = d.watch(new, RecursiveMode::NonRecursive) {
                    tracing::debug!("cannot watch {}: {e}", new.display());
                }
            }
            watched = want;
            true
        };
        // Watch what the previous read showed before reading again, so that an edit made between
        // a read and its watch is never lost; a read that reveals new files to watch is redone.
        let mut shown = Arc::new(Inventory {
            servers: vec![],
            profiles: vec![],
            diagnostics: vec![],
        });
        loop {
            let state = app.state::<AppState>();
            update_watches(Interest::of(&state.ctx(), &shown).dirs());
            let Some((ctx, inv)) = rebuild(&app).await else {
                return;
            };
            let interest = Interest::of(&ctx, &inv);
            shown = inv.clone();
            if update_watches(interest.dirs()) {
                continue;
            }
            let now = OffsetDateTime::now_utc();
            let next = inv
                .next_change(now, ctx.settings.expiring_threshold())
                .map(|t| {
                    Duration::try_from(t - now).unwrap_or(Duration::ZERO)
                        + Duration::from_millis(200)
                });
            loop {
                tokio::select! {
                    paths = rx.recv() => match paths {
                        Some(paths) if paths.iter().any(|p| interest.matters(p)) => break,
                        Some(_) => continue,
                        None => return,
                    },
                    () = state.changed.notified() => break,
                    () = sleep_opt(next) => break,
                }
            }
        }
    });
}

/// inotify also reports opens and reads; our own reads of the watched files would then wake us
/// again and again. Only writes, creations, removals and renames count.
fn is_change(kind: &EventKind) -> bool {
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) | EventKind::Other => false,
        _ => true,
    }
}

async fn sleep_opt(d: Option<Duration>) {
    match d {
        Some(d) => tokio::time::sleep(d).await,
        None => std::future::pending().await,
    }
}

/// Reads the files, then updates the tray, the window and the notifications.
async fn rebuild(app: &AppHandle) -> Option<(Arc<Context>, Arc<Inventory>)> {
    let state = app.state::<AppState>();
    // The settings file is one of the watched files: a hand edit takes effect like a saved form.
    state.reload_settings();
    let ctx = state.ctx();
    let inv = {
        let ctx = ctx.clone();
        tauri::async_runtime::spawn_blocking(move || ctx.inventory())
            .await
            .ok()?
    };
    state.set_inventory(inv);
    let inv = state.inventory();
    // Counted by the soak benchmark: a burst of file events should cost a handful of rebuilds.
    static REBUILDS: AtomicU64 = AtomicU64::new(0);
    tracing::debug!(
        rebuilds = REBUILDS.fetch_add(1, Ordering::Relaxed) + 1,
        servers = inv.servers.len(),
        "inventory rebuilt"
    );
    if let Err(e) = super::tray::update(app, &inv) {
        tracing::warn!("cannot update the tray: {e}");
    }
    let _ = app.emit("inventory-changed", ());
    // Sessions used only by disabled servers stay quiet (issue 9); they can still be refreshed by hand.
    let counted: Vec<_> = inv
        .sessions()
        .into_iter()
        .filter(|s| inv.session_counts(s))
        .collect();
    let notes = state
        .notifier
        .expiry_notes(&counted, &ctx.settings, OffsetDateTime::now_utc());
    super::show_notes(app, notes);
    Some((ctx, inv))
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{CreateKind, ModifyKind};

    #[test]
    fn reads_do_not_count_as_changes() {
        assert!(!is_change(&EventKind::Access(AccessKind::Open(
            AccessMode::Any
        ))));
        assert!(!is_change(&EventKind::Access(AccessKind::Close(
            AccessMode::Read
        ))));
        assert!(is_change(&EventKind::Access(AccessKind::Close(
            AccessMode::Write
        ))));
        assert!(is_change(&EventKind::Modify(ModifyKind::Any)));
        assert!(is_change(&EventKind::Create(CreateKind::File)));
    }
}
