"""Issue 11: the real deadline. When a browser sign-in will be needed (the end of the IAM Identity
Center sign-in session, not the hourly access token), `refresh --fresh` / MCP `fresh: true`, and
`ensure` for scripts and agents, against the real AWS CLI v2 (both: Debian's 2.9.19 and 2.36.7)
and the loopback mock, which models the sign-in session (its length, refused refresh grants after
it, Logout). This app's sign-ins go through the stand-in browser (`signs_in`), the CLI's own through
a person reading its output (`lab.aws_sign_in`); nothing is approved by the mock by itself.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import (SESSION, by_name, mcp_session, parse_time, run_async, structured,
                      is_error, tray_binary)
from test_silent_refresh import plant_session

STATUS = "get_aws_sso_status"
REFRESH = "refresh_aws_sso_token"
DEFAULT_LENGTH = dt.timedelta(minutes=480)
SLACK = dt.timedelta(seconds=60)
FRESH_NOTICE = "signing out of the current SSO session on the server"
# A fresh session gives up the current one only when the sign-in that follows can reach the user:
# a display (a browser can open; `signs_in` gives one) or a terminal. Runs with this have neither.
NO_DISPLAY = {"DISPLAY": None}
STATE_FILE = Path("aws-sso-tray") / "sessions.json"


@pytest.fixture(autouse=True)
def a_person_approves(mock):
    """Device codes are granted only once a person approved them (never by the mock by itself)."""
    mock.configure(require_approval=True)


# ---- helpers ------------------------------------------------------------------------------------

def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def assert_about(value: str | None, expected: dt.datetime, slack: dt.timedelta = SLACK) -> dt.datetime:
    assert value is not None, f"no sessionEndsAt, expected about {expected.isoformat()}"
    at = parse_time(value)
    assert abs(at - expected) <= slack, f"sessionEndsAt {value}, expected {expected.isoformat()} ± {slack}"
    return at


def token_of(doc: dict, profile: str = "dev") -> dict:
    return by_name(doc["profiles"])[profile]["token"]


def status(lab) -> dict:
    res, doc = lab.run_json("status", "--json")
    assert res.returncode == 0, res.stderr[-2000:]
    return doc


def refresh(lab, *args: str, **kw) -> tuple[subprocess.CompletedProcess, dict]:
    return lab.run_json("refresh", "--profile", "dev", *args, "--json", **kw)


def sign_in(lab, mock) -> tuple[dict, dt.datetime]:
    """A browser sign-in by this app (no token yet, or none usable; `signs_in`: the browser
    follows the link); returns the reply and the time."""
    sign_ins = mock.sign_ins
    res, reply = refresh(lab)
    at = now_utc()
    assert res.returncode == 0, (reply["message"], res.stderr[-3000:], dict(mock.counts))
    assert reply["success"] is True and reply["method"] == "browser", reply
    assert mock.sign_ins == sign_ins + 1, "no browser sign-in ran"
    return reply, at


def session_log(lab) -> dict:
    path = lab.xdg_state / STATE_FILE
    assert path.is_file(), f"no session log at {path}"
    assert path.stat().st_mode & 0o777 == 0o600, oct(path.stat().st_mode)
    return json.loads(path.read_text())


def table_row(lab, server: str) -> dict[str, str]:
    """The `status` table row of `server`, split by the header's column starts (TZ=UTC)."""
    res = lab.run("status", env=lab.env(TZ="UTC"))
    assert res.returncode == 0, res.stderr[-2000:]
    lines = res.stdout.splitlines()
    header = lines[0]
    names = ["SERVER", "CLIENT", "SCOPE", "PROFILE", "SESSION", "EXPIRES IN", "SIGN-IN NEEDED"]
    starts = [header.index(n) for n in names]
    for line in lines[1:]:
        if line.split("  ")[0].strip() == server:
            cells = {}
            for i, n in enumerate(names):
                end = starts[i + 1] if i + 1 < len(starts) else None
                cells[n] = line[starts[i]:end].strip()
            return cells
    pytest.fail(f"no row for {server} in:\n{res.stdout}")


def hhmm(value: str) -> str:
    return parse_time(value).strftime("%H:%M")


# ---- 1. the estimate after a sign-in by this app ------------------------------------------------

def test_estimate_after_a_sign_in_by_this_app(lab, mock, signs_in):
    mock.configure(expires_in=3600)   # the hourly access token
    reply, at = sign_in(lab, mock)
    assert reply["sessionEndsAtEstimated"] is True, reply
    end = assert_about(reply["sessionEndsAt"], at + DEFAULT_LENGTH)

    doc = status(lab)
    for profile in ("dev", "team.dev", "ops"):   # every profile of the session
        t = token_of(doc, profile)
        assert t["refreshable"] is True, t
        assert parse_time(t["sessionEndsAt"]) == end, (profile, t)
        assert t["sessionEndsAtEstimated"] is True, t
    # Not the hourly token: the access token's expiry is reported apart.
    assert parse_time(token_of(doc)["expiresAt"]) != end
    log = session_log(lab)
    assert SESSION in log["sessions"], log

    # The table shows it, approximate, in local time (TZ=UTC here).
    row = table_row(lab, "aws-docs")
    assert row["SIGN-IN NEEDED"] == f"≈ {hhmm(reply['sessionEndsAt'])}", row

    # A second browser sign-in while the session lasts keeps its start (and so its end).
    time.sleep(2)
    lab.token_path().unlink()
    assert token_of(status(lab))["state"] == "missing"
    again, _ = sign_in(lab, mock)
    assert again["sessionEndsAtEstimated"] is True, again
    assert parse_time(again["sessionEndsAt"]) == end, (again["sessionEndsAt"], reply["sessionEndsAt"])
    t = token_of(status(lab))
    assert parse_time(t["sessionEndsAt"]) == end and t["sessionEndsAtEstimated"] is True, t

    # The MCP status and refresh replies carry the same.
    async def scenario():
        async with mcp_session(lab, lab.root / "mcp.log") as s:
            st = await s.call_tool(STATUS, {})
            rf = await s.call_tool(REFRESH, {"profile": "dev"})
            one = await s.call_tool(STATUS, {"server": "aws-docs"})
            return st, rf, one

    st, rf, one = run_async(scenario())
    for r in (st, rf, one):
        assert not is_error(r), structured(r)
    for doc in (structured(st), structured(one)):
        t = token_of(doc)
        assert parse_time(t["sessionEndsAt"]) == end and t["sessionEndsAtEstimated"] is True, t
    r = structured(rf)
    assert r["success"] is True and r["method"] == "refresh_token", r   # silent: no new session
    assert parse_time(r["sessionEndsAt"]) == end and r["sessionEndsAtEstimated"] is True, r
    assert mock.sign_ins == 2
    signs_in.assert_ran(mock)


def test_estimate_uses_the_session_length_of_the_session(lab, mock, tmp_path, signs_in):
    lab.write_settings(loginTimeoutSeconds=60, sessionLengthMinutes=600,
                       sessionLengthMinutesBySession={SESSION: 90})

    async def scenario():
        async with mcp_session(lab, tmp_path / "mcp.log") as s:
            rf = await s.call_tool(REFRESH, {"server": "aws-docs"})   # browser sign-in through MCP
            st = await s.call_tool(STATUS, {"profile": "dev"})
            return rf, st

    rf, st = run_async(scenario())
    at = now_utc()
    r = structured(rf)
    assert not is_error(rf) and r["success"] is True and r["method"] == "browser", r
    assert r["sessionEndsAtEstimated"] is True, r
    end = assert_about(r["sessionEndsAt"], at + dt.timedelta(minutes=90))
    t = token_of(structured(st))
    assert parse_time(t["sessionEndsAt"]) == end and t["sessionEndsAtEstimated"] is True, t
    t = token_of(status(lab))
    assert parse_time(t["sessionEndsAt"]) == end and t["sessionEndsAtEstimated"] is True, t
    assert mock.sign_ins == 1 and len(lab.wait_browser("followed", timeout=10)) == 1
    signs_in.assert_ran(mock)


def test_a_token_without_refresh_token_ends_at_its_expiry(lab, mock, signs_in):
    """Non-refreshable: the token's own expiry is the deadline, not an estimate."""
    planted = plant_session(lab, minutes_left=90, refresh=False)
    t = token_of(status(lab))
    assert t["refreshable"] is False, t
    assert parse_time(t["sessionEndsAt"]) == parse_time(planted["expiresAt"]), t
    assert t["sessionEndsAtEstimated"] is False, t
    # The same in a refresh reply. A legacy profile's client is registered without scopes, so the
    # real service hands out no refresh token for it (the mock would, unless told).
    mock.configure(issue_refresh_token=False)
    res, reply = lab.run_json("refresh", "--profile", "legacy", "--json")
    assert res.returncode == 0 and reply["method"] == "browser", (reply, res.stderr[-2000:])
    # A legacy profile signs in with a device code, with either CLI.
    assert mock.logins == 1 and not mock.authorize_requests
    signs_in.assert_ran(mock)
    assert parse_time(reply["sessionEndsAt"]) == parse_time(reply["expiresAt"]), reply
    assert reply["sessionEndsAtEstimated"] is False, reply


# ---- 2. the estimate after a sign-in by the CLI alone -------------------------------------------

def test_estimate_after_a_sign_in_by_the_cli_alone(lab, mock, aws_cli):
    t = token_of(status(lab))
    assert t["state"] == "missing" and t["sessionEndsAt"] is None, t    # seen unusable
    assert t["sessionEndsAtEstimated"] is False, t

    res = lab.aws_sign_in("dev")
    assert res.returncode == 0, res.stdout
    assert mock.sign_ins == 1
    aws_cli.assert_ran(mock)

    seen = now_utc()
    t = token_of(status(lab))
    assert t["state"] == "valid" and t["refreshable"] is True, t
    assert t["sessionEndsAtEstimated"] is True, t
    end = assert_about(t["sessionEndsAt"], seen + DEFAULT_LENGTH)
    entry = session_log(lab)["sessions"][SESSION]
    assert entry.get("observed") is True, entry

    # Seen again: the start is kept.
    time.sleep(1.5)
    assert parse_time(token_of(status(lab))["sessionEndsAt"]) == end


def test_a_valid_token_never_seen_unusable_has_no_estimate(lab, mock, aws_cli):
    """Nothing known about when the session began: null, not a guess."""
    res = lab.aws_sign_in("dev")
    assert res.returncode == 0, res.stdout
    aws_cli.assert_ran(mock)
    t = token_of(status(lab))
    assert t["state"] == "valid" and t["refreshable"] is True, t
    assert t["sessionEndsAt"] is None and t["sessionEndsAtEstimated"] is False, t
    assert table_row(lab, "aws-docs")["SIGN-IN NEEDED"] == "-"


# ---- 3. a refused refresh token ends the session ------------------------------------------------

def test_a_refused_refresh_token_ends_the_session(lab, mock, signs_in):
    mock.configure(session_seconds=3)
    reply, _ = sign_in(lab, mock)
    estimated = parse_time(reply["sessionEndsAt"])
    start = mock.sessions[-1]["start"]
    time.sleep(max(0.0, start + 3.5 - time.time()))

    before = now_utc().replace(microsecond=0)
    res, reply = refresh(lab, "--silent-only")
    after = now_utc()
    assert res.returncode == 1, (reply, res.stderr[-2000:])
    assert reply["success"] is False, reply
    assert [(g["outcome"], g["agent"]) for g in mock.grants()] == [("session_over", "tray")]
    assert mock.sign_ins == 1

    t = token_of(status(lab))
    assert t["sessionEndsAtEstimated"] is False, t
    ended = parse_time(t["sessionEndsAt"])
    assert before <= ended <= after, (t, before, after)
    assert ended < estimated
    assert table_row(lab, "aws-docs")["SIGN-IN NEEDED"] == "now"

    # A browser sign-in then starts a new session, estimated again.
    res, reply = refresh(lab)
    at = now_utc()
    assert res.returncode == 0 and reply["method"] == "browser", (reply, res.stderr[-2000:])
    assert mock.sign_ins == 2
    signs_in.assert_ran(mock)
    assert reply["sessionEndsAtEstimated"] is True, reply
    assert_about(reply["sessionEndsAt"], at + DEFAULT_LENGTH)
    t = token_of(status(lab))
    assert t["sessionEndsAtEstimated"] is True
    assert parse_time(t["sessionEndsAt"]) == parse_time(reply["sessionEndsAt"])


# ---- 4. a fresh session -------------------------------------------------------------------------

def read_stderr_lines(proc: subprocess.Popen, into: list[str]) -> threading.Thread:
    def pump():
        for line in proc.stderr:
            into.append(line)
    t = threading.Thread(target=pump, daemon=True)
    t.start()
    return t


def test_fresh_signs_out_then_in_and_the_new_session_lasts_its_full_length(lab, mock, signs_in):
    length = 40   # seconds of the mock's sign-in session
    mock.configure(session_seconds=length)
    first, _ = sign_in(lab, mock)
    old = lab.read_token()
    t0 = mock.sessions[-1]["start"]
    time.sleep(max(0.0, t0 + length / 2 - time.time()))

    # The notice comes before the sign-out: the mock holds the Logout until the test has read it.
    gate = threading.Event()
    mock.configure(logout_gate=gate)
    proc = lab.spawn("refresh", "--profile", "dev", "--fresh", "--json")
    err: list[str] = []
    pump = read_stderr_lines(proc, err)
    deadline = time.monotonic() + 30
    while not any(FRESH_NOTICE in line for line in err):
        if time.monotonic() > deadline or proc.poll() is not None and not pump.is_alive():
            gate.set()
            pytest.fail(f"no notice on stderr while the sign-out was held: {''.join(err)[-2000:]}")
        time.sleep(0.02)
    assert mock.count("logout") == 0, "the sign-out was answered before the notice"
    assert lab.token_path().is_file(), "the token file was removed before the notice"
    gate.set()
    try:
        out, _ = proc.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        pytest.fail("refresh --fresh did not finish")
    pump.join(5)
    fresh_at = now_utc()
    assert proc.returncode == 0, (out, "".join(err)[-2000:])
    reply = json.loads(out)
    assert reply["success"] is True and reply["method"] == "browser", reply

    # Exactly one Logout, with the old access token, then a new sign-in and a new session.
    assert mock.count("logout") == 1 and mock.logouts == [{"bearer": old["accessToken"], "known": True}]
    assert mock.sign_ins == 2
    signs_in.assert_ran(mock)
    assert len(mock.sessions) == 2 and mock.sessions[0]["logged_out"] is True, mock.sessions
    assert not mock.access_token_accepted(old["accessToken"])
    assert mock.count("token_refresh") == 0, "a fresh session must not use the refresh token"
    new = lab.read_token()
    assert new["accessToken"] == mock.last_access_token != old["accessToken"]
    t1 = mock.sessions[1]["start"]

    # The estimate restarted now.
    assert reply["sessionEndsAtEstimated"] is True, reply
    moved = assert_about(reply["sessionEndsAt"], fresh_at + DEFAULT_LENGTH)
    assert moved - parse_time(first["sessionEndsAt"]) >= dt.timedelta(seconds=length / 2 - 2), \
        (first["sessionEndsAt"], reply["sessionEndsAt"])
    t = token_of(status(lab))
    assert parse_time(t["sessionEndsAt"]) == moved, t

    # Past the old session's end, within the new one: silent renewal still works.
    time.sleep(max(0.0, t0 + length + 1 - time.time()))
    assert time.time() < t1 + length - 2, "the box was too slow to land between the two ends"
    res, silent = refresh(lab, "--silent-only")
    assert res.returncode == 0, (silent, res.stderr[-2000:])
    assert silent["success"] is True and silent["method"] == "refresh_token", silent
    assert [g["outcome"] for g in mock.grants()] == ["ok"], mock.grants()
    assert parse_time(silent["sessionEndsAt"]) == moved, silent
    assert mock.sign_ins == 2 and mock.count("logout") == 1


def test_fresh_through_mcp(lab, mock, tmp_path, signs_in):
    first, _ = sign_in(lab, mock)
    old = lab.read_token()
    time.sleep(2)

    async def scenario():
        async with mcp_session(lab, tmp_path / "mcp.log") as s:
            return await s.call_tool(REFRESH, {"server": "aws-docs", "fresh": True})

    result = run_async(scenario())
    at = now_utc()
    reply = structured(result)
    assert not is_error(result), reply
    assert reply["success"] is True and reply["method"] == "browser", reply
    assert mock.logouts == [{"bearer": old["accessToken"], "known": True}], mock.logouts
    assert mock.sign_ins == 2 and len(mock.sessions) == 2 and mock.sessions[0]["logged_out"]
    signs_in.assert_ran(mock)
    assert mock.count("token_refresh") == 0
    assert reply["sessionEndsAtEstimated"] is True
    moved = assert_about(reply["sessionEndsAt"], at + DEFAULT_LENGTH)
    assert moved - parse_time(first["sessionEndsAt"]) >= dt.timedelta(seconds=2), (first, reply)
    assert "fresh" in reply["message"].lower(), reply["message"]
    assert parse_time(token_of(status(lab))["sessionEndsAt"]) == moved


def test_fresh_without_a_token_still_signs_in(lab, mock, signs_in):
    """Nothing to sign out of: no Logout call, one browser sign-in, the session starts now."""
    res, reply = refresh(lab, "--fresh")
    at = now_utc()
    assert res.returncode == 0, (reply, res.stderr[-2000:])
    assert FRESH_NOTICE in res.stderr
    assert reply["success"] is True and reply["method"] == "browser", reply
    assert mock.count("logout") == 0 and mock.sign_ins == 1
    signs_in.assert_ran(mock)
    assert_about(reply["sessionEndsAt"], at + DEFAULT_LENGTH)


def test_fresh_with_no_way_to_reach_the_user_keeps_the_session(lab, mock, tmp_path, signs_in):
    """No display and no terminal (a script, an MCP client without one): refused before anything
    is given up. No Logout, the token file and the session stay."""
    sign_in(lab, mock)
    before = lab.read_token()
    res, reply = refresh(lab, "--fresh", env=lab.env(**NO_DISPLAY))
    assert res.returncode == 1 and reply["success"] is False, reply
    assert "terminal" in reply["message"], reply["message"]

    async def scenario():
        # A client that cannot show links to its user (no URL-mode elicitation).
        async with mcp_session(lab, tmp_path / "mcp.log", elicitation=None, **NO_DISPLAY) as s:
            return await s.call_tool(REFRESH, {"profile": "dev", "fresh": True})

    r = structured(run_async(scenario()))
    assert r["success"] is False, r
    assert mock.count("logout") == 0 and mock.sign_ins == 1
    assert len(lab.wait_browser("opened", 2, timeout=0)) == 1, "a browser was opened without a display"
    assert lab.read_token() == before
    assert not mock.sessions[0]["logged_out"]


def test_fresh_and_silent_only_conflict(lab, mock):
    res = lab.run("refresh", "--profile", "dev", "--fresh", "--silent-only")
    assert res.returncode != 0
    assert mock.count("logout") == 0 and mock.logins == 0


# ---- 5. ensure ----------------------------------------------------------------------------------

@pytest.mark.parametrize("start", ["missing", "expired"])
def test_parallel_ensure_shares_one_sign_in(lab, mock, start, signs_in):
    if start == "expired":
        plant_session(lab, minutes_left=-30, refresh=False)   # no refresh token: a sign-in is needed
    mock.configure(pending_polls=2)   # keeps a device sign-in open so the callers overlap
    procs = [lab.spawn("ensure", "--profile", "dev") for _ in range(10)]
    results = []
    deadline = time.monotonic() + 150
    for proc in procs:
        try:
            out, err = proc.communicate(timeout=max(1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pytest.fail("ensure did not finish")
        results.append((proc.returncode, out, err))
    for i, (rc, out, err) in enumerate(results):
        assert rc == 0, f"ensure {i}: rc={rc} stderr={err[-1500:]}"
        assert out == "", f"ensure {i} wrote to stdout: {out!r}"
    assert mock.sign_ins == 1, f"{mock.sign_ins} sign-ins for 10 parallel callers"
    assert len(lab.wait_browser("opened", 2, timeout=0)) == 1, lab.browser_visits()
    signs_in.assert_ran(mock)
    t = token_of(status(lab))
    assert t["state"] == "valid", t


def test_ensure_on_a_valid_session_starts_no_process(lab, mock, tmp_path):
    """In a private mount namespace with empty folders over /usr/bin (also /bin here) and
    /usr/local/bin, traced: the binary exits 0 at once, execs and forks nothing, asks nothing."""
    plant_session(lab, minutes_left=60)
    before = dict(mock.counts)
    empty = tmp_path / "empty"
    empty.mkdir()
    trace = tmp_path / "trace.txt"
    exe = tray_binary()
    assert not str(exe).startswith(("/usr/", "/bin/")), f"the binary must live outside the hidden folders: {exe}"
    script = (f"mount --bind {empty} /usr/local/bin && mount --bind {empty} /usr/bin && "
              f"exec {exe} ensure --profile dev")
    strace = shutil.which("strace", path="/usr/bin:/bin") or pytest.fail("strace is needed", pytrace=False)
    cmd = [strace, "-f", "-qq", "-o", str(trace), "-e", "trace=execve,execveat,fork,vfork,clone,clone3",
           "/usr/bin/unshare", "-m", "--propagation", "private", "/bin/sh", "-c", script]
    res = subprocess.run(cmd, env=lab.env(), cwd=str(lab.project), capture_output=True, text=True,
                         timeout=60, start_new_session=True)
    assert res.returncode == 0, (res.returncode, res.stdout, res.stderr[-2000:])
    assert res.stdout == "", res.stdout
    assert dict(mock.counts) == before, f"the mock was asked: {dict(mock.counts)}"

    lines = trace.read_text().splitlines()
    exec_at = [i for i, l in enumerate(lines) if f'execve("{exe}"' in l and l.rstrip().endswith("= 0")]
    assert len(exec_at) == 1, "\n".join(lines)
    after_exec = lines[exec_at[0] + 1:]
    spawned = [l for l in after_exec if "resumed>" not in l and (
               re.search(r"\b(execve|execveat|fork|vfork)\(", l)
               or (re.search(r"\bclone3?\(", l) and "CLONE_THREAD" not in l))]
    assert not spawned, "the binary started a process:\n" + "\n".join(spawned)

    # The namespace really hid the programs: the same run for a missing token cannot start the CLI.
    lab.token_path().unlink()
    script = (f"mount --bind {empty} /usr/local/bin && mount --bind {empty} /usr/bin && "
              f"exec {exe} ensure --profile dev --timeout 20")
    res = subprocess.run(["/usr/bin/unshare", "-m", "--propagation", "private", "/bin/sh", "-c", script],
                         env=lab.env(), cwd=str(lab.project), capture_output=True, text=True, timeout=60,
                         start_new_session=True)
    assert res.returncode == 1, (res.returncode, res.stderr[-2000:])
    assert res.stdout == "" and mock.logins == 0


def test_ensure_json_on_a_valid_session(lab, mock):
    planted = plant_session(lab, minutes_left=60)
    res, reply = lab.run_json("ensure", "--profile", "dev", "--json")
    assert res.returncode == 0, res.stderr[-2000:]
    assert reply["valid"] is True, reply
    assert reply["profile"] == "dev" and reply["ssoSession"] == SESSION, reply
    assert parse_time(reply["expiresAt"]) == parse_time(planted["expiresAt"])
    assert sum(mock.counts.values()) == 0
    res = lab.run("ensure", "--server", "aws-docs")
    assert (res.returncode, res.stdout) == (0, "")
    assert sum(mock.counts.values()) == 0


@pytest.mark.parametrize("args", [
    ["--profile", "nope"], ["--profile", "static"], ["--profile=-evil"],
    ["--server", "no-such-server"], ["--server", "static-srv"], ["--server", "ghost"],
], ids=["unknown", "not-sso", "invalid-name", "unknown-server", "server-not-sso", "server-not-in-config"])
def test_ensure_bad_request_exits_2(lab, mock, args):
    res = lab.run("ensure", *args)
    assert res.returncode == 2, (res.returncode, res.stdout, res.stderr[-2000:])
    assert res.stdout == "", res.stdout
    res, reply = lab.run_json("ensure", *args, "--json")
    assert res.returncode == 2, (res.returncode, reply)
    assert isinstance(reply, dict) and reply["valid"] is False, reply
    assert sum(mock.counts.values()) == 0 and not lab.token_path().exists()


def test_ensure_renews_an_expiring_session_silently(lab, mock):
    planted = plant_session(lab, minutes_left=5)
    res = lab.run("ensure", "--profile", "dev")
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout == "", res.stdout
    assert [(g["outcome"], g["agent"]) for g in mock.grants()] == [("ok", "tray")], mock.grants()
    assert mock.logins == 0 and mock.count("register") == 0
    token = lab.read_token()
    assert token["accessToken"] == mock.last_access_token != planted["accessToken"]
    assert token_of(status(lab))["state"] == "valid"

    # --json on the same path says how.
    plant_session(lab, minutes_left=5)
    res, reply = lab.run_json("ensure", "--profile", "dev", "--json")
    assert res.returncode == 0 and reply["valid"] is True and reply["method"] == "refresh_token", reply
    assert mock.logins == 0


def test_ensure_that_cannot_sign_in_exits_1(lab, mock, aws_cli):
    """No display: both CLIs sign in with a device code, which the service refuses."""
    mock.configure(mode="fail")
    res = lab.run("ensure", "--profile", "dev")
    assert res.returncode == 1, (res.returncode, res.stderr[-2000:])
    assert res.stdout == ""
    assert mock.logins == 1
    aws_cli.assert_ran(mock)


# ---- more on the estimate -------------------------------------------------------------------------

def test_another_tools_sign_in_during_a_recorded_session_keeps_its_start(lab, mock, signs_in):
    mock.configure(expires_in=3600)
    reply, _ = sign_in(lab, mock)
    end = parse_time(reply["sessionEndsAt"])
    time.sleep(2)
    lab.token_path().unlink()
    assert token_of(status(lab))["state"] == "missing"      # seen unusable
    res = lab.aws_sign_in("dev")                            # the mock's session still lasts
    assert res.returncode == 0, res.stdout
    assert len(mock.sessions) == 1 and mock.sign_ins == 2
    signs_in.assert_ran(mock)
    t = token_of(status(lab))                                # seen usable again
    assert t["state"] == "valid", t
    assert parse_time(t["sessionEndsAt"]) == end and t["sessionEndsAtEstimated"] is True, t


def test_a_cli_sign_in_after_a_refused_refresh_token_is_a_new_session(lab, mock, signs_in):
    """The session ended (refresh token refused) while the access token still had time left; the
    user then signs in with the AWS CLI, and this app renews with the new refresh token. The new
    session is live: neither the reply nor the status may say that a sign-in was needed in the
    past (neither the refusal's time nor the old session's start + length)."""
    mock.configure(session_seconds=3)
    sign_in(lab, mock)
    time.sleep(max(0.0, mock.sessions[-1]["start"] + 3.5 - time.time()))
    res, reply = refresh(lab, "--silent-only")
    assert res.returncode == 1 and reply["success"] is False, reply
    ended = token_of(status(lab))
    assert ended["sessionEndsAtEstimated"] is False and parse_time(ended["sessionEndsAt"]) <= now_utc()
    # As in life: the session that ended had begun a session length (8 h) ago, not 4 s ago.
    log_path = lab.xdg_state / STATE_FILE
    log = json.loads(log_path.read_text())
    log["sessions"][SESSION]["signedInAt"] = int(time.time()) - 8 * 3600 - 60
    log_path.write_text(json.dumps(log))

    with mock._lock:   # the old session stays over while the next one never ends
        mock.sessions[-1]["logged_out"] = True
        mock._current_session = None
        mock.session_seconds = None
    res = lab.aws_sign_in("dev")                             # a new session, through another tool
    assert res.returncode == 0, res.stdout
    assert len(mock.sessions) == 2 and mock.sign_ins == 2
    signs_in.assert_ran(mock)
    res, reply = refresh(lab, "--silent-only")               # and this app renews it silently
    assert res.returncode == 0 and reply["method"] == "refresh_token", (reply, res.stderr[-2000:])
    assert mock.grants()[-1]["outcome"] == "ok"
    for where, t in (("refresh reply", reply), ("status", token_of(status(lab)))):
        assert t["sessionEndsAt"] is None or parse_time(t["sessionEndsAt"]) > now_utc(), \
            f"{where} still says the session ended at {t['sessionEndsAt']} (estimated: " \
            f"{t['sessionEndsAtEstimated']}) after a new sign-in and a successful renewal"


@pytest.mark.parametrize("threshold, minutes_left, renewed", [(120, 60, True), (15, 60, False)],
                         ids=["inside-threshold", "beyond-threshold"])
def test_ensure_follows_the_expiring_threshold(lab, mock, threshold, minutes_left, renewed):
    lab.write_settings(loginTimeoutSeconds=60, expiringThresholdMinutes=threshold)
    plant_session(lab, minutes_left=minutes_left)
    res = lab.run("ensure", "--profile", "dev")
    assert (res.returncode, res.stdout) == (0, ""), res.stderr[-2000:]
    assert [g["outcome"] for g in mock.grants()] == (["ok"] if renewed else []), mock.grants()
    assert mock.logins == 0
