"""Issue 10, tested against both CLIs: every sign-in case runs with Debian's AWS CLI 2.9.19 and with
AWS CLI 2.36.7 (the `aws_cli` fixture, ids cli-2.9 / cli-2.36), both flows (device code; the
browser's flow, which is PKCE for 2.36 and the device code opened in the browser for 2.9), in a
terminal and over MCP (a client without URL elicitation), cancelled and timed out.

Nobody approves anything by themselves here: the mock grants a device code only once a person
confirmed it (`require_approval`), and the person acts only on what they were shown: the link
and code on the terminal, or the page the stand-in browser (/usr/bin/xdg-open, Lab.use_browser)
was given.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import os
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from urllib.parse import parse_qs, urlencode, urlparse

import pytest

from conftest import (CODE, SCOPES, START_URL, Person, is_error, mcp_session, run_async,
                      run_in_terminal, structured)
from oidc_mock import follow_sign_in_link

# Variables the opener may get (the app's OPENER_ENV, plus the PATH it sets).
OPENER_ENV = {"HOME", "USER", "LANG", "LC_ALL", "DISPLAY", "WAYLAND_DISPLAY", "XAUTHORITY",
              "XDG_RUNTIME_DIR", "XDG_CURRENT_DESKTOP", "DBUS_SESSION_BUS_ADDRESS", "PATH"}
SIGN_IN_DEADLINE = 90  # generous: a busy 2-core box, and 2.36.7 starts slowly (a sign-in takes ~3 s)


@pytest.fixture(autouse=True)
def a_person_approves(mock):
    """Device codes are granted only once approved (never by the mock by itself)."""
    mock.configure(require_approval=True, pending_polls=0)


def sign_in_processes(lab) -> list[tuple[int, str]]:
    """Live `aws sso login` processes of this lab (and their children's command lines)."""
    return [p for p in lab.lab_processes() if " sso login" in p[1] or "aws-cli" in p[1]]


def wait_no_sign_in(lab, timeout: float = 15.0) -> list[tuple[int, str]]:
    deadline = time.monotonic() + timeout
    while True:
        alive = sign_in_processes(lab)
        if not alive or time.monotonic() >= deadline:
            return alive
        time.sleep(0.05)


def assert_flow(mock, flow: str) -> None:
    """Which flow (`pkce` or `device`) the CLI really ran, from what reached the mock."""
    if flow == "pkce":
        assert mock.count("device_authorization") == 0, "a device code was asked for"
        reg = mock.registrations[-1]
        assert reg["grantTypes"] == ["authorization_code", "refresh_token"], reg
        assert reg["redirectUris"] == ["http://127.0.0.1/oauth/callback"], reg
        assert reg["issuerUrl"] == START_URL, reg
        assert reg["scopes"] == SCOPES, reg
        assert [a["outcome"] for a in mock.authorize_requests] == ["redirected"], mock.authorize_requests
        assert [g["outcome"] for g in mock.code_grants] == ["ok"], mock.code_grants
        assert mock.code_grants[0]["has_verifier"]
    else:
        assert mock.count("device_authorization") == 1, mock.counts
        assert mock.authorize_requests == [] and mock.code_grants == []
        # Device-flow registrations carry no grant types (2.36 with --use-device-code too).
        assert all(r["grantTypes"] is None for r in mock.registrations), mock.registrations


# ---- the mock itself: the PKCE checks can fail ---------------------------------------------------

def _post(url: str, body: dict) -> tuple[int, dict, str]:
    req = urllib.request.Request(url, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read() or b"{}"), ""
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}"), e.headers.get("x-amzn-ErrorType") or ""


@pytest.mark.mock_harness
def test_mock_checks_the_pkce_exchange(mock):
    """The mock refuses what the real service refuses: a verifier that does not hash to the
    challenge, a reused code, another redirect URI, a plain challenge method."""
    status, reg, _ = _post(f"{mock.url}/client/register", {
        "clientName": "t", "clientType": "public", "scopes": SCOPES,
        "grantTypes": ["authorization_code", "refresh_token"],
        "redirectUris": ["http://127.0.0.1/oauth/callback"], "issuerUrl": START_URL})
    assert status == 200
    verifier = "v" * 64
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode()[:-1]
    redirect = "http://127.0.0.1:1/oauth/callback"

    def authorize(**over) -> tuple[int, str]:
        q = {"response_type": "code", "client_id": reg["clientId"], "redirect_uri": redirect,
             "state": "s1", "code_challenge_method": "S256", "scopes": "sso:account:access",
             "code_challenge": challenge, **over}
        import http.client
        conn = http.client.HTTPConnection("127.0.0.1", mock.port, timeout=10)
        conn.request("GET", "/authorize?" + urlencode(q))
        r = conn.getresponse()
        r.read()
        conn.close()
        return r.status, r.getheader("Location") or ""

    def code_of(location: str) -> str:
        q = parse_qs(urlparse(location).query)
        assert q["state"] == ["s1"], location
        return q["code"][0]

    def token(code: str, **over) -> tuple[int, str]:
        status, _, err = _post(f"{mock.url}/token", {
            "grantType": "authorization_code", "clientId": reg["clientId"],
            "clientSecret": reg["clientSecret"], "code": code, "codeVerifier": verifier,
            "redirectUri": redirect, **over})
        return status, err

    assert authorize(code_challenge_method="plain")[0] == 400
    assert authorize(redirect_uri="http://evil.example/oauth/callback")[0] == 400
    assert authorize(client_id="nobody")[0] == 400
    status, location = authorize()
    assert status == 302 and location.startswith(redirect + "?"), (status, location)
    assert token(code_of(location), codeVerifier="w" * 64) == (400, "InvalidGrantException")
    # A code is single use, even after a failed exchange.
    assert token(code_of(location)) == (400, "InvalidGrantException")
    code = code_of(authorize()[1])
    assert token(code, redirectUri="http://127.0.0.1:2/oauth/callback") == (400, "InvalidGrantException")
    assert token(code_of(authorize()[1]), clientSecret="wrong") == (401, "InvalidClientException")
    good = code_of(authorize()[1])
    assert token(good) == (200, "")
    assert token(good) == (400, "InvalidGrantException")
    assert [g["outcome"].split(":")[0] for g in mock.code_grants] == [
        "invalid_grant", "invalid_grant", "invalid_grant", "invalid_client", "ok", "invalid_grant"]


@pytest.mark.mock_harness
def test_mock_grants_a_device_code_only_once_approved(lab, mock):
    """`require_approval`: the real CLI 2.9 polls and waits until a person confirms the code."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(lab.home), "AWS_CONFIG_FILE": str(lab.aws_config)}
    proc = subprocess.Popen(["/usr/bin/aws", "sso", "login", "--profile", "dev", "--no-browser"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    lab._popen.append(proc)
    assert mock.wait_for("token_pending", 3, timeout=60), "the CLI never polled"
    assert proc.poll() is None and not mock.approvals
    assert mock.approve_user_code(mock.issued["user_code"][-1], via="test")
    assert proc.wait(timeout=60) == 0
    assert lab.read_token()["accessToken"] == mock.last_access_token
    assert mock.approvals[0]["pending_polls_before"] >= 3


@pytest.mark.mock_harness
def test_mock_serves_the_current_cli_pkce_flow(lab, mock):
    """AWS CLI 2.36.7 itself (without the app) signs in with PKCE against the mock: the person
    opens the authorize link it prints and is sent back to its loopback."""
    lab.use_current_cli()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(lab.home), "AWS_CONFIG_FILE": str(lab.aws_config)}
    proc = subprocess.Popen([*lab.cli_prefix, "/usr/local/bin/aws", "sso", "login", "--profile", "dev",
                             "--no-browser"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    lab._popen.append(proc)
    # A CLI that never prints the link must not hang the suite.
    def kill() -> None:
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signal.SIGKILL)
    watchdog = threading.Timer(SIGN_IN_DEADLINE, kill)
    watchdog.daemon = True
    watchdog.start()
    result = None
    try:
        for line in proc.stdout:
            if "/authorize?" in line:
                result = follow_sign_in_link(line.strip(), mock.url, via="test")
                break
        assert result == "returned to the CLI", result
        assert proc.wait(timeout=60) == 0
    finally:
        watchdog.cancel()
    assert_flow(mock, "pkce")
    assert lab.read_token()["accessToken"] == mock.last_access_token
    assert lab.read_token()["refreshToken"] == mock.last_refresh_token


# ---- a terminal ------------------------------------------------------------------------------------

def test_device_code_in_a_terminal(lab, mock, aws_cli):
    """No display: the terminal shows the link and code; the person signs in with them on any
    device. 2.36 is asked for the device flow (its PKCE redirect could not reach this machine)."""
    person = Person(mock)
    started = time.monotonic()
    rc, out, err = run_in_terminal(lab, "refresh", "--profile", "dev", "--json",
                                   "--timeout", str(SIGN_IN_DEADLINE), on_output=person,
                                   timeout=SIGN_IN_DEADLINE + 30)
    assert person.link, f"no sign-in link on the terminal: {err[-2000:]!r}"
    assert person.result == "approved", (person.result, person.link)
    assert rc == 0, err[-2000:]
    reply = json.loads(out)
    assert reply["success"] is True and reply["method"] == "browser", reply
    aws_cli.assert_ran(mock)
    assert_flow(mock, "device")
    # What the terminal showed is what the service issued, and it was shown while the CLI waited.
    assert person.code == mock.issued["user_code"][-1], (person.code, err)
    assert mock.issued["verification_uri"][-1] in person.link
    assert [a["via"] for a in mock.approvals] == ["terminal"]
    assert mock.approvals[0]["pending_polls_before"] >= 1, mock.approvals
    assert lab.read_token()["accessToken"] == mock.last_access_token
    # stdout stays the reply.
    assert person.code not in out and person.link not in out
    assert not lab.browser_visits()
    assert time.monotonic() - started < SIGN_IN_DEADLINE
    assert not lab.wait_lab_processes_gone(10)


def test_browser_sign_in_from_a_terminal(lab, mock, aws_cli):
    """A display: the app opens the link with /usr/bin/xdg-open and the person finishes in the
    browser: 2.36 with PKCE (authorize, redirect to its loopback, code + verifier), 2.9 with the
    device code filled into the link."""
    lab.use_browser("follow")
    rc, out, err = run_in_terminal(lab, "refresh", "--profile", "dev", "--json",
                                   "--timeout", str(SIGN_IN_DEADLINE), timeout=SIGN_IN_DEADLINE + 30)
    opened = lab.wait_browser("opened", timeout=1)
    followed = lab.wait_browser("followed", timeout=10)
    assert len(opened) == 1, (lab.browser_visits(), err[-2000:])
    assert rc == 0, (err[-2000:], lab.browser_visits())
    reply = json.loads(out)
    assert reply["success"] is True and reply["method"] == "browser", reply
    aws_cli.assert_ran(mock)
    url = opened[0]["url"]
    # Only the link, with a minimal environment (nothing that picks a program, no AWS secrets).
    assert opened[0]["argv"] == [url]
    assert set(opened[0]["env"]) <= OPENER_ENV, opened[0]["env"]
    assert "DISPLAY" in opened[0]["env"]
    if aws_cli.pkce:
        assert urlparse(url).path == "/authorize", url
        assert followed[0]["result"] == "returned to the CLI", followed
        assert_flow(mock, "pkce")
        assert mock.authorize_requests[0]["query"]["state"] in url
    else:
        assert url.startswith("https://device.sso.") and mock.issued["user_code"][-1] in url, url
        assert followed[0]["result"] == "approved", followed
        assert_flow(mock, "device")
        assert [a["via"] for a in mock.approvals] == ["browser"]
    assert "browser" in err, err[-2000:]
    token = lab.read_token()
    assert token["accessToken"] == mock.last_access_token
    assert token["refreshToken"] == mock.last_refresh_token
    assert not lab.wait_lab_processes_gone(10)


def test_a_browser_that_does_not_open_leaves_the_link_on_the_terminal(lab, mock, aws_cli):
    """A display, but the opener fails: the terminal shows what the browser would have got, and
    the person opens it themselves on this machine (2.36: the PKCE authorize link, URL only,
    whose redirect comes back to this machine; 2.9: the device link and code)."""
    lab.use_browser("fail")
    person = Person(mock)
    rc, out, err = run_in_terminal(lab, "refresh", "--profile", "dev", "--json",
                                   "--timeout", str(SIGN_IN_DEADLINE), on_output=person,
                                   timeout=SIGN_IN_DEADLINE + 30)
    assert len(lab.wait_browser("opened", timeout=1)) == 1, lab.browser_visits()
    assert person.link, f"no sign-in link on the terminal: {err[-2000:]!r}"
    assert rc == 0, (person.result, err[-2000:])
    assert json.loads(out)["success"] is True, out
    aws_cli.assert_ran(mock)
    if aws_cli.pkce:
        assert person.result == "returned to the CLI", person.result
        assert person.code is None  # PKCE has no code to show
        assert_flow(mock, "pkce")
    else:
        assert person.result == "approved", person.result
        assert person.code == mock.issued["user_code"][-1]
        assert_flow(mock, "device")
        assert [a["via"] for a in mock.approvals] == ["terminal"]
    assert lab.read_token()["accessToken"] == mock.last_access_token
    assert not lab.wait_lab_processes_gone(10)


def test_a_sign_in_refused_in_the_browser_ends_at_once(lab, mock, aws_cli):
    """The service refuses (the person denies access on the page, or the device code is denied):
    the refresh fails at once, not at its timeout, and leaves nothing running."""
    lab.use_browser("follow")
    mock.configure(mode="fail")
    started = time.monotonic()
    rc, out, err = run_in_terminal(lab, "refresh", "--profile", "dev", "--json",
                                   "--timeout", str(SIGN_IN_DEADLINE), timeout=SIGN_IN_DEADLINE + 30)
    elapsed = time.monotonic() - started
    assert rc == 1, (out, err[-2000:])
    reply = json.loads(out)
    assert reply["success"] is False and "within" not in reply["message"], reply
    assert elapsed < SIGN_IN_DEADLINE / 2, f"took {elapsed:.1f}s: it waited for its timeout"
    aws_cli.assert_ran(mock)
    if aws_cli.pkce:
        assert [a["outcome"] for a in mock.authorize_requests] == ["denied"], mock.authorize_requests
        assert lab.wait_browser("followed", timeout=10)[0]["result"] == "returned to the CLI with an error"
        assert mock.code_grants == []  # no code, nothing to exchange
    assert not lab.token_path().exists()
    assert not lab.wait_lab_processes_gone(10)


# ---- MCP, a client without URL elicitation -----------------------------------------------------

def _mcp_refresh(lab, log_name: str, **env) -> tuple[dict | None, str, bool]:
    out: dict = {}

    async def scenario():
        async with mcp_session(lab, lab.root / log_name, elicitation=None, **env) as s:
            result = await s.call_tool("refresh_aws_sso_token", {"profile": "dev"})
            out["reply"] = structured(result)
            out["text"] = result.model_dump_json()
            out["error"] = is_error(result)
            # The login is over when the reply came: nothing of it runs on.
            out["left"] = sign_in_processes(lab)
    run_async(scenario(), timeout=SIGN_IN_DEADLINE + 60)
    assert not out["left"], f"sign-in still running after the reply: {out['left']}"
    return out["reply"], out["text"], out["error"]


def test_mcp_without_elicitation_or_browser_says_where_to_finish(lab, mock, aws_cli):
    """No display and a client that cannot show links: the sign-in cannot reach the user, so the
    login is stopped at once and the reply says where the user can finish, without the link or
    the code. Nothing is approved; no token appears."""
    started = time.monotonic()
    reply, text, error = _mcp_refresh(lab, "mcp-nobrowser.log")
    elapsed = time.monotonic() - started
    assert reply is not None and reply["success"] is False, text
    assert error, text
    assert "aws-sso-tray refresh --profile dev" in reply["message"], reply["message"]
    assert mock.count("device_authorization") == 1, "the CLI never asked for a code"
    aws_cli.assert_ran(mock)
    for secret in mock.issued["user_code"] + mock.issued["verification_uri"] + mock.issued["device_code"]:
        assert secret not in text
    assert not mock.approvals and not lab.token_path().exists()
    # Not the whole timeout (60 s in the lab's settings): stopped once the link had nowhere to go.
    assert elapsed < 45, f"took {elapsed:.1f}s"


def test_mcp_without_elicitation_signs_in_through_the_browser(lab, mock, aws_cli):
    lab.use_browser("follow")
    reply, text, error = _mcp_refresh(lab, "mcp-browser.log")
    assert reply is not None and reply["success"] is True, text
    assert reply["method"] == "browser", reply
    aws_cli.assert_ran(mock)
    opened = lab.wait_browser("opened", timeout=1)
    assert len(opened) == 1, lab.browser_visits()
    assert_flow(mock, "pkce" if aws_cli.pkce else "device")
    for secret in mock.secrets() + [opened[0]["url"]]:
        assert secret not in text, secret
    assert lab.read_token()["accessToken"] == mock.last_access_token


@pytest.mark.parametrize("front", ["terminal", "mcp"])
def test_do_not_open_a_browser_holds_for_every_front(lab, mock, aws_cli, front):
    """The setting "Do not open a browser" (loginWithoutBrowser), on a machine with one: no page
    opens, and the sign-in uses a device code (2.36: --use-device-code), shown in the terminal or
    handed to the MCP client's user, who signs in with it."""
    lab.use_browser("follow")
    lab.write_settings(loginTimeoutSeconds=SIGN_IN_DEADLINE, loginWithoutBrowser=True)
    if front == "terminal":
        person = Person(mock)
        rc, out, err = run_in_terminal(lab, "refresh", "--profile", "dev", "--json", on_output=person,
                                       timeout=SIGN_IN_DEADLINE + 30)
        assert rc == 0 and json.loads(out)["success"] is True, (out, err[-2000:])
        assert person.code == mock.issued["user_code"][-1], err[-2000:]
        via = "terminal"
    else:
        async def scenario():
            async with mcp_session(lab, lab.root / "mcp-no-browser.log") as s:
                return await s.call_tool("refresh_aws_sso_token", {"profile": "dev"})
        reply = structured(run_async(scenario(), timeout=SIGN_IN_DEADLINE + 30))
        assert reply["success"] is True, reply
        [asked] = lab.elicited
        assert mock.issued["user_code"][-1] in asked.url, "the client got no link with its code"
        via = "client"
    assert lab.browser_visits() == [], "a browser was opened"
    aws_cli.assert_ran(mock)
    assert_flow(mock, "device")
    assert [a["via"] for a in mock.approvals] == [via], mock.approvals
    assert lab.read_token()["accessToken"] == mock.last_access_token


# ---- cancel ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("flow", ["device", "browser"])
def test_ctrl_c_in_a_terminal_stops_the_sign_in(lab, mock, aws_cli, flow):
    """Ctrl-C while the sign-in waits (the terminal signals the app's process group, not the
    CLI's own): the app and the whole login end, the CLI's loopback port (PKCE) closes, and the
    next refresh signs in normally."""
    if flow == "browser":
        lab.use_browser("ignore")
    state = {"sent": None}

    def person(text: str, proc) -> None:
        # Ctrl-C once the code is shown (the CLI prints it only after its first, pending, poll).
        if state["sent"] is None and CODE.search(text):
            state["sent"] = time.monotonic()
            os.killpg(proc.pid, signal.SIGINT)

    listening = None
    if flow == "browser":
        # Nothing is printed while the browser has the page: Ctrl-C once it was opened.
        proc = lab.spawn("refresh", "--profile", "dev", "--json", "--timeout", str(SIGN_IN_DEADLINE))
        opened = lab.wait_browser("opened", timeout=SIGN_IN_DEADLINE)
        assert opened, f"the browser was never opened (exit {proc.poll()})"
        listening = _cli_loopback_port(opened[0]["url"])
        time.sleep(0.5)  # the CLI is waiting now (2.9: polling; 2.36: its loopback is up)
        os.killpg(proc.pid, signal.SIGINT)
        rc = proc.wait(timeout=30)
    else:
        rc, out, err = run_in_terminal(lab, "refresh", "--profile", "dev", "--json",
                                       "--timeout", str(SIGN_IN_DEADLINE), on_output=person,
                                       timeout=SIGN_IN_DEADLINE + 30)
        assert state["sent"], f"no code shown: {err[-2000:]!r}"
    assert rc != 0
    assert not wait_no_sign_in(lab, 5), "the login outlived Ctrl-C"
    assert not lab.wait_lab_processes_gone(5)
    if flow == "browser" and aws_cli.pkce:
        assert listening is not None
        with pytest.raises(OSError):  # its loopback callback server is gone
            urllib.request.urlopen(f"http://127.0.0.1:{listening}/oauth/callback?code=x&state=y", timeout=3)
    assert not mock.approvals and not lab.token_path().exists()
    # The session's lock was released: the next refresh signs in.
    lab.end_cool_down()
    if flow == "browser":
        lab.set_browser("follow")
        res, reply = lab.run_json("refresh", "--profile", "dev", "--json", "--timeout", str(SIGN_IN_DEADLINE),
                                  timeout=SIGN_IN_DEADLINE + 30)
        assert res.returncode == 0 and reply["success"], (reply, res.stderr[-2000:])
    else:
        person2 = Person(mock)
        rc, out, err = run_in_terminal(lab, "refresh", "--profile", "dev", "--json",
                                       "--timeout", str(SIGN_IN_DEADLINE), on_output=person2,
                                       timeout=SIGN_IN_DEADLINE + 30)
        assert rc == 0 and person2.result == "approved", err[-2000:]
    assert lab.read_token()["accessToken"] == mock.last_access_token


def _cli_loopback_port(url: str) -> int | None:
    redirect = parse_qs(urlparse(url).query).get("redirect_uri")
    return urlparse(redirect[0]).port if redirect else None


def test_mcp_cancel_stops_the_sign_in(lab, mock, aws_cli):
    """`notifications/cancelled` while the browser has the page: the login (its whole process
    group) ends, the server stays up, and the next call signs in."""
    lab.use_browser("ignore")
    log = lab.root / "mcp-cancel.log"
    seen: dict = {}

    async def scenario():
        async with mcp_session(lab, log, elicitation=None) as s:
            call = asyncio.create_task(s.call_tool("refresh_aws_sso_token", {"profile": "dev"}))
            deadline = time.monotonic() + SIGN_IN_DEADLINE
            while not lab.browser_visits() and time.monotonic() < deadline and not call.done():
                await asyncio.sleep(0.1)
            seen["opened"] = lab.browser_visits()
            seen["running"] = sign_in_processes(lab)
            call.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await call
            gone_at = time.monotonic() + 10
            while sign_in_processes(lab) and time.monotonic() < gone_at:
                await asyncio.sleep(0.05)
            seen["left"] = sign_in_processes(lab)
            seen["tools"] = [t.name for t in (await s.list_tools()).tools]
            lab.set_browser("follow")
            again = await s.call_tool("refresh_aws_sso_token", {"profile": "dev"})
            seen["again"] = structured(again)
    run_async(scenario(), timeout=2 * SIGN_IN_DEADLINE + 60)
    assert seen["opened"], "the browser was never opened"
    assert seen["running"], "no login was running when the call was cancelled"
    assert not seen["left"], f"the login outlived the cancellation: {seen['left']}"
    assert "refresh_aws_sso_token" in seen["tools"]
    assert "cancel" in log.read_text().lower(), "the server never heard of the cancellation"
    assert seen["again"] and seen["again"]["success"] is True, seen["again"]
    assert lab.read_token()["accessToken"] == mock.last_access_token
    aws_cli.assert_ran(mock)


# ---- timeout -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("flow", ["device", "browser"])
def test_sign_in_times_out(lab, mock, aws_cli, flow):
    """Nobody finishes the sign-in (the terminal's reader does nothing; the browser page stays
    open): after --timeout the whole login is ended and the reply says so."""
    limit = 8
    if flow == "browser":
        lab.use_browser("ignore")
    person = Person(mock, act=False)
    started = time.monotonic()
    rc, out, err = run_in_terminal(lab, "refresh", "--profile", "dev", "--json", "--timeout", str(limit),
                                   on_output=person, timeout=limit + 60)
    elapsed = time.monotonic() - started
    assert rc == 1, (out, err[-2000:])
    reply = json.loads(out)
    assert reply["success"] is False and f"within {limit} s" in reply["message"], reply
    assert limit - 0.5 <= elapsed <= limit + 30, f"{elapsed:.1f}s for a {limit}s timeout"
    if flow == "browser":
        assert len(lab.browser_visits()) == 1, lab.browser_visits()
    else:
        assert person.link and person.code, f"the terminal never showed the sign-in: {err[-2000:]!r}"
    aws_cli.assert_ran(mock)
    assert not mock.approvals and not lab.token_path().exists()
    assert not lab.wait_lab_processes_gone(5)
