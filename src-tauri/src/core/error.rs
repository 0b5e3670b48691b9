//! The one error type of the core. Every message says what went wrong and, where it helps, what to do.

use std::path::PathBuf;
use std::time::Duration;

/// A failure of a core operation. Problems with individual files found while building the
/// inventory are not errors: they become [`crate::core::Diagnostic`]s and the rest is still read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Neither a profile nor a server name was given.
    #[error("name a profile or an MCP server")]
    NothingNamed,
    /// A profile name that AWS would not accept, or that could be mistaken for a CLI flag.
    #[error("{name:?} is not a valid AWS profile name: {reason}")]
    InvalidProfileName {
        /// The rejected name (shown through `{:?}` so control characters stay visible).
        name: String,
        /// Which rule it broke.
        reason: &'static str,
    },
    /// The profile is not defined in the AWS config file.
    #[error("profile {name:?} is not defined in {}", config.display())]
    ProfileNotFound {
        /// The profile asked for.
        name: String,
        /// The AWS config file that was read.
        config: PathBuf,
    },
    /// The profile exists but has nothing to do with IAM Identity Center.
    #[error("profile {name:?} does not use AWS SSO (IAM Identity Center), so there is no SSO session to refresh")]
    NotSso {
        /// The profile asked for.
        name: String,
    },
    /// No MCP server of that name is configured in any client.
    #[error("no MCP server named {name:?} was found; known servers: {}", known_list(.known))]
    ServerNotFound {
        /// The server asked for.
        name: String,
        /// The server names that do exist, sorted and deduplicated.
        known: Vec<String>,
    },
    /// The server exists but no AWS profile could be read from its configuration.
    #[error("MCP server {name:?} ({config}) sets no AWS profile{}; pass the profile name instead", unresolved_note(.unresolved))]
    ServerWithoutProfile {
        /// The server asked for.
        name: String,
        /// Where the server is configured.
        config: String,
        /// A placeholder such as `${env:AWS_PROFILE}` that stood where a profile name would be.
        unresolved: Option<String>,
    },
    /// Servers of that name use different profiles and none is closer to the caller than the others.
    #[error("MCP server {name:?} is configured with different profiles ({}); pass the profile name instead", .profiles.join(", "))]
    AmbiguousServer {
        /// The server asked for.
        name: String,
        /// The candidate profiles.
        profiles: Vec<String>,
    },
    /// The profile's `sso_session` names a section the config does not have; a login cannot work.
    #[error("profile {profile:?} uses sso_session {session:?}, but {} has no [sso-session {session}] section; add it (sso_start_url, sso_region) and try again", config.display())]
    MissingSsoSession {
        /// The profile (for a chained profile, the SSO profile it leads to).
        profile: String,
        /// The missing session's name.
        session: String,
        /// The AWS config file that was read.
        config: PathBuf,
    },
    /// No AWS CLI v2 in the trusted install folders.
    #[error("AWS CLI v2 not found in the trusted install folders ({searched}); install it from https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html")]
    CliNotFound {
        /// The folders that were searched.
        searched: String,
    },
    /// The `aws` found is not acceptable (version 1, a symlink out of the trusted folders, writable by others).
    #[error("refusing to run {}: {reason}", path.display())]
    CliRejected {
        /// The candidate program.
        path: PathBuf,
        /// Why it was refused.
        reason: String,
    },
    /// `aws sso login` ended with a failure status.
    #[error("`aws sso login` failed ({status}){}", detail_suffix(.detail))]
    LoginFailed {
        /// How the process ended.
        status: String,
        /// The CLI's last error line, when it holds no device code or URL.
        detail: Option<String>,
    },
    /// The user did not finish the sign-in in time.
    #[error("the sign-in was not completed within {} s; the login was stopped", .0.as_secs())]
    LoginTimedOut(Duration),
    /// The CLI reported success but the token cache holds no valid token for the session.
    #[error(
        "`aws sso login` finished but no valid token for SSO session {session:?} is in the cache"
    )]
    NoFreshToken {
        /// The session (or legacy start URL) the token was expected for.
        session: String,
    },
    /// The session cannot be renewed without a browser (no refresh token, expired registration, legacy profile).
    #[error(
        "SSO session {session:?} cannot be renewed silently: {reason}; a browser login is needed"
    )]
    SilentRefreshUnavailable {
        /// The session (or legacy start URL).
        session: String,
        /// What is missing.
        reason: String,
    },
    /// The OIDC service refused or could not be reached.
    #[error(
        "silent renewal of SSO session {session:?} failed: {reason}; a browser login is needed"
    )]
    SilentRefreshFailed {
        /// The session.
        session: String,
        /// Why, without any token value.
        reason: String,
    },
    /// A file or process operation failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file, folder or program involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// Short alias used across the core.
pub type Result<T, E = Error> = std::result::Result<T, E>;

fn known_list(known: &[String]) -> String {
    if known.is_empty() {
        "none (no MCP client config with servers was found)".to_owned()
    } else {
        known.join(", ")
    }
}

fn unresolved_note(unresolved: &Option<String>) -> String {
    match unresolved {
        Some(raw) => {
            format!(" (it uses the placeholder {raw:?}, which only the client can resolve)")
        }
        None => String::new(),
    }
}

fn detail_suffix(detail: &Option<String>) -> String {
    match detail {
        Some(d) => format!(": {d}"),
        None => String::new(),
    }
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
