"""Console sign-in sessions (`aws login`, AWS CLI 2.32 and later): profiles with `login_session`
are shown with their expiry, grouped by login session, and refreshed with `aws login`; without a
browser, `--remote`: the person opens the link anywhere and pastes the code the page shows. Keys,
tokens and the DPoP key stay in the CLI's cache file."""

from __future__ import annotations

import hashlib
import json
import os
import pty
import re
import select
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import (CURRENT_CLI_ROOT, is_error, mcp_session, run_async, structured, text_of,
                      tray_binary)
from oidc_mock import CLI_REDIRECT
from signin_mock import LOGIN_SESSION, SigninMock, point_cli_at

CONSOLE_PROFILES = f"""
[profile console]
login_session = {LOGIN_SESSION}
region = us-east-1

[profile console-admin]
role_arn = arn:aws:iam::123456789012:role/Admin
source_profile = console
"""


@pytest.fixture
def signin(lab):
    mock = SigninMock().start()
    with open(lab.aws_config, "a") as f:
        f.write(CONSOLE_PROFILES)
    # The CLI finds AWS Sign-In at the mock; the app is told the same endpoint, so links on it
    # count as sign-in links.
    point_cli_at(lab.home, mock.url, CURRENT_CLI_ROOT)
    yield mock
    mock.stop()


def login_cache_file(lab, session: str = LOGIN_SESSION, folder: Path | None = None) -> Path:
    folder = folder or lab.home / ".aws" / "login" / "cache"
    return folder / (hashlib.sha256(session.encode()).hexdigest() + ".json")


PLANTED = {"secret": "e2ePlantedConsoleSecret", "session": "e2ePlantedSessionToken",
           "refresh": "e2ePlantedConsoleRefresh", "dpop": "e2ePlantedDpopKeyMaterial"}


def plant_login_token(path: Path, expires_at: str) -> None:
    """A token file in the shape `aws login` writes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({
        "accessToken": {"accessKeyId": "ASIAPLANTED", "secretAccessKey": PLANTED["secret"],
                        "sessionToken": PLANTED["session"], "accountId": "123456789012",
                        "expiresAt": expires_at},
        "tokenType": "urn:aws:params:oauth:token-type:access_token_sigv4",
        "clientId": "arn:aws:signin:::devtools/same-device", "refreshToken": PLANTED["refresh"],
        "idToken": "a.b.c",
        "dpopKey": f"-----BEGIN EC PRIVATE KEY-----\n{PLANTED['dpop']}\n-----END EC PRIVATE KEY-----\n"}))
    path.chmod(0o600)


def in_an_hour() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))


@pytest.mark.parametrize("cache_var", [False, True], ids=["default-cache", "AWS_LOGIN_CACHE_DIRECTORY"])
def test_status_shows_console_sessions_and_nothing_secret(lab, signin, cache_var):
    folder = lab.root / "login-cache" if cache_var else None
    plant_login_token(login_cache_file(lab, folder=folder), in_an_hour())
    extra = {"AWS_LOGIN_CACHE_DIRECTORY": str(folder)} if folder else {}
    res = lab.run("status", "--json", env=lab.env(**extra))
    assert res.returncode == 0, res.stderr
    profiles = {p["name"]: p for p in json.loads(res.stdout)["profiles"]}
    for name in ("console", "console-admin"):   # the chained one shares its source's session
        p = profiles[name]
        assert p["kind"] == "login" and p["loginSession"] == LOGIN_SESSION, p
        assert p["token"]["state"] == "valid" and p["token"]["refreshable"] is True, p
    assert profiles["console-admin"]["sourceProfile"] == "console"
    table = lab.run("status", env=lab.env(**extra))
    for value in PLANTED.values():
        assert value not in res.stdout + res.stderr + table.stdout + table.stderr


def run_in_terminal(lab, *args: str, answer, env: dict, timeout: float = 120) -> tuple[int, str, str]:
    """Runs the binary with stdin and stderr on a terminal; `answer(stderr so far)` returns what
    the person types next (or None). Returns (exit code, stdout, what the terminal showed)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([*lab.cli_prefix, str(tray_binary()), *args], env=env, cwd=lab.project,
                            stdin=slave, stdout=subprocess.PIPE, stderr=slave, start_new_session=True)
    os.close(slave)
    shown = b""
    typed = False
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                shown += chunk
                if not typed:
                    line = answer(shown.decode(errors="replace"))
                    if line is not None:
                        os.write(master, line.encode() + b"\n")
                        typed = True
            elif proc.poll() is not None:
                break
        out = proc.stdout.read().decode()
        rc = proc.wait(timeout=10)
    finally:
        os.close(master)
        if proc.poll() is None:
            os.killpg(proc.pid, 9)
            proc.wait()
    return rc, out, shown.decode(errors="replace")


def person_pastes_the_code(signin: SigninMock):
    """A person: opens the link the terminal shows (on another device, as far as the CLI knows),
    signs in, and types the code the last page shows."""
    def answer(shown: str):
        m = re.search(r"(http://127\.0\.0\.1:\d+/v1/authorize\?\S+)", shown)
        if not m or "paste the code" not in shown:
            return None
        page = urllib.request.urlopen(m.group(1), timeout=30).read().decode()
        return re.search(r"<code id='code'>([^<]+)</code>", page).group(1)
    return answer


def test_refresh_in_a_terminal_signs_in_with_the_pasted_code(lab, signin):
    lab.use_current_cli()
    env = lab.env(AWS_ENDPOINT_URL_SIGNIN=signin.url)
    rc, out, shown = run_in_terminal(lab, "refresh", "--profile", "console", "--json",
                                     answer=person_pastes_the_code(signin), env=env)
    assert rc == 0, (out, shown[-3000:])
    reply = json.loads(out)
    assert reply["success"] is True and reply["method"] == "browser", reply
    assert reply["profile"] == "console" and reply["ssoSession"] is None
    # The remote flow ran: the cross-device client, the confirmation page as redirect.
    [asked] = signin.authorized
    assert asked["client_id"] == "arn:aws:signin:::devtools/cross-device", asked
    assert asked["redirect_uri"].endswith("/v1/sessions/confirmation")
    [grant] = [t for t in signin.tokens if t.get("grantType") == "authorization_code"]
    assert not signin.refused
    # The CLI wrote the credentials where it reads them; the app only read the expiry.
    cache = json.loads(login_cache_file(lab).read_text())
    assert cache["accessToken"]["secretAccessKey"] in signin.secrets()
    assert reply["expiresAt"] == cache["accessToken"]["expiresAt"]
    for secret in signin.secrets():
        if secret not in signin.issued["pasted_code"]:   # typed by the person, echoed by the terminal
            assert secret not in out + shown, secret
    assert secret_free(out, signin)


def secret_free(text: str, signin: SigninMock) -> bool:
    return not any(s in text for s in signin.secrets())


def test_refresh_with_a_browser_here_signs_in_on_this_device(lab, signin):
    """With a browser on this machine, `aws login` runs its same-device flow: the app opens the
    link the CLI printed, the browser signs in, and AWS Sign-In sends it back to the CLI's
    loopback; no code is pasted."""
    lab.use_current_cli()
    lab.use_browser("follow")
    env = lab.env(AWS_ENDPOINT_URL_SIGNIN=signin.url)
    res, reply = lab.run_json("refresh", "--profile", "console-admin", "--json", env=env)
    assert res.returncode == 0, res.stderr[-3000:]
    assert reply["success"] is True and reply["method"] == "browser", reply
    assert reply["profile"] == "console-admin", reply
    [asked] = signin.authorized
    assert asked["client_id"] == "arn:aws:signin:::devtools/same-device", asked
    assert CLI_REDIRECT.match(asked["redirect_uri"]), asked
    [opened] = lab.wait_browser("opened")
    assert opened["url"].startswith(signin.url + "/v1/authorize?"), opened
    [followed] = lab.wait_browser("followed")
    assert followed["result"] == "returned to the CLI", followed
    [grant] = [t for t in signin.tokens if t.get("grantType") == "authorization_code"]
    assert grant.get("redirectUri") == asked["redirect_uri"], grant
    assert not signin.refused and not signin.issued["pasted_code"]
    cache = json.loads(login_cache_file(lab).read_text())
    assert reply["expiresAt"] == cache["accessToken"]["expiresAt"]
    assert secret_free(res.stdout + res.stderr, signin)
    assert signin.url + "/v1/authorize" not in res.stdout + res.stderr


def test_an_mcp_client_is_told_to_use_a_terminal(lab, signin):
    """Without a browser here the sign-in ends with a pasted code, which no MCP client can send
    back: the CLI is not started, and the reply says where the user can sign in."""
    lab.use_current_cli()

    async def scenario():
        async with mcp_session(lab, lab.root / "server.log", AWS_ENDPOINT_URL_SIGNIN=signin.url) as s:
            return await s.call_tool("refresh_aws_sso_token", {"profile": "console-admin"})
    result = run_async(scenario())
    reply = structured(result)
    assert is_error(result) and reply["success"] is False, reply
    assert "aws-sso-tray refresh --profile console-admin" in reply["message"], reply["message"]
    assert not signin.authorized, "the CLI ran a sign-in nobody could finish"
    assert secret_free(text_of(result), signin)


def test_an_old_cli_says_it_cannot_sign_in_to_console_sessions(lab, signin):
    """Debian's 2.9.19 has no `aws login`: said plainly, before anything runs."""
    env = lab.env(AWS_ENDPOINT_URL_SIGNIN=signin.url)
    rc, out, shown = run_in_terminal(lab, "refresh", "--profile", "console", "--json",
                                     answer=lambda _: None, env=env, timeout=60)
    assert rc == 1, shown[-2000:]
    reply = json.loads(out)
    assert reply["success"] is False and "2.32" in reply["message"], reply
    assert not signin.authorized


@pytest.mark.parametrize("expires", ["in-an-hour", "an-hour-ago"])
def test_ensure_leaves_a_renewable_console_session_alone(lab, signin, expires):
    """Its credentials last minutes and the CLI and SDKs renew them on use while the refresh
    token lasts: `ensure` does not sign in again for an expired access part alone."""
    at = time.time() + (3600 if expires == "in-an-hour" else -3600)
    plant_login_token(login_cache_file(lab), time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at)))
    res = lab.run("ensure", "--profile", "console", "--json")
    assert res.returncode == 0, res.stderr[-2000:]
    reply = json.loads(res.stdout)
    assert reply["valid"] is True and reply.get("method") is None, reply
    assert not signin.authorized
