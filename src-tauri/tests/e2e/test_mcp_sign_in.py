"""A sign-in started over MCP reaches the user, never the model: a client that can show links
(URL-mode elicitation) gets the sign-in link for its user; any other client gets a reply saying
where the user can finish. Against both AWS CLIs; without a display, as on an SSH host."""

from __future__ import annotations

import fcntl
import json

import pytest

from conftest import is_error, mcp_session, person_at_client, run_async, structured, text_of
from test_silent_refresh import wait_until

REFRESH = "refresh_aws_sso_token"


@pytest.fixture(autouse=True)
def a_person_approves(mock, aws_cli):
    """Each test once with each AWS CLI (both sign in with a device code here: no display); a
    code is granted only once the person at the client signed in with the link."""
    mock.require_approval = True


def everything_said(result) -> str:
    """All the model can read of a tool result: its text and its structured content."""
    return text_of(result) + json.dumps(structured(result) or {})


def refresh(lab, elicitation="person", progress=None, **arguments):
    async def scenario():
        async with mcp_session(lab, lab.root / "server.log", elicitation=elicitation) as s:
            return await s.call_tool(REFRESH, arguments, progress_callback=progress)
    return run_async(scenario(), timeout=150)


def sign_in_secrets(mock) -> list[str]:
    return mock.issued["user_code"] + mock.issued["verification_uri"]


def assert_nothing_leaked(lab, mock, result) -> None:
    secrets = sign_in_secrets(mock)
    assert secrets, "no sign-in ran: the check would be vacuous"
    said = everything_said(result)
    log = (lab.root / "server.log").read_text()
    for secret in secrets:
        assert secret not in said, f"{secret!r} reached the model"
        assert secret not in log, f"{secret!r} reached the log"


def test_a_client_that_shows_links_gets_the_sign_in_link(lab, mock, aws_cli):
    result = refresh(lab, profile="dev")
    reply = structured(result)
    assert not is_error(result) and reply["success"] is True and reply["method"] == "browser", reply
    # One URL-mode elicitation, carrying the verification link with the code filled in.
    [asked] = lab.elicited
    assert asked.mode == "url", asked
    assert mock.issued["user_code"][-1] in asked.url and mock.issued["verification_uri"][-1] in asked.url
    assert asked.url.startswith("https://device.sso.")
    for secret in sign_in_secrets(mock):
        assert secret not in asked.message
    assert mock.logins == 1 and lab.read_token()["accessToken"] == mock.last_access_token
    # The person at the client signed in with that link, and it was this CLI that waited.
    aws_cli.assert_ran(mock)
    assert lab.client_sign_ins == ["approved"], lab.client_sign_ins
    assert [a["via"] for a in mock.approvals] == ["client"], mock.approvals
    assert_nothing_leaked(lab, mock, result)


def test_a_client_without_elicitation_is_told_where_to_finish(lab, mock):
    """Issue 10 (reported): the sign-in waited out its timeout with the link swallowed."""
    mock.configure(mode="never")          # nobody could approve it: the login must not wait
    lab.write_settings(loginTimeoutSeconds=120)
    result = refresh(lab, elicitation=None, profile="dev")
    reply = structured(result)
    assert is_error(result) and reply["success"] is False, reply
    assert "aws-sso-tray refresh --profile dev" in reply["message"], reply["message"]
    assert "window" not in reply["message"], "no tray runs in this lab"
    assert "not completed within" not in reply["message"], "it waited out the timeout"
    assert mock.logins == 1 and mock.count("token_issued") == 0
    assert wait_until(lambda: not lab.lab_processes(), 15), lab.lab_processes()
    assert_nothing_leaked(lab, mock, result)


def test_with_a_tray_running_the_reply_points_to_its_window(lab, mock):
    mock.configure(mode="never")
    lock = lab.xdg_state / "aws-sso-tray" / "tray.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # what a running tray holds
        result = refresh(lab, elicitation=None, server="team-api")
    reply = structured(result)
    assert reply["success"] is False
    assert "aws-sso-tray's window" in reply["message"], reply["message"]
    # The server's profile, resolved from its config, named for the terminal.
    assert "aws-sso-tray refresh --profile team.dev" in reply["message"], reply["message"]
    assert_nothing_leaked(lab, mock, result)


@pytest.mark.parametrize("answer", ["decline", "cancel"])
def test_a_declined_link_stops_the_sign_in(lab, mock, answer):
    mock.configure(mode="never")
    lab.write_settings(loginTimeoutSeconds=120)
    result = refresh(lab, elicitation=person_at_client(lab, answer), profile="dev")
    reply = structured(result)
    assert reply["success"] is False and "declined" in reply["message"], reply
    assert len(lab.elicited) == 1
    assert mock.count("token_issued") == 0
    assert wait_until(lambda: not lab.lab_processes(), 15), lab.lab_processes()
    assert_nothing_leaked(lab, mock, result)


def test_a_waiting_sign_in_reports_progress_without_the_link(lab, mock):
    mock.configure(pending_polls=8)       # the CLI polls about every second: several seconds
    seen: list[tuple[float, float | None, str | None]] = []

    async def progress(done, total, message):
        seen.append((done, total, message))

    result = refresh(lab, progress=progress, profile="dev")
    assert structured(result)["success"] is True
    assert seen, "no progress notification while the sign-in waited"
    assert all(total == 60 for _, total, _ in seen), seen   # the lab's login timeout
    assert [d for d, _, _ in seen] == sorted(d for d, _, _ in seen)
    for _, _, message in seen:
        for secret in sign_in_secrets(mock):
            assert secret not in (message or "")
