//! SSO token files over arbitrary text: status, `expiresAt` parsing, and the silent refresh's
//! rewrite, which must keep the file readable with the new expiry.
#![no_main]

use std::path::Path;
use std::time::Duration;

use aws_sso_tray::core::sso_cache::{
    format_time, parse_expiry, renewed, status_of, TokenFile, TokenState,
};
use libfuzzer_sys::fuzz_target;
use time::macros::datetime;

fuzz_target!(|text: &str| {
    let path = Path::new("/fuzz/token.json");
    let now = datetime!(2026-11-22 09:00:00 UTC);
    let threshold = Duration::from_secs(900);
    let mut diagnostics = Vec::new();
    let status = status_of(path, text, now, threshold, &mut diagnostics);
    assert_eq!(
        status.state == TokenState::Missing,
        status.expires_at.is_none()
    );
    // The same file read with a huge threshold (a clamped setting's worst case) never panics.
    let _ = status_of(path, text, now, Duration::MAX, &mut Vec::new());
    // One parser decides: a refreshable status means the renewal can build its grant.
    if let Ok(file) = TokenFile::parse(text) {
        assert_eq!(status.refreshable, file.has_token() && file.grant(now).is_ok() && status.expires_at.is_some());
    }

    // Any string that parses must format and parse back to the same second.
    if let Some(t) = parse_expiry(text) {
        let again = parse_expiry(&format_time(t)).expect("our own format parses");
        assert_eq!(again, t.replace_nanosecond(0).unwrap());
    }

    let expiry = datetime!(2026-11-22 17:00:00 UTC);
    if let Some(body) = renewed(text.as_bytes(), "fuzz-access", expiry, Some("fuzz-refresh")) {
        let body = std::str::from_utf8(&body).expect("serde_json writes UTF-8");
        let mut d = Vec::new();
        let after = status_of(path, body, now, threshold, &mut d);
        assert_eq!(after.expires_at, Some(expiry));
        assert_eq!(after.state, TokenState::Valid);
        // Every other field keeps its exact text (a number out of f64's range included, which a
        // parse into values would not even accept); of a repeated key, the last.
        type Raw = std::collections::BTreeMap<String, Box<serde_json::value::RawValue>>;
        let old: Raw = serde_json::from_str(text).unwrap();
        let new: Raw = serde_json::from_str(body).unwrap();
        for (k, v) in &old {
            if !matches!(k.as_str(), "accessToken" | "expiresAt" | "refreshToken") {
                assert_eq!(new.get(k).map(|n| n.get()), Some(v.get()), "field {k} changed");
            }
        }
        // Renewing again with the same answer writes the same bytes.
        let again = renewed(body.as_bytes(), "fuzz-access", expiry, Some("fuzz-refresh")).unwrap();
        assert_eq!(again, body.as_bytes());
    }
});
