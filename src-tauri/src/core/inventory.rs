//! The inventory: servers → profiles → SSO sessions → token state, built from the files in one pass.
//! Every front renders this model; none reads files itself.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;

use serde::{Serialize, Serializer};
use time::OffsetDateTime;

use crate::core::aws_config::{AwsConfig, ProfileInfo, ProfileKind};
use crate::core::clients::{self, McpServer, ProfileSource, Scope};
use crate::core::login_cache;
use crate::core::paths::Paths;
use crate::core::read::Diagnostic;
use crate::core::session_log::SessionLog;
use crate::core::settings::Settings;
use crate::core::sso_cache::{self, TokenState, TokenStatus};

/// Everything the fronts show.
#[derive(Debug, Clone, Serialize)]
pub struct Inventory {
    pub servers: Vec<Server>,
    pub profiles: Vec<Profile>,
    pub diagnostics: Vec<Diagnostic>,
}

/// An MCP server and the profile it names.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Server {
    pub name: String,
    pub client: &'static str,
    pub scope: Scope,
    #[serde(serialize_with = "display_path")]
    pub config_path: PathBuf,
    /// The profile its AWS calls use by default, when the entry names one literally.
    pub profile: Option<String>,
    /// Every profile it may use, the default first (several for a list such as
    /// `AWS_MCP_PROXY_PROFILES`); placeholders left out.
    pub profiles: Vec<String>,
    pub profile_source: Option<ProfileSource>,
    /// False when the client will not start it; such a server is shown dimmed and does not count
    /// towards the icon's state or notifications.
    pub enabled: bool,
    /// A client-side placeholder (`${env:AWS_PROFILE}`) that stands where a profile name would be.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile_unresolved: Option<String>,
    /// The project folder a project- or local-scope server belongs to.
    #[serde(skip)]
    pub project: Option<PathBuf>,
}

/// A profile, its SSO session and the state of that session's token.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    pub name: String,
    pub kind: ProfileKind,
    pub sso_session: Option<String>,
    pub start_url: Option<String>,
    pub region: Option<String>,
    pub account_id: Option<String>,
    pub role_name: Option<String>,
    /// For a chained profile, the SSO profile whose token it depends on.
    pub source_profile: Option<String>,
    /// For a console sign-in profile (`aws login`), its login session.
    pub login_session: Option<String>,
    /// `None` for profiles that do not use SSO or a console sign-in.
    pub token: Option<Token>,
}

/// Token facts; never the token itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Token {
    pub state: TokenState,
    /// The access token's expiry (about an hour for a session that keep-alive renews).
    #[serde(serialize_with = "rfc3339")]
    pub expires_at: Option<OffsetDateTime>,
    pub refreshable: bool,
    /// When a browser sign-in will be needed: the end of the sign-in session for a refreshable
    /// token (recorded or estimated), the token's own expiry otherwise; `None` when unknown.
    #[serde(serialize_with = "rfc3339")]
    pub session_ends_at: Option<OffsetDateTime>,
    /// `session_ends_at` is estimated from a recorded sign-in and the configured session length.
    pub session_ends_at_estimated: bool,
}

impl From<TokenStatus> for Token {
    fn from(t: TokenStatus) -> Self {
        Token {
            state: t.state,
            expires_at: t.expires_at,
            refreshable: t.refreshable,
            // Without a refresh token the token's expiry is the moment a sign-in is needed.
            session_ends_at: if t.refreshable { None } else { t.expires_at },
            session_ends_at_estimated: false,
        }
    }
}

impl Token {
    /// Whether a browser sign-in will be needed within `threshold` of `now` (or already is):
    /// what the user must be warned about. The hourly access token of a refreshable session is not.
    pub fn sign_in_due(&self, now: OffsetDateTime, threshold: std::time::Duration) -> bool {
        match self.state {
            TokenState::Missing | TokenState::Expired if !self.refreshable => true,
            _ => self.session_ends_at.is_some_and(|end| {
                end.checked_sub(sub_duration(threshold))
                    .is_none_or(|warn| warn <= now)
            }),
        }
    }
}

/// What a session asks of the user, most pressing first (the order the fronts list sessions in).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Attention {
    /// A browser sign-in is needed now or within the warning threshold.
    SignIn,
    /// The token has expired but its session can renew it without a browser.
    Refresh,
    /// Nothing to do now.
    None,
}

impl Token {
    /// Whether a refresh can renew the token without a browser at `now`: it has a refresh token
    /// and its sign-in session has not ended.
    pub fn renews_silently(&self, now: OffsetDateTime) -> bool {
        self.refreshable && self.session_ends_at.is_none_or(|end| end > now)
    }

    /// What the user has to do about this token at `now`.
    pub fn attention(&self, now: OffsetDateTime, threshold: std::time::Duration) -> Attention {
        let renews = self.renews_silently(now);
        if self.state == TokenState::Missing
            || (self.state == TokenState::Expired && !renews)
            || self.sign_in_due(now, threshold)
        {
            Attention::SignIn
        } else if self.state == TokenState::Expired {
            Attention::Refresh
        } else {
            Attention::None
        }
    }
}

impl Inventory {
    /// Reads every client config, the AWS config and the token cache.
    pub fn build(paths: &Paths, settings: &Settings, now: OffsetDateTime) -> Inventory {
        let found = clients::discover(paths, settings);
        let mut diagnostics = found.diagnostics;
        let config = AwsConfig::load_all(paths, &mut diagnostics);
        let servers: Vec<Server> = found.servers.into_iter().map(Server::from).collect();

        let mut names: BTreeSet<&str> = config.profile_names().collect();
        names.extend(
            servers
                .iter()
                .flat_map(|s| s.profiles.iter().map(String::as_str)),
        );
        let cache_dir = paths.sso_cache_dir();
        // Profiles sharing a session share one token file: read it once.
        let mut tokens: HashMap<String, TokenStatus> = HashMap::new();
        let profiles = names
            .into_iter()
            .map(|name| {
                let info = config.profile(name);
                if let Some(session) = info.login_session.as_deref() {
                    let token = *tokens.entry(format!("login:{session}")).or_insert_with(|| {
                        login_cache::read_status(
                            paths,
                            session,
                            now,
                            settings.expiring_threshold(),
                            &mut diagnostics,
                        )
                    });
                    return Profile::new(info, Some(Token::from(token)));
                }
                let token = info.cache_key().map(|key| {
                    *tokens.entry(key.to_owned()).or_insert_with(|| {
                        let mut s = sso_cache::read_status(
                            &cache_dir,
                            key,
                            now,
                            settings.expiring_threshold(),
                            &mut diagnostics,
                        );
                        s.refreshable &= info.renewable();
                        s
                    })
                });
                Profile::new(info, token.map(Token::from))
            })
            .collect();
        Inventory {
            servers,
            profiles,
            diagnostics,
        }
    }

    pub fn profile(&self, name: &str) -> Option<&Profile> {
        self.profiles.iter().find(|p| p.name == name)
    }

    /// The part of the inventory about one profile and/or one server name.
    pub fn filtered(&self, profile: Option<&str>, server: Option<&str>) -> Inventory {
        if profile.is_none() && server.is_none() {
            return self.clone();
        }
        let servers: Vec<Server> = self
            .servers
            .iter()
            .filter(|s| server.is_some_and(|n| s.name == n) || profile.is_some_and(|p| s.uses(p)))
            .cloned()
            .collect();
        let mut wanted: BTreeSet<&str> = servers
            .iter()
            .flat_map(|s| s.profiles.iter().map(String::as_str))
            .collect();
        wanted.extend(profile);
        Inventory {
            profiles: self
                .profiles
                .iter()
                .filter(|p| wanted.contains(p.name.as_str()))
                .cloned()
                .collect(),
            servers,
            diagnostics: self.diagnostics.clone(),
        }
    }
}

/// One SSO session (or legacy start URL): one token, one login for all its profiles.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    /// What the token file is keyed by: the session name, or the start URL of legacy profiles.
    pub key: String,
    /// The sso-session name; `None` for legacy profiles and console sign-ins.
    pub sso_session: Option<String>,
    /// The login session of a console sign-in (`aws login`); its token is renewed by the AWS CLI
    /// and SDKs themselves, and a sign-in runs `aws login`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub login_session: Option<String>,
    pub start_url: Option<String>,
    pub region: Option<String>,
    pub token: Token,
    /// Profiles that use this session's token, sorted.
    pub profiles: Vec<String>,
    /// The profile a refresh logs in with (a chained one only when nothing else uses the session).
    pub login_profile: String,
    #[serde(skip)]
    login_profile_is_chained: bool,
    /// Indexes into [`Inventory::servers`] of the servers that use one of the profiles.
    pub servers: Vec<usize>,
}

impl Session {
    #[cfg(test)]
    pub fn for_test(name: &str, token: Token) -> Self {
        Session {
            key: name.to_owned(),
            sso_session: Some(name.to_owned()),
            login_session: None,
            start_url: None,
            region: None,
            token,
            profiles: vec![format!("{name}-profile")],
            login_profile: format!("{name}-profile"),
            login_profile_is_chained: false,
            servers: vec![],
        }
    }

    /// A short name for people: the session name, else the start URL.
    pub fn label(&self) -> &str {
        self.sso_session
            .as_deref()
            .or(self.start_url.as_deref())
            .unwrap_or(&self.key)
    }
}

impl Inventory {
    /// Profiles grouped by the token they share, in order of name.
    pub fn sessions(&self) -> Vec<Session> {
        let mut sessions: Vec<Session> = Vec::new();
        for p in &self.profiles {
            let key = p
                .sso_session
                .clone()
                .or(p.start_url.clone())
                .or(p.login_session.clone());
            let (Some(token), Some(key)) = (p.token, key) else {
                continue;
            };
            let servers = self
                .servers
                .iter()
                .enumerate()
                .filter(|(_, s)| s.uses(&p.name))
                .map(|(i, _)| i);
            match sessions.iter_mut().find(|s| s.key == key) {
                Some(s) => {
                    s.profiles.push(p.name.clone());
                    s.servers.extend(servers);
                    if s.login_profile_is_chained && p.source_profile.is_none() {
                        s.login_profile = p.name.clone();
                        s.login_profile_is_chained = false;
                    }
                }
                None => sessions.push(Session {
                    key,
                    sso_session: p.sso_session.clone(),
                    login_session: p.login_session.clone(),
                    start_url: p.start_url.clone(),
                    region: p.region.clone(),
                    token,
                    profiles: vec![p.name.clone()],
                    login_profile: p.name.clone(),
                    login_profile_is_chained: p.source_profile.is_some(),
                    servers: servers.collect(),
                }),
            }
        }
        sessions.sort_by(|a, b| a.label().cmp(b.label()));
        for s in &mut sessions {
            s.servers.sort_unstable();
            s.servers.dedup();
        }
        sessions
    }

    /// [`Inventory::sessions`], the most urgent first: those needing a sign-in, then those to
    /// refresh, then the rest; within each, the worse state, then the nearer deadline, then the name.
    pub fn sessions_by_urgency(
        &self,
        now: OffsetDateTime,
        threshold: std::time::Duration,
    ) -> Vec<Session> {
        let mut sessions = self.sessions();
        // Stable: equal keys keep the name order of `sessions()`.
        sessions.sort_by_key(|s| {
            let deadline = s.token.session_ends_at.or(s.token.expires_at);
            (
                s.token.attention(now, threshold),
                std::cmp::Reverse(s.token.state),
                deadline.is_none(),
                deadline,
            )
        });
        sessions
    }

    /// True when a session matters for the icon and notifications: some enabled server uses it,
    /// or no server does (a session of the config alone still counts). A session used only by
    /// disabled servers does not.
    pub fn session_counts(&self, session: &Session) -> bool {
        session.servers.is_empty()
            || session
                .servers
                .iter()
                .any(|&i| self.servers.get(i).is_some_and(|s| s.enabled))
    }

    /// The worst token state over the sessions that count, if there is any.
    pub fn worst_state(&self) -> Option<TokenState> {
        self.sessions()
            .iter()
            .filter(|s| self.session_counts(s))
            .map(|s| s.token.state)
            .max()
    }

    /// Records what the session log learns from this inventory (another tool's sign-in) and
    /// fills in when each refreshable session's sign-in will be needed.
    pub fn apply_session_log(
        &mut self,
        log: &mut SessionLog,
        settings: &Settings,
        now: OffsetDateTime,
    ) {
        let mut seen = BTreeSet::new();
        for p in &mut self.profiles {
            let (Some(key), Some(token)) = (
                p.sso_session.clone().or(p.start_url.clone()),
                p.token.as_mut(),
            ) else {
                continue;
            };
            let length = settings.session_length(&key);
            // Profiles sharing a session share its token: observe it once.
            if seen.insert(key.clone()) {
                log.observe(&key, token.state < TokenState::Expired, now, length);
            }
            if token.refreshable {
                if let Some(end) = log.end_of(&key, length) {
                    token.session_ends_at = Some(end.at);
                    token.session_ends_at_estimated = end.estimated;
                }
            }
        }
    }

    /// The next time a token changes state by itself: it enters the threshold or expires, or a
    /// session's sign-in comes due.
    pub fn next_change(
        &self,
        now: OffsetDateTime,
        threshold: std::time::Duration,
    ) -> Option<OffsetDateTime> {
        self.profiles
            .iter()
            .filter_map(|p| p.token)
            .flat_map(|t| [t.expires_at, t.session_ends_at])
            .flatten()
            .flat_map(|t| [t.checked_sub(sub_duration(threshold)), Some(t)])
            .flatten()
            .filter(|t| *t > now)
            .min()
    }
}

impl Server {
    /// True when `profile` is one the server may use.
    pub fn uses(&self, profile: &str) -> bool {
        self.profiles.iter().any(|p| p == profile)
    }
}

/// A std duration as a time duration, saturating (a huge setting must not overflow).
fn sub_duration(d: std::time::Duration) -> time::Duration {
    time::Duration::try_from(d).unwrap_or(time::Duration::MAX)
}

impl From<McpServer> for Server {
    fn from(s: McpServer) -> Self {
        let (profile, profile_unresolved) = match &s.profile {
            Some(p) if p.is_placeholder() => (None, Some(p.value.clone())),
            Some(p) => (Some(p.value.clone()), None),
            None => (None, None),
        };
        Server {
            name: s.name,
            client: s.client,
            scope: s.scope,
            config_path: s.config_path,
            profile,
            profiles: s
                .profiles
                .iter()
                .filter(|p| !p.is_placeholder())
                .map(|p| p.value.clone())
                .collect(),
            profile_source: s.profile.map(|p| p.source),
            profile_unresolved,
            enabled: s.enabled,
            project: s.project,
        }
    }
}

impl Profile {
    fn new(info: ProfileInfo, token: Option<Token>) -> Self {
        Profile {
            name: info.name,
            kind: info.kind,
            sso_session: info.sso_session,
            start_url: info.start_url,
            region: info.region,
            account_id: info.account_id,
            role_name: info.role_name,
            source_profile: info.source_profile,
            login_session: info.login_session,
            token,
        }
    }
}

fn rfc3339<S: Serializer>(t: &Option<OffsetDateTime>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&sso_cache::format_time(*t)),
        None => s.serialize_none(),
    }
}

pub(crate) fn display_path<S: Serializer>(p: &std::path::Path, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&p.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use time::macros::datetime;

    #[test]
    fn sessions_group_profiles_and_servers_and_tell_the_next_change() {
        let home = tempfile::tempdir().unwrap();
        let h = home.path();
        fs::create_dir_all(h.join(".aws/sso/cache")).unwrap();
        fs::write(
            h.join(".aws/config"),
            "[sso-session lab]\nsso_start_url = https://l\nsso_region = eu-west-1\n\
             [profile chained]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = dev\n\
             [profile dev]\nsso_session = lab\n[profile old]\nsso_start_url = https://old\nsso_region = us-east-1\n\
             [profile plain]\nregion = us-east-1\n",
        )
        .unwrap();
        fs::write(
            h.join(".claude.json"),
            r#"{"mcpServers": {"a": {"env": {"AWS_PROFILE": "chained"}}, "b": {"args": ["--profile", "old"]}}}"#,
        )
        .unwrap();
        fs::write(
            crate::core::sso_cache::token_path(&h.join(".aws/sso/cache"), "lab"),
            r#"{"accessToken": "x", "expiresAt": "2026-11-22T12:00:00Z"}"#,
        )
        .unwrap();
        let now = datetime!(2026-11-22 11:00:00 UTC);
        let inv = Inventory::build(&Paths::under(h), &Settings::default(), now);
        let sessions = inv.sessions();
        let labels: Vec<_> = sessions.iter().map(|s| s.label()).collect();
        assert_eq!(labels, ["https://old", "lab"]);
        let lab = &sessions[1];
        assert_eq!(lab.profiles, ["chained", "dev"]);
        assert_eq!(
            lab.login_profile, "dev",
            "a chained profile is not the one to log in with"
        );
        assert_eq!(lab.servers, [0]);
        assert_eq!(sessions[0].token.state, TokenState::Missing);
        assert_eq!(inv.worst_state(), Some(TokenState::Missing));
        assert_eq!(
            inv.next_change(now, std::time::Duration::from_secs(900)),
            Some(datetime!(2026-11-22 11:45:00 UTC))
        );
    }

    #[test]
    fn sessions_needing_a_sign_in_come_first() {
        let now = datetime!(2026-11-22 12:00:00 UTC);
        let threshold = std::time::Duration::from_secs(900);
        let tok =
            |state, at: Option<OffsetDateTime>, refreshable, ends: Option<OffsetDateTime>| Token {
                state,
                expires_at: at,
                refreshable,
                session_ends_at: if refreshable { ends } else { at },
                session_ends_at_estimated: refreshable,
            };
        let valid = tok(
            TokenState::Valid,
            Some(datetime!(2026-11-22 18:00 UTC)),
            false,
            None,
        );
        let renewable_expired = tok(
            TokenState::Expired,
            Some(datetime!(2026-11-22 11:00 UTC)),
            true,
            Some(datetime!(2026-11-22 17:00 UTC)),
        );
        let session_ending = tok(
            TokenState::Valid,
            Some(datetime!(2026-11-22 12:50 UTC)),
            true,
            Some(datetime!(2026-11-22 12:10 UTC)),
        );
        let expired = tok(
            TokenState::Expired,
            Some(datetime!(2026-11-22 11:00 UTC)),
            false,
            None,
        );
        let missing = tok(TokenState::Missing, None, false, None);
        assert_eq!(valid.attention(now, threshold), Attention::None);
        assert_eq!(
            renewable_expired.attention(now, threshold),
            Attention::Refresh
        );
        assert!(renewable_expired.renews_silently(now));
        assert_eq!(session_ending.attention(now, threshold), Attention::SignIn);
        assert_eq!(expired.attention(now, threshold), Attention::SignIn);
        assert!(!expired.renews_silently(now));
        assert_eq!(missing.attention(now, threshold), Attention::SignIn);

        let mut inv = Inventory {
            servers: vec![],
            profiles: vec![],
            diagnostics: vec![],
        };
        for (name, token) in [
            ("a-valid", valid),
            ("b-renewable", renewable_expired),
            ("c-ending", session_ending),
            ("d-expired", expired),
            ("e-missing", missing),
        ] {
            inv.profiles.push(Profile {
                name: name.into(),
                kind: ProfileKind::SsoSession,
                sso_session: Some(name.into()),
                start_url: None,
                region: None,
                account_id: None,
                role_name: None,
                source_profile: None,
                login_session: None,
                token: Some(token),
            });
        }
        let order: Vec<String> = inv
            .sessions_by_urgency(now, threshold)
            .into_iter()
            .map(|s| s.key)
            .collect();
        assert_eq!(
            order,
            [
                "e-missing",
                "d-expired",
                "c-ending",
                "b-renewable",
                "a-valid"
            ]
        );
    }

    #[test]
    fn sessions_used_only_by_disabled_servers_do_not_count() {
        let home = tempfile::tempdir().unwrap();
        let h = home.path();
        fs::create_dir_all(h.join(".aws/sso/cache")).unwrap();
        fs::create_dir_all(h.join(".cursor")).unwrap();
        fs::write(
            h.join(".aws/config"),
            "[sso-session lab]\nsso_start_url = https://l\nsso_region = eu-west-1\n\
             [sso-session corp]\nsso_start_url = https://c\nsso_region = eu-west-1\n\
             [profile a]\nsso_session = lab\n[profile b]\nsso_session = corp\n",
        )
        .unwrap();
        fs::write(
            crate::core::sso_cache::token_path(&h.join(".aws/sso/cache"), "corp"),
            r#"{"accessToken": "x", "expiresAt": "2026-11-22T18:00:00Z"}"#,
        )
        .unwrap();
        let write = |disabled: bool| {
            fs::write(
                h.join(".cursor/mcp.json"),
                format!(
                    r#"{{"mcpServers": {{"off": {{"env": {{"AWS_PROFILE": "a"}}, "disabled": {disabled}}},
                        "multi": {{"env": {{"AWS_MCP_PROXY_PROFILES": "b"}}}}}}}}"#
                ),
            )
            .unwrap()
        };
        let now = datetime!(2026-11-22 11:00:00 UTC);
        write(true);
        let inv = Inventory::build(&Paths::under(h), &Settings::default(), now);
        let lab = inv.sessions().into_iter().find(|s| s.key == "lab").unwrap();
        assert_eq!(lab.token.state, TokenState::Missing);
        assert!(!inv.session_counts(&lab));
        assert_eq!(inv.worst_state(), Some(TokenState::Valid));
        write(false);
        let inv = Inventory::build(&Paths::under(h), &Settings::default(), now);
        assert_eq!(inv.worst_state(), Some(TokenState::Missing));
    }

    #[test]
    fn the_session_log_says_when_a_sign_in_is_needed() {
        // Issue 11: a refreshable token's hourly expiry is not the deadline; its session's end is.
        let home = tempfile::tempdir().unwrap();
        let h = home.path();
        fs::create_dir_all(h.join(".aws/sso/cache")).unwrap();
        fs::write(
            h.join(".aws/config"),
            "[sso-session lab]\nsso_start_url = https://l\nsso_region = eu-west-1\n\
             [profile dev]\nsso_session = lab\n\
             [profile old]\nsso_start_url = https://old\nsso_region = us-east-1\n",
        )
        .unwrap();
        let cache = h.join(".aws/sso/cache");
        fs::write(
            crate::core::sso_cache::token_path(&cache, "lab"),
            r#"{"accessToken":"a","expiresAt":"2026-11-22T10:00:00Z","refreshToken":"r",
                "clientId":"c","clientSecret":"s","registrationExpiresAt":"2027-01-01T00:00:00Z"}"#,
        )
        .unwrap();
        fs::write(
            crate::core::sso_cache::token_path(&cache, "https://old"),
            r#"{"accessToken":"a","expiresAt":"2026-11-22T11:00:00Z"}"#,
        )
        .unwrap();
        let paths = Paths::under(h);
        let settings = Settings {
            session_length_minutes_by_session: [("lab".to_owned(), 120)].into(),
            ..Settings::default()
        };
        let now = datetime!(2026-11-22 09:30:00 UTC);
        let mut log = SessionLog::load(&paths);
        log.signed_in(
            "lab",
            datetime!(2026-11-22 09:00:00 UTC),
            settings.session_length("lab"),
        );
        let mut inv = Inventory::build(&paths, &settings, now);
        inv.apply_session_log(&mut log, &settings, now);
        let dev = inv.profile("dev").unwrap().token.unwrap();
        assert_eq!(
            dev.session_ends_at,
            Some(datetime!(2026-11-22 11:00:00 UTC))
        );
        assert!(dev.session_ends_at_estimated);
        assert!(!dev.sign_in_due(now, std::time::Duration::from_secs(900)));
        assert!(dev.sign_in_due(
            datetime!(2026-11-22 10:50:00 UTC),
            std::time::Duration::from_secs(900)
        ));
        // Without a refresh token the token's own expiry is the deadline, and it is exact.
        let old = inv.profile("old").unwrap().token.unwrap();
        assert_eq!(
            old.session_ends_at,
            Some(datetime!(2026-11-22 11:00:00 UTC))
        );
        assert!(!old.session_ends_at_estimated);
        let next = inv.next_change(now, std::time::Duration::from_secs(900));
        assert_eq!(next, Some(datetime!(2026-11-22 09:45:00 UTC)));
    }
}
