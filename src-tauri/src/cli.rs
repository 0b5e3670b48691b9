//! The command line: argument parsing and the terminal output of `status` and `refresh`.

use std::io::Write;
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
}

#[derive(Debug, Args)]
pub struct RefreshArgs {
    /// AWS profile to refresh.
    #[arg(
        long,
        value_name = "PROFILE",
        required_unless_present = "server",
        conflicts_with = "server"
    )]
    pub profile: Option<String>,
    /// MCP server whose AWS profile to refresh.
    #[arg(long, value_name = "SERVER")]
    pub server: Option<String>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
    /// Only renew with the cached refresh token; never open a browser (for scripts).
    #[arg(long)]
    pub silent_only: bool,
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
    let options = core::refresh::RefreshOptions {
        silent_only: args.silent_only,
        ..Default::default()
    };
    let reply = core::refresh::refresh(
        &ctx,
        args.profile.as_deref(),
        args.server.as_deref(),
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

fn write_table(out: &mut impl Write, inv: &Inventory, now: OffsetDateTime) -> std::io::Result<()> {
    let header = [
        "SERVER",
        "CLIENT",
        "SCOPE",
        "PROFILE",
        "SESSION",
        "EXPIRES IN",
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
    let widths: Vec<usize> = (0..6)
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

fn server_row(inv: &Inventory, s: &Server, now: OffsetDateTime) -> [String; 6] {
    let scope = match s.scope {
        clients::Scope::User => "user",
        clients::Scope::Project => "project",
        clients::Scope::Local => "local",
    };
    let (profile, session, expires) = match (&s.profile, &s.profile_unresolved) {
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
            )
        }
        (None, Some(raw)) => (
            format!("? {}", sanitize_label(raw)),
            "-".into(),
            "unresolved".into(),
        ),
        (None, None) => ("-".into(), "-".into(), "-".into()),
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
    ]
}

fn expiry_text(p: Option<&core::inventory::Profile>, now: OffsetDateTime) -> String {
    let Some(p) = p else { return "-".into() };
    let Some(token) = p.token else {
        return match p.kind {
            core::aws_config::ProfileKind::NotInConfig => "profile not in config".into(),
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
