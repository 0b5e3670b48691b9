//! Property tests over the core's file handling:
//! - an SSO token file rewritten by the silent refresh reads back with the new expiry and every
//!   other field as it was, and a second rewrite changes nothing more (stable format);
//! - any mix of broken client files (truncated, not UTF-8, wrong shape, a directory or a FIFO in
//!   the file's place) never hides a server of the other, valid files, and each broken file is named
//!   in a diagnostic.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use aws_sso_tray::core::atomic_write::write_atomically;
use aws_sso_tray::core::clients::{self, Format, CLIENTS};
use aws_sso_tray::core::paths::Paths;
use aws_sso_tray::core::settings::Settings;
use aws_sso_tray::core::sso_cache::{
    format_time, parse_expiry, read_status, renewed, token_path, TokenState,
};
use proptest::prelude::*;
use serde_json::{json, Map, Value};
use time::OffsetDateTime;

const NOW: OffsetDateTime = time::macros::datetime!(2026-11-22 09:00:00 UTC);
const THRESHOLD: Duration = Duration::from_secs(900);

/// Any JSON value a foreign tool might keep in a token file, a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (-1e12f64..1e12).prop_map(Value::from),
        ".{0,24}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-zA-Z_]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A time the CLI could write, in any of the forms it and the SDKs use.
fn expiry_text() -> impl Strategy<Value = (OffsetDateTime, String)> {
    (0i64..8_000_000_000, 0u32..1_000_000, 0u8..4, -14i8..=14).prop_map(
        |(secs, micros, form, offset_hours)| {
            let t = OffsetDateTime::from_unix_timestamp(secs).unwrap();
            let text = match form {
                0 => format_time(t),
                1 => format_time(t).replace('Z', "UTC"),
                2 => {
                    let off = time::UtcOffset::from_hms(offset_hours, 0, 0).unwrap();
                    let local = t.to_offset(off);
                    local
                        .format(&time::format_description::well_known::Rfc3339)
                        .unwrap()
                }
                _ => format_time(t).replace('Z', &format!(".{micros:06}Z")),
            };
            (t, text)
        },
    )
}

/// A token file as the CLI writes one, plus whatever other fields another tool added.
fn token_file() -> impl Strategy<Value = Map<String, Value>> {
    (
        expiry_text(),
        prop::option::of("[A-Za-z0-9+/=]{1,40}"),
        any::<bool>(),
        prop::collection::btree_map("[a-z][a-zA-Z]{0,10}", json_value(), 0..6),
    )
        .prop_map(|((_, expires), refresh, registered, extra)| {
            let mut m: Map<String, Value> = extra.into_iter().collect();
            m.insert(
                "startUrl".into(),
                json!("https://example.awsapps.com/start"),
            );
            m.insert("region".into(), json!("eu-west-1"));
            m.insert("accessToken".into(), json!("old-access"));
            m.insert("expiresAt".into(), json!(expires));
            if let Some(rt) = refresh {
                m.insert("refreshToken".into(), json!(rt));
            }
            if registered {
                m.insert("clientId".into(), json!("client-id"));
                m.insert("clientSecret".into(), json!("client-secret"));
                m.insert(
                    "registrationExpiresAt".into(),
                    json!("2027-02-20T09:00:00Z"),
                );
            }
            m
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn expiry_forms_read_back_to_the_same_second((t, text) in expiry_text()) {
        let parsed = parse_expiry(&text).unwrap();
        prop_assert_eq!(parsed.unix_timestamp(), t.unix_timestamp());
        let written = format_time(parsed);
        prop_assert_eq!(parse_expiry(&written), Some(parsed.replace_nanosecond(0).unwrap()));
        prop_assert_eq!(format_time(parse_expiry(&written).unwrap()), written);
    }

    #[test]
    fn a_renewed_token_file_keeps_every_field(
        file in token_file(),
        hours in 1i64..12,
        new_refresh in prop::option::of("[A-Za-z0-9]{8,40}"),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = token_path(dir.path(), "sess");
        let original = serde_json::to_vec(&file).unwrap();
        fs::write(&path, &original).unwrap();

        let expires_at = NOW + time::Duration::hours(hours);
        let body = renewed(&original, "new-access", expires_at, new_refresh.as_deref()).unwrap();
        write_atomically(&path, &body, || Ok(())).unwrap();

        let mut diagnostics = Vec::new();
        let status = read_status(dir.path(), "sess", NOW, THRESHOLD, &mut diagnostics);
        prop_assert!(diagnostics.is_empty());
        prop_assert_eq!(status.state, TokenState::Valid);
        prop_assert_eq!(status.expires_at, Some(expires_at));
        prop_assert_eq!(
            status.refreshable,
            file.contains_key("clientSecret") && (file.contains_key("refreshToken") || new_refresh.is_some())
        );

        let back: Map<String, Value> = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        for (k, v) in &file {
            match k.as_str() {
                "accessToken" => prop_assert_eq!(&back[k], "new-access"),
                "expiresAt" => prop_assert_eq!(&back[k], &Value::from(format_time(expires_at))),
                "refreshToken" if new_refresh.is_some() => {
                    prop_assert_eq!(back[k].as_str(), new_refresh.as_deref())
                }
                _ => prop_assert_eq!(&back[k], v, "field {} changed", k),
            }
        }
        prop_assert_eq!(back.len(), file.len() + usize::from(!file.contains_key("refreshToken") && new_refresh.is_some()));
        // The written form is stable: renewing again with the same answer rewrites nothing.
        let again = renewed(&body, "new-access", expires_at, new_refresh.as_deref()).unwrap();
        prop_assert_eq!(again, body);
    }
}

/// How a client file is broken.
#[derive(Debug, Clone, Copy)]
enum Broken {
    /// Cut short somewhere inside.
    Truncated(usize),
    /// A byte that is not UTF-8, at some place.
    NotUtf8(usize),
    /// Servers under the right key, but not as an object.
    WrongShape,
    /// A folder where the file should be.
    Directory,
    /// A named pipe where the file should be (opening it must not block).
    Fifo,
}

fn broken() -> impl Strategy<Value = Option<Broken>> {
    prop_oneof![
        3 => Just(None),
        1 => any::<usize>().prop_map(|n| Some(Broken::Truncated(n))),
        1 => any::<usize>().prop_map(|n| Some(Broken::NotUtf8(n))),
        1 => Just(Some(Broken::WrongShape)),
        1 => Just(Some(Broken::Directory)),
        1 => Just(Some(Broken::Fifo)),
    ]
}

/// Every distinct user-scope client file, with its client and layout.
fn user_files(paths: &Paths) -> Vec<(&'static str, Format, PathBuf)> {
    let mut seen = BTreeSet::new();
    CLIENTS
        .iter()
        .flat_map(|c| c.user.iter().map(move |u| (c.id, u)))
        .zip(clients::user_files(paths))
        .filter(|(_, p)| seen.insert(p.clone()))
        .map(|((id, (_, _, format)), p)| (id, *format, p))
        .collect()
}

fn servers_text(format: Format, names: &[String], shape_ok: bool) -> String {
    let servers: Map<String, Value> = names
        .iter()
        .map(|n| {
            (
                n.clone(),
                json!({"command": "uvx", "env": {"AWS_PROFILE": format!("p-{n}")}}),
            )
        })
        .collect();
    match format {
        Format::CodexToml => {
            if !shape_ok {
                return "mcp_servers = [1, 2]".into();
            }
            names
                .iter()
                .map(|n| format!("[mcp_servers.{n}]\ncommand = \"uvx\"\nenv = {{ AWS_PROFILE = \"p-{n}\" }}\n"))
                .collect()
        }
        Format::Json(key) => {
            let value = if shape_ok {
                Value::Object(servers)
            } else {
                json!([1, 2])
            };
            json!({ key: value }).to_string()
        }
        Format::ClaudeJson => {
            let value = if shape_ok {
                Value::Object(servers)
            } else {
                json!("x")
            };
            json!({ "mcpServers": value }).to_string()
        }
    }
}

fn plant(path: &Path, format: Format, names: &[String], how: Option<Broken>) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    let good = servers_text(format, names, true);
    match how {
        None => fs::write(path, good).unwrap(),
        Some(Broken::Truncated(n)) => {
            // Codex TOML cut at a line end can still be valid; it gets a broken line instead.
            if format == Format::CodexToml {
                fs::write(path, format!("{good}command = = 1\n")).unwrap();
            } else {
                fs::write(path, &good[..n % good.len()]).unwrap();
            }
        }
        Some(Broken::NotUtf8(n)) => {
            let mut bytes = good.into_bytes();
            let at = n % (bytes.len() + 1);
            bytes.insert(at, 0xFF);
            fs::write(path, bytes).unwrap();
        }
        Some(Broken::WrongShape) => fs::write(path, servers_text(format, names, false)).unwrap(),
        Some(Broken::Directory) => fs::create_dir_all(path).unwrap(),
        #[cfg(unix)]
        Some(Broken::Fifo) => {
            let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
            assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        }
        // Windows has no FIFOs in the file system; its unreadable file is one another program
        // holds open without sharing (the handle stays open to the end of the test).
        #[cfg(windows)]
        Some(Broken::Fifo) => {
            use std::os::windows::fs::OpenOptionsExt;
            fs::write(path, good).unwrap();
            let held = fs::OpenOptions::new()
                .read(true)
                .share_mode(0)
                .open(path)
                .unwrap();
            std::mem::forget(held);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn a_broken_file_never_hides_the_others(
        plan in prop::collection::vec(
            (broken(), prop::collection::btree_set("[a-z][a-z0-9_]{0,10}", 1..4)),
            16,
        ),
        mask in any::<u16>(),
    ) {
        let home = tempfile::tempdir().unwrap();
        let paths = Paths::under(home.path());
        let mut want: BTreeMap<(String, PathBuf), String> = BTreeMap::new();
        let mut broken_paths = BTreeSet::new();
        for (i, ((client, format, path), (how, names))) in user_files(&paths).into_iter().zip(plan).enumerate() {
            if mask & (1 << i) == 0 {
                continue; // this client is not installed
            }
            let names: Vec<String> = names.into_iter().collect();
            // A pattern entry (`cli-agents/*.json`) gets one file that matches it (`*` is not
            // allowed in a Windows file name).
            let path = PathBuf::from(path.to_string_lossy().replace('*', "x"));
            plant(&path, format, &names, how);
            if how.is_some() {
                broken_paths.insert(path);
            } else {
                for n in &names {
                    want.insert((n.clone(), path.clone()), client.to_owned());
                }
            }
        }
        let found = clients::discover(&paths, &Settings::default());
        let got: BTreeMap<(String, PathBuf), String> = found
            .servers
            .iter()
            .map(|s| ((s.name.clone(), s.config_path.clone()), s.client.to_owned()))
            .collect();
        // Every server of every valid file, and nothing from a broken one.
        prop_assert_eq!(&got, &want);
        for s in &found.servers {
            prop_assert_eq!(s.profile.as_ref().map(|p| p.value.clone()), Some(format!("p-{}", s.name)));
        }
        let named: BTreeSet<PathBuf> = found.diagnostics.iter().map(|d| d.path.clone()).collect();
        prop_assert_eq!(named, broken_paths);
    }
}
