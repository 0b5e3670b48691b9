//! Everything that knows files and processes, and nothing of any UI.
//!
//! Input here comes from files other programs wrote: nothing in it may panic.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

pub mod atomic_write;
pub mod aws_config;
pub mod clients;
pub mod error;
pub mod inventory;
pub mod keep_alive;
pub mod label;
pub mod login;
pub mod paths;
pub mod permissions;
pub mod read;
pub mod refresh;
pub mod session_log;
pub mod settings;
pub mod sign_out;
pub mod silent_refresh;
pub mod sso_cache;

pub use error::{Error, Result};
pub use inventory::Inventory;
pub use paths::Paths;
pub use read::Diagnostic;
pub use settings::Settings;

use login::LoginRunner;

/// Log targets of the AWS SDK and the HTTP stack under it that log request and response bodies
/// (tokens, client secrets) at debug and trace. Fronts cap them at `warn`.
pub const SECRET_BEARING_LOG_TARGETS: &[&str] = &[
    "aws_smithy_runtime",
    "aws_smithy_runtime_api",
    "aws_smithy_http",
    "aws_smithy_http_client",
    "aws_smithy_types",
    "aws_smithy_json",
    "aws_sdk_ssooidc",
    "aws_runtime",
    "aws_config",
    "hyper",
    "hyper_util",
    "h2",
    "rustls",
];

/// What every front holds: where things are, the user's settings, and the one login runner.
pub struct Context {
    pub paths: Paths,
    pub settings: Settings,
    settings_problem: Option<Diagnostic>,
    /// Shared by every context of the process, so that logins stay single-flight across settings changes.
    pub logins: std::sync::Arc<LoginRunner>,
}

impl Context {
    pub fn new(paths: Paths) -> Self {
        let (settings, settings_problem) = Settings::load(&paths);
        Context {
            paths,
            settings,
            settings_problem,
            logins: Default::default(),
        }
    }

    /// The same paths and login runner with the settings file read again.
    pub fn reloaded(&self) -> Self {
        let (settings, settings_problem) = Settings::load(&self.paths);
        Context {
            paths: self.paths.clone(),
            settings,
            settings_problem,
            logins: self.logins.clone(),
        }
    }

    /// Builds the inventory as of now, with what the session log knows (and learns from it).
    pub fn inventory(&self) -> Inventory {
        let now = time::OffsetDateTime::now_utc();
        let mut inv = Inventory::build(&self.paths, &self.settings, now);
        let mut log = session_log::SessionLog::load(&self.paths);
        inv.apply_session_log(&mut log, &self.settings, now);
        if let Err(e) = log.save() {
            tracing::warn!("cannot record sign-in sessions: {e}");
        }
        inv.diagnostics.extend(self.settings_problem.clone());
        inv
    }
}
