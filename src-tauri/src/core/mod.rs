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
pub mod login_cache;
pub mod paths;
pub mod permissions;
pub mod read;
pub mod refresh;
pub mod session_log;
pub mod settings;
pub mod sign_out;
pub mod silent_refresh;
pub mod sso_cache;
pub mod tray_presence;
#[cfg(windows)]
pub mod windows;

pub use error::{Error, Result};
pub use inventory::Inventory;
pub use paths::Paths;
pub use read::Diagnostic;
pub use settings::Settings;

use login::LoginRunner;

/// Log targets that log request and response bodies (tokens, client secrets, sign-in links) at
/// debug and trace: the AWS SDK, the HTTP stack under it, and the MCP SDK. Fronts cap them at `warn`.
pub const SECRET_BEARING_LOG_TARGETS: &[&str] = &[
    "aws_smithy_runtime",
    "aws_smithy_runtime_api",
    "aws_smithy_http",
    "aws_smithy_http_client",
    "aws_smithy_types",
    "aws_smithy_json",
    "aws_sdk_ssooidc",
    "aws_sdk_sso",
    "aws_runtime",
    "aws_config",
    "hyper",
    "hyper_util",
    "h2",
    "rustls",
    // rmcp logs whole messages at debug and trace, and the sign-in link goes to the client's user
    // in one (URL-mode elicitation).
    "rmcp",
];

/// Whether an event of `target` at `level` may be logged: the targets above only at `warn` and
/// `error`, whatever the log filter asks for.
pub fn log_allowed(target: &str, level: tracing::Level) -> bool {
    let capped = SECRET_BEARING_LOG_TARGETS.iter().any(|t| {
        target
            .strip_prefix(t)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
    });
    // tracing orders levels by verbosity: TRACE is the greatest.
    !capped || level <= tracing::Level::WARN
}

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
        session_log::SessionLog::edit(&self.paths, |log| {
            inv.apply_session_log(log, &self.settings, now)
        });
        inv.diagnostics.extend(self.settings_problem.clone());
        inv
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;

    #[test]
    fn the_sdk_logs_only_warnings_and_errors() {
        // Issue 12 #4 (and review): a sub-module directive such as
        // `aws_smithy_runtime::client::orchestrator=trace` outranked a per-crate cap.
        for target in [
            "aws_smithy_runtime",
            "aws_smithy_runtime::client::orchestrator",
            "hyper_util::client",
        ] {
            assert!(!log_allowed(target, Level::TRACE), "{target}");
            assert!(!log_allowed(target, Level::DEBUG), "{target}");
            assert!(!log_allowed(target, Level::INFO), "{target}");
            assert!(log_allowed(target, Level::WARN), "{target}");
            assert!(log_allowed(target, Level::ERROR), "{target}");
        }
        assert!(log_allowed("aws_sso_tray::core::login", Level::TRACE));
        assert!(
            log_allowed("hyperion", Level::TRACE),
            "a prefix of a name is not the crate"
        );
    }
}
