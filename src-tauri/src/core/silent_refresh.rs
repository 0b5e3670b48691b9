//! Renews an sso-session's access token with its refresh token (SSO OIDC `CreateToken`, grant
//! `refresh_token`), without a browser, and rewrites the cache file the way botocore does: same
//! fields and formats, the old refresh token kept when none comes back, atomically, mode 0600,
//! under the session's lock, and only if no other writer (the AWS CLI) changed the file meanwhile.
//!
//! Refresh tokens are single-use: once `CreateToken` answered, the old one is spent. So the
//! temporary file is made (and its room reserved) before the call, and a new token that still
//! cannot be written is kept in memory and written at the next attempt instead of calling again.

use std::collections::HashMap;
use std::future::Future;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_ssooidc::config::{BehaviorVersion, Region};
use aws_sdk_ssooidc::error::SdkError;
use aws_sdk_ssooidc::operation::create_token::CreateTokenError;
use time::OffsetDateTime;

use crate::core::atomic_write::{write_atomically, Prepared};
use crate::core::error::{Error, Result};
use crate::core::paths::Paths;
use crate::core::read;
use crate::core::session_log::SessionLog;
use crate::core::sso_cache::{self, TokenFile};
use crate::core::Context;

/// How long one `CreateToken` call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// After a refusal, how long another writer (the AWS CLI, mid-renewal) may take to write its token.
const RIVAL_WRITE_GRACE: Duration = Duration::from_secs(2);
/// Room reserved beyond the current file for the new token (tokens are a few KiB).
const WRITE_RESERVE: usize = 16 * 1024;
/// Attempts to write a granted token before it is parked in memory.
const WRITE_ATTEMPTS: u32 = 3;

/// The outcome of a silent renewal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Renewed {
    /// The new expiry of the cached token.
    pub expires_at: OffsetDateTime,
    /// Another writer refreshed the file while our call ran; their token was kept.
    pub kept_theirs: bool,
}

/// What `CreateToken` answered, reduced to what the file needs.
pub struct Answer {
    pub access_token: String,
    pub expires_in: i32,
    pub refresh_token: Option<String>,
}

/// Why `CreateToken` gave no token.
pub struct Refusal {
    /// In fixed words, without anything the service sent.
    pub reason: String,
    /// The refresh token itself was refused (`InvalidGrantException`): the sign-in session is over.
    pub session_over: bool,
}

impl Refusal {
    fn other(reason: impl Into<String>) -> Self {
        Refusal {
            reason: reason.into(),
            session_over: false,
        }
    }
}

/// Granted tokens whose file could not be written yet, by token file. Each is kept with the file
/// content it replaces, and dropped once that file changes (someone signed in meanwhile).
#[derive(Default)]
pub struct Unwritten(Mutex<HashMap<std::path::PathBuf, Kept>>);

/// A granted token file body, the content it replaces, and its expiry.
struct Kept {
    replaces: Vec<u8>,
    body: Vec<u8>,
    expires_at: OffsetDateTime,
}

impl Unwritten {
    fn take(&self, token_file: &Path, current: &[u8]) -> Option<(Vec<u8>, OffsetDateTime)> {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let kept = map.remove(token_file)?;
        (kept.replaces == current).then_some((kept.body, kept.expires_at))
    }

    fn keep(
        &self,
        token_file: &Path,
        replaces: Vec<u8>,
        body: Vec<u8>,
        expires_at: OffsetDateTime,
    ) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let kept = Kept {
            replaces,
            body,
            expires_at,
        };
        map.insert(token_file.to_path_buf(), kept);
    }
}

/// Renews sso-session `session` (its token file keyed by the session name) under the session's
/// lock. `Ok(None)`: another caller renewed it while this one waited.
///
/// The renewal runs as its own task: a caller that goes away (a cancelled tool call, a signal)
/// must not stop it between the grant, which spends the refresh token, and the write.
pub async fn renew(ctx: &Arc<Context>, session: &str, region: &str) -> Result<Option<Renewed>> {
    let (ctx, session, region) = (ctx.clone(), session.to_owned(), region.to_owned());
    let guard = ctx.logins.renewal_started();
    tokio::spawn(async move {
        let _guard = guard;
        renew_here(&ctx, &session, &region).await
    })
    .await
    .map_err(|e| Error::io("(renewal task)", std::io::Error::other(e.to_string())))?
}

async fn renew_here(ctx: &Context, session: &str, region: &str) -> Result<Option<Renewed>> {
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
    // A stopped holder must not block us for good: two calls' worth, then "in progress".
    let wait = CALL_TIMEOUT * 2 + RIVAL_WRITE_GRACE;
    let result = ctx
        .logins
        .exclusive(&ctx.paths, session, &token_file, is_fresh, wait, || {
            renew_locked(
                &ctx.paths,
                &ctx.logins.unwritten,
                session,
                &token_file,
                |g| create_token(&ctx.paths, region, g),
            )
        })
        .await;
    if let Ok(Some(_)) = &result {
        // A renewal (ours or the CLI's) is no sign-in, and proves the session still lasts.
        let (paths, key) = (ctx.paths.clone(), session.to_owned());
        let length = ctx.settings.session_length(session);
        let _ = tokio::task::spawn_blocking(move || {
            SessionLog::edit(&paths, |log| {
                log.renewed(&key, OffsetDateTime::now_utc(), length)
            })
        })
        .await;
    }
    result
}

/// The secrets a renewal sends; owned only for the length of the call.
pub struct GrantRequest {
    pub client_id: String,
    pub client_secret: String,
    pub refresh_token: String,
}

impl GrantRequest {
    /// Removes every secret of this grant from `text` (answers may echo what they were sent).
    fn redact(&self, text: &str) -> String {
        [&self.refresh_token, &self.client_secret, &self.client_id]
            .iter()
            .filter(|s| s.len() >= 4)
            .fold(text.to_owned(), |t, s| t.replace(s.as_str(), "[redacted]"))
    }
}

async fn create_token(
    paths: &Paths,
    region: &str,
    grant: GrantRequest,
) -> std::result::Result<Answer, Refusal> {
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
        .client_id(&grant.client_id)
        .client_secret(&grant.client_secret)
        .refresh_token(&grant.refresh_token)
        .send();
    match tokio::time::timeout(CALL_TIMEOUT, call).await {
        Ok(Ok(out)) => Ok(Answer {
            access_token: out.access_token().unwrap_or_default().to_owned(),
            expires_in: out.expires_in(),
            refresh_token: out.refresh_token().map(str::to_owned),
        }),
        Ok(Err(e)) => Err(Refusal {
            reason: grant.redact(&describe(&e)),
            session_over: matches!(
                &e,
                SdkError::ServiceError(se) if matches!(se.err(), CreateTokenError::InvalidGrantException(_))
            ),
        }),
        Err(_) => Err(Refusal::other(
            "the SSO OIDC service did not answer in time",
        )),
    }
}

/// Renews the token in `token_file` (already under the session's lock) through `call`, which
/// stands for `CreateToken`. `session` only labels errors.
pub async fn renew_locked<F, Fut>(
    paths: &Paths,
    unwritten: &Unwritten,
    session: &str,
    token_file: &Path,
    call: F,
) -> Result<Renewed>
where
    F: FnOnce(GrantRequest) -> Fut,
    Fut: Future<Output = std::result::Result<Answer, Refusal>>,
{
    let unavailable = |reason: &str| Error::SilentRefreshUnavailable {
        session: session.to_owned(),
        reason: reason.to_owned(),
    };
    sso_cache::check_private(paths, token_file)?;
    let original = read::bytes(token_file)
        .ok()
        .flatten()
        .ok_or_else(|| unavailable("no token is cached for it"))?;
    // A token granted earlier whose write failed: write it now, without spending another.
    if let Some((body, expires_at)) = unwritten.take(token_file, &original) {
        return match write_with_retries(token_file, body.clone()).await {
            Ok(()) => Ok(Renewed {
                expires_at,
                kept_theirs: false,
            }),
            Err(e) => {
                unwritten.keep(token_file, original, body, expires_at);
                Err(unsaved(session, &e))
            }
        };
    }
    let text = std::str::from_utf8(&original)
        .map_err(|_| unavailable("its cache file is not readable"))?;
    let file = TokenFile::parse(text).map_err(|_| unavailable("its cache file is not readable"))?;
    let now = OffsetDateTime::now_utc();
    let grant = file.grant(now).map_err(unavailable)?;
    let request = GrantRequest {
        client_id: grant.client_id.to_owned(),
        client_secret: grant.client_secret.to_owned(),
        refresh_token: grant.refresh_token.to_owned(),
    };
    // Before the refresh token is spent: the new file must be writable, with room for it.
    let prepared = {
        let path = token_file.to_path_buf();
        let reserve = original.len() + WRITE_RESERVE;
        tokio::task::spawn_blocking(move || Prepared::create(&path, reserve))
            .await
            .map_err(|_| unavailable("the cache folder could not be prepared"))?
            .map_err(|e| {
                unavailable(&format!(
                    "the new token could not be saved, so the refresh token was not used ({})",
                    io_reason(&e)
                ))
            })?
    };

    tracing::trace!(session, "silent renewal: calling CreateToken");
    let answer = match call(request).await {
        Ok(a) => a,
        // If the CLI renewed first, ours was refused and theirs stands. Its answer may still be on
        // the way, so give its write a moment to land.
        Err(refusal) => {
            let e = rejected(session, refusal.reason);
            let deadline = tokio::time::Instant::now() + RIVAL_WRITE_GRACE;
            loop {
                if current(token_file) != original {
                    return theirs(token_file, session).map_err(|_| e);
                }
                if tokio::time::Instant::now() >= deadline {
                    if refusal.session_over {
                        // No rival took it: the sign-in session itself is over.
                        let (paths, session) = (paths.clone(), session.to_owned());
                        let _ = tokio::task::spawn_blocking(move || {
                            SessionLog::edit(&paths, |log| {
                                log.ended(&session, OffsetDateTime::now_utc())
                            })
                        })
                        .await;
                    }
                    return Err(e);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    if answer.access_token.is_empty() {
        return Err(rejected(session, "no access token came back".into()));
    }
    // Whole seconds, as botocore writes them.
    let start = OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or(now);
    let expires_at = start
        .checked_add(time::Duration::seconds(i64::from(answer.expires_in.max(0))))
        .unwrap_or(start);

    // The AWS CLI does not take our lock: if it rewrote the file during the call, its token wins.
    if current(token_file) != original {
        return theirs(token_file, session);
    }
    let refresh_token = answer.refresh_token.as_deref().filter(|t| !t.is_empty());
    let body = sso_cache::renewed(&original, &answer.access_token, expires_at, refresh_token)
        .ok_or_else(|| unavailable("its cache file is not readable"))?;
    let first = {
        let body = body.clone();
        tokio::task::spawn_blocking(move || prepared.commit(&body, || Ok(())))
            .await
            .unwrap_or_else(|_| Err(Error::io(token_file, std::io::Error::other("interrupted"))))
    };
    let written = match first {
        Ok(()) => Ok(()),
        Err(_) => write_with_retries(token_file, body.clone()).await,
    };
    match written {
        Ok(()) => Ok(Renewed {
            expires_at,
            kept_theirs: false,
        }),
        Err(e) => {
            unwritten.keep(token_file, original, body, expires_at);
            Err(unsaved(session, &e))
        }
    }
}

async fn write_with_retries(token_file: &Path, body: Vec<u8>) -> Result<()> {
    let mut last = None;
    for attempt in 0..WRITE_ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(250 << attempt)).await;
        }
        let (path, b) = (token_file.to_path_buf(), body.clone());
        match tokio::task::spawn_blocking(move || write_atomically(&path, &b, || Ok(()))).await {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(e)) => last = Some(e),
            Err(_) => break,
        }
    }
    Err(last.unwrap_or_else(|| Error::io(token_file, std::io::Error::other("interrupted"))))
}

fn unsaved(session: &str, e: &Error) -> Error {
    rejected(
        session,
        format!(
            "the new token could not be saved ({}); this process keeps it in memory and writes it at its next attempt, but once it exits the token is lost and a browser sign-in is needed",
            io_reason(e)
        ),
    )
}

fn io_reason(e: &Error) -> String {
    match e {
        Error::Io { source, .. } => source.to_string(),
        other => other.to_string(),
    }
}

fn theirs(token_file: &Path, session: &str) -> Result<Renewed> {
    let bytes = current(token_file);
    let expiry = std::str::from_utf8(&bytes)
        .ok()
        .and_then(|t| TokenFile::parse(t).ok())
        .filter(TokenFile::has_token)
        .and_then(|f| f.expires_at().ok());
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

/// A short reason for a failed `CreateToken`, in fixed words: nothing the service sent (an error
/// code or message could echo the request's secrets) and nothing from the request.
fn describe(e: &SdkError<CreateTokenError>) -> String {
    match e {
        SdkError::ServiceError(se) => match se.err() {
            CreateTokenError::InvalidGrantException(_) => {
                "the refresh token was refused: the sign-in session has ended or was revoked"
            }
            CreateTokenError::ExpiredTokenException(_) => "the refresh token has expired",
            CreateTokenError::InvalidClientException(_)
            | CreateTokenError::UnauthorizedClientException(_) => {
                "the client registration was rejected"
            }
            CreateTokenError::AccessDeniedException(_) => "the SSO OIDC service denied access",
            CreateTokenError::InternalServerException(_) => {
                "the SSO OIDC service had an internal error"
            }
            CreateTokenError::SlowDownException(_) => "the SSO OIDC service asked to slow down",
            CreateTokenError::InvalidRequestException(_)
            | CreateTokenError::InvalidScopeException(_)
            | CreateTokenError::UnsupportedGrantTypeException(_) => {
                "the SSO OIDC service refused the request as invalid"
            }
            _ => "the SSO OIDC service refused with an unknown error",
        }
        .into(),
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => {
            "the SSO OIDC service could not be reached".into()
        }
        _ => "the SSO OIDC service gave an unreadable answer".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    const FILE: &str = r#"{"startUrl":"https://x/start","region":"us-east-1","accessToken":"old-access","expiresAt":"2020-01-01T00:00:00Z","refreshToken":"refresh-secret-1","clientId":"client-id-1","clientSecret":"client-secret-1","registrationExpiresAt":"2099-01-01T00:00:00Z"}"#;

    fn lab() -> (tempfile::TempDir, Paths, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::under(dir.path());
        let cache = paths.sso_cache_dir();
        std::fs::create_dir_all(&cache).unwrap();
        #[cfg(unix)]
        for d in [
            dir.path().join(".aws"),
            dir.path().join(".aws/sso"),
            cache.clone(),
        ] {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o700)).unwrap();
        }
        let file = sso_cache::token_path(&cache, "lab");
        std::fs::write(&file, FILE).unwrap();
        (dir, paths, file)
    }

    fn granted(
        calls: &AtomicU32,
    ) -> impl FnOnce(GrantRequest) -> std::future::Ready<std::result::Result<Answer, Refusal>> + '_
    {
        move |g: GrantRequest| {
            calls.fetch_add(1, Ordering::SeqCst);
            assert_eq!(g.refresh_token, "refresh-secret-1");
            std::future::ready(Ok(Answer {
                access_token: "new-access".into(),
                expires_in: 3600,
                refresh_token: Some("refresh-secret-2".into()),
            }))
        }
    }

    #[tokio::test]
    async fn an_unwritable_cache_spends_no_refresh_token() {
        // Issue 12 #6: the grant used to come first, then the write failed and the token was lost.
        let (_dir, paths, file) = lab();
        let unwritten = Unwritten::default();
        let calls = AtomicU32::new(0);
        // A folder where the temporary file should go: creating it fails.
        let tmp = file.with_file_name(format!(
            ".{}.{}.tmp",
            file.file_name().unwrap().to_string_lossy(),
            std::process::id()
        ));
        std::fs::create_dir(&tmp).unwrap();
        std::fs::write(tmp.join("x"), "").unwrap();
        let err = renew_locked(&paths, &unwritten, "lab", &file, granted(&calls))
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("the refresh token was not used"),
            "{err}"
        );
        assert_eq!(calls.load(Ordering::SeqCst), 0);
        assert_eq!(std::fs::read_to_string(&file).unwrap(), FILE);
    }

    #[tokio::test]
    async fn a_token_that_could_not_be_written_is_written_at_the_next_attempt() {
        let (_dir, paths, file) = lab();
        let unwritten = Unwritten::default();
        let calls = AtomicU32::new(0);
        // The grant succeeds, then no write can happen: a folder takes the temporary file's name.
        #[cfg(unix)]
        let tmp = file.with_file_name(format!(
            ".{}.{}.tmp",
            file.file_name().unwrap().to_string_lossy(),
            std::process::id()
        ));
        // Windows keeps the name of an open file until it is closed (Wine always does), so there
        // another program holds the token file open without delete sharing: the rename fails.
        #[cfg(windows)]
        let held = std::sync::Mutex::new(None);
        let call = |g: GrantRequest| {
            #[cfg(unix)]
            {
                std::fs::remove_file(&tmp).unwrap();
                std::fs::create_dir(&tmp).unwrap();
                std::fs::write(tmp.join("x"), "").unwrap();
            }
            #[cfg(windows)]
            {
                use std::os::windows::fs::OpenOptionsExt;
                let f = std::fs::OpenOptions::new()
                    .read(true)
                    .share_mode(1) // FILE_SHARE_READ only
                    .open(&file)
                    .unwrap();
                *held.lock().unwrap() = Some(f);
            }
            granted(&calls)(g)
        };
        let err = renew_locked(&paths, &unwritten, "lab", &file, call)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("keeps it in memory"), "{err}");
        assert!(!err.to_string().contains("refresh-secret"), "{err}");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(std::fs::read_to_string(&file).unwrap(), FILE);
        #[cfg(unix)]
        std::fs::remove_dir_all(&tmp).unwrap();
        #[cfg(windows)]
        drop(held.lock().unwrap().take());
        // Next attempt: written from memory, no second grant.
        let never = |_g: GrantRequest| async { panic!("a second grant was asked for") };
        let renewed = renew_locked(&paths, &unwritten, "lab", &file, never)
            .await
            .unwrap();
        assert!(!renewed.kept_theirs);
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.contains(r#""accessToken":"new-access""#), "{text}");
        assert!(
            text.contains(r#""refreshToken":"refresh-secret-2""#),
            "{text}"
        );
    }

    #[tokio::test]
    async fn a_kept_token_is_dropped_when_someone_signed_in_meanwhile() {
        let (_dir, paths, file) = lab();
        let unwritten = Unwritten::default();
        unwritten.keep(
            &file,
            b"something else".to_vec(),
            b"{}".to_vec(),
            OffsetDateTime::now_utc(),
        );
        let calls = AtomicU32::new(0);
        renew_locked(&paths, &unwritten, "lab", &file, granted(&calls))
            .await
            .unwrap();
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "the stale kept token was not written"
        );
    }

    #[tokio::test]
    async fn a_shared_cache_folder_is_refused_before_any_grant() {
        // Issue 12 #5: another user's symlink at the token's name received the new tokens.
        let (dir, paths, file) = lab();
        let calls = AtomicU32::new(0);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(
                paths.sso_cache_dir(),
                std::fs::Permissions::from_mode(0o777),
            )
            .unwrap();
            let err = renew_locked(&paths, &Unwritten::default(), "lab", &file, granted(&calls))
                .await
                .unwrap_err();
            assert!(matches!(err, Error::UnsafeCacheFolder { .. }), "{err}");
            std::fs::set_permissions(
                paths.sso_cache_dir(),
                std::fs::Permissions::from_mode(0o700),
            )
            .unwrap();
            let elsewhere = dir.path().join("attacker-owned");
            std::fs::rename(&file, &elsewhere).unwrap();
            std::os::unix::fs::symlink(&elsewhere, &file).unwrap();
            let err = renew_locked(&paths, &Unwritten::default(), "lab", &file, granted(&calls))
                .await
                .unwrap_err();
            assert!(err.to_string().contains("symbolic link"), "{err}");
        }
        #[cfg(windows)]
        {
            let _ = dir;
            crate::core::windows::acl::let_everyone_write(&paths.sso_cache_dir()).unwrap();
            let err = renew_locked(&paths, &Unwritten::default(), "lab", &file, granted(&calls))
                .await
                .unwrap_err();
            assert!(matches!(err, Error::UnsafeCacheFolder { .. }), "{err}");
        }
        assert_eq!(calls.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn grant_secrets_are_redacted_from_any_text() {
        let g = GrantRequest {
            client_id: "client-id-1".into(),
            client_secret: "client-secret-1".into(),
            refresh_token: "refresh-secret-1".into(),
        };
        assert_eq!(
            g.redact("bad refresh-secret-1 for client-id-1/client-secret-1"),
            "bad [redacted] for [redacted]/[redacted]"
        );
    }
}
