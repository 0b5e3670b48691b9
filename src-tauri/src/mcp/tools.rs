//! The MCP tools: thin mappings from tool arguments to core calls and back.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rmcp::handler::server::{router::tool::ToolRouter, wrapper::Parameters};
use rmcp::model::{
    CallToolResult, ElicitationAction, Implementation, ProgressNotificationParam,
    ServerCapabilities, ServerConfig,
};
use rmcp::service::{ElicitationError, ElicitationMode, Peer, RequestContext};
use rmcp::{tool, tool_handler, tool_router, ErrorData as McpError, RoleServer, ServerHandler};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::core::error::shown;
use crate::core::login::DevicePrompt;
use crate::core::{self, Context, Error};

/// What the client shows the user beside the sign-in link (URL-mode elicitation). The link itself
/// goes only there: never into a reply, a progress message or a log line.
const SIGN_IN_MESSAGE: &str = "Sign in to AWS IAM Identity Center to renew the AWS session your \
agent's tools use. The page may ask you to confirm a code; it is filled in. The agent continues \
when the sign-in is done.";
/// How often a waiting refresh reports progress to a client that asked for it.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// Arguments of `refresh_aws_sso_token`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct RefreshArgs {
    /// AWS profile whose SSO session to refresh, as named in ~/.aws/config. Takes precedence over `server`.
    #[serde(default)]
    pub profile: Option<String>,
    /// Name of the MCP server whose AWS calls fail (the `<server>` in `mcp__<server>__<tool>`); its
    /// AWS profile is read from the MCP client configuration.
    #[serde(default)]
    pub server: Option<String>,
    /// Start a fresh sign-in session instead: sign out of the current one on the server, then sign
    /// in through the browser, so the session's full length starts now. The user loses the current
    /// session and must sign in: ask the user first, and use it before long work when the status
    /// shows `sessionEndsAt` is near.
    #[serde(default)]
    pub fresh: Option<bool>,
}

/// Arguments of `get_aws_sso_status`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct StatusArgs {
    /// Only this AWS profile (and the servers that use it).
    #[serde(default)]
    pub profile: Option<String>,
    /// Only MCP servers with this name (and their profiles).
    #[serde(default)]
    pub server: Option<String>,
}

const REFRESH: &str = "Refresh an expired AWS IAM Identity Center (SSO) session so AWS tools work again. \
Call this when an AWS call or another MCP server's tool fails with an SSO error such as \"Token has expired and refresh failed\", \
\"The SSO session associated with this profile has expired\" or \"Error when retrieving token from sso\". \
Pass `server` (the name of the failing MCP server) or `profile` (an AWS profile name); never call it with neither. \
When the session has a refresh token it is renewed silently; otherwise it starts `aws sso login`: a browser window \
opens on the user's machine and the user must finish the sign-in there (up to two minutes), so tell the user before calling. \
The reply's `method` says which happened (`refresh_token` or `browser`) and `sessionEndsAt` when a browser sign-in \
will be needed again. On success, retry the failed call once. On failure, report the message to the user and do not \
call again in a loop. With `fresh: true` (only after asking the user) it signs out first so a new full-length session starts.";

const STATUS: &str = "Show which MCP servers use which AWS profiles, each profile's SSO session, and whether its token \
is valid, expiring, expired or missing (with the expiry time). Read-only and fast; no browser. \
`token.expiresAt` is the short-lived access token, which is renewed silently when `refreshable`; `token.sessionEndsAt` \
is when a browser sign-in will be needed (estimated when `sessionEndsAtEstimated`). Call this before starting long \
work: if `sessionEndsAt` falls before the work would end, ask the user to start a fresh session \
(refresh_aws_sso_token with `fresh: true`) first. Also use it to find the right profile before a refresh.";

/// The MCP server over the shared core.
#[derive(Clone)]
pub struct AwsSsoServer {
    ctx: Arc<Context>,
    tool_router: ToolRouter<Self>,
}

#[tool_router]
impl AwsSsoServer {
    pub fn new(ctx: Arc<Context>) -> Self {
        AwsSsoServer {
            ctx,
            tool_router: Self::tool_router(),
        }
    }

    #[tool(description = REFRESH, annotations(title = "Refresh AWS SSO token", read_only_hint = false, open_world_hint = true))]
    async fn refresh_aws_sso_token(
        &self,
        Parameters(RefreshArgs {
            profile,
            server,
            fresh,
        }): Parameters<RefreshArgs>,
        request: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, McpError> {
        tracing::info!(
            profile = profile.as_deref().map(shown),
            server = server.as_deref().map(shown),
            "refresh_aws_sso_token"
        );
        let mut options = core::refresh::RefreshOptions {
            fresh: fresh.unwrap_or(false),
            ..Default::default()
        };
        // A client that can show a link to its user (URL-mode elicitation) gets the sign-in link
        // when no browser opened it; any other client gets a reply saying where to finish.
        options.login.stop_unseen = true;
        let peer = request.peer.clone();
        let (links, mut prompts) = tokio::sync::mpsc::unbounded_channel::<DevicePrompt>();
        if peer
            .supported_elicitation_modes()
            .contains(&ElicitationMode::Url)
        {
            options.login.on_prompt = Some(Arc::new(move |p: DevicePrompt| {
                let _ = links.send(p);
            }));
        }
        let (answered, mut answers) = tokio::sync::mpsc::unbounded_channel();
        let timeout = self.ctx.settings.login_timeout();
        let progress = request.meta.get_progress_token();
        let started = tokio::time::Instant::now();
        let mut tick = tokio::time::interval_at(started + PROGRESS_EVERY, PROGRESS_EVERY);
        let refresh =
            core::refresh::refresh(&self.ctx, profile.as_deref(), server.as_deref(), options);
        tokio::pin!(refresh);
        // Dropping the refresh (cancelled, declined) ends its sign-in, the whole process group,
        // and releases the session's locks.
        let stopped =
            |e: Error| core::refresh::stopped(&self.ctx, profile.as_deref(), server.as_deref(), e);
        let reply = loop {
            tokio::select! {
                reply = &mut refresh => break reply,
                Some(prompt) = prompts.recv() => {
                    if !prompt.opened {
                        tokio::spawn(elicit_sign_in(peer.clone(), prompt, timeout, answered.clone()));
                    }
                }
                Some(answer) = answers.recv() => match answer {
                    // Opened: the sign-in finishes on its own; keep waiting for it.
                    Ok(ElicitationAction::Accept) => {}
                    Ok(_) => {
                        tracing::info!("the user declined the sign-in link");
                        break Ok(stopped(Error::SignInDeclined));
                    }
                    Err(e) => {
                        tracing::warn!("the client could not show the sign-in link ({})", elicitation_failure(&e));
                        break Ok(stopped(Error::SignInNotShown { finish: String::new() }));
                    }
                },
                _ = tick.tick(), if progress.is_some() => {
                    if let Some(token) = progress.clone() {
                        let waited = started.elapsed().as_secs_f64().floor();
                        let note = ProgressNotificationParam::new(token, waited)
                            .with_total(timeout.as_secs_f64())
                            .with_message("Waiting for the AWS sign-in to finish");
                        let _ = peer.notify_progress(note).await;
                    }
                }
                () = request.ct.cancelled() => {
                    tracing::info!("refresh cancelled by the client");
                    return Err(McpError::invalid_request("the request was cancelled", None));
                }
            }
        }
        .map_err(|e| McpError::invalid_params(format!("{e}: pass `profile` or `server`"), None))?;
        if !reply.success {
            tracing::warn!(message = %reply.message, "refresh failed");
        }
        let value = serde_json::to_value(&reply)
            .map_err(|e| McpError::internal_error(e.to_string(), None))?;
        Ok(if reply.success {
            CallToolResult::structured(value)
        } else {
            CallToolResult::structured_error(value)
        })
    }

    #[tool(description = STATUS, annotations(title = "AWS SSO status", read_only_hint = true, open_world_hint = false))]
    async fn get_aws_sso_status(
        &self,
        Parameters(StatusArgs { profile, server }): Parameters<StatusArgs>,
    ) -> Result<CallToolResult, McpError> {
        let ctx = self.ctx.clone();
        let inventory = tokio::task::spawn_blocking(move || ctx.inventory())
            .await
            .map_err(|e| McpError::internal_error(e.to_string(), None))?;
        let view = inventory.filtered(profile.as_deref(), server.as_deref());
        let value = serde_json::to_value(&view)
            .map_err(|e| McpError::internal_error(e.to_string(), None))?;
        Ok(CallToolResult::structured(value))
    }
}

/// Asks the client to show the sign-in link to its user, and passes on the answer.
async fn elicit_sign_in(
    peer: Peer<RoleServer>,
    prompt: DevicePrompt,
    timeout: Duration,
    answer: tokio::sync::mpsc::UnboundedSender<Result<ElicitationAction, ElicitationError>>,
) {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let id = format!("aws-sso-sign-in-{}", NEXT.fetch_add(1, Ordering::Relaxed));
    let result = match url::Url::parse(&prompt.url) {
        Ok(link) => {
            peer.elicit_url_with_timeout(SIGN_IN_MESSAGE, link, id, Some(timeout))
                .await
        }
        Err(_) => Err(ElicitationError::CapabilityNotSupported),
    };
    let _ = answer.send(result);
}

/// Why an elicitation failed, in words that cannot carry the link.
fn elicitation_failure(e: &ElicitationError) -> &'static str {
    match e {
        ElicitationError::CapabilityNotSupported => "it does not take links",
        ElicitationError::UserDeclined | ElicitationError::UserCancelled => "declined",
        _ => "the request failed",
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for AwsSsoServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("aws-sso-tray", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "Recovers AWS SSO sessions for the user's MCP servers. When an AWS tool fails because the SSO \
                 token expired, call refresh_aws_sso_token with the failing server's name.",
            )
    }
}
