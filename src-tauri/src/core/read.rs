//! The one way the core reads a file written by another program: bounded in size, BOM stripped,
//! UTF-8 checked, and every problem turned into a [`Diagnostic`] instead of an error.

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use serde::Serialize;

/// Files larger than this are skipped: no MCP or AWS config file comes close, and reading an
/// arbitrarily large file would let one stray file stall every inventory rebuild.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// `~/.claude.json` alone may be larger: Claude Code keeps its history in it and users report
/// 65–101 MB files (anthropics/claude-code#6394, #2593). It is parsed without building a tree.
pub const MAX_CLAUDE_JSON_BYTES: u64 = 512 * 1024 * 1024;

/// A file (or a line of it) that could not be used, and why. The rest of the inventory is still built.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// The file concerned.
    #[serde(serialize_with = "crate::core::inventory::display_path")]
    pub path: PathBuf,
    /// 1-based line, when the problem is on a known line.
    pub line: Option<usize>,
    /// What is wrong, in words.
    pub message: String,
}

impl Diagnostic {
    pub fn new(path: &Path, line: Option<usize>, message: impl Into<String>) -> Self {
        Diagnostic {
            path: path.to_path_buf(),
            line,
            message: message.into(),
        }
    }
}

/// Reads a file written by another program. `Ok(None)` means it does not exist, which is the
/// normal case for most of the places we look; anything else that prevents reading (too large, not
/// a regular file, a symlink loop, no permission) becomes a diagnostic.
pub fn bytes(path: &Path) -> Result<Option<Vec<u8>>, Diagnostic> {
    bytes_up_to(path, MAX_FILE_BYTES)
}

/// [`bytes`] with another size cap (only for files known to grow large, see [`MAX_CLAUDE_JSON_BYTES`]).
pub fn bytes_up_to(path: &Path, max: u64) -> Result<Option<Vec<u8>>, Diagnostic> {
    // Non-blocking, so a FIFO planted where a config file belongs cannot stall the open; the type
    // check below then turns it away.
    let mut options = fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    let opened = options.open(path);
    let file = match opened {
        Ok(f) => f,
        Err(e)
            if e.kind() == io::ErrorKind::NotFound || e.kind() == io::ErrorKind::NotADirectory =>
        {
            return Ok(None)
        }
        #[cfg(unix)]
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return Err(Diagnostic::new(path, None, "symbolic link loop, skipped"))
        }
        Err(e) => return Err(Diagnostic::new(path, None, format!("cannot open: {e}"))),
    };
    let meta = file
        .metadata()
        .map_err(|e| Diagnostic::new(path, None, format!("cannot read: {e}")))?;
    let kind = meta.file_type();
    if kind.is_dir() {
        return Err(Diagnostic::new(
            path,
            None,
            "is a directory, expected a file",
        ));
    }
    if !kind.is_file() {
        return Err(Diagnostic::new(
            path,
            None,
            "not a regular file (a device, FIFO or socket), skipped",
        ));
    }
    let too_large = || {
        Diagnostic::new(
            path,
            None,
            format!("larger than {} MiB, skipped", max / (1024 * 1024)),
        )
    };
    if meta.len() > max {
        return Err(too_large());
    }
    // Sized up front: a large file is not copied through doubling buffers.
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0).saturating_add(1));
    // Read one byte past the cap so a file that grew meanwhile is detected without reading all of it.
    if let Err(e) = file.take(max + 1).read_to_end(&mut bytes) {
        return Err(Diagnostic::new(path, None, format!("cannot read: {e}")));
    }
    if bytes.len() as u64 > max {
        return Err(too_large());
    }
    Ok(Some(bytes))
}

/// Reads a text file: [`bytes`], then the BOM stripped and UTF-8 checked.
pub fn text(path: &Path) -> Result<Option<String>, Diagnostic> {
    text_as_is(path, true)
}

/// [`text`] that keeps a leading BOM (as `\u{feff}`), for a reader whose own program rejects it.
pub fn text_with_bom(path: &Path) -> Result<Option<String>, Diagnostic> {
    text_as_is(path, false)
}

fn text_as_is(path: &Path, strip_bom: bool) -> Result<Option<String>, Diagnostic> {
    let Some(bytes) = bytes(path)? else {
        return Ok(None);
    };
    let body = if strip_bom {
        bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes)
    } else {
        &bytes
    };
    match std::str::from_utf8(body) {
        Ok(s) => Ok(Some(s.to_owned())),
        Err(e) => {
            let line = line_of(body, e.valid_up_to());
            Err(Diagnostic::new(path, Some(line), "not valid UTF-8"))
        }
    }
}

/// [`text`] for a reader that goes on without the file: `None` when there is none, or (with its
/// diagnostic noted) when it cannot be read.
pub fn text_or_note(path: &Path, diagnostics: &mut Vec<Diagnostic>) -> Option<String> {
    text(path).unwrap_or_else(|d| {
        diagnostics.push(d);
        None
    })
}

/// Why a file in a project folder must not be trusted: owned by another user (root excepted,
/// since nobody else can create root-owned files). `None` when it may be read or does not exist.
pub fn foreign_owner(path: &Path) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let meta = fs::metadata(path).ok()?;
        // SAFETY: geteuid has no preconditions and cannot fail.
        let me = unsafe { libc::geteuid() };
        if meta.uid() != me && meta.uid() != 0 {
            return Some(format!(
                "owned by another user (uid {}), skipped: a file someone else can write must not choose your AWS profile",
                meta.uid()
            ));
        }
    }
    #[cfg(windows)]
    return crate::core::windows::acl::foreign_owner(path);
    #[cfg(not(windows))]
    None
}

/// True for a folder where the upward search for project files must stop: writable by everyone
/// (such as `/tmp`) or owned by another user (root excepted).
pub fn is_shared_dir(dir: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let Ok(meta) = fs::metadata(dir) else {
            return true;
        };
        // SAFETY: geteuid has no preconditions and cannot fail.
        let me = unsafe { libc::geteuid() };
        meta.mode() & 0o002 != 0 || (meta.uid() != me && meta.uid() != 0)
    }
    #[cfg(windows)]
    {
        crate::core::windows::acl::is_shared_dir(dir)
    }
}

/// Parses JSON that may carry comments and trailing commas (VS Code, Cursor, Zed write such files).
/// Strict JSON takes the fast path; only files that need it go through the JSONC parser.
pub fn jsonc(path: &Path, text: &str) -> Result<serde_json::Value, Diagnostic> {
    if let Ok(v) = serde_json::from_str(text) {
        return Ok(v);
    }
    let options = jsonc_parser::ParseOptions::default();
    match jsonc_parser::parse_to_serde_value::<Option<serde_json::Value>>(text, &options) {
        Ok(Some(v)) => Ok(v),
        Ok(None) => Err(Diagnostic::new(path, None, "empty file")),
        Err(e) => Err(Diagnostic::new(
            path,
            Some(e.line_display()),
            format!("not valid JSON: {}", e.kind()),
        )),
    }
}

/// Parses TOML (Codex).
pub fn toml(path: &Path, text: &str) -> Result<toml::Table, Diagnostic> {
    text.parse::<toml::Table>().map_err(|e| {
        let line = e.span().map(|s| line_of(text.as_bytes(), s.start));
        let message = e.message().trim().to_owned();
        Diagnostic::new(path, line, format!("not valid TOML: {message}"))
    })
}

/// 1-based line number of byte offset `at`.
pub fn line_of(bytes: &[u8], at: usize) -> usize {
    let end = at.min(bytes.len());
    bytes
        .get(..end)
        .map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count())
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jsonc_reports_the_line_of_the_error() {
        let d = jsonc(Path::new("x.json"), "{\n  // c\n  \"a\": 1,\n  \"b\" 2\n}").unwrap_err();
        assert_eq!(d.line, Some(4));
    }

    #[test]
    fn jsonc_accepts_comments_and_trailing_commas() {
        let v = jsonc(Path::new("x.json"), "{/* a */ \"a\": [1, 2,], // b\n}").unwrap();
        assert_eq!(v["a"][1], 2);
    }

    #[test]
    fn toml_reports_the_line_of_the_error() {
        let d = toml(Path::new("c.toml"), "[a]\nb = 1\nc = = 2\n").unwrap_err();
        assert_eq!(d.line, Some(3));
    }

    #[test]
    fn bom_is_stripped_and_missing_file_is_none() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.json");
        fs::write(&p, b"\xEF\xBB\xBF{}").unwrap();
        assert_eq!(text(&p).unwrap().as_deref(), Some("{}"));
        assert_eq!(text(&dir.path().join("none")).unwrap(), None);
        assert!(text(dir.path()).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("mcp.json");
        let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        // With no writer, a blocking open would never return.
        let d = text(&p).unwrap_err();
        assert!(d.message.contains("not a regular file"), "{}", d.message);
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_loop_is_a_diagnostic() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.json");
        let b = dir.path().join("b.json");
        std::os::unix::fs::symlink(&b, &a).unwrap();
        std::os::unix::fs::symlink(&a, &b).unwrap();
        let d = text(&a).unwrap_err();
        assert!(d.message.contains("symbolic link loop"), "{}", d.message);
    }

    #[test]
    fn a_file_over_the_cap_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big.json");
        // Sparse: no disk is used.
        fs::File::create(&p)
            .unwrap()
            .set_len(MAX_FILE_BYTES + 1)
            .unwrap();
        assert!(text(&p).unwrap_err().message.contains("larger than 16 MiB"));
        fs::File::create(&p)
            .unwrap()
            .set_len(MAX_FILE_BYTES)
            .unwrap();
        assert!(bytes(&p).unwrap().is_some());
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        // On the smallest stack the core runs on: std and tokio threads get 2 MiB.
        std::thread::Builder::new()
            .stack_size(2 * 1024 * 1024)
            .spawn(|| {
                let n = 200_000;
                let json = format!("{}{}", "[".repeat(n), "]".repeat(n));
                assert!(jsonc(Path::new("x.json"), &json).is_err());
                let jsonc_text = format!("// c\n{}{}", "{\"a\":".repeat(n), "}".repeat(n));
                assert!(jsonc(Path::new("x.json"), &jsonc_text).is_err());
                let arrays = format!("a = {}{}", "[".repeat(n), "]".repeat(n));
                assert!(toml(Path::new("c.toml"), &arrays).is_err());
                let tables = format!("a = {}1{}", "{b=".repeat(n), "}".repeat(n));
                assert!(toml(Path::new("c.toml"), &tables).is_err());
            })
            .unwrap()
            .join()
            .unwrap();
    }
}
