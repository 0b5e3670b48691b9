//! The AWS CLI's `--no-browser` output, arriving in arbitrary chunks: the prompt parser finds a
//! well-formed URL and code or nothing, whatever the split, and the error line kept for replies
//! never carries a URL or a user code.
#![no_main]

use aws_sso_tray::core::login::{safe_error_line, PromptParser};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&step, output)) = data.split_first() else {
        return;
    };
    let step = usize::from(step).max(1);
    let mut chunked = PromptParser::default();
    let mut found = None;
    for chunk in output.chunks(step) {
        if let Some(p) = chunked.feed(chunk) {
            found = Some(p);
            break;
        }
    }
    let mut whole = PromptParser::default();
    let at_once = whole.feed(output);
    // Chunking must not change what is found, only when (the first full prompt wins).
    assert_eq!(found.is_some(), at_once.is_some());
    if let Some(p) = found {
        // `http` too: a configured loopback endpoint's link; every link is checked before use.
        assert!(p.url.starts_with("https://") || p.url.starts_with("http://"));
        assert!(!p.url.contains(char::is_whitespace));
        // The device flow's code, or none for an `authorize` link (PKCE).
        assert!(p.code.len() == 9 || (p.code.is_empty() && p.url.contains("/authorize?")));
    }
    let text = String::from_utf8_lossy(output);
    if let Some(line) = safe_error_line(&text) {
        assert!(!line.contains("://"));
        assert!(line.len() <= 300);
        assert!(line.starts_with("An error occurred ("), "{line}");
    }
});
