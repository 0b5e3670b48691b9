"""The Windows builds of the binary (headless and desktop), their CLI and MCP server under Wine,
on a home laid out the Windows way: `%USERPROFILE%` with `.aws`, `.claude.json` and `.cursor`,
`%APPDATA%` with Claude Desktop, VS Code and Zed, `%LOCALAPPDATA%` with Claude Desktop's MSIX
package, files with CRLF line ends and a BOM. `status --json`, then a real MCP client (the Python
SDK): initialize -> tools/list -> get_aws_sso_status.

Wine sets USERPROFILE, APPDATA and LOCALAPPDATA itself for every program it starts, so each run
goes through a small batch file that sets them to the fixture home first (as a Windows user's
session would), then starts the .exe.

The binaries: $AWS_SSO_TRAY_WIN_BIN (headless) and $AWS_SSO_TRAY_WIN_DESKTOP_BIN (desktop);
.ci/test builds both. The runner: .ci/wine-run.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import os
import subprocess
from pathlib import Path, PureWindowsPath

import pytest

REPO = Path(__file__).resolve().parents[3]
WINE_RUN = REPO / ".ci" / "wine-run"
SESSION = "corp"
TOOLS = {"get_aws_sso_status", "refresh_aws_sso_token"}


# Each test runs with both builds: the desktop one links Tauri's Windows backend and WebView2's
# loader, and its MCP server and CLI must start all the same.
BUILDS = {"headless": ("AWS_SSO_TRAY_WIN_BIN", "--no-default-features"),
          "desktop": ("AWS_SSO_TRAY_WIN_DESKTOP_BIN", "")}


@pytest.fixture(params=sorted(BUILDS))
def windows_binary(request) -> Path:
    var, flags = BUILDS[request.param]
    value = os.environ.get(var)
    if not value:
        pytest.fail(f"set {var} to the x86_64-pc-windows-gnu {request.param} build of aws-sso-tray.exe")
    path = Path(value)
    assert path.is_file(), f"{path} does not exist: build it with --target x86_64-pc-windows-gnu {flags}"
    return path


def win(path: Path) -> str:
    """The Windows name Wine gives a Unix path (drive Z: is the Unix root)."""
    return "Z:" + str(path).replace("/", "\\")


def write(path: Path, text: str, crlf: bool = True, bom: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    body = text.replace("\n", "\r\n") if crlf else text
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + body.encode())


class WindowsHome:
    """C:\\Users\\alice, under a temporary folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.profile = root / "Users" / "alice"
        self.roaming = self.profile / "AppData" / "Roaming"
        self.local = self.profile / "AppData" / "Local"
        self.expires = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=6)).replace(microsecond=0)
        self._lay_out()

    def _lay_out(self) -> None:
        p, roaming, local = self.profile, self.roaming, self.local
        write(p / ".aws" / "config", f"""# CRLF line ends and a BOM, as Windows PowerShell 5 writes UTF-8
[sso-session {SESSION}]
sso_start_url = https://corp.awsapps.com/start/#/
sso_region = eu-west-1
sso_registration_scopes = sso:account:access

[profile dev]
sso_session = {SESSION}
sso_account_id = 111111111111
sso_role_name = Developer

[profile ops]
sso_session = {SESSION}
sso_account_id = 222222222222
sso_role_name = Operator

[profile static]
region = eu-west-1
""", bom=True)
        token = {
            "startUrl": "https://corp.awsapps.com/start/#/",
            "region": "eu-west-1",
            "accessToken": "fixture-access-token-not-a-secret",
            "expiresAt": self.expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        name = hashlib.sha1(SESSION.encode()).hexdigest() + ".json"
        write(p / ".aws" / "sso" / "cache" / name, json.dumps(token, indent=2))
        write(p / ".claude.json", json.dumps({"mcpServers": {
            "cc-aws": {"command": "uvx", "args": ["awslabs.aws-api-mcp-server@latest"],
                       "env": {"AWS_PROFILE": "dev"}}}}, indent=2))
        write(p / ".cursor" / "mcp.json", json.dumps({"mcpServers": {
            "cursor-aws": {"command": "uvx", "args": ["awslabs.cdk-mcp-server", "--profile", "ops"]}}}))
        write(roaming / "Claude" / "claude_desktop_config.json", json.dumps({"mcpServers": {
            "desktop-aws": {"command": "uvx", "args": ["awslabs.aws-documentation-mcp-server"],
                            "env": {"AWS_PROFILE": "static"}}}}, indent=2))
        write(local / "Packages" / "Claude_pzs8sxrjxfjjc" / "LocalCache" / "Roaming" / "Claude"
              / "claude_desktop_config.json", json.dumps({"mcpServers": {
                  "msix-aws": {"command": "uvx", "args": ["awslabs.ccapi-mcp-server"],
                               "env": {"AWS_PROFILE": "dev"}}}}, indent=2))
        write(roaming / "Code" / "User" / "mcp.json", """{
  // VS Code's user profile: comments and trailing commas
  "servers": {
    "vscode-aws": {"command": "uvx", "args": ["awslabs.aws-api-mcp-server"], "env": {"AWS_PROFILE": "ops"},},
  },
}
""")
        write(roaming / "Zed" / "settings.json", json.dumps({"context_servers": {
            "zed-aws": {"command": "uvx", "args": ["awslabs.aws-api-mcp-server"],
                        "env": {"AWS_PROFILE": "dev"}}}}))
        write(p / ".codex" / "config.toml", """[mcp_servers.codex-aws]
command = "uvx"
args = ["awslabs.aws-api-mcp-server"]
env = { AWS_PROFILE = "ops" }
""")

    def launcher(self, exe: Path) -> Path:
        """A batch file that sets the user's folders, then runs the .exe with its arguments."""
        bat = self.root / "run.cmd"
        write(bat, f"""@echo off
set "USERPROFILE={win(self.profile)}"
set "APPDATA={win(self.roaming)}"
set "LOCALAPPDATA={win(self.local)}"
set "AWS_CONFIG_FILE="
set "AWS_SHARED_CREDENTIALS_FILE="
set "AWS_PROFILE="
"{win(exe)}" %*
""")
        return bat

    def winpath(self, rel: str) -> str:
        return win(self.profile) + "\\" + rel.replace("/", "\\")


def wine_env() -> dict[str, str]:
    """The Unix environment Wine starts with: nothing of the caller's AWS or MCP settings."""
    keep = ("PATH", "HOME", "AWS_SSO_TRAY_CACHE", "WINEPREFIX", "LANG", "TMPDIR")
    return {k: v for k, v in os.environ.items() if k in keep}


@pytest.fixture
def home(tmp_path) -> WindowsHome:
    return WindowsHome(tmp_path)


def run(home: WindowsHome, exe: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    bat = home.launcher(exe)
    return subprocess.run([str(WINE_RUN), "cmd", "/c", win(bat), *args], env=wine_env(),
                          capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)


def check_status(doc: dict, home: WindowsHome) -> None:
    servers = {s["name"]: s for s in doc["servers"]}
    want = {
        "cc-aws": ("claude-code", "dev", ".claude.json"),
        "cursor-aws": ("cursor", "ops", ".cursor/mcp.json"),
        "desktop-aws": ("claude-desktop", "static", "AppData/Roaming/Claude/claude_desktop_config.json"),
        "msix-aws": ("claude-desktop", "dev", "AppData/Local/Packages/Claude_pzs8sxrjxfjjc/LocalCache/"
                                              "Roaming/Claude/claude_desktop_config.json"),
        "vscode-aws": ("vscode", "ops", "AppData/Roaming/Code/User/mcp.json"),
        "zed-aws": ("zed", "dev", "AppData/Roaming/Zed/settings.json"),
        "codex-aws": ("codex", "ops", ".codex/config.toml"),
    }
    assert set(servers) == set(want), (sorted(servers), doc["diagnostics"])
    for name, (client, profile, rel) in want.items():
        s = servers[name]
        assert s["client"] == client and s["profile"] == profile, s
        # Windows paths, as the user would type them (compared case-blind, like the file system).
        assert PureWindowsPath(s["configPath"]) == PureWindowsPath(home.winpath(rel)), s
        assert s["scope"] == "user" and s["enabled"] is True, s
    profiles = {p["name"]: p for p in doc["profiles"]}
    for name in ("dev", "ops"):
        p = profiles[name]
        assert p["kind"] == "sso_session" and p["ssoSession"] == SESSION, p
        assert p["startUrl"] == "https://corp.awsapps.com/start/#/", p  # '#' kept, CR not
        assert p["token"]["state"] == "valid", p
        got = dt.datetime.fromisoformat(p["token"]["expiresAt"].replace("Z", "+00:00"))
        assert got == home.expires, p
    assert profiles["static"]["kind"] == "not_sso" and profiles["static"]["token"] is None
    # The config's BOM (as Windows PowerShell 5 writes UTF-8): read all the same, and reported,
    # since the AWS CLI cannot read such a file.
    [bom] = doc["diagnostics"]
    assert PureWindowsPath(bom["path"]) == PureWindowsPath(home.winpath(".aws/config")), bom
    assert bom["line"] == 1 and "BOM" in bom["message"], bom
    assert "fixture-access-token" not in json.dumps(doc)


def test_status_json_on_a_windows_home(home, windows_binary):
    out = run(home, windows_binary, "status", "--json")
    assert out.returncode == 0, out.stderr.decode(errors="replace")
    check_status(json.loads(out.stdout), home)


def test_mcp_initialize_list_tools_and_status(home, windows_binary):
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    bat = home.launcher(windows_binary)
    params = StdioServerParameters(command=str(WINE_RUN), args=["cmd", "/c", win(bat), "--mcp"],
                                   env=wine_env(), cwd=str(home.root))

    async def scenario():
        with open(home.root / "server.log", "w") as errlog:
            async with stdio_client(params, errlog=errlog) as (read, write_):
                async with ClientSession(read, write_) as session:
                    init = await asyncio.wait_for(session.initialize(), 240)
                    tools = await session.list_tools()
                    result = await session.call_tool("get_aws_sso_status", {})
                    return init, tools, result

    init, tools, result = asyncio.run(asyncio.wait_for(scenario(), 420))
    info = getattr(init, "server_info", None) or getattr(init, "serverInfo")  # renamed across SDKs
    assert info.name == "aws-sso-tray", info
    names = {t.name for t in tools.tools}
    assert TOOLS <= names, names
    value = getattr(result, "structured_content", None) or getattr(result, "structuredContent", None)
    assert value is not None, result
    assert not (getattr(result, "is_error", None) or getattr(result, "isError", None)), result
    check_status(value, home)
