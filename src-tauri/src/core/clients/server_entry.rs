//! One server entry of a client config: where its AWS profile is set, if anywhere.

use serde::Serialize;
use serde_json::{Map, Value};

/// Where in a server's entry the profile was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProfileSource {
    /// `env.AWS_PROFILE`
    EnvAwsProfile,
    /// `env.AWS_DEFAULT_PROFILE`
    EnvAwsDefaultProfile,
    /// `args`: `--profile NAME` or `--profile=NAME`
    ArgProfile,
    /// `args`: `-e AWS_PROFILE=NAME` / `--env AWS_PROFILE=NAME` (docker-launched servers)
    DockerEnv,
}

/// The profile a server uses, as written in its entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileRef {
    /// Where it was found.
    pub source: ProfileSource,
    /// The raw value.
    pub value: String,
}

impl ProfileRef {
    /// A value such as `${env:AWS_PROFILE}` or `${input:p}` is expanded by the client at launch;
    /// only the client knows what it becomes, so it is not a profile name.
    pub fn is_placeholder(&self) -> bool {
        self.value.contains("${")
    }
}

/// Finds the profile in a server entry: `env` first, then `args`.
pub fn profile_of(entry: &Map<String, Value>) -> Option<ProfileRef> {
    // Zed's older layout nests command, args and env in a `command` object.
    let inner = entry
        .get("command")
        .and_then(Value::as_object)
        .unwrap_or(entry);
    let env = inner.get("env").and_then(Value::as_object);
    for (key, source) in [
        ("AWS_PROFILE", ProfileSource::EnvAwsProfile),
        ("AWS_DEFAULT_PROFILE", ProfileSource::EnvAwsDefaultProfile),
    ] {
        if let Some(value) = env.and_then(|e| e.get(key)).and_then(Value::as_str) {
            if !value.trim().is_empty() {
                return Some(ProfileRef {
                    source,
                    value: value.trim().to_owned(),
                });
            }
        }
    }
    let args: Vec<&str> = inner
        .get("args")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    profile_in_args(&args)
}

fn profile_in_args(args: &[&str]) -> Option<ProfileRef> {
    let found = |source, value: &str| {
        let value = value.trim();
        (!value.is_empty()).then(|| ProfileRef {
            source,
            value: value.to_owned(),
        })
    };
    let mut iter = args.iter().copied().peekable();
    while let Some(arg) = iter.next() {
        if arg == "--profile" {
            if let Some(v) = iter
                .peek()
                .and_then(|v| found(ProfileSource::ArgProfile, v))
            {
                return Some(v);
            }
        } else if let Some(v) = arg.strip_prefix("--profile=") {
            if let Some(p) = found(ProfileSource::ArgProfile, v) {
                return Some(p);
            }
        } else if arg == "-e" || arg == "--env" {
            if let Some(v) = iter.peek().and_then(|kv| kv.strip_prefix("AWS_PROFILE=")) {
                if let Some(p) = found(ProfileSource::DockerEnv, v) {
                    return Some(p);
                }
            }
        } else if let Some(kv) = arg
            .strip_prefix("-e=")
            .or_else(|| arg.strip_prefix("--env="))
        {
            if let Some(p) = kv
                .strip_prefix("AWS_PROFILE=")
                .and_then(|v| found(ProfileSource::DockerEnv, v))
            {
                return Some(p);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn of(v: Value) -> Option<(ProfileSource, String)> {
        profile_of(v.as_object().unwrap()).map(|p| (p.source, p.value))
    }

    #[test]
    fn env_wins_over_args() {
        let got = of(json!({"env": {"AWS_PROFILE": "a"}, "args": ["--profile", "b"]}));
        assert_eq!(got, Some((ProfileSource::EnvAwsProfile, "a".into())));
        let got = of(json!({"env": {"AWS_DEFAULT_PROFILE": "d"}}));
        assert_eq!(got, Some((ProfileSource::EnvAwsDefaultProfile, "d".into())));
    }

    #[test]
    fn args_and_docker_forms() {
        use ProfileSource::*;
        for (args, want) in [
            (json!(["x", "--profile", "p1"]), Some((ArgProfile, "p1"))),
            (json!(["--profile=p.2"]), Some((ArgProfile, "p.2"))),
            (
                json!(["run", "-e", "AWS_PROFILE=p3", "img"]),
                Some((DockerEnv, "p3")),
            ),
            (
                json!(["run", "--env", "AWS_PROFILE=p4"]),
                Some((DockerEnv, "p4")),
            ),
            (
                json!(["run", "--env=AWS_PROFILE=p5"]),
                Some((DockerEnv, "p5")),
            ),
            (json!(["run", "-e", "AWS_REGION=x", "--profile"]), None),
            (json!([1, null, "--profile", ""]), None),
        ] {
            let got = of(json!({ "args": args }));
            assert_eq!(got, want.map(|(s, v)| (s, v.to_owned())), "{args}");
        }
    }

    #[test]
    fn zed_command_object_and_placeholders() {
        let got = profile_of(
            json!({"command": {"path": "x", "env": {"AWS_PROFILE": "${env:AWS_PROFILE}"}}})
                .as_object()
                .unwrap(),
        )
        .unwrap();
        assert!(got.is_placeholder());
    }
}
