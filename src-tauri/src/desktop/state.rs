//! What the desktop front keeps between events: the core context, the last inventory, and the
//! sessions being refreshed. Held by Tauri (`app.manage`), reached through `State`.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};

use tokio::sync::Notify;

use crate::core::inventory::Inventory;
use crate::core::login::DevicePrompt;
use crate::core::Context;

use super::geometry::Remembered;
use super::notify::Notifier;

pub struct AppState {
    ctx: RwLock<Arc<Context>>,
    inventory: RwLock<Arc<Inventory>>,
    /// Session keys with a refresh under way.
    refreshing: Mutex<HashSet<String>>,
    /// Sign-in prompts to show in the window while a login without browser waits for the user.
    prompts: Mutex<HashMap<String, DevicePrompt>>,
    /// Sign-ins waiting for the code the user pastes into the window (`aws login --remote`).
    codes: Mutex<HashMap<String, tokio::sync::oneshot::Sender<String>>>,
    /// Wakes the update loop: files changed, a refresh ended, settings were saved.
    pub changed: Notify,
    pub notifier: Notifier,
    /// The window's size and position, kept for its next opening.
    pub geometry: Remembered,
}

fn read<T: Clone>(l: &RwLock<T>) -> T {
    l.read().unwrap_or_else(|e| e.into_inner()).clone()
}

fn write<T>(l: &RwLock<T>, v: T) {
    *l.write().unwrap_or_else(|e| e.into_inner()) = v;
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl AppState {
    pub fn new(ctx: Context) -> Self {
        let notifier = Notifier::new(&ctx.paths);
        let geometry = Remembered::new(&ctx.paths.state_dir);
        AppState {
            inventory: RwLock::new(Arc::new(Inventory {
                servers: vec![],
                profiles: vec![],
                diagnostics: vec![],
            })),
            ctx: RwLock::new(Arc::new(ctx)),
            refreshing: Mutex::default(),
            prompts: Mutex::default(),
            codes: Mutex::default(),
            changed: Notify::new(),
            notifier,
            geometry,
        }
    }

    pub fn ctx(&self) -> Arc<Context> {
        read(&self.ctx)
    }

    /// Reads the settings file again (after the window saved it, and before each rebuild).
    pub fn reload_settings(&self) {
        let next = Arc::new(self.ctx().reloaded());
        write(&self.ctx, next);
    }

    pub fn inventory(&self) -> Arc<Inventory> {
        read(&self.inventory)
    }

    pub fn set_inventory(&self, inv: Inventory) {
        write(&self.inventory, Arc::new(inv));
    }

    /// Marks a session as refreshing; false if it already was.
    pub fn start_refresh(&self, key: &str) -> bool {
        lock(&self.refreshing).insert(key.to_owned())
    }

    pub fn end_refresh(&self, key: &str) {
        lock(&self.refreshing).remove(key);
        lock(&self.prompts).remove(key);
        lock(&self.codes).remove(key);
    }

    /// Waits for the code the user pastes into the window for session `key`'s sign-in.
    pub fn expect_code(&self, key: &str) -> tokio::sync::oneshot::Receiver<String> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        lock(&self.codes).insert(key.to_owned(), tx);
        rx
    }

    /// Hands a pasted code to session `key`'s sign-in; false when none waits for one.
    pub fn give_code(&self, key: &str, code: String) -> bool {
        lock(&self.codes)
            .remove(key)
            .is_some_and(|tx| tx.send(code).is_ok())
    }

    pub fn refreshing(&self) -> HashSet<String> {
        lock(&self.refreshing).clone()
    }

    pub fn set_prompt(&self, key: &str, prompt: DevicePrompt) {
        lock(&self.prompts).insert(key.to_owned(), prompt);
    }

    pub fn prompts(&self) -> HashMap<String, DevicePrompt> {
        lock(&self.prompts).clone()
    }
}
