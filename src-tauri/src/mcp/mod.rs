//! `aws-sso-tray --mcp`: an MCP server on stdio over the shared core.

mod tools;

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use rmcp::ServiceExt;
use tokio::io::{AsyncRead, ReadBuf};
use tokio::sync::Notify;

pub use tools::AwsSsoServer;

use crate::core::{keep_alive, sso_cache, Context};

/// Serves MCP on stdin/stdout until the client goes away. When stdin ends, running logins are
/// killed at once instead of waiting for them: nobody is left to read their result.
pub async fn serve(ctx: Arc<Context>) -> anyhow::Result<()> {
    let eof = Arc::new(Notify::new());
    let stdin = EofSignal {
        inner: tokio::io::stdin(),
        eof: eof.clone(),
    };
    let service = AwsSsoServer::new(ctx.clone())
        .serve((stdin, tokio::io::stdout()))
        .await?;
    // Opt-in here: several clients may each run a server; they share renewals through the session lock.
    let keep_alive = ctx.settings.mcp_keep_alive.then(|| {
        let current = ctx.clone();
        tokio::spawn(keep_alive::run(move || Some(current.clone()), |event| match event {
            keep_alive::Event::Renewed { session, expires_at } => {
                tracing::info!(%session, expires_at = %sso_cache::format_time(expires_at), "session renewed")
            }
            keep_alive::Event::Failed { session, reason, gave_up } => tracing::warn!(%session, gave_up, "{reason}"),
        }))
    });
    let mut waiting = Box::pin(service.waiting());
    tokio::select! {
        quit = &mut waiting => { quit?; }
        () = eof.notified() => {
            tracing::debug!("stdin closed");
            ctx.logins.shutdown();
            // Let replies that are ready still go out, but never linger.
            let _ = tokio::time::timeout(Duration::from_millis(700), &mut waiting).await;
        }
    }
    if let Some(task) = keep_alive {
        task.abort();
    }
    ctx.logins.shutdown();
    Ok(())
}

/// Passes reads through and signals when the stream ends.
struct EofSignal<R> {
    inner: R,
    eof: Arc<Notify>,
}

impl<R: AsyncRead + Unpin> AsyncRead for EofSignal<R> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let poll = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = &poll {
            if buf.filled().len() == before && buf.remaining() > 0 {
                this.eof.notify_one();
            }
        }
        poll
    }
}
