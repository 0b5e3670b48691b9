//! `~/.aws/config`, read with botocore's rules: full-line comments only (a `#` inside a value is
//! kept), lower-cased keys, section names split like a shell would, `[profile "a b"]` quoting.
//! A line that cannot be read is reported and skipped; the rest of the file still counts.
//!
//! botocore reads the file with Python's `RawConfigParser`, which is strict (Python docs,
//! configparser: "strict ... will not allow for any section or option duplicates"; botocore
//! `configloader.raw_config_parse` turns its errors into `ConfigParseError`). A repeated section, a
//! repeated key in one section or a leading BOM make every AWS CLI command fail with "Unable to
//! parse config file" (checked with AWS CLI 2.9.19 and 2.36.7); they are reported, and the file is
//! still read here so the rest can be shown.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::Serialize;

use crate::core::error::{Error, Result};
use crate::core::paths::Paths;
use crate::core::read::{self, Diagnostic};

/// A chain of `source_profile` links longer than this is treated as a loop.
const MAX_CHAIN: usize = 16;

/// The sections of an AWS config file that matter here.
#[derive(Debug, Default, Clone)]
pub struct AwsConfig {
    profiles: BTreeMap<String, BTreeMap<String, String>>,
    sessions: BTreeMap<String, BTreeMap<String, String>>,
    /// The line of each profile's `sso_session` setting, for diagnostics.
    session_lines: BTreeMap<String, usize>,
}

/// Settings of `~/.aws/credentials` whose values are kept. Of every other key (access keys, session
/// tokens, `credential_process` commands) only the fact that it is set is kept: its value is
/// dropped as soon as the line is read.
const CREDENTIALS_KEPT: &[&str] = &[
    "role_arn",
    "source_profile",
    "credential_source",
    "sso_session",
    "sso_start_url",
    "sso_region",
    "sso_account_id",
    "sso_role_name",
    "region",
];

/// Which file is parsed: section names differ (`[profile x]` vs `[x]`), and so does what is kept.
#[derive(Clone, Copy, PartialEq, Eq)]
enum FileKind {
    Config,
    Credentials,
}

/// How a profile gets its credentials, as far as SSO is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProfileKind {
    /// `sso_session = NAME`: the token belongs to the `[sso-session NAME]` and can be refreshed silently.
    SsoSession,
    /// `sso_start_url` in the profile itself (older style); the token is keyed by the start URL.
    LegacySso,
    /// `role_arn` + `source_profile` leading to an SSO profile, whose token it depends on.
    Chained,
    /// `login_session = ARN`: a console sign-in session of `aws login` (AWS CLI 2.32 and later),
    /// directly or at the end of a role chain. Its token is in `~/.aws/login/cache`.
    Login,
    /// Static keys, `credential_process`, or a role chain that ends somewhere other than SSO.
    NotSso,
    /// Named by an MCP server but not defined in the config.
    NotInConfig,
}

/// What a profile resolves to: the SSO facts needed to find its token and log it in again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileInfo {
    pub name: String,
    pub kind: ProfileKind,
    /// For a chained profile, the SSO profile at the end of the `source_profile` chain.
    pub source_profile: Option<String>,
    pub sso_session: Option<String>,
    pub start_url: Option<String>,
    pub region: Option<String>,
    pub account_id: Option<String>,
    pub role_name: Option<String>,
    /// For a console sign-in profile: the login session (an ARN) its token is cached under.
    pub login_session: Option<String>,
}

impl ProfileInfo {
    /// The string whose SHA-1 names the token file: the session name, or the legacy start URL.
    pub fn cache_key(&self) -> Option<&str> {
        match self.kind {
            ProfileKind::SsoSession | ProfileKind::Chained if self.sso_session.is_some() => {
                self.sso_session.as_deref()
            }
            ProfileKind::LegacySso | ProfileKind::Chained => self.start_url.as_deref(),
            _ => None,
        }
    }

    /// Whether a cached refresh token renews this profile's token without a sign-in: botocore
    /// renews only sso-session tokens (a legacy one always needs `aws sso login`), and the AWS
    /// CLI and SDKs renew a console sign-in's credentials themselves.
    pub fn renewable(&self) -> bool {
        self.sso_session.is_some() || self.kind == ProfileKind::Login
    }

    /// True when an `aws sso login` can renew this profile's token.
    pub fn is_sso(&self) -> bool {
        matches!(
            self.kind,
            ProfileKind::SsoSession | ProfileKind::LegacySso | ProfileKind::Chained
        )
    }
}

impl AwsConfig {
    /// Reads the config file; a missing file is an empty config.
    pub fn load(path: &Path, diagnostics: &mut Vec<Diagnostic>) -> AwsConfig {
        // The BOM is kept: the CLI rejects it, so parsing reports it.
        match read::text_with_bom(path) {
            Ok(Some(text)) => AwsConfig::parse(path, &text, diagnostics),
            Ok(None) => AwsConfig::default(),
            Err(d) => {
                diagnostics.push(d);
                AwsConfig::default()
            }
        }
    }

    /// Reads the config file and merges the shared credentials file into it the way the CLI does
    /// (`~/.aws/credentials` settings win for a profile in both), then reports profiles whose
    /// `sso_session` names no `[sso-session]` section.
    pub fn load_all(paths: &Paths, diagnostics: &mut Vec<Diagnostic>) -> AwsConfig {
        let mut config = AwsConfig::load(&paths.aws_config, diagnostics);
        match read::text_with_bom(&paths.aws_credentials) {
            Ok(Some(text)) => {
                let creds = AwsConfig::parse_kind(
                    &paths.aws_credentials,
                    &text,
                    FileKind::Credentials,
                    diagnostics,
                );
                drop(text);
                for (name, values) in creds.profiles {
                    config.profiles.entry(name).or_default().extend(values);
                }
            }
            Ok(None) => {}
            Err(d) => diagnostics.push(d),
        }
        for (name, section) in &config.profiles {
            if let Some(session) = section.get("sso_session") {
                if !config.sessions.contains_key(session) {
                    diagnostics.push(Diagnostic::new(
                        &paths.aws_config,
                        config.session_lines.get(name).copied(),
                        format!(
                            "profile {name:?} uses sso_session {session:?}, but there is no [sso-session {session}] section; \
                             add it (sso_start_url, sso_region) or sign-in for this profile cannot work"
                        ),
                    ));
                }
            }
        }
        config
    }

    /// Parses config text. `path` only labels diagnostics.
    pub fn parse(path: &Path, text: &str, diagnostics: &mut Vec<Diagnostic>) -> AwsConfig {
        AwsConfig::parse_kind(path, text, FileKind::Config, diagnostics)
    }

    fn parse_kind(
        path: &Path,
        text: &str,
        kind: FileKind,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> AwsConfig {
        let mut config = AwsConfig::default();
        let unreadable = |why: String| {
            format!(
                "the AWS CLI cannot read this file: {why} (every aws command fails with \"Unable to parse config file\")"
            )
        };
        let text = match text.strip_prefix('\u{feff}') {
            Some(rest) => {
                diagnostics.push(Diagnostic::new(
                    path,
                    Some(1),
                    unreadable("it starts with a UTF-8 byte order mark (BOM); save it as UTF-8 without BOM".to_owned()),
                ));
                rest
            }
            None => text,
        };
        // First line of each section header as written, and of each key in the current section.
        let mut headers: HashMap<String, usize> = HashMap::new();
        let mut keys: HashMap<String, usize> = HashMap::new();
        let mut current_profile: Option<String> = None;
        // Where key/value lines currently go; `None` before the first section or in one we ignore.
        let mut current: Option<&mut BTreeMap<String, String>> = None;
        let mut in_section = false;
        let mut last_key_indent: Option<usize> = None;
        for (index, raw) in text.lines().enumerate() {
            let line_no = index + 1;
            let line = raw.trim_end();
            let trimmed = line.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
                continue;
            }
            let indent = line.len() - trimmed.len();
            // An indented line after a key continues its value (nested `s3 =` blocks); none of
            // the keys read here are nested, so the continuation is skipped.
            if let Some(key_indent) = last_key_indent {
                if indent > key_indent {
                    continue;
                }
            }
            if let Some(header) = trimmed.strip_prefix('[') {
                let Some(end) = header.rfind(']') else {
                    diagnostics.push(Diagnostic::new(
                        path,
                        Some(line_no),
                        "section header without `]`; its settings are skipped",
                    ));
                    current = None;
                    in_section = true; // its keys are dropped with it, not reported one by one
                    keys.clear();
                    continue;
                };
                let raw_name = header.get(..end).unwrap_or_default();
                keys.clear();
                if let Some(first) = headers.get(raw_name) {
                    diagnostics.push(Diagnostic::new(
                        path,
                        Some(line_no),
                        unreadable(format!(
                            "section [{}] appears a second time (first at line {first}); merge the two",
                            raw_name.escape_debug()
                        )),
                    ));
                } else {
                    headers.insert(raw_name.to_owned(), line_no);
                }
                let name = raw_name.trim();
                in_section = true;
                last_key_indent = None;
                // The credentials file names profiles as they are: `[dev]`, never `[profile dev]`.
                let target = match kind {
                    FileKind::Config => section_target(name),
                    FileKind::Credentials if !name.is_empty() => {
                        Some(Section::Profile(name.to_owned()))
                    }
                    FileKind::Credentials => None,
                };
                current_profile = None;
                current = match target {
                    Some(Section::Profile(p)) => {
                        current_profile = Some(p.clone());
                        Some(config.profiles.entry(p).or_default())
                    }
                    Some(Section::Session(s)) => Some(config.sessions.entry(s).or_default()),
                    None => None,
                };
                continue;
            }
            let Some(split) = trimmed.find(['=', ':']) else {
                diagnostics.push(Diagnostic::new(
                    path,
                    Some(line_no),
                    "expected `key = value`, a comment or a [section]",
                ));
                continue;
            };
            if !in_section {
                diagnostics.push(Diagnostic::new(
                    path,
                    Some(line_no),
                    "setting outside any [section]",
                ));
                continue;
            }
            let key = trimmed
                .get(..split)
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase();
            let value =
                if kind == FileKind::Credentials && !CREDENTIALS_KEPT.contains(&key.as_str()) {
                    String::new()
                } else {
                    trimmed
                        .get(split + 1..)
                        .unwrap_or_default()
                        .trim()
                        .to_owned()
                };
            if let Some(first) = keys.get(&key) {
                diagnostics.push(Diagnostic::new(
                    path,
                    Some(line_no),
                    unreadable(format!(
                        "`{}` is set a second time in its section (first at line {first}); keep one",
                        key.escape_debug()
                    )),
                ));
            } else {
                keys.insert(key.clone(), line_no);
            }
            last_key_indent = Some(indent);
            if key == "sso_session" {
                if let Some(p) = &current_profile {
                    config.session_lines.insert(p.clone(), line_no);
                }
            }
            if let Some(section) = current.as_deref_mut() {
                section.insert(key, value);
            }
        }
        config
    }

    /// Names of all profiles, sorted.
    pub fn profile_names(&self) -> impl Iterator<Item = &str> {
        self.profiles.keys().map(String::as_str)
    }

    pub fn has_profile(&self, name: &str) -> bool {
        self.profiles.contains_key(name)
    }

    pub fn has_session(&self, name: &str) -> bool {
        self.sessions.contains_key(name)
    }

    /// Resolves a profile to its SSO facts, following `source_profile` chains.
    pub fn profile(&self, name: &str) -> ProfileInfo {
        let Some(section) = self.profiles.get(name) else {
            return ProfileInfo::bare(name, ProfileKind::NotInConfig);
        };
        if let Some(info) = self.sso_info(name, section) {
            return info;
        }
        // Follow role_arn + source_profile links to the profile that holds the credentials.
        let mut current = section;
        let mut seen = vec![name];
        while current.contains_key("role_arn") {
            let Some(source) = current.get("source_profile") else {
                break;
            };
            if seen.contains(&source.as_str()) || seen.len() > MAX_CHAIN {
                break;
            }
            let Some(next) = self.profiles.get(source) else {
                break;
            };
            if let Some(root) = self.sso_info(source, next) {
                return ProfileInfo {
                    name: name.to_owned(),
                    // A chain over a console sign-in is renewed by signing in its source.
                    kind: if root.kind == ProfileKind::Login {
                        ProfileKind::Login
                    } else {
                        ProfileKind::Chained
                    },
                    source_profile: Some(source.clone()),
                    account_id: section
                        .get("role_arn")
                        .and_then(|arn| arn_account(arn))
                        .or(root.account_id),
                    role_name: section
                        .get("role_arn")
                        .and_then(|arn| arn_role(arn))
                        .or(root.role_name),
                    ..root
                };
            }
            seen.push(source);
            current = next;
        }
        ProfileInfo::bare(name, ProfileKind::NotSso)
    }

    fn sso_info(&self, name: &str, s: &BTreeMap<String, String>) -> Option<ProfileInfo> {
        let common = |kind, session: Option<&BTreeMap<String, String>>| ProfileInfo {
            name: name.to_owned(),
            kind,
            source_profile: None,
            sso_session: s.get("sso_session").cloned(),
            start_url: session
                .and_then(|x| x.get("sso_start_url"))
                .or(s.get("sso_start_url"))
                .cloned(),
            region: session
                .and_then(|x| x.get("sso_region"))
                .or(s.get("sso_region"))
                .cloned(),
            account_id: s.get("sso_account_id").cloned(),
            role_name: s.get("sso_role_name").cloned(),
            login_session: None,
        };
        if let Some(session) = s.get("sso_session") {
            Some(common(ProfileKind::SsoSession, self.sessions.get(session)))
        } else if s.contains_key("sso_start_url") {
            Some(common(ProfileKind::LegacySso, None))
        } else {
            let session = s.get("login_session").filter(|v| !v.trim().is_empty())?;
            Some(ProfileInfo {
                region: s.get("region").cloned(),
                account_id: arn_account(session),
                login_session: Some(session.clone()),
                ..common(ProfileKind::Login, None)
            })
        }
    }
}

impl ProfileInfo {
    fn bare(name: &str, kind: ProfileKind) -> Self {
        ProfileInfo {
            name: name.to_owned(),
            kind,
            source_profile: None,
            sso_session: None,
            start_url: None,
            region: None,
            account_id: None,
            role_name: None,
            login_session: None,
        }
    }
}

fn arn_account(arn: &str) -> Option<String> {
    arn.split(':')
        .nth(4)
        .filter(|a| !a.is_empty())
        .map(str::to_owned)
}

fn arn_role(arn: &str) -> Option<String> {
    arn.rsplit_once(":role/")
        .map(|(_, r)| r.rsplit('/').next().unwrap_or(r).to_owned())
}

enum Section {
    Profile(String),
    Session(String),
}

/// botocore splits section names with `shlex`; `[default]` is the profile `default`.
fn section_target(name: &str) -> Option<Section> {
    if name == "default" {
        return Some(Section::Profile("default".to_owned()));
    }
    let parts = shlex::split(name)?;
    match parts.as_slice() {
        [kind, p] if kind == "profile" => Some(Section::Profile(p.clone())),
        [kind, s] if kind == "sso-session" => Some(Section::Session(s.clone())),
        _ => None,
    }
}

/// The longest profile or session name accepted.
pub const MAX_NAME_LEN: usize = 128;

/// Checks a profile or session name before it goes anywhere near a command line: AWS's characters
/// (letters, digits, `. _ - @ + = , : /` and spaces), no leading `-` (it would read as a flag), at most 128.
pub fn validate_name(name: &str) -> Result<()> {
    let reject = |reason| {
        Err(Error::InvalidProfileName {
            name: name.chars().take(MAX_NAME_LEN + 8).collect(),
            reason,
        })
    };
    if name.is_empty() || name.trim().is_empty() {
        return reject("it is empty");
    }
    if name.len() > MAX_NAME_LEN {
        return reject("it is longer than 128 characters");
    }
    if name.starts_with('-') {
        return reject("it starts with '-'");
    }
    let ok = |c: char| c.is_ascii_alphanumeric() || " ._-@+=,:/".contains(c);
    if !name.chars().all(ok) {
        return reject("only letters, digits, spaces and . _ - @ + = , : / are allowed");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> (AwsConfig, Vec<Diagnostic>) {
        let mut d = Vec::new();
        let c = AwsConfig::parse(Path::new("config"), text, &mut d);
        (c, d)
    }

    const SAMPLE: &str = "\
# full-line comment
[default]
region = us-east-1

[sso-session lab]
sso_start_url = https://lab.awsapps.com/start/#/
sso_region = eu-west-1
sso_registration_scopes = sso:account:access

[profile dev.team@x+y]
sso_session = lab
sso_account_id = 111122223333
SSO_Role_Name = Dev
s3 =
  max_concurrent_requests = 10
; another comment
[profile \"with space\"]
sso_start_url = https://legacy.awsapps.com/start
sso_region = us-east-2
sso_account_id = 444455556666
sso_role_name = Legacy

[profile chained]
role_arn = arn:aws:iam::999988887777:role/path/Deploy
source_profile = middle

[profile middle]
role_arn = arn:aws:iam::123412341234:role/Mid
source_profile = dev.team@x+y

[profile a b]
sso_session = lab

[profile loop1]
role_arn = arn:aws:iam::1:role/x
source_profile = loop2
[profile loop2]
role_arn = arn:aws:iam::1:role/x
source_profile = loop1
";

    #[test]
    fn console_sign_in_profiles_and_chains_over_them() {
        let (c, d) = parse(
            "[profile console]\nlogin_session = arn:aws:sts::123456789012:assumed-role/Admin/alice\nregion = eu-west-1\n\
             [profile deploy]\nrole_arn = arn:aws:iam::999999999999:role/Deploy\nsource_profile = console\n\
             [profile blank]\nlogin_session =\n",
        );
        assert!(d.is_empty(), "{d:?}");
        let console = c.profile("console");
        assert_eq!(console.kind, ProfileKind::Login);
        assert_eq!(
            console.login_session.as_deref(),
            Some("arn:aws:sts::123456789012:assumed-role/Admin/alice")
        );
        assert_eq!(console.account_id.as_deref(), Some("123456789012"));
        assert_eq!(console.region.as_deref(), Some("eu-west-1"));
        assert_eq!(console.cache_key(), None, "not an SSO token");
        assert!(!console.is_sso());
        let deploy = c.profile("deploy");
        assert_eq!(deploy.kind, ProfileKind::Login);
        assert_eq!(deploy.source_profile.as_deref(), Some("console"));
        assert_eq!(deploy.login_session, console.login_session);
        assert_eq!(deploy.account_id.as_deref(), Some("999999999999"));
        assert_eq!(c.profile("blank").kind, ProfileKind::NotSso);
    }

    #[test]
    fn crlf_line_ends_read_as_lf() {
        // Notepad and most Windows editors write CRLF; `\r` must not end up in names or values.
        let (lf, d1) = parse(SAMPLE);
        let (crlf, d2) = parse(&SAMPLE.replace('\n', "\r\n"));
        assert!(d1.is_empty() && d2.is_empty(), "{d2:?}");
        assert_eq!(format!("{crlf:?}"), format!("{lf:?}"));
        assert!(!format!("{crlf:?}").contains("\\r"));
    }

    #[test]
    fn reads_sessions_legacy_and_quoted_names() {
        let (c, d) = parse(SAMPLE);
        assert!(d.is_empty(), "{d:?}");
        let dev = c.profile("dev.team@x+y");
        assert_eq!(dev.kind, ProfileKind::SsoSession);
        assert_eq!(
            dev.start_url.as_deref(),
            Some("https://lab.awsapps.com/start/#/")
        );
        assert_eq!(dev.region.as_deref(), Some("eu-west-1"));
        assert_eq!(
            dev.role_name.as_deref(),
            Some("Dev"),
            "keys are lower-cased"
        );
        assert_eq!(dev.cache_key(), Some("lab"));
        let legacy = c.profile("with space");
        assert_eq!(legacy.kind, ProfileKind::LegacySso);
        assert_eq!(legacy.cache_key(), Some("https://legacy.awsapps.com/start"));
        assert_eq!(c.profile("default").kind, ProfileKind::NotSso);
        assert!(
            !c.has_profile("a b") && !c.has_profile("a"),
            "three-word header is ignored"
        );
        assert_eq!(c.profile("nope").kind, ProfileKind::NotInConfig);
    }

    #[test]
    fn chains_lead_to_the_sso_profile() {
        let (c, _) = parse(SAMPLE);
        let ch = c.profile("chained");
        assert_eq!(ch.kind, ProfileKind::Chained);
        assert_eq!(ch.source_profile.as_deref(), Some("dev.team@x+y"));
        assert_eq!(ch.sso_session.as_deref(), Some("lab"));
        assert_eq!(ch.account_id.as_deref(), Some("999988887777"));
        assert_eq!(ch.role_name.as_deref(), Some("Deploy"));
        assert_eq!(c.profile("loop1").kind, ProfileKind::NotSso);
    }

    #[test]
    fn bad_lines_are_reported_and_skipped() {
        let (c, d) =
            parse("[profile ok]\nsso_session = s\nthis is not a setting\n[broken\nx = 1\n");
        assert_eq!(c.profile("ok").kind, ProfileKind::SsoSession);
        let lines: Vec<_> = d.iter().map(|x| x.line).collect();
        assert_eq!(lines, vec![Some(3), Some(4)]);
    }

    /// Each file here makes AWS CLI 2.9.19 and 2.36.7 fail with "Unable to parse config file".
    #[test]
    fn files_the_aws_cli_rejects_are_reported_and_still_read() {
        let (c, d) = parse("\u{feff}[profile dev]\nsso_session = s\n");
        assert_eq!(c.profile("dev").kind, ProfileKind::SsoSession);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].line, Some(1));
        assert!(d[0].message.contains("AWS CLI cannot read") && d[0].message.contains("BOM"));

        let (c, d) = parse(
            "[profile dev2]\nregion = eu-west-1\n[sso-session s]\nsso_start_url = https://x\n\
             [profile dev2]\nsso_session = s\n",
        );
        assert_eq!(c.profile("dev2").kind, ProfileKind::SsoSession);
        assert_eq!(
            c.profile("dev2").region,
            None,
            "SSO region comes from the session"
        );
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].line, Some(5));
        assert!(
            d[0].message.contains("[profile dev2]") && d[0].message.contains("line 1"),
            "{}",
            d[0].message
        );

        // Keys are compared lower-cased, as botocore's parser does.
        let (c, d) = parse("[profile dev]\nsso_session = a\nSSO_Session = b\n");
        assert_eq!(c.profile("dev").sso_session.as_deref(), Some("b"));
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].line, Some(3));
        assert!(
            d[0].message.contains("`sso_session`") && d[0].message.contains("line 2"),
            "{}",
            d[0].message
        );

        // A repeat in a section read nowhere here still breaks the CLI.
        let (_, d) = parse("[plugins]\na = 1\n[plugins]\nb = 2\n");
        assert_eq!(d.iter().map(|x| x.line).collect::<Vec<_>>(), [Some(3)]);
    }

    /// Not repeats for botocore (the CLI lists `default` and `dev`): different header text, one key
    /// in two sections, repeated keys inside a nested value.
    #[test]
    fn what_the_aws_cli_accepts_is_not_reported() {
        let (c, d) = parse(
            "[default]\nregion = a\n[profile default]\nregion = b\n[profile  dev]\nx = 1\n\
             [profile dev]\nx = 2\ns3 =\n  region = c\n  region = d\n",
        );
        assert!(d.is_empty(), "{d:?}");
        assert!(c.has_profile("dev"));
    }

    #[test]
    fn credentials_merge_without_keeping_key_values() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::under(dir.path());
        std::fs::create_dir_all(dir.path().join(".aws")).unwrap();
        std::fs::write(
            &paths.aws_config,
            "[sso-session s]\nsso_start_url = https://x\nsso_region = eu-west-1\n\
             [profile sso]\nsso_session = s\n[profile orphan]\nsso_session = gone\n",
        )
        .unwrap();
        std::fs::write(
            &paths.aws_credentials,
            "[static]\naws_access_key_id = PLANTED-SECRET-akid\naws_secret_access_key = PLANTED-SECRET-sk\n\
             [deploy]\nrole_arn = arn:aws:iam::123456789012:role/Deploy\nsource_profile = sso\n",
        )
        .unwrap();
        let mut d = Vec::new();
        let c = AwsConfig::load_all(&paths, &mut d);
        assert_eq!(c.profile("static").kind, ProfileKind::NotSso);
        let deploy = c.profile("deploy");
        assert_eq!(deploy.kind, ProfileKind::Chained);
        assert_eq!(deploy.sso_session.as_deref(), Some("s"));
        assert!(!format!("{c:?}").contains("PLANTED-SECRET"), "{c:?}");
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].line, Some(7));
        assert!(d[0].message.contains("\"orphan\"") && d[0].message.contains("\"gone\""));
    }

    #[test]
    fn credentials_the_aws_cli_rejects_are_reported_without_values() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::under(dir.path());
        std::fs::create_dir_all(dir.path().join(".aws")).unwrap();
        std::fs::write(
            &paths.aws_credentials,
            "\u{feff}[static]\naws_access_key_id = PLANTED-SECRET-a1\naws_access_key_id = PLANTED-SECRET-a2\n",
        )
        .unwrap();
        let mut d = Vec::new();
        let c = AwsConfig::load_all(&paths, &mut d);
        assert!(c.has_profile("static"));
        let lines: Vec<_> = d.iter().map(|x| x.line).collect();
        assert_eq!(lines, [Some(1), Some(3)], "{d:?}");
        assert!(d.iter().all(|x| x.path == paths.aws_credentials));
        assert!(d[1].message.contains("`aws_access_key_id`"));
        assert!(!format!("{d:?}").contains("PLANTED-SECRET"), "{d:?}");
    }

    #[test]
    fn names_are_validated() {
        for ok in ["dev", "team.dev", "a@b+c", "with space", "x_y-z=1,2:3/4"] {
            assert!(validate_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "  ",
            "-p",
            "--profile=x",
            "a;b",
            "a$b",
            "a\nb",
            "ü",
            &"x".repeat(129),
        ] {
            assert!(validate_name(bad).is_err(), "{bad:?}");
        }
    }
}
