use std::future::Future;
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;

use aws_sso_tray::cli::{self, Cli, Command, Mode};
use aws_sso_tray::core::{Context, Paths};

fn main() -> ExitCode {
    let args = Cli::parse();
    // Stdout belongs to the MCP protocol (and to command output): logs always go to stderr.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_env_filter(quiet_sdk(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        ))
        .init();
    match run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("aws-sso-tray: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Caps the AWS SDK's and its HTTP stack's logs at `warn` whatever RUST_LOG says: at debug and
/// trace they print request and response bodies, which carry tokens and client secrets.
fn quiet_sdk(mut filter: tracing_subscriber::EnvFilter) -> tracing_subscriber::EnvFilter {
    for target in aws_sso_tray::core::SECRET_BEARING_LOG_TARGETS {
        if let Ok(d) = format!("{target}=warn").parse() {
            filter = filter.add_directive(d);
        }
    }
    filter
}

fn run(args: Cli) -> anyhow::Result<ExitCode> {
    let ctx = Context::new(Paths::from_process_env());
    let command = match args.mode() {
        Mode::Tray { show } => return tray(ctx, show),
        Mode::Mcp => None,
        Mode::Command(c) => Some(c),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let logins = ctx.logins.clone();
    // A signal (Ctrl-C on `refresh`, SIGTERM from an MCP client) ends running sign-ins before exiting.
    let until_signal = |work| async {
        tokio::select! {
            result = work => result,
            signal = cli::shutdown_signal() => {
                logins.shutdown();
                Ok(ExitCode::from(u8::try_from(128 + signal).unwrap_or(1)))
            }
        }
    };
    let result = match command {
        None => runtime.block_on(until_signal(Box::pin(async {
            aws_sso_tray::mcp::serve(Arc::new(ctx))
                .await
                .map(|()| ExitCode::SUCCESS)
        })
            as Pin<Box<dyn Future<Output = anyhow::Result<ExitCode>>>>)),
        Some(Command::Status { json }) => cli::status(&ctx, json).map(|()| ExitCode::SUCCESS),
        Some(Command::Ensure(e)) => runtime.block_on(until_signal(Box::pin(async {
            cli::ensure(ctx, e).await.map(ExitCode::from)
        }))),
        Some(Command::Refresh(r)) => runtime.block_on(until_signal(Box::pin(async {
            cli::refresh(ctx, r).await.map(|ok| {
                if ok {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::FAILURE
                }
            })
        }))),
    };
    // Blocking stdin reads must not hold the process open after the protocol ended.
    runtime.shutdown_timeout(Duration::from_millis(100));
    result
}

#[cfg(feature = "desktop")]
fn tray(ctx: Context, show: bool) -> anyhow::Result<ExitCode> {
    aws_sso_tray::desktop::run(ctx, show)?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(not(feature = "desktop"))]
fn tray(_ctx: Context, _show: bool) -> anyhow::Result<ExitCode> {
    eprintln!("aws-sso-tray: this build has no tray (built without the `desktop` feature); use `--mcp`, `status` or `refresh`, see --help");
    Ok(ExitCode::from(2))
}
