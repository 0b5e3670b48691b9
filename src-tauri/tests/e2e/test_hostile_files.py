"""Files that no client would write but that a home can hold: a symlink loop, a FIFO, a file far
over the size cap, nesting deep enough to overflow a recursive parser, a file nobody may read.
Each is a diagnostic naming the file; `status` and the MCP server still finish at once and still
report every server and token of the good files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import (LEGACY_START_URL, assert_status_shape, by_name, cache_name, mcp_session,
                      run_async, structured)

SIXTEEN_MIB = 16 * 1024 * 1024
DEPTH = 200_000


def plant_hostile(lab) -> dict[Path, str]:
    """Hostile files in client-config and cache places; returns path -> expected diagnostic text."""
    home = lab.home
    expected: dict[Path, str] = {}

    def at(rel: str) -> Path:
        p = home / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    loop_a, loop_b = at(".cursor/mcp.json"), at(".cursor/loop.json")
    os.symlink(loop_b, loop_a)
    os.symlink(loop_a, loop_b)
    expected[loop_a] = "symbolic link loop"

    fifo = at(".gemini/settings.json")
    os.mkfifo(fifo)
    expected[fifo] = "not a regular file"

    big = at(".kiro/settings/mcp.json")
    with open(big, "wb") as f:
        f.truncate(SIXTEEN_MIB + 1)   # sparse: costs no disk
    expected[big] = "larger than 16 MiB"

    deep = at(".codeium/windsurf/mcp_config.json")
    deep.write_text("[" * DEPTH + "]" * DEPTH)
    expected[deep] = "not valid JSON"

    deep_toml = at(".codex/config.toml")
    deep_toml.write_text("[mcp_servers.x]\nargs = " + "[" * DEPTH + "]" * DEPTH + "\n")
    expected[deep_toml] = "not valid TOML"

    # The legacy profile's token file: deep nesting in the SSO cache.
    lab.cache_dir.mkdir(parents=True, exist_ok=True)
    token = lab.cache_dir / cache_name(LEGACY_START_URL)
    token.write_text('{"accessToken": ' + "[" * DEPTH + "]" * DEPTH + "}")
    expected[token] = f"token for start URL {LEGACY_START_URL} has an accessToken that is empty or not text"
    return expected


def diagnostics_by_path(doc: dict) -> dict[str, str]:
    return {d["path"]: d["message"] for d in doc["diagnostics"]}


def test_status_names_each_hostile_file_and_keeps_the_rest(lab):
    expected = plant_hostile(lab)
    res, doc = lab.run_json("status", "--json", timeout=30)
    assert res.returncode == 0, res.stderr[-2000:]
    assert_status_shape(doc)
    found = diagnostics_by_path(doc)
    for path, text in expected.items():
        assert str(path) in found, f"no diagnostic for {path}: {doc['diagnostics']}"
        assert text in found[str(path)], (path, found[str(path)])
    # The good files still count: every server of ~/.claude.json, with its profile.
    servers = by_name(doc["servers"])
    for name, profile in [("aws-docs", "dev"), ("team-api", "team.dev"), ("deployer", "chained")]:
        assert servers[name]["profile"] == profile, servers[name]
    legacy = by_name(doc["profiles"])["legacy"]
    assert legacy["token"]["state"] == "missing", legacy


def test_mcp_server_reports_hostile_files_without_hanging(lab):
    expected = plant_hostile(lab)

    async def scenario():
        async with mcp_session(lab, lab.root / "mcp.log") as s:
            return structured(await s.call_tool("get_aws_sso_status", {}))
    doc = run_async(scenario(), timeout=60)
    found = diagnostics_by_path(doc)
    assert set(map(str, expected)) <= set(found), found
    assert "aws-docs" in by_name(doc["servers"])


def test_an_unreadable_file_is_a_diagnostic(tray_bin):
    """chmod 000 stops everyone but root, so as root the binary runs as `nobody` (setpriv)."""
    root = Path(tempfile.mkdtemp(prefix="aws-sso-tray-perm-"))
    try:
        home = root / "home"
        (home / ".cursor").mkdir(parents=True)
        (home / ".copilot").mkdir(parents=True)
        (home / ".cursor" / "mcp.json").write_text(json.dumps(
            {"mcpServers": {"readable": {"command": "x", "env": {"AWS_PROFILE": "dev"}}}}))
        locked = home / ".copilot" / "mcp-config.json"
        locked.write_text(json.dumps({"mcpServers": {"hidden": {"command": "y"}}}))
        locked.chmod(0)
        cmd = [str(tray_bin), "status", "--json"]
        if os.geteuid() == 0:
            setpriv = shutil.which("setpriv")
            if setpriv is None:
                pytest.fail("setpriv (util-linux) is needed to run as another user", pytrace=False)
            for d in [root, *root.rglob("*")]:
                if d.is_dir():
                    d.chmod(0o755)
            (home / ".cursor" / "mcp.json").chmod(0o644)
            # The binary itself must be reachable by nobody too: copy it beside the home.
            exe = root / "aws-sso-tray"
            shutil.copy2(tray_bin, exe)
            exe.chmod(0o755)
            cmd = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", str(exe), "status", "--json"]
        env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
               "XDG_STATE_HOME": str(home / ".state"), "RUST_LOG": "off"}
        res = subprocess.run(cmd, env=env, cwd=str(home), capture_output=True, text=True, timeout=30)
        assert res.returncode == 0, res.stderr
        doc = json.loads(res.stdout)
        found = diagnostics_by_path(doc)
        assert "Permission denied" in found.get(str(locked), ""), doc["diagnostics"]
        assert [s["name"] for s in doc["servers"]] == ["readable"], doc["servers"]
    finally:
        shutil.rmtree(root, ignore_errors=True)
