"""`aws-sso-tray --mcp` driven by real MCP clients: the Python SDK and the MCP Inspector CLI."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import threading
import time

import pytest

from conftest import (SESSION, assert_browser_sign_ins, assert_reply_shape, assert_sign_ins,
                      assert_status_shape, by_name, is_error, mcp_errors_tuple, mcp_session, parse_time,
                      run_async, structured, text_of, tray_binary)

REFRESH = "refresh_aws_sso_token"
STATUS = "get_aws_sso_status"


def test_initialize_and_list_tools(lab):
    async def scenario():
        async with mcp_session(lab, lab.root / "server.log") as s:
            return await s.list_tools()

    tools = {t.name: t for t in run_async(scenario()).tools}
    assert set(tools) >= {REFRESH, STATUS}, sorted(tools)
    for name in (REFRESH, STATUS):
        schema = getattr(tools[name], "input_schema", None) or getattr(tools[name], "inputSchema")
        assert schema.get("type") == "object", schema
        assert {"profile", "server"} <= set(schema.get("properties", {})), schema
        assert not ({"profile", "server"} & set(schema.get("required", []))), schema  # both optional
        assert tools[name].description, f"{name} has no description"


def test_refresh_tool_with_profile(lab, mock, signs_in):
    async def scenario():
        async with mcp_session(lab, lab.root / "server.log") as s:
            return await s.call_tool(REFRESH, {"profile": "team.dev"})

    result = run_async(scenario())
    reply = structured(result)
    assert not is_error(result), text_of(result)
    assert reply is not None, "no structuredContent"
    assert_reply_shape(reply)
    assert reply["success"] is True and reply["profile"] == "team.dev"
    assert reply["profileSource"] == "parameter" and reply["ssoSession"] == SESSION
    token = lab.read_token()
    assert token["accessToken"] == mock.last_access_token
    assert parse_time(reply["expiresAt"]) == parse_time(token["expiresAt"])
    assert_browser_sign_ins(mock, signs_in)
    assert lab.elicited == []  # the browser had the link: nothing for the client to show


def test_refresh_tool_with_server_uses_server_cwd(lab, mock, signs_in):
    """other-srv is only visible from its own project, i.e. the MCP server process's cwd."""
    async def scenario():
        async with mcp_session(lab, lab.root / "server.log", cwd=lab.other_project) as s:
            return await s.call_tool(REFRESH, {"server": "other-srv"})

    result = run_async(scenario())
    reply = structured(result)
    assert not is_error(result), text_of(result)
    assert reply["success"] is True, reply
    assert reply["profile"] == "ops" and reply["profileSource"] == "mcp_config"
    assert parse_time(reply["expiresAt"]) == parse_time(lab.read_token()["expiresAt"])
    assert_browser_sign_ins(mock, signs_in)


def test_refresh_tool_profile_wins_over_server(lab, mock, signs_in):
    async def scenario():
        async with mcp_session(lab, lab.root / "server.log") as s:
            return await s.call_tool(REFRESH, {"profile": "dev", "server": "team-api"})

    reply = structured(run_async(scenario()))
    assert reply["success"] is True and reply["profile"] == "dev"
    assert reply["profileSource"] == "parameter"
    assert_browser_sign_ins(mock, signs_in)


def test_refresh_tool_without_arguments_is_invalid_params(lab, mock):
    errors = mcp_errors_tuple()

    async def scenario():
        async with mcp_session(lab, lab.root / "server.log") as s:
            with pytest.raises(errors) as caught:
                await s.call_tool(REFRESH, {})
            # the session survives a bad call
            status = await s.call_tool(STATUS, {})
            return caught.value, status

    err, status = run_async(scenario())
    assert err.error.code == -32602, (err.error.code, err.error.message)  # JSON-RPC invalid params
    assert not is_error(status)
    assert mock.logins == 0


def test_refresh_tool_unknown_server_lists_known_servers(lab, mock):
    async def scenario():
        async with mcp_session(lab, lab.root / "server.log") as s:
            return await s.call_tool(REFRESH, {"server": "no-such-server"})

    result = run_async(scenario())
    assert is_error(result)
    reply = structured(result)
    message = (reply or {}).get("message", "") + "\n" + text_of(result)
    assert reply is None or reply["success"] is False
    for known in ("aws-docs", "team-api", "proj-ops"):  # user and project scope names
        assert known in message, f"{known} not listed in: {message!r}"
    assert mock.logins == 0


def test_refresh_tool_failure_is_error_result(lab, mock, signs_in):
    mock.configure(mode="fail")

    async def scenario():
        async with mcp_session(lab, lab.root / "server.log") as s:
            return await s.call_tool(REFRESH, {"profile": "dev"})

    result = run_async(scenario())
    assert is_error(result)
    reply = structured(result)
    assert reply is not None and reply["success"] is False and reply["profile"] == "dev"
    assert "`aws sso login` failed" in reply["message"], reply["message"]
    # The CLI really ran and the service refused it.
    assert_browser_sign_ins(mock, signs_in)
    if signs_in.pkce:
        assert [a["outcome"] for a in mock.authorize_requests] == ["denied"], mock.authorize_requests
    else:
        assert "(AccessDeniedException) when calling the CreateToken" in reply["message"], reply["message"]
    assert mock.count("token_issued") == 0


def test_status_tool(lab, mock, signs_in):
    async def scenario():
        async with mcp_session(lab, lab.root / "server.log") as s:
            full = await s.call_tool(STATUS, {})
            await s.call_tool(REFRESH, {"profile": "dev"})
            one_profile = await s.call_tool(STATUS, {"profile": "team.dev"})
            one_server = await s.call_tool(STATUS, {"server": "aws-docs"})
            return full, one_profile, one_server

    full, one_profile, one_server = run_async(scenario())
    for r in (full, one_profile, one_server):
        assert not is_error(r), text_of(r)
        assert_status_shape(structured(r))
    doc = structured(full)
    servers = by_name(doc["servers"])
    assert {"aws-docs", "team-api", "deployer", "proj-ops", "local-legacy"} <= set(servers)
    assert servers["proj-ops"]["scope"] == "project"  # project scope from the server's cwd
    assert by_name(doc["profiles"])["team.dev"]["token"]["state"] == "missing"

    assert_browser_sign_ins(mock, signs_in)
    doc = structured(one_profile)
    assert [p["name"] for p in doc["profiles"]] == ["team.dev"]
    assert doc["profiles"][0]["token"]["state"] == "valid"  # same session as dev, just refreshed

    doc = structured(one_server)
    assert [s["name"] for s in doc["servers"]] == ["aws-docs"]
    assert "dev" in by_name(doc["profiles"])


def test_stdin_eof_kills_pending_login(lab, mock, aws_cli):
    """Raw JSON-RPC over pipes: the test needs the exact server pid and to close stdin itself
    (the SDK's own teardown would SIGTERM the tree after 2 s and hide a server that ignores EOF).
    No browser here: the link goes to the client (which never answers), so both CLIs poll with a
    device code that nobody approves."""
    mock.configure(mode="never", require_approval=True)
    log = open(lab.root / "server.log", "w")
    proc = lab.spawn("--mcp", stdin=subprocess.PIPE, stderr=log)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(l) for l in proc.stdout], daemon=True).start()

    def send(msg: dict) -> None:
        proc.stdin.write(json.dumps(msg) + "\n")
        proc.stdin.flush()

    def reply_to(req_id: int, timeout: float = 15) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            msg = json.loads(lines.get(timeout=max(0.01, deadline - time.monotonic())))
            if msg.get("id") == req_id:
                return msg

    send({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {"elicitation": {"url": {}}},
        "clientInfo": {"name": "e2e-eof", "version": "0"}}})
    assert "result" in reply_to(1)
    send({"jsonrpc": "2.0", "method": "notifications/initialized"})
    send({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
          "params": {"name": REFRESH, "arguments": {"profile": "dev"}}})

    # The aws child is up and polling the mock.
    assert mock.wait_for("token_pending", 1, timeout=30), "aws sso login never started polling"
    assert_sign_ins(mock, aws_cli, device=1)
    children = [p for p in lab.lab_processes() if p[0] != proc.pid]
    assert children, "no aws process found while the login is pending"
    assert proc.poll() is None

    started = time.monotonic()
    proc.stdin.close()
    # Poll both: a process that is mid-exit no longer shows its environ, so the /proc scan alone
    # could report "gone" a moment before the server has really exited.
    deadline = started + 1.5  # contract: 1 s; +0.5 s for polling on a busy 2-core box
    while True:
        server_gone = proc.poll() is not None
        survivors = lab.lab_processes()
        if (server_gone and not survivors) or time.monotonic() >= deadline:
            break
        time.sleep(0.02)
    elapsed = time.monotonic() - started
    log.close()
    assert server_gone, f"server still running {elapsed:.2f}s after stdin EOF"
    assert not survivors, f"still alive {elapsed:.2f}s after stdin EOF: {survivors}"


def test_mcp_inspector_cli_lists_tools(lab):
    """The reference client from npm. Server env goes through -e so the server sees the lab;
    npx itself keeps the real HOME so its package cache is reused between runs."""
    env_args = [a for k, v in lab.env().items() for a in ("-e", f"{k}={v}")]
    cmd = ["npx", "-y", "@modelcontextprotocol/inspector", "--cli", *env_args,
           str(tray_binary()), "--mcp", "--method", "tools/list"]
    npx_env = {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root")}
    res = subprocess.run(cmd, env=npx_env, cwd=str(lab.project), capture_output=True, text=True,
                         timeout=600)
    assert res.returncode == 0, f"inspector failed: {res.stderr[-3000:]}"
    start = res.stdout.index("{")
    listing = json.loads(res.stdout[start:])
    names = {t["name"] for t in listing["tools"]}
    assert {REFRESH, STATUS} <= names, names
