"""Issue 11: the real deadline. When a browser sign-in will be needed (the end of the IAM Identity
Center sign-in session, not the hourly access token), `refresh --fresh` / MCP `fresh: true`, and
`ensure` for scripts and agents, against the real AWS CLI v2 and the loopback mock, which models
the sign-in session (its length, refused refresh grants after it, Logout).
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

from conftest import (SESSION, by_name, cache_name, mcp_session, parse_time, run_async, structured,
                      is_error, tray_binary)
from test_silent_refresh import plant_session

STATUS = "get_aws_sso_status"
REFRESH = "refresh_aws_sso_token"
DEFAULT_LENGTH = dt.timedelta(minutes=480)
SLACK = dt.timedelta(seconds=60)
FRESH_NOTICE = "signing out of the current SSO session on the server"
STATE_FILE = Path("aws-sso-tray") / "sessions.json"


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
    """A browser sign-in by this app (no token yet, or none usable); returns the reply and the time."""
    logins = mock.logins
    res, reply = refresh(lab)
    at = now_utc()
    assert res.returncode == 0, (reply["message"], res.stderr[-3000:], dict(mock.counts))
    assert reply["success"] is True and reply["method"] == "browser", reply
    assert mock.logins == logins + 1, "no browser sign-in ran"
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


def test_dbg(lab, mock):
    """The session ended (refresh token refused) while the access token still had time left; the
    user then signs in with the AWS CLI, and this app renews with the new refresh token. The new
    session is live: the status must not keep saying that a sign-in was needed in the past."""
    mock.configure(session_seconds=3)
    sign_in(lab, mock)
    time.sleep(max(0.0, mock.sessions[-1]["start"] + 3.5 - time.time()))
    res, reply = refresh(lab, "--silent-only")
    assert res.returncode == 1 and reply["success"] is False, reply
    ended = token_of(status(lab))
    assert ended["sessionEndsAtEstimated"] is False and parse_time(ended["sessionEndsAt"]) <= now_utc()

    with mock._lock:   # the old session stays over while the next one never ends
        mock.sessions[-1]["logged_out"] = True
        mock._current_session = None
        mock.session_seconds = None
    print('LOG1', time.time(), (lab.xdg_state / STATE_FILE).read_text().replace(chr(10), ' '), ended)
    res = lab.aws("sso", "login", "--profile", "dev")        # a new session, through another tool
    assert res.returncode == 0, res.stderr
    assert len(mock.sessions) == 2
    res, reply = refresh(lab, "--silent-only")               # and this app renews it silently
    assert res.returncode == 0 and reply["method"] == "refresh_token", (reply, res.stderr[-2000:])
    assert mock.grants()[-1]["outcome"] == "ok"
    print('LOG2', time.time(), (lab.xdg_state / STATE_FILE).read_text().replace(chr(10), ' '), reply['sessionEndsAt'], mock.sessions)
    for where, t in (("refresh reply", reply), ("status", token_of(status(lab)))):
        assert t["sessionEndsAt"] is None or parse_time(t["sessionEndsAt"]) > now_utc(), \
            f"{where} still says the session ended at {t['sessionEndsAt']} (estimated: " \
            f"{t['sessionEndsAtEstimated']}) after a new sign-in and a successful renewal"


