//! The MCP server, in process over `tokio::io::duplex`: the tool list against a golden file
//! (regenerate with `UPDATE_GOLDEN=1`), both error channels, and the status tool on a small home.

use std::fs;
use std::path::Path;
use std::sync::Arc;

use aws_sso_tray::core::{Context, Paths};
use aws_sso_tray::mcp::AwsSsoServer;
use rmcp::model::{CallToolRequestParams, ClientConfig, ErrorCode};
use rmcp::service::RunningService;
use rmcp::{ClientHandler, RoleClient, ServiceExt};
use serde_json::{json, Value};

#[derive(Default, Clone)]
struct Client;

impl ClientHandler for Client {
    fn get_info(&self) -> ClientConfig {
        ClientConfig::default()
    }
}

fn home() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let h = dir.path();
    fs::create_dir_all(h.join(".aws/sso/cache")).unwrap();
    fs::write(
        h.join(".aws/config"),
        "[sso-session lab]\nsso_start_url = https://lab.awsapps.com/start\nsso_region = us-east-1\n\
         [profile dev]\nsso_session = lab\nsso_account_id = 111122223333\nsso_role_name = Dev\n\
         [profile static]\naws_access_key_id = AKIAEXAMPLE\n",
    )
    .unwrap();
    fs::write(
        h.join(".claude.json"),
        r#"{"mcpServers": {"kb": {"command": "uvx", "env": {"AWS_PROFILE": "dev"}}, "other": {"command": "x"}}}"#,
    )
    .unwrap();
    // sha1("lab")
    fs::write(
        h.join(".aws/sso/cache/3953f9ddf975ab5097ee468d99555c5b441169bf.json"),
        r#"{"startUrl":"https://lab.awsapps.com/start","region":"us-east-1","accessToken":"PLANTED-ACCESS","expiresAt":"2099-01-01T00:00:00Z"}"#,
    )
    .unwrap();
    dir
}

async fn connect(home: &Path) -> RunningService<RoleClient, Client> {
    let (server_io, client_io) = tokio::io::duplex(64 * 1024);
    let ctx = Arc::new(Context::new(Paths::under(home)));
    tokio::spawn(async move {
        let running = AwsSsoServer::new(ctx).serve(server_io).await.unwrap();
        let _ = running.waiting().await;
    });
    Client.serve(client_io).await.unwrap()
}

fn call(name: &'static str, args: Value) -> CallToolRequestParams {
    CallToolRequestParams::new(name).with_arguments(args.as_object().unwrap().clone())
}

#[tokio::test]
async fn tool_list_matches_golden_file() {
    let home = home();
    let client = connect(home.path()).await;
    let tools = client.list_tools(Default::default()).await.unwrap();
    let actual =
        serde_json::to_string_pretty(&serde_json::to_value(&tools.tools).unwrap()).unwrap() + "\n";
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/tools_list.json");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        fs::write(&golden, &actual).unwrap();
    }
    let expected =
        fs::read_to_string(&golden).expect("golden file missing: run with UPDATE_GOLDEN=1");
    assert_eq!(
        actual, expected,
        "tool list changed; if intended, regenerate with UPDATE_GOLDEN=1"
    );
}

#[tokio::test]
async fn refresh_without_profile_or_server_is_invalid_params() {
    let home = home();
    let client = connect(home.path()).await;
    let err = client
        .call_tool(call("refresh_aws_sso_token", json!({})))
        .await
        .unwrap_err();
    let text = format!("{err:?}");
    assert!(
        text.contains(&format!("{:?}", ErrorCode::INVALID_PARAMS)),
        "{text}"
    );
}

#[tokio::test]
async fn refresh_failures_are_tool_errors_that_say_what_to_do() {
    let home = home();
    let client = connect(home.path()).await;
    for (args, origin, needle) in [
        (
            json!({"server": "nope"}),
            Value::Null,
            "known servers: kb, other",
        ),
        (
            json!({"server": "other"}),
            Value::Null,
            "sets no AWS profile",
        ),
        (
            json!({"profile": "ghost"}),
            json!("parameter"),
            "not defined in",
        ),
        (
            json!({"profile": "static"}),
            json!("parameter"),
            "does not use AWS SSO",
        ),
        (
            json!({"profile": "--debug"}),
            json!("parameter"),
            "starts with '-'",
        ),
    ] {
        let r = client
            .call_tool(call("refresh_aws_sso_token", args.clone()))
            .await
            .unwrap();
        assert_eq!(r.is_error, Some(true), "{args}");
        let s = r.structured_content.unwrap();
        assert_eq!(s["success"], false);
        assert_eq!(s["profileSource"], origin, "{args}");
        assert!(
            s["message"].as_str().unwrap().contains(needle),
            "{args}: {}",
            s["message"]
        );
    }
}

#[tokio::test]
async fn status_reports_servers_profiles_and_token_state_without_secrets() {
    let home = home();
    let client = connect(home.path()).await;
    let r = client
        .call_tool(call("get_aws_sso_status", json!({})))
        .await
        .unwrap();
    let s = r.structured_content.unwrap();
    assert!(!s.to_string().contains("PLANTED"), "token value leaked");
    let kb = s["servers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == "kb")
        .unwrap();
    assert_eq!(kb["profile"], "dev");
    assert_eq!(kb["profileSource"], "env_aws_profile");
    let dev = s["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == "dev")
        .unwrap();
    assert_eq!(dev["token"]["state"], "valid");
    assert_eq!(dev["token"]["expiresAt"], "2099-01-01T00:00:00Z");

    let r = client
        .call_tool(call("get_aws_sso_status", json!({"server": "kb"})))
        .await
        .unwrap();
    let s = r.structured_content.unwrap();
    assert_eq!(s["servers"].as_array().unwrap().len(), 1);
    let names: Vec<_> = s["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].clone())
        .collect();
    assert_eq!(names, vec![json!("dev")]);
}
