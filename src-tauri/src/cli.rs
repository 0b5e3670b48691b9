//! The command line: argument parsing and the terminal output of `status` and `refresh`.

use std::io::{IsTerminal, Write};
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use time::OffsetDateTime;

use crate::core::inventory::{Inventory, Server};
use crate::core::label::sanitize_label;
use crate::core::sso_cache::TokenState;
use crate::core::{self, clients, Context};

/// Shows which MCP servers use which AWS SSO sessions, warns before they expire, and refreshes them.
#[derive(Debug, Parser)]
#[command(name = "aws-sso-tray", version, about, long_about = None, args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// Serve the Model Context Protocol on stdin/stdout (for MCP clients).
    #[arg(long)]
    pub mcp: bool,
    /// Start the tray with its window open (or open the window of the running tray).
    #[arg(long, conflicts_with = "mcp")]
    pub show: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// What the process runs as.
#[derive(Debug)]
pub enum Mode {
    Tray { show: bool },
    Mcp,
    Command(Command),
}

impl Cli {
    pub fn mode(self) -> Mode {
        match (self.mcp, self.command) {
            (true, _) => Mode::Mcp,
            (false, Some(c)) => Mode::Command(c),
            (false, None) => Mode::Tray { show: self.show },
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List MCP servers, their AWS profiles and when each SSO token expires.
    Status {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Log in again (`aws sso login`) for a profile, or for the profile an MCP server uses.
    Refresh(RefreshArgs),
    /// Make sure a session is valid, for scripts and agents: exit 0 at once when it is; renew it
    /// silently or sign in when not. Exit codes: 0 valid, 1 could not be made valid, 2 bad request.
    Ensure(EnsureArgs),
}

/// Which session a command is about: a profile's, or the profile an MCP server uses.
#[derive(Debug, Args)]
pub struct Target {
    /// AWS profile (as named in the AWS config).
    #[arg(
        long,
        value_name = "PROFILE",
        required_unless_present = "server",
        conflicts_with = "server"
    )]
    pub profile: Option<String>,
    /// MCP server whose AWS profile is meant.
    #[arg(long, value_name = "SERVER")]
    pub server: Option<String>,
}

#[derive(Debug, Args)]
pub struct EnsureArgs {
    #[command(flatten)]
    pub target: Target,
    /// Print the result as JSON on stdout (otherwise stdout stays empty).
    #[arg(long)]
    pub json: bool,
    /// Seconds to wait for a browser sign-in (default: settings, else 120).
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: Option<u64>,
}

/// `ensure`'s exit codes.
pub mod exit {
    /// The session is valid (it was, or it was renewed or signed in).
    pub const VALID: u8 = 0;
    /// It could not be made valid: the sign-in failed, timed out or was refused.
    pub const NOT_VALID: u8 = 1;
    /// The request cannot be met: unknown or invalid profile or server, a profile without SSO.
    pub const BAD_REQUEST: u8 = 2;
}

#[derive(Debug, Args)]
pub struct RefreshArgs {
    #[command(flatten)]
    pub target: Target,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
    /// Only renew with the cached refresh token; never open a browser (for scripts).
    #[arg(long, conflicts_with = "fresh")]
    pub silent_only: bool,
    /// Start a fresh sign-in session: sign out of the current one on the server, then sign in, so
    /// the session's full length starts now (before long work). The current session is lost.
    #[arg(long)]
    pub fresh: bool,
    /// Seconds to wait for the browser sign-in (default: settings, else 120).
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: Option<u64>,
}

/// `aws-sso-tray status`.
pub fn status(ctx: &Context, json: bool) -> anyhow::Result<()> {
    let inventory = ctx.inventory();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if json {
        serde_json::to_writer_pretty(&mut out, &inventory)?;
        writeln!(out)?;
    } else {
        write_table(&mut out, &inventory, OffsetDateTime::now_utc())?;
    }
    out.flush()?;
    for d in &inventory.diagnostics {
        let line = d.line.map(|l| format!(":{l}")).unwrap_or_default();
        eprintln!(
            "warning: {}{line}: {}",
            sanitize_label(&d.path.display().to_string()),
            sanitize_label(&d.message)
        );
    }
    Ok(())
}

/// `aws-sso-tray refresh`. Returns whether it succeeded.
pub async fn refresh(mut ctx: Context, args: RefreshArgs) -> anyhow::Result<bool> {
    if let Some(secs) = args.timeout {
        ctx.settings.login_timeout_seconds = secs;
    }
    let ctx = Arc::new(ctx);
    let mut options = core::refresh::RefreshOptions {
        silent_only: args.silent_only,
        fresh: args.fresh,
        ..Default::default()
    };
    // The person at the terminal gets the sign-in link (stdout stays the reply).
    if std::io::stderr().is_terminal() {
        options.login.on_prompt = Some(terminal_prompt());
        options.login.on_code = Some(terminal_code());
    }
    // Into a pipe, with no browser to open the link, nobody can finish the sign-in: say where
    // to finish it at once instead of waiting out the timeout.
    options.login.stop_unseen = true;
    // Said right before it happens (and only if it does): the current session is lost.
    options.on_sign_out = Some(Arc::new(|| {
        eprintln!(
            "aws-sso-tray: signing out of the current SSO session on the server, then signing in again through the browser; the new session's full length starts now"
        );
    }));
    let reply = core::refresh::refresh(
        &ctx,
        args.target.profile.as_deref(),
        args.target.server.as_deref(),
        options,
    )
    .await
    .context("nothing to refresh")?;
    if args.json {
        let mut out = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut out, &reply)?;
        writeln!(out)?;
    } else if reply.success {
        writeln!(
            std::io::stdout().lock(),
            "{}",
            sanitize_label(&reply.message)
        )?;
    } else {
        eprintln!("aws-sso-tray: {}", sanitize_label(&reply.message));
    }
    Ok(reply.success)
}

/// Waits for SIGTERM, SIGINT (Ctrl-C) or SIGHUP (Ctrl-C / Ctrl-Break on Windows) and returns its
/// number, so the process can end its sign-ins and exit with 128 + that number.
pub async fn shutdown_signal() -> i32 {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let kinds = [
            (SignalKind::terminate(), libc::SIGTERM),
            (SignalKind::interrupt(), libc::SIGINT),
            (SignalKind::hangup(), libc::SIGHUP),
        ];
        let mut streams = Vec::new();
        for (kind, number) in kinds {
            match signal(kind) {
                Ok(s) => streams.push((s, number)),
                Err(e) => tracing::warn!("cannot watch signal {number}: {e}"),
            }
        }
        if streams.is_empty() {
            return std::future::pending().await;
        }
        let waits = streams.iter_mut().map(|(s, n)| {
            let n = *n;
            Box::pin(async move {
                s.recv().await;
                n
            })
        });
        futures_select_all(waits).await
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        2
    }
}

/// The first of several futures to finish.
#[cfg(unix)]
async fn futures_select_all<F: std::future::Future<Output = i32> + Unpin>(
    futures: impl Iterator<Item = F>,
) -> i32 {
    let mut futures: Vec<F> = futures.collect();
    std::future::poll_fn(move |cx| {
        for f in &mut futures {
            if let std::task::Poll::Ready(n) = std::pin::Pin::new(f).poll(cx) {
                return std::task::Poll::Ready(n);
            }
        }
        std::task::Poll::Pending
    })
    .await
}

/// Shows a sign-in prompt on stderr: where to finish, or that the browser has the page.
fn terminal_prompt() -> core::login::PromptSink {
    Arc::new(|p: core::login::DevicePrompt| {
        if p.opened {
            eprintln!(
                "aws-sso-tray: the sign-in page is open in your browser; finish the sign-in there."
            );
        } else if p.needs_code {
            eprintln!(
                "aws-sso-tray: to sign in, open this link in a browser (any device):\n  {}\nThen paste the code the browser shows at the end, and press Enter:",
                sanitize_label(&p.url)
            );
        } else if p.code.is_empty() {
            eprintln!(
                "aws-sso-tray: to sign in, open this link in a browser on this machine:\n  {}",
                sanitize_label(&p.url)
            );
        } else {
            eprintln!(
                "aws-sso-tray: to sign in, open this link in a browser (any device):\n  {}\n  code: {}",
                sanitize_label(&p.url),
                sanitize_label(&p.code)
            );
        }
    })
}

/// The code a remote console sign-in ends with, typed or pasted by the person at the terminal:
/// a line from stdin when it is a terminal, else from the controlling terminal.
fn terminal_code() -> core::login::CodeSource {
    Arc::new(|| {
        Box::pin(async {
            tokio::task::spawn_blocking(|| {
                use std::io::BufRead;
                let mut line = String::new();
                let read = if std::io::stdin().is_terminal() {
                    std::io::stdin().lock().read_line(&mut line)
                } else {
                    std::fs::File::open("/dev/tty")
                        .and_then(|tty| std::io::BufReader::new(tty).read_line(&mut line))
                };
                read.ok().filter(|n| *n > 0).map(|_| line)
            })
            .await
            .ok()
            .flatten()
        })
    })
}

/// `aws-sso-tray ensure`. Returns the exit code.
pub async fn ensure(mut ctx: Context, args: EnsureArgs) -> anyhow::Result<u8> {
    if let Some(secs) = args.timeout {
        ctx.settings.login_timeout_seconds = secs;
    }
    let ctx = Arc::new(ctx);
    // Run for a person (a terminal, or a tool that shows the output, such as Claude Code's
    // awsAuthRefresh): the sign-in link goes to stderr.
    let mut options = core::refresh::RefreshOptions::default();
    options.login.on_prompt = Some(terminal_prompt());
    options.login.on_code = Some(terminal_code());
    let result = core::refresh::ensure(
        &ctx,
        args.target.profile.as_deref(),
        args.target.server.as_deref(),
        options,
    )
    .await;
    let (code, value) = match result {
        Ok(
            core::refresh::Ensured::AlreadyValid(reply) | core::refresh::Ensured::Refreshed(reply),
        ) => {
            let code = if reply.success {
                exit::VALID
            } else {
                exit::NOT_VALID
            };
            let mut v = serde_json::to_value(&reply)?;
            if let Some(obj) = v.as_object_mut() {
                obj.remove("success");
                obj.insert("valid".into(), reply.success.into());
            }
            if !reply.success {
                eprintln!("aws-sso-tray: {}", sanitize_label(&reply.message));
            }
            (code, v)
        }
        Err(e) => {
            let code = if e.is_bad_request() {
                exit::BAD_REQUEST
            } else {
                exit::NOT_VALID
            };
            eprintln!("aws-sso-tray: {}", sanitize_label(&e.to_string()));
            (
                code,
                serde_json::json!({"valid": false, "message": e.to_string()}),
            )
        }
    };
    if args.json {
        let mut out = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut out, &value)?;
        writeln!(out)?;
    }
    Ok(code)
}

fn write_table(out: &mut impl Write, inv: &Inventory, now: OffsetDateTime) -> std::io::Result<()> {
    let header = [
        "SERVER",
        "CLIENT",
        "SCOPE",
        "PROFILE",
        "SESSION",
        "EXPIRES IN",
        "SIGN-IN NEEDED",
    ]
    .map(String::from);
    let mut rows = vec![header];
    for s in &inv.servers {
        rows.push(server_row(inv, s, now));
    }
    if inv.servers.is_empty() {
        writeln!(out, "No MCP servers found in any client configuration.")?;
        return Ok(());
    }
    let widths: Vec<usize> = (0..7)
        .map(|i| {
            rows.iter()
                .map(|r| r.get(i).map_or(0, |c| c.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in rows {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        writeln!(out, "{}", line.join("  ").trim_end())?;
    }
    Ok(())
}

fn server_row(inv: &Inventory, s: &Server, now: OffsetDateTime) -> [String; 7] {
    let scope = match s.scope {
        clients::Scope::User => "user",
        clients::Scope::Project => "project",
        clients::Scope::Local => "local",
    };
    let (profile, session, expires, sign_in) = match (&s.profile, &s.profile_unresolved) {
        (Some(name), _) => {
            let p = inv.profile(name);
            // A legacy profile has no session name: its start URL stands for the session.
            let session = p
                .and_then(|p| {
                    p.sso_session
                        .clone()
                        .or(p.start_url.clone())
                        .or(p.source_profile.clone())
                })
                .unwrap_or_else(|| "-".into());
            // Every profile the server may use, the default first.
            let names = if s.profiles.len() > 1 {
                s.profiles.join(", ")
            } else {
                name.clone()
            };
            (
                sanitize_label(&names),
                sanitize_label(&session),
                expiry_text(p, now),
                sign_in_text(p.and_then(|p| p.token), now),
            )
        }
        (None, Some(raw)) => (
            format!("? {}", sanitize_label(raw)),
            "-".into(),
            "unresolved".into(),
            "-".into(),
        ),
        (None, None) => ("-".into(), "-".into(), "-".into(), "-".into()),
    };
    let name = if s.enabled {
        sanitize_label(&s.name)
    } else {
        format!("{} (disabled)", sanitize_label(&s.name))
    };
    [
        name,
        clients::client_name(s.client).to_owned(),
        scope.to_owned(),
        profile,
        session,
        expires,
        sign_in,
    ]
}

/// When a browser sign-in will be needed, in local time: `≈ 17:40` for an estimate, with the
/// date when it is not within a day; `now` once due.
fn sign_in_text(token: Option<core::inventory::Token>, now: OffsetDateTime) -> String {
    let Some(end) = token.and_then(|t| t.session_ends_at.map(|e| (e, t.session_ends_at_estimated)))
    else {
        return "-".into();
    };
    let (at, estimated) = end;
    if at <= now {
        return "now".into();
    }
    let offset = time::UtcOffset::current_local_offset().unwrap_or(time::UtcOffset::UTC);
    let local = at.checked_to_offset(offset).unwrap_or(at);
    let approx = if estimated { "≈ " } else { "" };
    if at - now < time::Duration::days(1) {
        format!("{approx}{:02}:{:02}", local.hour(), local.minute())
    } else {
        format!(
            "{approx}{}-{:02}-{:02} {:02}:{:02}",
            local.year(),
            u8::from(local.month()),
            local.day(),
            local.hour(),
            local.minute()
        )
    }
}

fn expiry_text(p: Option<&core::inventory::Profile>, now: OffsetDateTime) -> String {
    let Some(p) = p else { return "-".into() };
    let Some(token) = p.token else {
        return match p.kind {
            core::aws_config::ProfileKind::NotInConfig => "profile not in config".into(),
            core::aws_config::ProfileKind::Login => "console sign-in".into(),
            _ => "not SSO".into(),
        };
    };
    match (token.state, token.expires_at) {
        (TokenState::Missing, _) | (_, None) => "never logged in".into(),
        (TokenState::Expired, _) => "expired".into(),
        (state, Some(at)) => {
            let mins = (at - now).whole_minutes().max(0);
            let left = if mins >= 60 {
                format!("{}h {:02}m", mins / 60, mins % 60)
            } else {
                format!("{mins} min")
            };
            if state == TokenState::Expiring {
                format!("{left} (expiring)")
            } else {
                left
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn arguments_are_consistent() {
        Cli::command().debug_assert();
        assert!(
            Cli::try_parse_from(["aws-sso-tray", "refresh"]).is_err(),
            "a target is required"
        );
        assert!(Cli::try_parse_from([
            "aws-sso-tray",
            "refresh",
            "--profile",
            "a",
            "--server",
            "b"
        ])
        .is_err());
        assert!(Cli::try_parse_from(["aws-sso-tray", "--mcp", "status"]).is_err());
        for ok in [
            &[
                "aws-sso-tray",
                "refresh",
                "--profile",
                "a",
                "--json",
                "--timeout",
                "5",
            ][..],
            &["aws-sso-tray", "refresh", "--server", "kb", "--silent-only"][..],
        ] {
            assert!(Cli::try_parse_from(ok).is_ok(), "{ok:?}");
        }
    }
}
