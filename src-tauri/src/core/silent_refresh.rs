//! Renews an sso-session's access token with its refresh token (SSO OIDC `CreateToken`, grant
//! `refresh_token`), without a browser, and rewrites the cache file the way botocore does: same
//! fields and formats, the old refresh token kept when none comes back, atomically, mode 0600,
//! under the session's lock, and only if no other writer (the AWS CLI) changed the file meanwhile.

use std::path::Path;
use std::time::Duration;

use aws_sdk_ssooidc::config::{BehaviorVersion, Region};
use aws_sdk_ssooidc::error::{DisplayErrorContext, SdkError};
use aws_sdk_ssooidc::operation::create_token::CreateTokenError;
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::core::atomic_write::write_atomically;
use crate::core::error::{Error, Result};
use crate::core::paths::Paths;
use crate::core::read;
use crate::core::sso_cache;
use crate::core::Context;

/// How long one `CreateToken` call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// After a refusal, how long another writer (the AWS CLI, mid-renewal) may take to write its token.
const RIVAL_WRITE_GRACE: Duration = Duration::from_secs(2);

/// The outcome of a silent renewal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Renewed {
    /// The new expiry of the cached token.
    pub expires_at: OffsetDateTime,
    /// Another writer refreshed the file while our call ran; their token was kept.
    pub kept_theirs: bool,
}

/// What a renewal needs from a token file; the secrets stay in the file's own JSON map.
struct Grant {
    client_id: String,
    client_secret: String,
    refresh_token: String,
}

/// Why a token file cannot be renewed silently, or `Ok` with what the call needs.
fn grant_of(
    file: &Map<String, Value>,
    now: OffsetDateTime,
) -> std::result::Result<Grant, &'static str> {
    let text = |k: &str| {
        file.get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    if text("accessToken").is_none() {
        return Err("no token is cached for it");
    }
    let refresh_token = text("refreshToken").ok_or("the cache holds no refresh token")?;
    let (Some(client_id), Some(client_secret)) = (text("clientId"), text("clientSecret")) else {
        return Err("the cache holds no client registration");
    };
    let registration = file
        .get("registrationExpiresAt")
        .and_then(Value::as_str)
        .and_then(sso_cache::parse_expiry);
    if registration.is_none_or(|t| t <= now) {
        return Err("the client registration has expired");
    }
    Ok(Grant {
        client_id,
        client_secret,
        refresh_token,
    })
}

/// Renews sso-session `session` (its token file keyed by the session name) under the session's
/// lock. `Ok(None)`: another caller renewed it while this one waited.
pub async fn renew(ctx: &Context, session: &str, region: &str) -> Result<Option<Renewed>> {
    let token_file = sso_cache::token_path(&ctx.paths.sso_cache_dir(), session);
    let is_fresh = || {
        let now = OffsetDateTime::now_utc();
        sso_cache::read_status(
            &ctx.paths.sso_cache_dir(),
            session,
            now,
            Duration::ZERO,
            &mut Vec::new(),
        )
        .expires_at
        .is_some_and(|t| t > now)
    };
    ctx.logins
        .exclusive(&ctx.paths, session, &token_file, is_fresh, || {
            renew_locked(&ctx.paths, session, region, &token_file)
        })
        .await
}

/// Renews the token in `token_file` (already under the session's lock). `region` is the session's
/// `sso_region`; `session` only labels errors.
pub async fn renew_locked(
    paths: &Paths,
    session: &str,
    region: &str,
    token_file: &Path,
) -> Result<Renewed> {
    let unavailable = |reason: &str| Error::SilentRefreshUnavailable {
        session: session.to_owned(),
        reason: reason.to_owned(),
    };
    let original = read::bytes(token_file)
        .ok()
        .flatten()
        .ok_or_else(|| unavailable("no token is cached for it"))?;
    let file: Map<String, Value> = serde_json::from_slice(&original)
        .map_err(|_| unavailable("its cache file is not readable"))?;
    let now = OffsetDateTime::now_utc();
    let grant = grant_of(&file, now).map_err(unavailable)?;

    let mut config = aws_sdk_ssooidc::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()));
    if let Some(url) = &paths.oidc_endpoint {
        config = config.endpoint_url(url);
    }
    let client = aws_sdk_ssooidc::Client::from_conf(config.build());
    let call = client
        .create_token()
        .grant_type("refresh_token")
        .client_id(grant.client_id)
        .client_secret(grant.client_secret)
        .refresh_token(grant.refresh_token)
        .send();
    let answer = match tokio::time::timeout(CALL_TIMEOUT, call).await {
        Ok(Ok(out)) => Ok(out),
        Ok(Err(e)) => Err(rejected(session, describe(&e))),
        Err(_) => Err(rejected(
            session,
            "the SSO OIDC service did not answer in time".into(),
        )),
    };
    let out = match answer {
        Ok(out) => out,
        // Refresh tokens are single-use: if the CLI renewed first, ours was refused and theirs
        // stands. Its answer may still be on the way, so give its write a moment to land.
        Err(e) => {
            let deadline = tokio::time::Instant::now() + RIVAL_WRITE_GRACE;
            loop {
                if current(token_file) != original {
                    return theirs(token_file, session).map_err(|_| e);
                }
                if tokio::time::Instant::now() >= deadline {
                    return Err(e);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    let access_token = out
        .access_token()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| rejected(session, "no access token came back".into()))?;
    // Whole seconds, as botocore writes them.
    let expires_at = OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or(now)
        + time::Duration::seconds(i64::from(out.expires_in().max(0)));

    // The AWS CLI does not take our lock: if it rewrote the file during the call, its token wins.
    if current(token_file) != original {
        return theirs(token_file, session);
    }
    let refresh_token = out.refresh_token().filter(|t| !t.is_empty());
    let body = sso_cache::renewed(&original, access_token, expires_at, refresh_token)
        .ok_or_else(|| unavailable("its cache file is not readable"))?;
    write_atomically(token_file, &body, || Ok(()))?;
    Ok(Renewed {
        expires_at,
        kept_theirs: false,
    })
}

fn theirs(token_file: &Path, session: &str) -> Result<Renewed> {
    let expiry = read::bytes(token_file)
        .ok()
        .flatten()
        .and_then(|b| serde_json::from_slice::<Map<String, Value>>(&b).ok())
        .filter(|m| m.contains_key("accessToken"))
        .and_then(|m| {
            m.get("expiresAt")
                .and_then(Value::as_str)
                .and_then(sso_cache::parse_expiry)
        });
    match expiry {
        Some(t) if t > OffsetDateTime::now_utc() => Ok(Renewed {
            expires_at: t,
            kept_theirs: true,
        }),
        _ => Err(rejected(
            session,
            "another program rewrote the token file without a valid token".into(),
        )),
    }
}

/// The token file as it is now; empty when it cannot be read.
fn current(token_file: &Path) -> Vec<u8> {
    read::bytes(token_file).ok().flatten().unwrap_or_default()
}

fn rejected(session: &str, reason: String) -> Error {
    Error::SilentRefreshFailed {
        session: session.to_owned(),
        reason,
    }
}

/// A short reason for a failed `CreateToken`, without anything from the request.
fn describe(e: &SdkError<CreateTokenError>) -> String {
    match e {
        SdkError::ServiceError(se) => match se.err() {
            CreateTokenError::InvalidGrantException(_) => {
                "the refresh token was rejected (expired or revoked)".into()
            }
            CreateTokenError::ExpiredTokenException(_) => "the refresh token has expired".into(),
            CreateTokenError::InvalidClientException(_)
            | CreateTokenError::UnauthorizedClientException(_) => {
                "the client registration was rejected".into()
            }
            other => format!(
                "the SSO OIDC service refused: {}",
                other.meta().code().unwrap_or("unknown error")
            ),
        },
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => format!(
            "the SSO OIDC service could not be reached ({})",
            DisplayErrorContext(e)
        )
        .chars()
        .take(300)
        .collect(),
        _ => "the SSO OIDC service gave an unreadable answer".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::datetime;

    #[test]
    fn grant_needs_refresh_token_client_and_live_registration() {
        let now = datetime!(2026-11-22 09:00:00 UTC);
        let full = json!({"accessToken": "a", "refreshToken": "r", "clientId": "c", "clientSecret": "s",
                          "registrationExpiresAt": "2027-01-01T00:00:00Z"});
        assert!(grant_of(full.as_object().unwrap(), now).is_ok());
        for (drop, want) in [
            ("refreshToken", "the cache holds no refresh token"),
            ("clientSecret", "the cache holds no client registration"),
            (
                "registrationExpiresAt",
                "the client registration has expired",
            ),
            ("accessToken", "no token is cached for it"),
        ] {
            let mut m = full.as_object().unwrap().clone();
            m.remove(drop);
            assert_eq!(grant_of(&m, now).err(), Some(want));
        }
        let mut old = full.as_object().unwrap().clone();
        old.insert(
            "registrationExpiresAt".into(),
            json!("2026-01-01T00:00:00Z"),
        );
        assert_eq!(
            grant_of(&old, now).err(),
            Some("the client registration has expired")
        );
    }
}
