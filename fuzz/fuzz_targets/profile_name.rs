//! Profile and session names from MCP clients and config files: whatever `validate_name`
//! accepts must be safe on a command line.
#![no_main]

use aws_sso_tray::core::aws_config::{validate_name, MAX_NAME_LEN};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|name: &str| {
    let accepted = validate_name(name).is_ok();
    let safe = !name.trim().is_empty()
        && name.len() <= MAX_NAME_LEN
        && !name.starts_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || " ._-@+=,:/".contains(c));
    assert_eq!(accepted, safe, "{name:?}");
    if let Err(e) = validate_name(name) {
        // The error echoes a bounded part of the name (escaped, so at most 10 bytes a character),
        // never all of a huge one.
        assert!(e.to_string().len() <= (MAX_NAME_LEN + 8) * 10 + 200);
    }
});
