use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;

use aws_sso_tray::cli::{self, Cli, Command};
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
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let result = match (args.mcp, args.command) {
        (true, _) => runtime.block_on(aws_sso_tray::mcp::serve(Arc::new(ctx))).map(|()| ExitCode::SUCCESS),
        (false, Some(Command::Status { json })) => cli::status(&ctx, json).map(|()| ExitCode::SUCCESS),
        (false, Some(Command::Refresh(r))) => runtime
            .block_on(cli::refresh(ctx, r))
            .map(|ok| if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE }),
        (false, None) => {
            eprintln!(
                "aws-sso-tray: the tray is not available in this build yet; use `--mcp`, `status` or `refresh` (see --help)"
            );
            Ok(ExitCode::from(2))
        }
    };
    // Blocking stdin reads must not hold the process open after the protocol ended.
    runtime.shutdown_timeout(Duration::from_millis(100));
    result
}
