"""Issue 9 end to end: configs as real users write them, through the real Python MCP client and
both real AWS CLIs (signing in through the stand-in browser against the loopback OIDC mock).

- a server that may use several profiles on different sessions (mcp-proxy-for-aws's
  `AWS_MCP_PROXY_PROFILES`, in an Amazon Q CLI agent file) is listed with all of them, and a
  refresh by server renews each distinct session and says so;
- a disabled server is reported `enabled: false` and can still be refreshed by name;
- a refresh by server names the config file of the entry it used (`configPath`);
- a profile whose `sso_session` names a missing section is refused before the CLI runs.
"""

from __future__ import annotations

import json

from conftest import (LEGACY_START_URL, SESSION, assert_browser_sign_ins, assert_reply_shape,
                      assert_sign_ins, assert_status_shape, by_name, is_error, mcp_session, parse_time, run_async, structured, text_of)

REFRESH = "refresh_aws_sso_token"
STATUS = "get_aws_sso_status"


def add_real_world_configs(lab) -> dict[str, str]:
    """Adds an Amazon Q agent, a Cursor file with a disabled server and a one-click command line,
    and a profile with a missing sso-session. Returns the config paths by server name."""
    agents = lab.home / ".aws" / "amazonq" / "cli-agents"
    agents.mkdir(parents=True)
    agent = agents / "ops.json"
    agent.write_text(json.dumps({
        "name": "ops", "description": "ops agent", "prompt": "You help with AWS.",
        "mcpServers": {"proxy-srv": {
            "command": "uvx",
            "args": ["mcp-proxy-for-aws@latest", "https://aws-mcp.us-east-1.api.aws/mcp",
                     "--profile", "ops"],
            "env": {"AWS_MCP_PROXY_PROFILES": "dev legacy team.dev"}}},
        "tools": ["*"], "useLegacyMcpJson": True}, indent=2))
    cursor = lab.home / ".cursor" / "mcp.json"
    cursor.parent.mkdir(parents=True)
    cursor.write_text(json.dumps({"mcpServers": {
        "off-srv": {"command": "uvx", "args": ["awslabs.iam-mcp-server@latest"],
                    "env": {"AWS_PROFILE": "ops"}, "disabled": True},
        "one-click": {"command": "uvx awslabs.aurora-dsql-mcp-server@latest --cluster_endpoint x "
                                 "--database_user admin --profile team.dev",
                      "env": {"AWS_PROFILE": "dev"}},
        "orphan-srv": {"command": "uvx", "args": ["x"], "env": {"AWS_PROFILE": "orphan"}},
    }}, indent=2))
    with open(lab.aws_config, "a") as f:
        f.write("\n[profile orphan]\nsso_session = deleted\nsso_account_id = 1\nsso_role_name = X\n")
    return {"proxy-srv": str(agent), "off-srv": str(cursor), "one-click": str(cursor)}


def test_status_tool_lists_every_profile_and_disabled_servers(lab, mock):
    paths = add_real_world_configs(lab)

    async def scenario():
        async with mcp_session(lab, lab.root / "server.log") as s:
            return (await s.call_tool(STATUS, {}),
                    await s.call_tool(STATUS, {"profile": "legacy"}),
                    await s.call_tool(STATUS, {"server": "proxy-srv"}))

    full, by_profile, by_server = run_async(scenario())
    for r in (full, by_profile, by_server):
        assert not is_error(r), text_of(r)
        assert_status_shape(structured(r))
    doc = structured(full)
    servers = by_name(doc["servers"])
    proxy = servers["proxy-srv"]
    assert proxy["client"] == "amazon-q" and proxy["configPath"] == paths["proxy-srv"], proxy
    assert proxy["profiles"] == ["dev", "legacy", "team.dev"], proxy
    assert proxy["profile"] == "dev" and proxy["profileSource"] == "env_aws_mcp_proxy_profiles", proxy
    assert proxy["enabled"] is True
    assert servers["off-srv"]["enabled"] is False and servers["off-srv"]["profile"] == "ops"
    # The whole command line in `command`; --profile beats env.AWS_PROFILE.
    assert servers["one-click"]["profile"] == "team.dev", servers["one-click"]
    assert servers["one-click"]["profileSource"] == "arg_profile"
    assert servers["aws-docs"]["enabled"] is True
    orphan = [d for d in doc["diagnostics"] if "orphan" in d["message"]]
    assert len(orphan) == 1 and '"deleted"' in orphan[0]["message"], doc["diagnostics"]

    # Filtering by a non-default profile of the server still finds it.
    doc = structured(by_profile)
    assert "proxy-srv" in by_name(doc["servers"]), doc["servers"]
    doc = structured(by_server)
    assert [s["name"] for s in doc["servers"]] == ["proxy-srv"]
    assert set(by_name(doc["profiles"])) == {"dev", "legacy", "team.dev"}


def test_refresh_by_server_renews_each_distinct_session(lab, mock, signs_in):
    paths = add_real_world_configs(lab)

    async def scenario():
        async with mcp_session(lab, lab.root / "server.log") as s:
            return await s.call_tool(REFRESH, {"server": "proxy-srv"})

    result = run_async(scenario(), timeout=180)
    reply = structured(result)
    assert not is_error(result), text_of(result)
    assert_reply_shape(reply)
    assert reply["success"] is True, reply
    # dev and team.dev share the lab session: two sign-ins, not three (legacy's, without an
    # sso-session, with the device code even for 2.36).
    assert reply["profiles"] == ["dev", "legacy"], reply
    assert_sign_ins(mock, signs_in, **({"pkce": 1, "device": 1} if signs_in.pkce else {"device": 2}))
    assert len([v for v in lab.browser_visits() if v["event"] == "opened"]) == 2, lab.browser_visits()
    assert reply["configPath"] == paths["proxy-srv"], reply
    assert reply["profile"] == "dev" and reply["profileSource"] == "mcp_config", reply
    assert "2 distinct SSO sessions" in reply["message"], reply["message"]
    lab_token = lab.read_token(SESSION)
    legacy_token = lab.read_token(LEGACY_START_URL)
    expiries = [parse_time(lab_token["expiresAt"]), parse_time(legacy_token["expiresAt"])]
    assert parse_time(reply["expiresAt"]) == min(expiries), (reply, expiries)


def test_refresh_disabled_server_and_config_path(lab, mock, signs_in):
    paths = add_real_world_configs(lab)

    async def scenario():
        async with mcp_session(lab, lab.root / "server.log") as s:
            return (await s.call_tool(REFRESH, {"server": "off-srv"}),
                    await s.call_tool(REFRESH, {"server": "orphan-srv"}))

    off, orphan = run_async(scenario())
    reply = structured(off)
    assert not is_error(off), text_of(off)
    assert reply["success"] is True and reply["profile"] == "ops", reply
    assert reply["configPath"] == paths["off-srv"], reply
    assert_browser_sign_ins(mock, signs_in)

    # Refused before the CLI runs: no further sign-in reached the mock.
    reply = structured(orphan) or json.loads(text_of(orphan))
    assert is_error(orphan), reply
    assert reply["success"] is False, reply
    assert "no [sso-session deleted] section" in reply["message"], reply
    assert_browser_sign_ins(mock, signs_in)
