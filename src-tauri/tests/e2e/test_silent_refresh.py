"""Silent renewal with the cached refresh token (`refresh [--silent-only]`, the MCP tool, keep-alive),
against the strict OIDC mock and the real AWS CLI v2 (the tests that sign in: both, Debian's 2.9.19
and 2.36.7; the races: 2.9.19).

The mock only honours a refresh grant that carries a client it registered (id + secret) and a refresh
token it issued to that client and that was not exchanged before; every grant is recorded with the
caller (the binary's Rust SDK or botocore). Cache files are either written by the real CLI
(`aws sso login`, with a person signing in) or planted with values the mock issued, as a previous
login would have left them.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import queue
import re
import subprocess
import threading
import time

import pytest

from conftest import (LEGACY_START_URL, SESSION, START_URL, by_name, cache_name, iso_z,
                      mcp_session, parse_time, run_async, structured, is_error)

LOGIN_NEEDED = "a browser login is needed"
EXACT_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")   # what botocore/the CLI write
CLIENT_FIELDS = ("clientId", "clientSecret", "registrationExpiresAt", "startUrl", "region")


@pytest.fixture(autouse=True)
def a_person_approves(mock):
    """Device codes are granted only once a person approved them (never by the mock by itself)."""
    mock.configure(require_approval=True)


# ---- helpers ------------------------------------------------------------------------------------

def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def plant_session(lab, *, minutes_left: float = 5, registration_days: float = 80,
                  refresh: bool = True, key: str = SESSION, start_url: str = START_URL,
                  drop: tuple[str, ...] = (), extra: dict | None = None) -> dict:
    """A token file as `aws sso login` leaves it, with a client, access and refresh token the mock
    issued (so the mock accepts them). Returns what was written."""
    client_id, client_secret = lab.mock.register_client()
    access, refresh_token = lab.mock.issue_tokens(client_id, int(minutes_left * 60), refresh=refresh)
    now = now_utc()
    token = {"startUrl": start_url, "region": "us-east-1", "accessToken": access,
             "expiresAt": iso_z(now + dt.timedelta(minutes=minutes_left)),
             "clientId": client_id, "clientSecret": client_secret,
             "registrationExpiresAt": iso_z(now + dt.timedelta(days=registration_days))}
    if refresh_token:
        token["refreshToken"] = refresh_token
    for k in drop:
        token.pop(k, None)
    token.update(extra or {})
    lab.plant_file(cache_name(key), token)
    return token


def snapshot(path) -> tuple[bytes, int, int]:
    st = path.stat()
    return path.read_bytes(), st.st_mtime_ns, st.st_ino


def temp_files(lab) -> list[str]:
    if not lab.cache_dir.is_dir():
        return []
    return sorted(n for n in os.listdir(lab.cache_dir) if n.endswith(".tmp"))


def assert_no_temp_files(lab) -> None:
    """Crash safety is unit-tested; here: every atomic write cleaned up after itself."""
    left = temp_files(lab)
    assert not left, f"temporary files left in {lab.cache_dir}: {left}"


def assert_expiry_about(value: str, expires_in: int, started: dt.datetime) -> dt.datetime:
    expires = parse_time(value)
    assert started + dt.timedelta(seconds=expires_in - 5) <= expires \
        <= now_utc() + dt.timedelta(seconds=expires_in + 5), (value, expires_in)
    return expires


def refresh_json(lab, *args: str, **kw):
    return lab.run_json("refresh", *args, "--json", **kw)


def assert_login_needed(res, reply: dict, profile: str) -> None:
    assert res.returncode == 1, (res.returncode, reply, res.stderr[-2000:])
    assert reply["success"] is False, reply
    assert reply["profile"] == profile, reply
    assert reply.get("method") is None, reply
    assert reply["expiresAt"] is None, reply
    assert LOGIN_NEEDED in reply["message"], reply["message"]


def spawn_aws(lab, *args: str) -> subprocess.Popen:
    """The CLI the test chose, as Lab.aws runs it: nothing from the runner's environment
    (AWS_CA_BUNDLE...)."""
    proc = subprocess.Popen(lab._aws_command(*args), env=lab._aws_env(), cwd=str(lab.home), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    lab._popen.append(proc)  # killed by lab.cleanup() if the test fails half-way
    return proc


def finish(proc: subprocess.Popen, what: str, timeout: float = 90) -> tuple[int, str, str]:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{what} did not finish within {timeout}s")
    return proc.returncode, out, err


def assert_caller_identity(rc: int, out: str, err: str, account: str = "111111111111",
                           role: str = "Developer") -> None:
    assert rc == 0, f"aws sts get-caller-identity failed (rc={rc}): {err[-3000:]}"
    ident = json.loads(out)
    assert ident["Account"] == account, ident
    assert f"_{role}_" in ident["Arn"], ident


def assert_cache_file_consistent(lab, planted: dict) -> dict:
    """The file is JSON, holds the mock's newest access token (still accepted) and its newest,
    unspent refresh token: nothing was lost in a race."""
    raw = lab.token_path().read_text()
    try:
        token = json.loads(raw)
    except ValueError:
        pytest.fail(f"token file is not valid JSON after the race: {raw[:500]!r}")
    mock = lab.mock
    assert token["accessToken"] == mock.last_access_token, (token["accessToken"], mock.last_access_token)
    assert mock.access_token_accepted(token["accessToken"])
    assert token.get("refreshToken") == mock.last_refresh_token, token.get("refreshToken")
    assert mock.refresh_token_state(token["refreshToken"]) == "live"
    for k in ("clientId", "clientSecret", "startUrl", "region"):
        assert token[k] == planted[k], (k, token[k])
    assert parse_time(token["registrationExpiresAt"]) == parse_time(planted["registrationExpiresAt"])
    assert parse_time(token["expiresAt"]) > now_utc() + dt.timedelta(hours=7), token["expiresAt"]
    assert lab.token_path().stat().st_mode & 0o777 == 0o600
    return token


# ---- 1. silent renewal ----------------------------------------------------------------------------

def test_silent_renewal_of_a_cli_written_token(lab, mock, aws_cli):
    """A token the real CLI wrote is renewed with its refresh token: one grant, no login."""
    mock.configure(expires_in=3600)
    res = lab.aws_sign_in("dev")
    assert res.returncode == 0, res.stdout
    aws_cli.assert_ran(mock)
    before = lab.read_token()
    assert before["refreshToken"] in mock.issued["refresh_token"]
    assert mock.sign_ins == 1 and mock.count("register") == 1
    # The CLI's own CreateToken calls: device-code polls, or the PKCE code exchange.
    cli_token_calls = mock.count("token")
    if aws_cli.pkce:
        assert [g["outcome"] for g in mock.code_grants] == ["ok"], mock.code_grants
    else:
        assert cli_token_calls >= 2 and [a["via"] for a in mock.approvals] == ["terminal"], mock.approvals

    mock.configure(expires_in=6 * 3600)
    started = now_utc()
    res, reply = refresh_json(lab, "--profile", "dev")
    assert res.returncode == 0, res.stderr[-2000:]
    assert reply["success"] is True, reply
    assert reply["method"] == "refresh_token", reply
    assert (reply["profile"], reply["profileSource"], reply["ssoSession"]) == ("dev", "parameter", SESSION)

    # The mock saw exactly one refresh grant, from the binary, with the CLI's client and token.
    grants = mock.grants()
    assert len(grants) == 1, grants
    g = grants[0]
    assert (g["outcome"], g["agent"]) == ("ok", "tray"), g
    assert g["client_id"] == before["clientId"] and g["refresh_token"] == before["refreshToken"]
    assert mock.sign_ins == 1 and mock.count("register") == 1, "a login ran"
    assert mock.count("token") == cli_token_calls  # only the CLI's, from the sign-in above

    after = lab.read_token()
    assert after["accessToken"] == g["access_token"] == mock.last_access_token
    assert after["accessToken"] != before["accessToken"]
    assert EXACT_Z.match(after["expiresAt"]), after["expiresAt"]
    expires = assert_expiry_about(after["expiresAt"], 6 * 3600, started)
    assert expires > parse_time(before["expiresAt"])
    assert parse_time(reply["expiresAt"]) == expires
    for k in CLIENT_FIELDS:
        assert after[k] == before[k], (k, before[k], after[k])
    assert after["refreshToken"] == g["refresh_token_issued"] != before["refreshToken"]
    assert set(after) == set(before), (sorted(before), sorted(after))
    assert lab.token_path().stat().st_mode & 0o777 == 0o600
    assert mock.refresh_token_state(before["refreshToken"]) == "spent"
    assert mock.refresh_token_state(after["refreshToken"]) == "live"

    # status agrees, and the session is still refreshable.
    _, doc = lab.run_json("status", "--json")
    dev = by_name(doc["profiles"])["dev"]["token"]
    assert dev["state"] == "valid" and dev["refreshable"] is True, dev
    assert parse_time(dev["expiresAt"]) == expires
    assert_no_temp_files(lab)


def test_silent_renewal_without_new_refresh_token_keeps_old_one_and_every_field(lab, mock):
    """No refreshToken in the answer: the old one is kept (still live), and so is every other field,
    including ones the binary does not know."""
    mock.configure(rotate_refresh_tokens=False, expires_in=4 * 3600)
    extra = {"e2eForeignField": "keep-me", "e2eNested": {"a": [1, 2, {"b": None}]}}
    planted = plant_session(lab, minutes_left=-30, extra=extra)   # already expired: still renewable
    started = now_utc()
    res, reply = refresh_json(lab, "--profile", "team.dev", "--silent-only")
    assert res.returncode == 0, res.stderr[-2000:]
    assert reply["success"] is True and reply["method"] == "refresh_token", reply
    grants = mock.grants()
    assert [(g["outcome"], g["agent"]) for g in grants] == [("ok", "tray")], grants
    assert grants[0]["refresh_token_issued"] is None

    after = lab.read_token()
    assert after["accessToken"] == mock.last_access_token != planted["accessToken"]
    assert after["refreshToken"] == planted["refreshToken"]
    assert mock.refresh_token_state(after["refreshToken"]) == "live"
    assert EXACT_Z.match(after["expiresAt"]), after["expiresAt"]
    assert parse_time(reply["expiresAt"]) == assert_expiry_about(after["expiresAt"], 4 * 3600, started)
    for k in CLIENT_FIELDS:
        assert after[k] == planted[k], k
    for k, v in extra.items():
        assert after[k] == v, (k, after.get(k))
    assert set(after) == set(planted)
    assert lab.token_path().stat().st_mode & 0o777 == 0o600
    assert mock.logins == 0 and mock.count("register") == 0

    # The kept refresh token works again.
    res, reply = refresh_json(lab, "--profile", "dev", "--silent-only")
    assert res.returncode == 0 and reply["method"] == "refresh_token", (reply, res.stderr[-2000:])
    assert [g["outcome"] for g in mock.grants()] == ["ok", "ok"]
    assert lab.read_token()["accessToken"] == mock.last_access_token
    assert_no_temp_files(lab)


def test_mcp_tool_renews_silently(lab, mock, tmp_path):
    planted = plant_session(lab, minutes_left=3)

    async def scenario():
        async with mcp_session(lab, tmp_path / "mcp-stderr.log") as session:
            return await session.call_tool("refresh_aws_sso_token", {"server": "aws-docs"})

    result = run_async(scenario(), timeout=60)
    reply = structured(result)
    assert not is_error(result), reply
    assert reply["success"] is True and reply["method"] == "refresh_token", reply
    assert (reply["profile"], reply["profileSource"]) == ("dev", "mcp_config"), reply
    assert [(g["outcome"], g["agent"]) for g in mock.grants()] == [("ok", "tray")]
    assert mock.logins == 0
    token = lab.read_token()
    assert token["accessToken"] == mock.last_access_token != planted["accessToken"]
    assert parse_time(reply["expiresAt"]) == parse_time(token["expiresAt"])
    assert_no_temp_files(lab)


# ---- 2. the real CLI uses the rewritten file ---------------------------------------------------------

def test_real_aws_cli_uses_the_silently_renewed_token(lab, mock, aws_cli):
    """After the binary's renewal, botocore reads the rewritten file by itself: GetRoleCredentials
    carries the NEW access token and STS answers with those role credentials."""
    mock.configure(expires_in=3600)
    res = lab.aws_sign_in("dev")
    assert res.returncode == 0, res.stdout
    aws_cli.assert_ran(mock)
    old = lab.read_token()["accessToken"]

    mock.configure(expires_in=8 * 3600)
    res, reply = refresh_json(lab, "--profile", "dev", "--silent-only")
    assert res.returncode == 0 and reply["method"] == "refresh_token", (reply, res.stderr[-2000:])
    new = lab.read_token()["accessToken"]
    assert new != old and new == mock.last_access_token
    mock.revoke_access_token(old)   # only the new token can work from here on

    rc, out, err = finish(spawn_aws(lab, "sts", "get-caller-identity", "--profile", "dev"), "aws sts")
    assert_caller_identity(rc, out, err)
    assert [r["bearer"] for r in mock.role_requests] == [new], mock.role_requests
    assert mock.role_requests[0]["account"] == "111111111111"
    assert mock.role_requests[0]["role"] == "Developer"
    assert [(s["action"], s["ok"]) for s in mock.sts_requests] == [("GetCallerIdentity", True)]
    # 8 h left: botocore had no reason to refresh again, and nothing logged in.
    assert len(mock.grants()) == 1 and mock.sign_ins == 1
    assert lab.read_token()["accessToken"] == new
    assert_no_temp_files(lab)


# ---- 3. fallback when the refresh token is refused -----------------------------------------------------

def test_rejected_refresh_token_falls_back_to_browser_login(lab, mock, signs_in):
    mock.configure(allow_refresh_grant=False, expires_in=2 * 3600)
    planted = plant_session(lab, minutes_left=-5)
    started = now_utc()
    res, reply = refresh_json(lab, "--profile", "dev")
    assert res.returncode == 0, res.stderr[-2000:]
    assert reply["success"] is True and reply["method"] == "browser", reply
    assert [(g["outcome"], g["agent"]) for g in mock.grants()] == [("refused", "tray")]
    assert mock.sign_ins == 1, "the browser-style login (aws sso login) did not run exactly once"
    assert len(lab.wait_browser("followed", timeout=10)) == 1, lab.browser_visits()
    signs_in.assert_ran(mock)
    token = lab.read_token()
    assert token["accessToken"] == mock.last_access_token != planted["accessToken"]
    assert parse_time(reply["expiresAt"]) == assert_expiry_about(token["expiresAt"], 2 * 3600, started)
    assert_no_temp_files(lab)


def test_rejected_refresh_token_with_silent_only_never_logs_in(lab, mock):
    mock.configure(allow_refresh_grant=False)
    plant_session(lab, minutes_left=-5)
    before = snapshot(lab.token_path())
    res, reply = refresh_json(lab, "--profile", "dev", "--silent-only")
    assert_login_needed(res, reply, "dev")
    assert re.search(r"reject|refus|invalid", reply["message"], re.I), reply["message"]
    assert [(g["outcome"], g["agent"]) for g in mock.grants()] == [("refused", "tray")]
    assert mock.logins == 0 and mock.count("register") == 0, "aws sso login was run"
    assert snapshot(lab.token_path()) == before, "the token file was touched"
    assert not lab.lab_processes()

    # Plain output: one line on stderr saying so, exit 1.
    res = lab.run("refresh", "--profile", "dev", "--silent-only", env=lab.env(RUST_LOG="off"))
    assert res.returncode == 1
    lines = [l for l in res.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and LOGIN_NEEDED in lines[0], res.stderr
    assert mock.logins == 0 and snapshot(lab.token_path()) == before
    assert_no_temp_files(lab)


# ---- 4. nothing to renew with: --silent-only says a login is needed ------------------------------------

@pytest.mark.parametrize("case, profile, reason", [
    ("registration-expired", "dev", r"registration"),
    ("registration-missing", "dev", r"registration"),
    ("no-refresh-token", "dev", r"refresh token"),
    ("no-client-secret", "dev", r"registration|client"),
    ("legacy", "legacy", r"legacy|sso_start_url"),
    ("no-token-file", "dev", r"no token|not cached|cached"),
])
def test_silent_only_reports_login_needed(lab, mock, case, profile, reason):
    if case == "registration-expired":
        plant_session(lab, registration_days=-1)
    elif case == "registration-missing":
        plant_session(lab, drop=("registrationExpiresAt",))
    elif case == "no-refresh-token":
        plant_session(lab, refresh=False)
    elif case == "no-client-secret":
        plant_session(lab, drop=("clientSecret",))
    elif case == "legacy":
        # Even with a refresh token and a live registration: botocore never refreshes legacy profiles.
        plant_session(lab, key=LEGACY_START_URL, start_url=LEGACY_START_URL)
    path = lab.token_path(LEGACY_START_URL if case == "legacy" else SESSION)
    before = snapshot(path) if path.exists() else None
    res, reply = refresh_json(lab, "--profile", profile, "--silent-only")
    assert_login_needed(res, reply, profile)
    assert re.search(reason, reply["message"], re.I), reply["message"]
    assert mock.grants() == [], "a refresh grant was attempted without the means to succeed"
    assert mock.logins == 0 and mock.count("register") == 0, "aws sso login was run"
    assert (snapshot(path) if path.exists() else None) == before, "the token file was touched"
    assert not lab.lab_processes()
    assert_no_temp_files(lab)


# ---- 5. races ------------------------------------------------------------------------------------

RACE_ORDERS = {
    # both grants released together: either may win
    "together": {},
    # one is decided first, the loser 0.7 s later
    "binary-first": {"refresh_priority": ("aws-sdk-rust",)},
    "cli-first": {"refresh_priority": ("aws-cli/",)},
    # the CLI spends the token first, but its answer (and so its file write) comes 0.5 s AFTER the
    # binary heard "invalid_grant": the refusal was still caused by the CLI's renewal
    "cli-first-answered-late": {"refresh_priority": ("aws-cli/",), "refresh_gap": 0.5,
                                "refresh_answer_delay": {"aws-cli/": 1.0}},
}


@pytest.mark.parametrize("order", list(RACE_ORDERS))
def test_race_with_real_cli_refresh(lab, mock, order):
    """`refresh --silent-only` and `aws sts get-caller-identity` (whose botocore refreshes on its own:
    < 15 min left) use the same single-use refresh token at once. The mock holds both grants until
    both arrived (+1 s), then serves them as RACE_ORDERS says. Whoever wins, the file ends with the
    winner's tokens, nothing is lost, and the binary reports success when it won or the CLI did."""
    mock.configure(refresh_barrier=2, refresh_delay=1.0, **RACE_ORDERS[order])
    planted = plant_session(lab, minutes_left=5)
    tray = lab.spawn("refresh", "--profile", "dev", "--silent-only", "--json")
    cli = spawn_aws(lab, "sts", "get-caller-identity", "--profile", "dev")
    cli_rc, cli_out, cli_err = finish(cli, "aws sts get-caller-identity")
    tray_rc, tray_out, tray_err = finish(tray, "aws-sso-tray refresh")

    grants = mock.grants()
    assert mock.max_refresh_in_flight >= 2, f"the two refreshes did not overlap: {grants}"
    assert sorted(g["agent"] for g in grants) == ["cli", "tray"], grants
    assert all(g["refresh_token"] == planted["refreshToken"] for g in grants), grants
    winners = [g for g in grants if g["outcome"] == "ok"]
    assert len(winners) == 1, f"a spent refresh token was honoured twice? {grants}"
    assert [g["outcome"] for g in grants if g is not winners[0]] == ["invalid_grant"]
    if order != "together":
        assert winners[0]["agent"] == ("tray" if order == "binary-first" else "cli"), grants
    if order == "cli-first-answered-late":
        loser = next(g for g in grants if g is not winners[0])
        assert winners[0]["decided"] < loser["decided"] and loser["answered"] < winners[0]["answered"], grants

    # The CLI works either way (with its own new token, or the still-valid old one).
    assert_caller_identity(cli_rc, cli_out, cli_err)
    assert all(r["ok"] for r in mock.role_requests), mock.role_requests
    assert mock.logins == 0

    token = assert_cache_file_consistent(lab, planted)
    assert token["accessToken"] == winners[0]["access_token"]

    reply = json.loads(tray_out)
    if order != "together" or winners[0]["agent"] == "tray":
        # Won, or lost to the CLI: the contract counts the CLI's renewal as success (its file may
        # land a moment after the refusal, as in "cli-first-answered-late").
        assert tray_rc == 0, (f"binary reported failure although the {winners[0]['agent']} renewed "
                              f"the session: {reply.get('message')!r}; stderr: {tray_err[-2000:]!r}")
        assert reply["success"] is True and reply["method"] == "refresh_token", reply
        assert parse_time(reply["expiresAt"]) == parse_time(token["expiresAt"])
    else:
        # "together" and the CLI won: the refusal may reach the binary before botocore has
        # written its file (milliseconds). Then failing with "login needed" is acceptable; but
        # never a success that does not match the file.
        if tray_rc == 0:
            assert reply["success"] is True and reply["method"] == "refresh_token", reply
            assert parse_time(reply["expiresAt"]) == parse_time(token["expiresAt"])
        else:
            assert_login_needed(subprocess.CompletedProcess([], tray_rc, tray_out, tray_err), reply, "dev")

    # No token lost: the file's refresh token still renews silently (and the binary reads whatever
    # format botocore wrote).
    mock.configure(refresh_barrier=0, refresh_delay=0.0, refresh_priority=())
    res, reply = refresh_json(lab, "--profile", "dev", "--silent-only")
    assert res.returncode == 0 and reply["method"] == "refresh_token", (reply, res.stderr[-2000:])
    assert mock.grants()[-1]["outcome"] == "ok" and len(mock.grants()) == 3
    assert_cache_file_consistent(lab, planted)
    assert_no_temp_files(lab)


def test_concurrent_silent_refreshes_share_one_grant(lab, mock):
    """Five processes, profiles sharing one sso-session: one grant reaches the mock, all succeed."""
    mock.configure(refresh_delay=1.5, expires_in=3 * 3600)
    planted = plant_session(lab, minutes_left=2)
    profiles = ["dev", "team.dev", "ops", "chained", "dev"]
    procs = [lab.spawn("refresh", "--profile", p, "--silent-only", "--json") for p in profiles]
    results = [finish(p, f"refresh --profile {name}") for p, name in zip(procs, profiles)]
    grants = mock.grants()
    assert len(grants) == 1, f"{len(grants)} refresh grants for one session: {grants}"
    assert (grants[0]["outcome"], grants[0]["agent"]) == ("ok", "tray")
    token = lab.read_token()
    assert token["accessToken"] == mock.last_access_token != planted["accessToken"]
    assert token["refreshToken"] == mock.last_refresh_token
    for name, (rc, out, err) in zip(profiles, results):
        assert rc == 0, f"{name}: rc={rc} {out} {err[-1500:]}"
        reply = json.loads(out)
        assert reply["success"] is True and reply["method"] == "refresh_token", (name, reply)
        assert parse_time(reply["expiresAt"]) == parse_time(token["expiresAt"]), (name, reply)
    assert mock.logins == 0
    assert_no_temp_files(lab)


# ---- 7. keep-alive in the MCP server --------------------------------------------------------------------

class RawMcp:
    """`aws-sso-tray --mcp` driven over raw JSON-RPC lines, stdin held open by the test."""

    def __init__(self, lab) -> None:
        self.proc = lab.spawn("--mcp", stdin=subprocess.PIPE)
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.stderr: list[str] = []
        threading.Thread(target=self._pump_out, daemon=True).start()
        threading.Thread(target=self._pump_err, daemon=True).start()
        self._id = 0

    def _pump_out(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def _pump_err(self) -> None:
        for line in self.proc.stderr:
            self.stderr.append(line)

    def send(self, message: dict) -> None:
        self.proc.stdin.write(json.dumps(message) + "\n")
        self.proc.stdin.flush()

    def request(self, method: str, params: dict, timeout: float = 15) -> dict:
        self._id += 1
        self.send({"jsonrpc": "2.0", "id": self._id, "method": method, "params": params})
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"no answer to {method} within {timeout}s; stderr: {''.join(self.stderr)[-2000:]}")
            if line is None:
                pytest.fail(f"server closed stdout; stderr: {''.join(self.stderr)[-2000:]}")
            msg = json.loads(line)
            if msg.get("id") == self._id:
                return msg

    def initialize(self) -> dict:
        # A client that shows sign-in links to its user (URL-mode elicitation), so a sign-in it
        # starts runs until it ends or is ended; the test never answers the link.
        reply = self.request("initialize", {"protocolVersion": "2025-11-25",
                                            "capabilities": {"elicitation": {"url": {}}},
                                            "clientInfo": {"name": "e2e-raw", "version": "0"}})
        assert "result" in reply, reply
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        return reply["result"]

    def close(self, timeout: float = 5) -> int:
        """Close stdin: the server must exit promptly."""
        self.proc.stdin.close()
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"--mcp did not exit within {timeout}s of stdin closing")


def wait_until(predicate, timeout: float, step: float = 0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(step)


@pytest.mark.parametrize("minutes_setting, minutes_left", [(30, 10), (None, 5)],
                         ids=["keepAliveMinutes-30", "default-10"])
def test_keep_alive_renews_before_expiry(lab, mock, minutes_setting, minutes_left):
    settings = {"mcpKeepAlive": True, "loginTimeoutSeconds": 60}
    if minutes_setting is not None:
        settings["keepAliveMinutes"] = minutes_setting
    lab.write_settings(**settings)
    mock.configure(expires_in=5 * 3600)
    planted = plant_session(lab, minutes_left=minutes_left)
    old_expiry = parse_time(planted["expiresAt"])

    server = RawMcp(lab)
    server.initialize()

    def renewed():
        try:
            token = lab.read_token()
        except (OSError, ValueError):
            return None   # never expected: the binary replaces the file atomically
        return token if parse_time(token["expiresAt"]) > old_expiry else None

    token = wait_until(renewed, 20)
    assert token, (f"keep-alive did not renew within 20 s; grants {mock.grants()}; "
                   f"stderr: {''.join(server.stderr)[-2000:]}")
    assert token["accessToken"] == mock.last_access_token
    assert token["refreshToken"] == mock.last_refresh_token
    assert EXACT_Z.match(token["expiresAt"]), token["expiresAt"]
    assert parse_time(token["expiresAt"]) > now_utc() + dt.timedelta(hours=4)
    assert [(g["outcome"], g["agent"]) for g in mock.grants()] == [("ok", "tray")]
    assert mock.logins == 0
    # The server still answers while keep-alive runs.
    status = server.request("tools/call", {"name": "get_aws_sso_status", "arguments": {"profile": "dev"}})
    assert "result" in status, status
    assert server.close() is not None
    assert len(mock.grants()) == 1, mock.grants()
    assert_no_temp_files(lab)


def test_keep_alive_does_not_loop_when_renewal_fails(lab, mock):
    lab.write_settings(mcpKeepAlive=True, keepAliveMinutes=30, loginTimeoutSeconds=60)
    mock.configure(allow_refresh_grant=False)
    plant_session(lab, minutes_left=10)
    before = snapshot(lab.token_path())
    server = RawMcp(lab)
    server.initialize()
    assert mock.wait_for("token_refresh", 1, timeout=20), \
        f"keep-alive never tried; stderr: {''.join(server.stderr)[-2000:]}"
    # A bounded watch for a second attempt (this wait IS the observation).
    assert not mock.wait_for("token_refresh", 2, timeout=10), f"keep-alive retried: {mock.grants()}"
    assert [(g["outcome"], g["agent"]) for g in mock.grants()] == [("refused", "tray")]
    assert mock.logins == 0 and mock.count("register") == 0, "keep-alive must never start a login"
    assert snapshot(lab.token_path()) == before
    server.close()
    assert_no_temp_files(lab)


def test_keep_alive_is_off_by_default_in_the_mcp_server(lab, mock):
    # Issue 12 #11: the tray's window saves `keepAlive: true` with any setting; that must not
    # switch every MCP server's keep-alive on.
    lab.write_settings(keepAlive=True, loginTimeoutSeconds=60)
    plant_session(lab, minutes_left=5)
    before = snapshot(lab.token_path())
    server = RawMcp(lab)
    server.initialize()
    listed = server.request("tools/list", {})
    assert "result" in listed, listed
    assert not mock.wait_for("token_refresh", 1, timeout=4), f"renewed without keepAlive: {mock.grants()}"
    assert snapshot(lab.token_path()) == before
    server.close()
