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
    #[error("profile {} is not defined in {}", shown(.name), config.display())]
    ProfileNotFound {
        /// The profile asked for.
        name: String,
        /// The AWS config file that was read.
        config: PathBuf,
    },
    /// The profile exists but has nothing to do with IAM Identity Center.
    #[error("profile {} does not use AWS SSO (IAM Identity Center), so there is no SSO session to refresh", shown(.name))]
    NotSso {
        /// The profile asked for.
        name: String,
    },
    /// No MCP server of that name is configured in any client.
    #[error("no MCP server named {} was found; known servers: {}", shown(.name), known_list(.known))]
    ServerNotFound {
        /// The server asked for.
        name: String,
        /// The server names that do exist, sorted and deduplicated.
        known: Vec<String>,
    },
    /// The server exists but no AWS profile could be read from its configuration.
    #[error("MCP server {} ({config}) sets no AWS profile{}; pass the profile name instead", shown(.name), unresolved_note(.unresolved))]
    ServerWithoutProfile {
        /// The server asked for.
        name: String,
        /// Where the server is configured.
        config: String,
        /// A placeholder such as `${env:AWS_PROFILE}` that stood where a profile name would be.
        unresolved: Option<String>,
    },
    /// Servers of that name use different profiles and none is closer to the caller than the others.
    #[error("MCP server {} is configured with different profiles ({}); pass the profile name instead", shown(.name), .profiles.join(", "))]
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
    /// A sign-in needs the user, but no browser opened here and the caller could not show the link.
    #[error("the sign-in must be finished by the user, and there was no way to show it here (no browser opened); {finish}")]
    SignInNotShown {
        /// Where the user can finish it instead.
        finish: String,
    },
    /// The user declined to open the sign-in link the client showed them.
    #[error("the user declined the sign-in; the login was stopped")]
    SignInDeclined,
    /// The user did not finish the sign-in in time.
    #[error("the sign-in was not completed within {} s; the login was stopped", .0.as_secs())]
    LoginTimedOut(Duration),
    /// The CLI reported success but the token cache holds no valid token for the session.
    #[error(
        "`aws sso login` finished but no valid token for SSO session {} is in the cache",
        shown(.session)
    )]
    NoFreshToken {
        /// The session (or legacy start URL) the token was expected for.
        session: String,
    },
    /// The session cannot be renewed without a browser (no refresh token, expired registration, legacy profile).
    #[error(
        "SSO session {} cannot be renewed silently: {reason}; a browser login is needed",
        shown(.session)
    )]
    SilentRefreshUnavailable {
        /// The session (or legacy start URL).
        session: String,
        /// What is missing.
        reason: String,
    },
    /// The OIDC service refused or could not be reached.
    #[error(
        "silent renewal of SSO session {} failed: {reason}; a browser login is needed",
        shown(.session)
    )]
    SilentRefreshFailed {
        /// The session.
        session: String,
        /// Why, without any token value.
        reason: String,
    },
    /// A token would be written where another user could redirect or read it.
    #[error("refusing to write SSO tokens to {}: {reason}; make it yours and private (`chmod go-w` on it, `chown` to you) and try again", path.display())]
    UnsafeCacheFolder {
        /// The folder or file at fault.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Another refresh of the session holds its lock and did not finish in time.
    #[error("another refresh of SSO session {} is in progress; try again when it has finished", shown(.session))]
    RefreshInProgress {
        /// The session (or legacy start URL).
        session: String,
    },
    /// A sign-in for the session failed moments ago (possibly while this request waited for it);
    /// running another at once would only repeat it.
    #[error("the sign-in for SSO session {} failed {} s ago ({reason}); try again in {} s", shown(.session), .ago.as_secs(), .retry_in.as_secs().max(1))]
    RecentLoginFailed {
        /// The session (or legacy start URL).
        session: String,
        /// Why the earlier sign-in failed.
        reason: String,
        /// How long ago it failed.
        ago: Duration,
        /// When a new sign-in may start.
        retry_in: Duration,
    },
    /// The sign-out that starts a fresh session failed; nothing else was done.
    #[error("could not sign out of SSO session {} to start a fresh one: {reason}; the current session is unchanged", shown(.session))]
    SignOutFailed {
        /// The session (or legacy start URL).
        session: String,
        /// Why, in fixed words.
        reason: String,
    },
    /// The app is shutting down; no new sign-in starts.
    #[error("aws-sso-tray is shutting down; no sign-in was started")]
    ShuttingDown,
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

/// Longest name echoed back in a message; longer ones are cut (issue 12 #7: a 1 MiB name was
/// echoed whole into replies and logs).
const SHOWN_NAME_CHARS: usize = 80;

/// A name from the caller or from a file, quoted with control characters escaped and cut to a
/// readable length.
pub fn shown(name: &str) -> String {
    format!("\"{}\"", cut(name))
}

/// `name` cut to a readable length, control characters escaped, without quotes.
fn cut(name: &str) -> String {
    let mut out: String = name
        .chars()
        .take(SHOWN_NAME_CHARS)
        .collect::<String>()
        .escape_debug()
        .collect();
    if name.chars().nth(SHOWN_NAME_CHARS).is_some() {
        out.push('…');
    }
    out
}

fn known_list(known: &[String]) -> String {
    const MAX: usize = 50;
    if known.is_empty() {
        return "none (no MCP client config with servers was found)".to_owned();
    }
    let mut list: Vec<String> = known.iter().take(MAX).map(|n| cut(n)).collect();
    if known.len() > MAX {
        list.push(format!("and {} more", known.len() - MAX));
    }
    list.join(", ")
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
    /// The request itself cannot be met (an unknown or invalid name, a profile without SSO):
    /// asking again will not help until the request or the configuration changes.
    pub fn is_bad_request(&self) -> bool {
        matches!(
            self,
            Error::NothingNamed
                | Error::InvalidProfileName { .. }
                | Error::ProfileNotFound { .. }
                | Error::NotSso { .. }
                | Error::ServerNotFound { .. }
                | Error::ServerWithoutProfile { .. }
                | Error::AmbiguousServer { .. }
        )
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_huge_name_is_cut_and_escaped() {
        // Issue 12 #7: a 1 MiB server name was echoed whole into the reply and the log.
        let name = format!("a\u{1b}[2J{}", "x".repeat(1 << 20));
        let e = Error::ServerNotFound {
            name: name.clone(),
            known: vec![name; 200],
        };
        let text = e.to_string();
        assert!(text.len() < 6000, "{} bytes", text.len());
        assert!(
            text.starts_with("no MCP server named \"a\\u{1b}[2Jxxx"),
            "{}",
            &text[..60]
        );
        assert!(text.contains("…") && text.contains("and 150 more"));
        assert!(!text.contains('\u{1b}'));
    }
}
