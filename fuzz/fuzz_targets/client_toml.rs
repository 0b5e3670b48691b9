//! The Codex TOML layout over arbitrary text.
#![no_main]

use std::path::Path;

use aws_sso_tray::core::clients::{servers_in_text, Format};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let path = Path::new("/fuzz/config.toml");
    let found = servers_in_text("codex", Format::CodexToml, path, text);
    assert!(found.diagnostics.iter().all(|d| d.path == path));
    if !text.contains("mcp_servers") {
        assert!(found.servers.is_empty());
    }
    for server in &found.servers {
        assert_eq!(server.client, "codex");
        if let Some(profile) = &server.profile {
            assert!(!profile.value.is_empty());
        }
    }
});
