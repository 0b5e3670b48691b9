//! Every JSON(C) client layout over arbitrary text: the reader must give servers or diagnostics,
//! never panic, and every diagnostic must name the file.
#![no_main]

use std::path::Path;

use aws_sso_tray::core::clients::{servers_in_text, Format};
use libfuzzer_sys::fuzz_target;

const LAYOUTS: [Format; 4] = [
    Format::Json("mcpServers"),
    Format::Json("servers"),
    Format::Json("context_servers"),
    Format::ClaudeJson,
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let format = LAYOUTS[usize::from(pick) % LAYOUTS.len()];
    let path = Path::new("/fuzz/mcp.json");
    let found = servers_in_text("cursor", format, path, text);
    assert!(found.diagnostics.iter().all(|d| d.path == path));
    for server in &found.servers {
        if let Some(profile) = &server.profile {
            // Trimmed and non-empty, as the rest of the core expects.
            assert!(!profile.value.is_empty());
            assert_eq!(profile.value.trim(), profile.value);
        }
    }
});
