//! Tokens of console sign-in sessions (`aws login`, AWS CLI 2.32 and later), as the CLI caches
//! them: `~/.aws/login/cache/<sha256(login_session)>.json`, or under `AWS_LOGIN_CACHE_DIRECTORY`.
//! Only the expiry and whether a refresh token exists are read; the keys, the tokens and the
//! DPoP key stay in the file.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::core::paths::Paths;
use crate::core::read::{self, Diagnostic};
use crate::core::sso_cache::{self, parse_expiry, state_at, TokenStatus};

/// The file a login session's token is cached in.
pub fn token_path(paths: &Paths, login_session: &str) -> PathBuf {
    let digest = Sha256::digest(login_session.as_bytes());
    let name: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    paths.login_cache_dir().join(format!("{name}.json"))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LoginTokenFile<'a> {
    #[serde(borrow, default)]
    access_token: Option<AccessPart<'a>>,
    #[serde(borrow, default, deserialize_with = "sso_cache::text")]
    refresh_token: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AccessPart<'a> {
    #[serde(borrow, default, deserialize_with = "sso_cache::text")]
    expires_at: Option<Cow<'a, str>>,
}

/// The status held in the text of a login token file read from `path`.
pub fn status_of(
    path: &Path,
    text: &str,
    now: OffsetDateTime,
    threshold: Duration,
    diagnostics: &mut Vec<Diagnostic>,
) -> TokenStatus {
    let problem = match serde_json::from_str::<LoginTokenFile>(text) {
        Ok(LoginTokenFile {
            access_token: None, ..
        }) => return TokenStatus::MISSING,
        Ok(LoginTokenFile {
            access_token: Some(access),
            refresh_token,
        }) => match access
            .expires_at
            .as_deref()
            .map(|raw| (raw, parse_expiry(raw)))
        {
            Some((_, Some(expires_at))) => {
                return TokenStatus {
                    state: state_at(expires_at, now, threshold),
                    expires_at: Some(expires_at),
                    // The CLI and the SDKs renew it themselves with the refresh token.
                    refreshable: refresh_token.is_some(),
                };
            }
            Some((_, None)) => "has an unreadable accessToken.expiresAt".to_owned(),
            None => "has no accessToken.expiresAt".to_owned(),
        },
        Err(e) => format!("is not a readable login token file (line {})", e.line()),
    };
    diagnostics.push(Diagnostic::new(path, None, problem));
    TokenStatus::MISSING
}

/// Reads the status of `login_session`'s token.
pub fn read_status(
    paths: &Paths,
    login_session: &str,
    now: OffsetDateTime,
    threshold: Duration,
    diagnostics: &mut Vec<Diagnostic>,
) -> TokenStatus {
    let path = token_path(paths, login_session);
    match read::text_or_note(&path, diagnostics) {
        Some(text) => status_of(&path, &text, now, threshold, diagnostics),
        None => TokenStatus::MISSING,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::sso_cache::TokenState;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-12-02 09:00:00 UTC);

    fn status(text: &str) -> (TokenStatus, Vec<Diagnostic>) {
        let mut d = Vec::new();
        let s = status_of(
            Path::new("t.json"),
            text,
            NOW,
            Duration::from_secs(300),
            &mut d,
        );
        (s, d)
    }

    #[test]
    fn the_file_name_is_the_sha256_of_the_session() {
        let paths = Paths::under(Path::new("/home/u"));
        let arn = "arn:aws:sts::123456789012:assumed-role/Admin/alice";
        let p = token_path(&paths, arn);
        assert_eq!(p.parent(), Some(Path::new("/home/u/.aws/login/cache")));
        let digest = Sha256::digest(arn.as_bytes());
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            p.file_name().unwrap().to_str().unwrap(),
            format!("{hex}.json")
        );
        assert_eq!(hex.len(), 64);
    }

    #[test]
    fn reads_the_expiry_and_nothing_secret() {
        // The shape `aws login` writes (values shortened).
        let file = r#"{"accessToken": {"accessKeyId": "ASIAEXAMPLE", "secretAccessKey": "s3cr3t",
            "sessionToken": "tok", "accountId": "123456789012", "expiresAt": "2026-12-02T09:15:00Z"},
            "tokenType": "urn:aws:params:oauth:token-type:access_token_sigv4",
            "clientId": "arn:aws:signin:::devtools/same-device", "refreshToken": "rt",
            "idToken": "a.b.c", "dpopKey": "-----BEGIN EC PRIVATE KEY-----\nx\n-----END EC PRIVATE KEY-----\n"}"#;
        let (s, d) = status(file);
        assert!(d.is_empty());
        assert_eq!(s.state, TokenState::Valid);
        assert_eq!(s.expires_at, Some(datetime!(2026-12-02 09:15:00 UTC)));
        assert!(s.refreshable);
        let debug = format!("{s:?}");
        for secret in ["s3cr3t", "ASIAEXAMPLE", "rt\"", "PRIVATE"] {
            assert!(!debug.contains(secret));
        }
    }

    #[test]
    fn broken_files_are_diagnostics_not_panics() {
        let (s, d) = status(r#"{"accessToken": {"expiresAt": "yesterday"}}"#);
        assert_eq!(s, TokenStatus::MISSING);
        assert_eq!(d[0].message, "has an unreadable accessToken.expiresAt");
        let (s, d) = status(r#"{"accessToken": "flat"}"#);
        assert_eq!(s, TokenStatus::MISSING);
        assert!(d[0]
            .message
            .starts_with("is not a readable login token file"));
        let (s, d) = status(r#"{"refreshToken": "rt"}"#);
        assert_eq!((s, d.len()), (TokenStatus::MISSING, 0));
        let (s, _) = status(r#"{"accessToken": {"expiresAt": "2026-12-02T08:00:00Z"}}"#);
        assert_eq!(s.state, TokenState::Expired);
        assert!(!s.refreshable);
    }
}
