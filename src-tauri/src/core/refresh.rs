//! Refreshing a profile's SSO session on request: resolve the profile (given, or found through an
//! MCP server's config), check it, run the login, and report the new expiry.

use serde::Serialize;
use time::OffsetDateTime;

use std::sync::Arc;

use crate::core::aws_config::{self, AwsConfig, ProfileInfo, ProfileKind};
use crate::core::clients;
use crate::core::error::{Error, Result};
use crate::core::inventory::Server;
use crate::core::login::{LoginOptions, LoginOutcome, LoginTarget};
use crate::core::login_cache;
use crate::core::session_log::SessionLog;
use crate::core::silent_refresh;
use crate::core::sso_cache::{self, TokenState};
use crate::core::Context;

/// Where the profile name came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProfileOrigin {
    /// Named by the caller.
    Parameter,
    /// Read from the named MCP server's configuration.
    McpConfig,
}

/// How the session was renewed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// With the cached refresh token, no browser.
    RefreshToken,
    /// With `aws sso login` and a browser sign-in.
    Browser,
}

/// What the caller allows.
#[derive(Clone, Default)]
pub struct RefreshOptions {
    /// Never run a login; fail when the refresh token cannot be used.
    pub silent_only: bool,
    /// Start a fresh sign-in session: sign out on the server, then sign in through the browser,
    /// so the session's full length starts now. The current session is lost.
    pub fresh: bool,
    /// Called right before the sign-out of a fresh session, to say what is about to happen.
    pub on_sign_out: Option<Arc<dyn Fn() + Send + Sync>>,
    /// How to run the login when one is needed (its timeout is taken from the settings).
    pub login: LoginOptions,
}

/// The answer to a refresh request, in the shape agents already rely on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RefreshReply {
    pub success: bool,
    pub profile: Option<String>,
    pub profile_source: Option<ProfileOrigin>,
    pub sso_session: Option<String>,
    /// When the new token expires (RFC 3339, UTC).
    pub expires_at: Option<String>,
    /// How it was renewed (absent on failure).
    pub method: Option<Method>,
    /// When a browser sign-in will be needed again (RFC 3339, UTC), when known.
    pub session_ends_at: Option<String>,
    /// `sessionEndsAt` is an estimate (recorded sign-in plus the configured session length).
    pub session_ends_at_estimated: bool,
    pub message: String,
    /// For a refresh by server: the config file of the entry that was used (a name can exist in
    /// several clients and files).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_path: Option<String>,
    /// For a refresh by server that may use several profiles: the profile renewed for each
    /// distinct session, the default first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub profiles: Vec<String>,
}

/// Refreshes the SSO session behind `profile`, or behind the profile of MCP server `server`.
/// `profile` wins when both are given. `Err` only for a request that names nothing.
pub async fn refresh(
    ctx: &Arc<Context>,
    profile: Option<&str>,
    server: Option<&str>,
    options: RefreshOptions,
) -> Result<RefreshReply> {
    let profile = profile.map(str::trim).filter(|p| !p.is_empty());
    let server = server.map(str::trim).filter(|s| !s.is_empty());
    match (profile, server) {
        (Some(p), _) => Ok(refresh_one(ctx, p, ProfileOrigin::Parameter, options).await),
        (None, Some(s)) => Ok(refresh_server(ctx, s, options).await),
        (None, None) => Err(Error::NothingNamed),
    }
}

async fn refresh_one(
    ctx: &Arc<Context>,
    name: &str,
    origin: ProfileOrigin,
    options: RefreshOptions,
) -> RefreshReply {
    let mut reply = match refresh_profile(ctx, name, options).await {
        Ok(r) => r,
        Err(e) => {
            let mut reply = failure(Some(name), Some(origin), &e);
            let n = name.to_owned();
            reply.sso_session = blocking(ctx, move |ctx| {
                Ok(AwsConfig::load_all(&ctx.paths, &mut Vec::new())
                    .profile(&n)
                    .sso_session)
            })
            .await
            .unwrap_or_default();
            reply
        }
    };
    reply.profile_source = Some(origin);
    reply
}

/// Refreshes every distinct session among the profiles the server may use, the default first.
async fn refresh_server(ctx: &Arc<Context>, server: &str, options: RefreshOptions) -> RefreshReply {
    let found = {
        let s = server.to_owned();
        match blocking(ctx, move |ctx| profile_of_server(&ctx, &s)).await {
            Ok(f) => f,
            Err(e) => return failure(None, None, &e),
        }
    };
    let config_path = found.config_path.display().to_string();
    // One refresh per session: profiles sharing a token share a sign-in.
    let sorted = {
        let profiles = found.profiles.clone();
        blocking(ctx, move |ctx| {
            let config = AwsConfig::load_all(&ctx.paths, &mut Vec::new());
            let mut seen_keys: Vec<String> = Vec::new();
            let mut targets: Vec<String> = Vec::new();
            let mut not_sso: Vec<String> = Vec::new();
            for p in profiles {
                let info = config.profile(&p);
                match info.cache_key() {
                    Some(key) if seen_keys.iter().any(|k| k == key) => continue,
                    Some(key) => seen_keys.push(key.to_owned()),
                    // Static keys and the like need no sign-in: left out when an SSO profile is there.
                    None => {
                        not_sso.push(p);
                        continue;
                    }
                }
                targets.push(p);
            }
            Ok((targets, not_sso))
        })
        .await
    };
    let (mut targets, mut not_sso) = match sorted {
        Ok(t) => t,
        Err(e) => return failure(None, None, &e),
    };
    if targets.is_empty() {
        // Nothing to sign in to: the first profile's refusal says why.
        targets = not_sso.drain(..).take(1).collect();
    }
    let mut replies = Vec::new();
    for p in &targets {
        replies.push(refresh_one(ctx, p, ProfileOrigin::McpConfig, options.clone()).await);
    }
    let mut first = match replies.first() {
        Some(r) if replies.len() == 1 => r.clone(),
        Some(r) => {
            let all_ok = replies.iter().all(|r| r.success);
            let parts: Vec<String> = replies
                .iter()
                .map(|r| format!("[{}] {}", r.profile.as_deref().unwrap_or("?"), r.message))
                .collect();
            RefreshReply {
                success: all_ok,
                // The earliest expiry is the one that matters next.
                expires_at: if all_ok {
                    replies.iter().filter_map(|r| r.expires_at.clone()).min()
                } else {
                    None
                },
                message: format!(
                    "MCP server {server:?} may use {} profiles with {} distinct SSO sessions; {}: {}",
                    found.profiles.len(),
                    replies.len(),
                    if all_ok {
                        "each was renewed"
                    } else {
                        "not every one could be renewed"
                    },
                    parts.join(" ")
                ),
                method: if all_ok { r.method } else { None },
                ..r.clone()
            }
        }
        None => failure(None, None, &Error::NothingNamed),
    };
    if targets.len() > 1 {
        first.profiles = targets.clone();
    }
    if !not_sso.is_empty() {
        first.message.push_str(&format!(
            " (not renewed, as they do not use SSO: {})",
            not_sso.join(", ")
        ));
    }
    first.config_path = Some(config_path);
    first
}

/// What [`ensure`] found or did.
#[derive(Debug)]
pub enum Ensured {
    /// Valid beyond the threshold; nothing was run. In the shape of a successful refresh.
    AlreadyValid(RefreshReply),
    /// Renewed silently or signed in (the reply says which).
    Refreshed(RefreshReply),
}

/// Makes sure the session behind `profile` (or behind MCP server `server`'s profile) is valid
/// beyond the expiring threshold: at once when it is, else renewed silently when possible, else
/// one browser sign-in shared by every parallel caller. `Err` for a request that cannot be met.
pub async fn ensure(
    ctx: &Arc<Context>,
    profile: Option<&str>,
    server: Option<&str>,
    options: RefreshOptions,
) -> Result<Ensured> {
    let profile = profile.map(str::trim).filter(|p| !p.is_empty());
    let server = server.map(str::trim).filter(|s| !s.is_empty());
    let (name, config_path) = match (profile, server) {
        (Some(p), _) => (p.to_owned(), None),
        (None, Some(s)) => {
            let s = s.to_owned();
            // The profile its AWS calls use by default.
            let found = blocking(ctx, move |ctx| profile_of_server(&ctx, &s)).await?;
            let config = found.config_path.display().to_string();
            let first = found
                .profiles
                .into_iter()
                .next()
                .ok_or(Error::NothingNamed)?;
            (first, Some(config))
        }
        (None, None) => return Err(Error::NothingNamed),
    };
    let (plan, status, end) = {
        let name = name.clone();
        blocking(ctx, move |ctx| {
            let plan = plan(&ctx, &name)?;
            let threshold = ctx.settings.expiring_threshold();
            let mut status = if plan.info.kind == ProfileKind::Login {
                login_cache::read_status(&ctx.paths, &plan.key, now(), threshold, &mut Vec::new())
            } else {
                sso_cache::read_status(
                    &ctx.paths.sso_cache_dir(),
                    &plan.key,
                    now(),
                    threshold,
                    &mut Vec::new(),
                )
            };
            // A console session's short-lived credentials are renewed by the AWS CLI and SDKs
            // themselves, on use, while its refresh token lasts.
            if plan.info.kind == ProfileKind::Login && status.refreshable {
                status.state = TokenState::Valid;
            }
            let length = ctx.settings.session_length(&plan.key);
            let end = SessionLog::load(&ctx.paths).end_of(&plan.key, length);
            Ok((plan, status, end))
        })
        .await?
    };
    if let (TokenState::Valid, Some(expires_at), false) =
        (status.state, status.expires_at, options.fresh)
    {
        let refreshable = status.refreshable && plan.info.renewable();
        let (session_ends_at, estimated) = match (refreshable, end) {
            (false, _) => (Some(expires_at), false),
            (true, Some(end)) => (Some(end.at), end.estimated),
            (true, None) => (None, false),
        };
        return Ok(Ensured::AlreadyValid(RefreshReply {
            success: true,
            profile: Some(name),
            profile_source: Some(match profile {
                Some(_) => ProfileOrigin::Parameter,
                None => ProfileOrigin::McpConfig,
            }),
            sso_session: plan.info.sso_session,
            expires_at: Some(sso_cache::format_time(expires_at)),
            method: None,
            session_ends_at: session_ends_at.map(sso_cache::format_time),
            session_ends_at_estimated: estimated,
            message: "The session is valid; nothing was done.".into(),
            config_path,
            profiles: Vec::new(),
        }));
    }
    refresh_profile(ctx, &name, options)
        .await
        .map(Ensured::Refreshed)
}

/// Runs file work (discovery, config and cache reads, writes) off the async runtime, which may
/// be the MCP server's single thread.
async fn blocking<T: Send + 'static>(
    ctx: &Arc<Context>,
    work: impl FnOnce(Arc<Context>) -> Result<T> + Send + 'static,
) -> Result<T> {
    let ctx = ctx.clone();
    tokio::task::spawn_blocking(move || work(ctx))
        .await
        .map_err(|e| Error::io("(background task)", std::io::Error::other(e.to_string())))?
}

/// What a refresh of one profile will do, read from the AWS config.
struct Plan {
    info: ProfileInfo,
    target: LoginTarget,
    key: String,
}

fn plan(ctx: &Context, name: &str) -> Result<Plan> {
    aws_config::validate_name(name)?;
    let config = AwsConfig::load_all(&ctx.paths, &mut Vec::new());
    let info = config.profile(name);
    // `aws sso login` would only fail later, after starting: refuse before running it.
    if let Some(session) = info
        .sso_session
        .as_deref()
        .filter(|s| !config.has_session(s))
    {
        return Err(Error::MissingSsoSession {
            profile: info
                .source_profile
                .clone()
                .unwrap_or_else(|| name.to_owned()),
            session: session.to_owned(),
            config: ctx.paths.aws_config.clone(),
        });
    }
    let target = match info.kind {
        ProfileKind::NotInConfig => {
            return Err(Error::ProfileNotFound {
                name: name.to_owned(),
                config: ctx.paths.aws_config.clone(),
            })
        }
        ProfileKind::NotSso => {
            return Err(Error::NotSso {
                name: name.to_owned(),
            })
        }
        ProfileKind::SsoSession | ProfileKind::LegacySso => LoginTarget::Profile(name.to_owned()),
        // A chain over a console sign-in signs in its source profile, which holds the session.
        ProfileKind::Login => LoginTarget::Console {
            profile: info
                .source_profile
                .clone()
                .unwrap_or_else(|| name.to_owned()),
            has_region: config
                .profile(info.source_profile.as_deref().unwrap_or(name))
                .region
                .is_some(),
        },
        // `aws sso login --profile <chained>` fails; log in the session (or the legacy source) instead.
        ProfileKind::Chained => match (&info.sso_session, &info.source_profile) {
            (Some(s), _) if config.has_session(s) => LoginTarget::Session(s.clone()),
            (_, Some(src)) => LoginTarget::Profile(src.clone()),
            _ => {
                return Err(Error::NotSso {
                    name: name.to_owned(),
                })
            }
        },
    };
    aws_config::validate_name(target.name())?;
    let key = info
        .cache_key()
        .or(info.login_session.as_deref())
        .ok_or_else(|| Error::NotSso {
            name: name.to_owned(),
        })?
        .to_owned();
    Ok(Plan { info, target, key })
}

async fn refresh_profile(
    ctx: &Arc<Context>,
    name: &str,
    options: RefreshOptions,
) -> Result<RefreshReply> {
    let Plan { info, target, key } = {
        let name = name.to_owned();
        blocking(ctx, move |ctx| plan(&ctx, &name)).await?
    };
    let key = key.as_str();
    tracing::trace!(profile = %crate::core::error::shown(name), kind = ?info.kind, "refresh planned");
    if info.kind == ProfileKind::Login {
        return console_sign_in(ctx, name, &target, key, options).await;
    }
    let cache_dir = ctx.paths.sso_cache_dir();
    let token_file = sso_cache::token_path(&cache_dir, key);
    let threshold = ctx.settings.expiring_threshold();
    let current = || sso_cache::read_status(&cache_dir, key, now(), threshold, &mut Vec::new());
    let is_fresh = || current().state < TokenState::Expired;

    if options.fresh {
        // Nothing is given up unless the sign-in that follows can reach the user.
        let no_browser = !ctx.paths.has_browser || login_options(ctx, &options.login).no_browser;
        if no_browser && options.login.on_prompt.is_none() {
            return Err(Error::SignOutFailed {
                session: key.to_owned(),
                reason: "no browser opens here and there is no one to show the sign-in link to; run `aws-sso-tray refresh --fresh` in a terminal".into(),
            });
        }
        // The portal refuses a sign-out with an expired access token: renew it first if it can be.
        let token = current();
        if let (TokenState::Expired, true, Some(session), Some(region)) = (
            token.state,
            token.refreshable,
            &info.sso_session,
            &info.region,
        ) {
            let _ = silent_refresh::renew(ctx, session, region).await;
        }
    }
    // Whether the sign-out of a fresh session ended the session on the server.
    let session_reset = std::sync::atomic::AtomicBool::new(false);
    // The refresh token first: no browser, no user. Only sso-session profiles have one.
    let silent = match (&info.sso_session, &info.region) {
        _ if options.fresh => Err(Error::SilentRefreshUnavailable {
            session: key.to_owned(),
            reason: "a fresh session was asked for".into(),
        }),
        (Some(session), Some(region)) => {
            silent_refresh::renew(ctx, session, region).await.map(|r| {
                if r.is_some_and(|r| !r.kept_theirs) {
                    LoginOutcome::LoggedIn
                } else {
                    LoginOutcome::Shared
                }
            })
        }
        (Some(session), None) => Err(Error::SilentRefreshUnavailable {
            session: session.clone(),
            reason: "its sso-session sets no sso_region".into(),
        }),
        (None, _) => Err(Error::SilentRefreshUnavailable {
            session: key.to_owned(),
            reason: "profiles with sso_start_url in the profile (legacy) have no refresh token"
                .into(),
        }),
    };
    let (outcome, method) = match silent {
        Ok(outcome) => (outcome, Method::RefreshToken),
        Err(e) if options.silent_only => return Err(e),
        Err(e) => {
            tracing::info!("{e}");
            let login_options = login_options(ctx, &options.login);
            let finish = |e: Error| match e {
                Error::SignInNotShown { .. } => Error::SignInNotShown {
                    finish: where_to_finish(ctx, "--profile", name),
                },
                e => e,
            };
            let outcome = if options.fresh {
                // The sign-out runs under the session's locks, once the login is sure to start;
                // nobody else's sign-in counts as this one.
                ctx.logins
                    .login_with(
                        &ctx.paths,
                        key,
                        &target,
                        &token_file,
                        || false,
                        &login_options,
                        || async {
                            if let Some(say) = &options.on_sign_out {
                                say();
                            }
                            let reset = sign_out(ctx, key, info.region.as_deref()).await?;
                            session_reset.store(reset, std::sync::atomic::Ordering::SeqCst);
                            Ok(())
                        },
                    )
                    .await
                    .map_err(finish)?
            } else {
                ctx.logins
                    .login(
                        &ctx.paths,
                        key,
                        &target,
                        &token_file,
                        is_fresh,
                        &login_options,
                    )
                    .await
                    .map_err(finish)?
            };
            (outcome, Method::Browser)
        }
    };
    let status = {
        let (cache_dir, key) = (cache_dir.clone(), key.to_owned());
        blocking(ctx, move |_| {
            Ok(sso_cache::read_status(
                &cache_dir,
                &key,
                now(),
                threshold,
                &mut Vec::new(),
            ))
        })
        .await?
    };
    let expires_at = match status.expires_at {
        Some(t) if status.state < TokenState::Expired => t,
        _ => {
            return Err(Error::NoFreshToken {
                session: key.to_owned(),
            })
        }
    };
    let end = {
        let (key, length) = (key.to_owned(), ctx.settings.session_length(key));
        let signed_in = method == Method::Browser && outcome == LoginOutcome::LoggedIn;
        let fresh = session_reset.load(std::sync::atomic::Ordering::SeqCst);
        blocking(ctx, move |ctx| {
            Ok(SessionLog::edit(&ctx.paths, |log| {
                match (fresh, signed_in) {
                    (true, true) => log.fresh(&key, now()),
                    (false, true) => log.signed_in(&key, now(), length),
                    _ => {}
                }
                log.end_of(&key, length)
            }))
        })
        .await?
    };
    // Without a refresh token, the token's own expiry is when a sign-in is needed.
    let refreshable = status.refreshable && info.renewable();
    let (session_ends_at, session_ends_at_estimated) = match (refreshable, end) {
        (false, _) => (Some(expires_at), false),
        (true, Some(end)) => (Some(end.at), end.estimated),
        (true, None) => (None, false),
    };
    let what = match &info.sso_session {
        Some(s) => format!("SSO session {s:?} (profile {name:?})"),
        None => format!("profile {name:?}"),
    };
    let expires = sso_cache::format_time(expires_at);
    let how = match method {
        Method::RefreshToken => "with its refresh token, no browser needed",
        Method::Browser => "through the browser sign-in",
    };
    let message = match outcome {
        LoginOutcome::LoggedIn => {
            format!("Successfully refreshed the {what} {how}; the token is valid until {expires}. Retry the failed AWS call.")
        }
        LoginOutcome::Shared => format!(
            "The {what} was just refreshed by another caller; the token is valid until {expires}. Retry the failed AWS call."
        ),
    };
    let reset = session_reset.load(std::sync::atomic::Ordering::SeqCst);
    let message = match (options.fresh, reset, session_ends_at) {
        (true, true, Some(end)) => format!(
            "{message} A fresh sign-in session started; a browser sign-in will be needed again at about {}.",
            sso_cache::format_time(end)
        ),
        (true, false, _) => format!(
            "{message} The old session could not be ended on the server (its token was no longer accepted), so the new sign-in may keep its end."
        ),
        _ => message,
    };
    Ok(RefreshReply {
        success: true,
        profile: Some(name.to_owned()),
        profile_source: None,
        sso_session: info.sso_session.clone(),
        expires_at: Some(expires),
        method: Some(method),
        session_ends_at: session_ends_at.map(sso_cache::format_time),
        session_ends_at_estimated,
        message,
        config_path: None,
        profiles: Vec::new(),
    })
}

/// Refreshes a console sign-in profile (`aws login`). The AWS CLI and SDKs renew its credentials
/// with the refresh token themselves, so a refresh asked for here is always a sign-in.
async fn console_sign_in(
    ctx: &Arc<Context>,
    name: &str,
    target: &LoginTarget,
    key: &str,
    options: RefreshOptions,
) -> Result<RefreshReply> {
    if options.silent_only {
        return Err(Error::SilentRefreshUnavailable {
            session: key.to_owned(),
            reason: "a console sign-in session is renewed by the AWS CLI and SDKs themselves"
                .into(),
        });
    }
    let token_file = login_cache::token_path(&ctx.paths, key);
    let threshold = ctx.settings.expiring_threshold();
    let read = {
        let (paths, key) = (ctx.paths.clone(), key.to_owned());
        move || login_cache::read_status(&paths, &key, now(), threshold, &mut Vec::new())
    };
    let login_options = login_options(ctx, &options.login);
    let outcome = ctx
        .logins
        .login(
            &ctx.paths,
            key,
            target,
            &token_file,
            || read().state < TokenState::Expired,
            &login_options,
        )
        .await
        .map_err(|e| match e {
            Error::SignInNotShown { .. } => Error::SignInNotShown {
                finish: where_to_finish(ctx, "--profile", name),
            },
            e => e,
        })?;
    let status = blocking(ctx, move |_| Ok(read())).await?;
    let expires = match status.expires_at {
        Some(t) if status.state < TokenState::Expired => sso_cache::format_time(t),
        _ => {
            return Err(Error::NoFreshToken {
                session: key.to_owned(),
            })
        }
    };
    let what = format!(
        "console sign-in session {} (profile {})",
        crate::core::error::shown(key),
        crate::core::error::shown(name)
    );
    let message = match outcome {
        LoginOutcome::LoggedIn => format!(
            "Signed in again to the {what} through the browser; its credentials are valid until {expires} and the AWS CLI and SDKs renew them while the sign-in lasts. Retry the failed AWS call."
        ),
        LoginOutcome::Shared => format!(
            "The {what} was just signed in by another caller; its credentials are valid until {expires}. Retry the failed AWS call."
        ),
    };
    Ok(RefreshReply {
        success: true,
        profile: Some(name.to_owned()),
        profile_source: None,
        sso_session: None,
        expires_at: Some(expires),
        method: Some(Method::Browser),
        session_ends_at: None,
        session_ends_at_estimated: false,
        message,
        config_path: None,
        profiles: Vec::new(),
    })
}

/// Ends the sign-in session of `key` on the server (the SSO portal's `Logout`, with the cached
/// access token) and removes its token file, as `aws sso logout` does. A session that is already
/// over, or a token that is gone, needs no sign-out.
/// Returns whether the session was ended on the server (`false`: no token to sign out with, or
/// the portal no longer accepted it, so the session may go on).
async fn sign_out(ctx: &Arc<Context>, key: &str, region: Option<&str>) -> Result<bool> {
    let token_file = sso_cache::token_path(&ctx.paths.sso_cache_dir(), key);
    sso_cache::check_private(&ctx.paths, &token_file)?;
    let access_token = {
        let path = token_file.clone();
        blocking(ctx, move |_| {
            Ok(crate::core::read::text(&path)
                .ok()
                .flatten()
                .and_then(|text| {
                    sso_cache::TokenFile::parse(&text)
                        .ok()
                        .and_then(|f| f.access_token().map(str::to_owned))
                }))
        })
        .await?
    };
    let reset = match (access_token, region) {
        (Some(token), Some(region)) => crate::core::sign_out::logout(&ctx.paths, region, token)
            .await
            .map_err(|reason| Error::SignOutFailed {
                session: key.to_owned(),
                reason,
            })?,
        _ => false,
    };
    match std::fs::remove_file(&token_file) {
        Ok(()) => Ok(reset),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(reset),
        Err(e) => Err(Error::io(&token_file, e)),
    }
}

/// The profiles of one MCP server entry and where that entry is configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerProfiles {
    /// Every profile the server may use, the default first.
    pub profiles: Vec<String>,
    /// The config file of the entry used.
    pub config_path: std::path::PathBuf,
}

/// Finds the profiles of the MCP server named `name`. When several entries share the name, the one
/// closest to the caller's folder wins: a project or local entry for the folder (or an ancestor),
/// else a user entry; among equally close ones an enabled entry wins; entries that agree on the
/// profiles are not a conflict. A disabled server can still be refreshed by name.
pub fn profile_of_server(ctx: &Context, name: &str) -> Result<ServerProfiles> {
    // Only the client configs matter here: no need to read the AWS config or the token cache.
    let servers: Vec<Server> = clients::discover(&ctx.paths, &ctx.settings)
        .servers
        .into_iter()
        .map(Server::from)
        .collect();
    let matches: Vec<&Server> = servers.iter().filter(|s| s.name == name).collect();
    if matches.is_empty() {
        let mut known: Vec<String> = servers.iter().map(|s| s.name.clone()).collect();
        known.sort();
        known.dedup();
        return Err(Error::ServerNotFound {
            name: name.to_owned(),
            known,
        });
    }
    // Rank: 0 = closest project folder … n = user scope; entries for unrelated projects are dropped.
    let cwd = ctx.paths.cwd.as_deref();
    let rank = |s: &Server| match &s.project {
        None => Some(usize::MAX),
        Some(p) => cwd.and_then(|c| c.ancestors().position(|a| a == p)),
    };
    let mut ranked: Vec<(usize, &Server)> = matches
        .iter()
        .filter_map(|s| rank(s).map(|r| (r, *s)))
        .collect();
    if ranked.is_empty() {
        // Only project entries elsewhere: still usable, the name is unique enough to try.
        ranked = matches.iter().map(|s| (0, *s)).collect();
    }
    let best = ranked.iter().map(|(r, _)| *r).min().unwrap_or(usize::MAX);
    let mut best: Vec<&Server> = ranked
        .iter()
        .filter(|(r, _)| *r == best)
        .map(|(_, s)| *s)
        .collect();
    if best.iter().any(|s| s.enabled) {
        best.retain(|s| s.enabled);
    }
    let mut choices: Vec<(&Vec<String>, &Server)> = best
        .iter()
        .filter(|s| !s.profiles.is_empty())
        .map(|s| (&s.profiles, *s))
        .collect();
    choices.dedup_by(|a, b| a.0 == b.0);
    let mut distinct: Vec<&Vec<String>> = choices.iter().map(|(p, _)| *p).collect();
    distinct.sort_unstable();
    distinct.dedup();
    match (distinct.as_slice(), choices.first()) {
        ([_], Some((profiles, server))) => Ok(ServerProfiles {
            profiles: (*profiles).clone(),
            config_path: server.config_path.clone(),
        }),
        ([], _) | (_, None) => {
            let first = best.first().copied().or(matches.first().copied());
            Err(Error::ServerWithoutProfile {
                name: name.to_owned(),
                config: first
                    .map(|s| s.config_path.display().to_string())
                    .unwrap_or_default(),
                unresolved: best.iter().find_map(|s| s.profile_unresolved.clone()),
            })
        }
        (many, _) => Err(Error::AmbiguousServer {
            name: name.to_owned(),
            profiles: many.iter().map(|p| p.join(" ")).collect(),
        }),
    }
}

/// A front's login options with the user's settings: the sign-in timeout, and "Do not open a
/// browser" for every front (the tray, MCP and the terminal alike).
fn login_options(ctx: &Context, login: &LoginOptions) -> LoginOptions {
    LoginOptions {
        timeout: ctx.settings.login_timeout(),
        no_browser: login.no_browser || ctx.settings.login_without_browser,
        ..login.clone()
    }
}

/// Where the user can finish a sign-in that could not be shown to them: the tray's window when a
/// tray runs, and always a terminal, where `refresh` shows the link and code.
fn where_to_finish(ctx: &Context, flag: &str, name: &str) -> String {
    let quoted = match shlex::try_quote(name) {
        Ok(q) if name.chars().count() <= 80 && !name.contains(char::is_control) => q.into_owned(),
        _ => "NAME".to_owned(),
    };
    let terminal = format!(
        "running `aws-sso-tray refresh {flag} {quoted}` in a terminal, which shows a link and code to sign in on any device"
    );
    if crate::core::tray_presence::tray_running(&ctx.paths) {
        format!("ask the user to sign in from aws-sso-tray's window (open it from the tray icon; the session shows Sign in), or by {terminal}")
    } else {
        format!("ask the user to finish it by {terminal}")
    }
}

/// The reply for a refresh a front stopped while its sign-in ran: the user declined the link, or
/// the front could not show it. Named as the caller named it.
pub fn stopped(
    ctx: &Context,
    profile: Option<&str>,
    server: Option<&str>,
    e: Error,
) -> RefreshReply {
    let e = match (e, profile, server) {
        (Error::SignInNotShown { .. }, Some(name), _) => Error::SignInNotShown {
            finish: where_to_finish(ctx, "--profile", name),
        },
        (Error::SignInNotShown { .. }, None, Some(name)) => Error::SignInNotShown {
            finish: where_to_finish(ctx, "--server", name),
        },
        (e, _, _) => e,
    };
    failure(profile, None, &e)
}

fn failure(profile: Option<&str>, origin: Option<ProfileOrigin>, e: &Error) -> RefreshReply {
    let advice = match e {
        Error::LoginTimedOut(_) => {
            " Ask the user to run the refresh again and finish the sign-in when asked."
        }
        Error::SignInNotShown { .. } => " Retry once the user says they have signed in.",
        Error::SignInDeclined => " Do not retry unless the user asks.",
        Error::LoginFailed { .. } | Error::NoFreshToken { .. } => {
            " Tell the user; do not retry automatically."
        }
        Error::SilentRefreshUnavailable { .. } | Error::SilentRefreshFailed { .. } => {
            " Run the refresh without --silent-only to sign in through the browser."
        }
        _ => "",
    };
    RefreshReply {
        success: false,
        profile: profile.map(str::to_owned),
        profile_source: origin,
        sso_session: None,
        expires_at: None,
        method: None,
        session_ends_at: None,
        session_ends_at_estimated: false,
        message: format!("{}.{advice}", capitalise(&e.to_string())),
        config_path: None,
        profiles: Vec::new(),
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map_or_else(String::new, |f| f.to_uppercase().chain(c).collect())
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}
