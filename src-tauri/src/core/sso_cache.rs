//! Token files in `~/.aws/sso/cache`, as the AWS CLI and SDKs write them. Only the facts needed
//! for status are read; token values are never held outside the raw file buffer.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::core::read::{self, Diagnostic};

/// Where a token stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenState {
    /// More than the threshold left.
    Valid,
    /// Less than the threshold left.
    Expiring,
    /// Past its expiry.
    Expired,
    /// No usable token file for the session.
    Missing,
}

/// The non-secret facts of a cached token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenStatus {
    pub state: TokenState,
    pub expires_at: Option<OffsetDateTime>,
    /// A refresh token and an unexpired client registration are present, so the access token can be
    /// renewed without a browser (sso-session profiles only; legacy ones always need a login).
    pub refreshable: bool,
}

impl TokenStatus {
    pub const MISSING: TokenStatus = TokenStatus {
        state: TokenState::Missing,
        expires_at: None,
        refreshable: false,
    };
}

/// The token file name for a session name or legacy start URL: `sha1(key).hex + ".json"`.
pub fn token_path(cache_dir: &Path, key: &str) -> PathBuf {
    cache_dir.join(format!("{}.json", sha1_smol::Sha1::from(key).digest()))
}

// Secrets are deserialised as `IgnoredAny`: only their presence is kept. Times are taken as any
// JSON value so that one field of an odd type (another tool's writing) reads as "no such time"
// instead of making the whole token unreadable.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TokenFile {
    access_token: Option<IgnoredAny>,
    expires_at: Option<serde_json::Value>,
    refresh_token: Option<IgnoredAny>,
    client_id: Option<IgnoredAny>,
    client_secret: Option<IgnoredAny>,
    registration_expires_at: Option<serde_json::Value>,
}

/// Reads the token status for `key`. A file without `accessToken` (a client registration, another
/// tool's file) counts as missing; a token file that is broken also adds a diagnostic.
pub fn read_status(
    cache_dir: &Path,
    key: &str,
    now: OffsetDateTime,
    threshold: Duration,
    diagnostics: &mut Vec<Diagnostic>,
) -> TokenStatus {
    let path = token_path(cache_dir, key);
    match read::text(&path) {
        Ok(Some(text)) => status_of(&path, &text, now, threshold, diagnostics),
        Ok(None) => TokenStatus::MISSING,
        Err(d) => {
            diagnostics.push(d);
            TokenStatus::MISSING
        }
    }
}

/// The status held in the text of a token file read from `path`.
pub fn status_of(
    path: &Path,
    text: &str,
    now: OffsetDateTime,
    threshold: Duration,
    diagnostics: &mut Vec<Diagnostic>,
) -> TokenStatus {
    let file: TokenFile = match serde_json::from_str(text) {
        Ok(f) => f,
        Err(e) => {
            diagnostics.push(Diagnostic::new(
                path,
                Some(e.line()),
                "not a readable SSO token file",
            ));
            return TokenStatus::MISSING;
        }
    };
    if file.access_token.is_none() {
        return TokenStatus::MISSING;
    }
    let Some(expires_at) = file
        .expires_at
        .as_ref()
        .and_then(serde_json::Value::as_str)
        .and_then(parse_expiry)
    else {
        diagnostics.push(Diagnostic::new(
            path,
            None,
            "token file has no readable expiresAt",
        ));
        return TokenStatus::MISSING;
    };
    let registration_ok = file
        .registration_expires_at
        .as_ref()
        .and_then(serde_json::Value::as_str)
        .and_then(parse_expiry)
        .is_some_and(|t| t > now);
    TokenStatus {
        state: state_at(expires_at, now, threshold),
        expires_at: Some(expires_at),
        refreshable: file.refresh_token.is_some()
            && file.client_id.is_some()
            && file.client_secret.is_some()
            && registration_ok,
    }
}

/// A token file rewritten with a renewed token, the way botocore rewrites it: every other field
/// kept as it was, `expiresAt` in the CLI's format, the refresh token replaced only when a new one
/// came back. `None` if `original` is not a JSON object.
pub fn renewed(
    original: &[u8],
    access_token: &str,
    expires_at: OffsetDateTime,
    refresh_token: Option<&str>,
) -> Option<Vec<u8>> {
    let mut file: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(original).ok()?;
    file.insert("accessToken".into(), access_token.into());
    file.insert("expiresAt".into(), format_time(expires_at).into());
    if let Some(rt) = refresh_token {
        file.insert("refreshToken".into(), rt.into());
    }
    serde_json::to_vec(&file).ok()
}

/// Classifies an expiry time.
pub fn state_at(
    expires_at: OffsetDateTime,
    now: OffsetDateTime,
    threshold: Duration,
) -> TokenState {
    if expires_at <= now {
        TokenState::Expired
    } else if expires_at - now < threshold {
        TokenState::Expiring
    } else {
        TokenState::Valid
    }
}

/// Parses every `expiresAt` form the CLI and SDKs write: `…Z`, `…UTC` (older CLIs), fractional
/// seconds, and numeric offsets. A time without a zone is rejected, as botocore does.
pub fn parse_expiry(raw: &str) -> Option<OffsetDateTime> {
    let raw = raw.trim();
    let parsed = match raw.strip_suffix("UTC") {
        Some(base) => OffsetDateTime::parse(&format!("{base}Z"), &Rfc3339),
        None => OffsetDateTime::parse(raw, &Rfc3339),
    };
    parsed.ok().map(|t| t.to_offset(time::UtcOffset::UTC))
}

/// Formats a time the way the CLI writes it: `2026-11-22T09:47:44Z`.
pub fn format_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn file_name_is_sha1_of_the_key() {
        let p = token_path(Path::new("/c"), "lab");
        assert_eq!(
            p,
            Path::new("/c/3953f9ddf975ab5097ee468d99555c5b441169bf.json")
        );
    }

    #[test]
    fn every_expiry_format_is_read() {
        let want = datetime!(2026-11-22 09:47:44 UTC);
        for raw in [
            "2026-11-22T09:47:44Z",
            "2026-11-22T09:47:44UTC",
            "2026-11-22T10:47:44+01:00",
            " 2026-11-22T09:47:44+00:00 ",
        ] {
            assert_eq!(parse_expiry(raw), Some(want), "{raw}");
        }
        let frac = parse_expiry("2026-11-22T09:55:06.502193Z").unwrap();
        assert_eq!(format_time(frac), "2026-11-22T09:55:06Z");
        assert_eq!(
            format_time(parse_expiry("2026-11-22T09:55:06.123Z").unwrap()),
            "2026-11-22T09:55:06Z"
        );
        for bad in [
            "2026-11-22T09:47:44",
            "tomorrow",
            "",
            "2026-13-01T00:00:00Z",
        ] {
            assert_eq!(parse_expiry(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_renewal_keeps_foreign_fields_exactly() {
        // Found by the property test: without exact float parsing, this number came back changed.
        let original = br#"{"accessToken":"a","expiresAt":"2026-11-22T09:00:00Z","x":[135605742714.59111],"n":null}"#;
        let at = datetime!(2026-11-22 17:00:00 UTC);
        let body = renewed(original, "b", at, None).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["x"].to_string(), "[135605742714.59111]");
        assert_eq!(v["n"], serde_json::Value::Null);
        assert_eq!(v["expiresAt"], "2026-11-22T17:00:00Z");
        assert_eq!(renewed(b"[1]", "b", at, None), None);
    }

    #[test]
    fn a_time_of_the_wrong_type_does_not_hide_the_token() {
        // Found by the sso_cache fuzz target: a numeric registrationExpiresAt made the whole file
        // unreadable, so a valid token showed as missing.
        let now = datetime!(2026-11-22 09:00:00 UTC);
        let mut diags = Vec::new();
        let mut status = |text: &str| {
            status_of(
                Path::new("t.json"),
                text,
                now,
                Duration::from_secs(900),
                &mut diags,
            )
        };
        let s = status(
            r#"{"accessToken":"a","expiresAt":"2026-11-22T17:00:00Z","registrationExpiresAt":-440,
                "refreshToken":"r","clientId":"c","clientSecret":"s"}"#,
        );
        assert_eq!(s.state, TokenState::Valid);
        assert!(
            !s.refreshable,
            "no readable registration expiry, so no silent refresh"
        );
        let s = status(r#"{"accessToken":"a","expiresAt":1795338000}"#);
        assert_eq!(s, TokenStatus::MISSING);
        // Only the second file gave a diagnostic.
        assert_eq!(diags.len(), 1);
        assert_eq!(diags[0].message, "token file has no readable expiresAt");
    }

    #[test]
    fn states_follow_the_threshold() {
        let now = datetime!(2026-11-22 09:00:00 UTC);
        let fifteen = Duration::from_secs(900);
        assert_eq!(
            state_at(datetime!(2026-11-22 10:00:00 UTC), now, fifteen),
            TokenState::Valid
        );
        assert_eq!(
            state_at(datetime!(2026-11-22 09:10:00 UTC), now, fifteen),
            TokenState::Expiring
        );
        assert_eq!(state_at(now, now, fifteen), TokenState::Expired);
    }

    #[test]
    fn registrations_and_broken_files_are_not_tokens() {
        let dir = tempfile::tempdir().unwrap();
        let now = datetime!(2026-11-22 09:00:00 UTC);
        let t = Duration::from_secs(900);
        let mut diags = Vec::new();
        std::fs::write(
            token_path(dir.path(), "reg"),
            r#"{"clientId":"c","clientSecret":"s","expiresAt":"2027-01-01T00:00:00Z"}"#,
        )
        .unwrap();
        assert_eq!(
            read_status(dir.path(), "reg", now, t, &mut diags),
            TokenStatus::MISSING
        );
        std::fs::write(token_path(dir.path(), "bad"), "{not json").unwrap();
        assert_eq!(
            read_status(dir.path(), "bad", now, t, &mut diags),
            TokenStatus::MISSING
        );
        assert_eq!(diags.len(), 1);
        std::fs::write(
            token_path(dir.path(), "ok"),
            r#"{"accessToken":"a","expiresAt":"2026-11-22T12:00:00UTC","refreshToken":"r",
                "clientId":"c","clientSecret":"s","registrationExpiresAt":"2027-01-01T00:00:00Z"}"#,
        )
        .unwrap();
        let s = read_status(dir.path(), "ok", now, t, &mut diags);
        assert_eq!(s.state, TokenState::Valid);
        assert!(s.refreshable);
    }
}
