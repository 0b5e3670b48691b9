//! Token files in `~/.aws/sso/cache`, as the AWS CLI and SDKs write them. One parser, [`TokenFile`],
//! holds every rule about what a field means, for status, silent renewal and rival writers alike.
//! Token values are borrowed from the file buffer and never copied into anything kept.

use std::borrow::Cow;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::core::error::{Error, Result};
use crate::core::paths::Paths;
use crate::core::permissions;
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

/// Refuses to have a token written where another user could redirect or read it: `~/.aws`,
/// `~/.aws/sso` and the cache folder must be the user's own and writable by no one else, and the
/// token file, when there is one, a regular file of the user's (not a symlink someone planted).
/// Checked before every login and renewal.
pub fn check_private(paths: &Paths, token_file: &Path) -> Result<()> {
    let aws = paths.home.join(".aws");
    for dir in [aws.clone(), aws.join("sso"), paths.sso_cache_dir()] {
        // A missing folder is made by the CLI, as the user, when it writes.
        if dir.exists() {
            permissions::private_to_user(&dir)
                .map_err(|reason| Error::UnsafeCacheFolder { path: dir, reason })?;
        }
    }
    let unsafe_file = |reason: String| Error::UnsafeCacheFolder {
        path: token_file.to_path_buf(),
        reason,
    };
    match std::fs::symlink_metadata(token_file) {
        Ok(m) if m.file_type().is_symlink() => Err(unsafe_file(
            "it is a symbolic link, so the token would be written wherever it points".into(),
        )),
        Ok(m) if !m.is_file() => Err(unsafe_file("it is not a regular file".into())),
        Ok(_) => permissions::private_to_user(token_file).map_err(unsafe_file),
        Err(_) => Ok(()),
    }
}

/// One token file. A field counts only when it is a non-empty string: another type (another tool's
/// writing) or `""` reads as absent, so one odd field never hides the rest of the file.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenFile<'a> {
    /// `Some(None)`: present but empty or not text, a broken token file (absent: not a token file).
    #[serde(borrow, default, deserialize_with = "present_text")]
    access_token: Option<Option<Cow<'a, str>>>,
    #[serde(borrow, default, deserialize_with = "text")]
    expires_at: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "text")]
    refresh_token: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "text")]
    client_id: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "text")]
    client_secret: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "text")]
    registration_expires_at: Option<Cow<'a, str>>,
}

/// What a silent renewal sends, borrowed from the token file.
pub struct Grant<'a> {
    pub client_id: &'a str,
    pub client_secret: &'a str,
    pub refresh_token: &'a str,
}

impl<'a> TokenFile<'a> {
    /// Parses the text of a token file; `Err` when it is not a JSON object.
    pub fn parse(text: &'a str) -> serde_json::Result<Self> {
        serde_json::from_str(text)
    }

    /// The access token, for the one call that must send it (the SSO portal's `Logout`).
    pub fn access_token(&self) -> Option<&str> {
        self.access_token.as_ref()?.as_deref()
    }

    /// Whether the file holds an access token at all (client registrations and other tools' files do not).
    pub fn has_token(&self) -> bool {
        matches!(self.access_token, Some(Some(_)))
    }

    /// The access token's expiry, or why it cannot be read.
    pub fn expires_at(&self) -> std::result::Result<OffsetDateTime, &'static str> {
        match self.expires_at.as_deref() {
            None => Err("has no expiresAt"),
            Some(raw) => parse_expiry(raw).ok_or_else(|| expiry_problem(raw)),
        }
    }

    /// What a silent renewal needs, or why this file cannot be renewed without a browser.
    pub fn grant(&self, now: OffsetDateTime) -> std::result::Result<Grant<'_>, &'static str> {
        if !self.has_token() {
            return Err("no token is cached for it");
        }
        let refresh_token = self
            .refresh_token
            .as_deref()
            .ok_or("the cache holds no refresh token")?;
        let (Some(client_id), Some(client_secret)) =
            (self.client_id.as_deref(), self.client_secret.as_deref())
        else {
            return Err("the cache holds no client registration");
        };
        let registration = self
            .registration_expires_at
            .as_deref()
            .and_then(parse_expiry);
        if registration.is_none_or(|t| t <= now) {
            return Err("the client registration has expired");
        }
        Ok(Grant {
            client_id,
            client_secret,
            refresh_token,
        })
    }

    /// The status of the token, or why the file holds none that can be used.
    pub fn status(
        &self,
        now: OffsetDateTime,
        threshold: Duration,
    ) -> std::result::Result<TokenStatus, &'static str> {
        match self.access_token {
            None => return Ok(TokenStatus::MISSING),
            Some(None) => return Err("has an accessToken that is empty or not text"),
            Some(Some(_)) => {}
        }
        let expires_at = self.expires_at()?;
        Ok(TokenStatus {
            state: state_at(expires_at, now, threshold),
            expires_at: Some(expires_at),
            refreshable: self.grant(now).is_ok(),
        })
    }
}

fn expiry_problem(raw: &str) -> &'static str {
    let local = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]]"
    );
    let no_zone = time::PrimitiveDateTime::parse(raw.trim(), &local).is_ok();
    if no_zone {
        "has an expiresAt without a time zone"
    } else {
        "has an unreadable expiresAt"
    }
}

/// A string field as text; any other JSON value as absent. Taken raw first, so a number out of
/// f64's range (which `deserialize_any` refuses) is skipped like any other non-text value.
pub(crate) fn text<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<Cow<'de, str>>, D::Error> {
    let raw = <&'de RawValue>::deserialize(d)?.get();
    if !raw.starts_with('"') {
        return Ok(None);
    }
    let text = match serde_json::from_str::<&'de str>(raw) {
        Ok(borrowed) => Cow::Borrowed(borrowed),
        Err(_) => Cow::Owned(serde_json::from_str::<String>(raw).map_err(de::Error::custom)?),
    };
    Ok((!text.is_empty()).then_some(text))
}

fn present_text<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<Option<Cow<'de, str>>>, D::Error> {
    text(d).map(Some)
}

/// Names the token file's owner for people: `session "corp"` or `start URL https://…`.
fn owner(key: &str) -> String {
    if key.contains("://") {
        format!("start URL {key}")
    } else {
        format!("session {key:?}")
    }
}

/// Reads the token status for `key` (a session name or legacy start URL). A file without
/// `accessToken` (a client registration, another tool's file) counts as missing; a token file that
/// is broken also adds a diagnostic naming the session.
pub fn read_status(
    cache_dir: &Path,
    key: &str,
    now: OffsetDateTime,
    threshold: Duration,
    diagnostics: &mut Vec<Diagnostic>,
) -> TokenStatus {
    let path = token_path(cache_dir, key);
    let Some(text) = read::text_or_note(&path, diagnostics) else {
        return TokenStatus::MISSING;
    };
    let before = diagnostics.len();
    let status = status_of(&path, &text, now, threshold, diagnostics);
    for d in diagnostics.iter_mut().skip(before) {
        d.message = format!("token for {} {}", owner(key), d.message);
    }
    status
}

/// The status held in the text of a token file read from `path`.
pub fn status_of(
    path: &Path,
    text: &str,
    now: OffsetDateTime,
    threshold: Duration,
    diagnostics: &mut Vec<Diagnostic>,
) -> TokenStatus {
    let file = match TokenFile::parse(text) {
        Ok(f) => f,
        Err(e) => {
            diagnostics.push(Diagnostic::new(
                path,
                Some(e.line()),
                "is not a readable SSO token file",
            ));
            return TokenStatus::MISSING;
        }
    };
    file.status(now, threshold).unwrap_or_else(|problem| {
        diagnostics.push(Diagnostic::new(path, None, problem));
        TokenStatus::MISSING
    })
}

/// A token file rewritten with a renewed token, the way botocore rewrites it: every other field
/// kept byte for byte (numbers of any size or precision included) and in its place, `expiresAt` in
/// the CLI's format, the refresh token replaced only when a new one came back. `None` if
/// `original` is not a JSON object.
pub fn renewed(
    original: &[u8],
    access_token: &str,
    expires_at: OffsetDateTime,
    refresh_token: Option<&str>,
) -> Option<Vec<u8>> {
    let mut fields: Vec<(String, Cow<'_, RawValue>)> = Vec::new();
    for (k, v) in serde_json::from_slice::<Fields>(original).ok()?.0 {
        // A repeated key: readers (botocore, serde) take the last, so only the last is kept.
        fields.retain(|(seen, _)| *seen != k);
        fields.push((k, Cow::Borrowed(v)));
    }
    let mut set = |key: &str, value: &str| -> Option<()> {
        let raw = RawValue::from_string(serde_json::to_string(value).ok()?).ok()?;
        match fields.iter_mut().find(|(k, _)| k == key) {
            Some((_, v)) => *v = Cow::Owned(raw),
            None => fields.push((key.to_owned(), Cow::Owned(raw))),
        }
        Some(())
    };
    set("accessToken", access_token)?;
    set("expiresAt", &format_time(expires_at))?;
    if let Some(rt) = refresh_token {
        set("refreshToken", rt)?;
    }
    let mut out = Vec::with_capacity(original.len() + 64);
    out.push(b'{');
    for (i, (k, v)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        serde_json::to_writer(&mut out, k).ok()?;
        out.push(b':');
        out.extend_from_slice(v.get().as_bytes());
    }
    out.push(b'}');
    Some(out)
}

/// A JSON object's members in file order, values as their exact text.
struct Fields<'a>(Vec<(String, &'a RawValue)>);

impl<'de: 'a, 'a> Deserialize<'de> for Fields<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Members;
        impl<'de> Visitor<'de> for Members {
            type Value = Fields<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, &'de RawValue>()? {
                    out.push((k, v));
                }
                Ok(Fields(out))
            }
        }
        d.deserialize_map(Members)
    }
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
/// seconds, and numeric offsets. A time without a zone is rejected, as botocore does, and so is one
/// whose UTC form falls outside the years 1–9999.
pub fn parse_expiry(raw: &str) -> Option<OffsetDateTime> {
    let raw = raw.trim();
    let parsed = match raw.strip_suffix("UTC") {
        Some(base) => OffsetDateTime::parse(&format!("{base}Z"), &Rfc3339),
        None => OffsetDateTime::parse(raw, &Rfc3339),
    };
    parsed
        .ok()?
        .checked_to_offset(time::UtcOffset::UTC)
        .filter(|t| t.year() >= 1)
}

/// Formats a time the way the CLI writes it: `2026-11-22T09:47:44Z`.
pub fn format_time(t: OffsetDateTime) -> String {
    let t = t.checked_to_offset(time::UtcOffset::UTC).unwrap_or(t);
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
        // Found by the fuzz target too: a number out of f64's range in a field read as text.
        let huge = "4".repeat(400);
        let s = status(&format!(
            r#"{{"accessToken":"a","expiresAt":"2026-11-22T17:00:00Z","registrationExpiresAt":-{huge}}}"#
        ));
        assert_eq!(s.state, TokenState::Valid);
        assert!(!s.refreshable);
        let s = status(r#"{"accessToken":"a","expiresAt":1795338000}"#);
        assert_eq!(s, TokenStatus::MISSING);
        // Only the second file gave a diagnostic.
        assert_eq!(diags.len(), 1);
        assert_eq!(diags[0].message, "has no expiresAt");
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

    #[test]
    fn one_rule_for_what_a_field_is() {
        // Issue 12 #13: an empty refresh token counted as refreshable for status and not for the
        // renewal, so keep-alive failed three times before asking for a sign-in.
        let now = datetime!(2026-11-22 09:00:00 UTC);
        let text = r#"{"accessToken":"a","expiresAt":"2026-11-22T17:00:00Z","refreshToken":"",
                      "clientId":"c","clientSecret":"s","registrationExpiresAt":"2027-01-01T00:00:00Z"}"#;
        let file = TokenFile::parse(text).unwrap();
        assert_eq!(
            file.grant(now).err(),
            Some("the cache holds no refresh token")
        );
        let status = file.status(now, Duration::from_secs(900)).unwrap();
        assert!(!status.refreshable);
        assert_eq!(status.state, TokenState::Valid);
        let empty_access =
            TokenFile::parse(r#"{"accessToken":"","expiresAt":"2026-11-22T17:00:00Z"}"#).unwrap();
        assert!(!empty_access.has_token());
        assert_eq!(
            empty_access.status(now, Duration::ZERO).err(),
            Some("has an accessToken that is empty or not text")
        );
    }

    #[test]
    fn times_at_the_edge_of_the_range_do_not_panic() {
        // Issue 12 #9: this value panicked in `to_offset`.
        assert_eq!(parse_expiry("9999-12-31T23:30:00-01:00"), None);
        assert_eq!(parse_expiry("0000-01-01T00:30:00+01:00"), None);
        assert!(parse_expiry("9999-12-31T22:30:00-01:00").is_some());
        let mut diags = Vec::new();
        let s = status_of(
            Path::new("t.json"),
            r#"{"accessToken":"a","expiresAt":"9999-12-31T23:30:00-01:00"}"#,
            datetime!(2026-11-22 09:00:00 UTC),
            Duration::MAX,
            &mut diags,
        );
        assert_eq!(s, TokenStatus::MISSING);
        assert_eq!(diags[0].message, "has an unreadable expiresAt");
    }

    #[test]
    fn a_renewal_rewrites_only_the_renewed_fields() {
        // Issue 12 #8: a 30-digit integer came back as a float.
        let original = br#"{"startUrl":"https://x/start","n":123456789012345678901234567890,"f":1.50,"accessToken":"a","expiresAt":"2026-11-22T09:00:00UTC","e":"\u00e9"}"#;
        let at = datetime!(2026-11-22 17:00:00 UTC);
        let body = renewed(original, "b", at, Some("r2")).unwrap();
        assert_eq!(
            std::str::from_utf8(&body).unwrap(),
            r#"{"startUrl":"https://x/start","n":123456789012345678901234567890,"f":1.50,"accessToken":"b","expiresAt":"2026-11-22T17:00:00Z","e":"\u00e9","refreshToken":"r2"}"#
        );
        assert_eq!(renewed(&body, "b", at, Some("r2")).unwrap(), body);
    }

    #[test]
    fn a_renewal_keeps_one_of_each_key() {
        // Found by the sso_cache fuzz target: a file with `accessToken` twice came back with the
        // old one still there, so the renewed file was unreadable.
        let original = br#"{"accessToken":"old","region":"a","expiresAt":"2026-11-22T09:00:00Z","accessToken":"older","region":"b"}"#;
        let at = datetime!(2026-11-22 17:00:00 UTC);
        let body = renewed(original, "new", at, None).unwrap();
        assert_eq!(
            std::str::from_utf8(&body).unwrap(),
            r#"{"expiresAt":"2026-11-22T17:00:00Z","accessToken":"new","region":"b"}"#
        );
        let status = status_of(
            Path::new("t.json"),
            std::str::from_utf8(&body).unwrap(),
            datetime!(2026-11-22 09:00:00 UTC),
            Duration::ZERO,
            &mut Vec::new(),
        );
        assert_eq!(status.expires_at, Some(at));
    }

    #[test]
    fn warnings_name_the_session() {
        // Issue 9 #16: a warning about a hashed file name told the user nothing.
        let dir = tempfile::tempdir().unwrap();
        let now = datetime!(2026-11-22 09:00:00 UTC);
        std::fs::write(
            token_path(dir.path(), "corp"),
            r#"{"accessToken":"a","expiresAt":"2026-11-22T17:00:00"}"#,
        )
        .unwrap();
        let url = "https://corp.awsapps.com/start";
        std::fs::write(token_path(dir.path(), url), "{oops").unwrap();
        let mut diags = Vec::new();
        read_status(dir.path(), "corp", now, Duration::ZERO, &mut diags);
        read_status(dir.path(), url, now, Duration::ZERO, &mut diags);
        assert_eq!(
            diags[0].message,
            r#"token for session "corp" has an expiresAt without a time zone"#
        );
        assert_eq!(
            diags[1].message,
            "token for start URL https://corp.awsapps.com/start is not a readable SSO token file"
        );
    }
}
