//! Names read from other programs' files are shown to people; control, bidi and zero-width
//! characters in them could rewrite a terminal line or hide text, so they are escaped first.

/// Makes `s` safe to print: control and invisible formatting characters become `\u{..}` escapes.
pub fn sanitize_label(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() || is_invisible(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{2069}' | '\u{FEFF}' | '\u{061C}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_could_fool_a_reader() {
        assert_eq!(sanitize_label("plain-name.1"), "plain-name.1");
        assert_eq!(sanitize_label("a\x1b[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(sanitize_label("x\u{202E}y"), "x\\u{202e}y");
        assert_eq!(sanitize_label("new\nline"), "new\\u{a}line");
    }
}
