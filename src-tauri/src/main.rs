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
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();
    match run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("aws-sso-tray: {e:#}");
            ExitCode::FAILURE
        }
    }
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
    let result = match command {
        None => runtime
            .block_on(aws_sso_tray::mcp::serve(Arc::new(ctx)))
            .map(|()| ExitCode::SUCCESS),
        Some(Command::Status { json }) => cli::status(&ctx, json).map(|()| ExitCode::SUCCESS),
        Some(Command::Refresh(r)) => runtime.block_on(cli::refresh(ctx, r)).map(|ok| {
            if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }),
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
