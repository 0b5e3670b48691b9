//! Full inventory over a large generated home: 5,000 projects in ~/.claude.json (one in ten with a
//! project .mcp.json), 500 profiles over 100 SSO sessions, 500 files in the SSO cache.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use aws_sso_tray::core::{Inventory, Paths, Settings};
use criterion::{criterion_group, criterion_main, Criterion};

const PROJECTS: usize = 5_000;
const PROFILES: usize = 500;
const SESSIONS: usize = 100;
const CACHE_FILES: usize = 500;

fn generate(home: &Path) {
    let mut projects = String::from("{");
    for i in 0..PROJECTS {
        let dir = home.join(format!("code/p{i}"));
        fs::create_dir_all(&dir).unwrap();
        if i % 10 == 0 {
            let mcp = format!(
                r#"{{"mcpServers":{{"s{i}":{{"command":"uvx","env":{{"AWS_PROFILE":"p{}"}}}}}}}}"#,
                i % PROFILES
            );
            fs::write(dir.join(".mcp.json"), mcp).unwrap();
        }
        let sep = if i == 0 { "" } else { "," };
        write!(
            projects,
            r#"{sep}"{}":{{"allowedTools":[],"mcpServers":{{"local{i}":{{"args":["--profile","p{}"]}}}},"history":[{{"display":"some prompt text that makes the file realistic"}}]}}"#,
            dir.display(),
            i % PROFILES
        )
        .unwrap();
    }
    projects.push('}');
    fs::write(
        home.join(".claude.json"),
        format!(r#"{{"numStartups":3,"mcpServers":{{"kb":{{"env":{{"AWS_PROFILE":"p1"}}}}}},"projects":{projects}}}"#),
    )
    .unwrap();

    let mut config = String::new();
    for s in 0..SESSIONS {
        writeln!(config, "[sso-session s{s}]\nsso_start_url = https://d-{s}.awsapps.com/start/#/\nsso_region = us-east-1\n").unwrap();
    }
    for p in 0..PROFILES {
        writeln!(
            config,
            "[profile p{p}]\nsso_session = s{}\nsso_account_id = {:012}\nsso_role_name = Role\n",
            p % SESSIONS,
            p
        )
        .unwrap();
    }
    fs::create_dir_all(home.join(".aws/sso/cache")).unwrap();
    fs::write(home.join(".aws/config"), config).unwrap();
    for c in 0..CACHE_FILES {
        let key = if c < SESSIONS {
            format!("s{c}")
        } else {
            format!("other-{c}")
        };
        let name = format!("{}.json", sha1_smol::Sha1::from(&key).digest());
        fs::write(
            home.join(".aws/sso/cache").join(name),
            r#"{"startUrl":"https://x","region":"us-east-1","accessToken":"a","expiresAt":"2099-01-01T00:00:00Z","clientId":"c","clientSecret":"s","registrationExpiresAt":"2099-01-01T00:00:00Z","refreshToken":"r"}"#,
        )
        .unwrap();
    }
}

fn inventory(c: &mut Criterion) {
    let home = tempfile::tempdir().unwrap();
    generate(home.path());
    let paths = Paths::under(home.path());
    let settings = Settings::default();
    let now = time::OffsetDateTime::now_utc();
    let inv = Inventory::build(&paths, &settings, now);
    assert_eq!(inv.profiles.len(), PROFILES);
    assert_eq!(inv.servers.len(), 1 + PROJECTS + PROJECTS / 10);
    c.bench_function("inventory_large_home", |b| {
        b.iter(|| Inventory::build(&paths, &settings, now))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = inventory
}
criterion_main!(benches);
