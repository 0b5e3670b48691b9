"""A sign-in run from a terminal without a browser shows its link and code to the person there
(on stderr; stdout stays the reply), and only there: not when stderr is a pipe or a log.

Every case runs with both AWS CLIs (`aws_cli`: 2.9.19, and 2.36.7, which is asked for the device
flow since no browser is at hand), and the code is approved only by the person who read it.
"""

from __future__ import annotations

import json

import pytest

from conftest import SESSION, Person, run_in_terminal


@pytest.fixture(autouse=True)
def a_person_approves(mock):
    """Device codes are granted only once approved (never by the mock by itself)."""
    mock.configure(require_approval=True, pending_polls=0)


def test_refresh_in_a_terminal_shows_the_link_and_code(lab, mock, aws_cli):
    """Issue 10 (reported): without a display the link the CLI printed was swallowed and the
    refresh waited out its timeout; with 2.36.7 the CLI's default PKCE flow waited for a redirect
    to this machine that no browser sends. Without a browser here the app asks for the device-code
    flow, which any device can finish, and shows its link and code."""
    person = Person(mock)
    rc, out, err = run_in_terminal(lab, "refresh", "--profile", "dev", "--json", "--timeout", "90",
                                   on_output=person, timeout=120)
    assert person.link and person.code, f"no link and code on the terminal: {err[-2000:]!r}"
    assert person.result == "approved", person.result
    assert rc == 0, err[-2000:]
    reply = json.loads(out)
    assert reply["success"] is True and reply["method"] == "browser", reply
    aws_cli.assert_ran(mock)
    assert mock.count("device_authorization") == 1 and not mock.authorize_requests
    assert person.code == mock.issued["user_code"][-1]
    assert mock.issued["verification_uri"][-1] in person.link
    assert lab.read_token()["accessToken"] == mock.last_access_token
    # stdout is the reply only.
    assert person.code not in out and person.link not in out


def test_refresh_into_a_pipe_keeps_them_out(lab, mock, aws_cli):
    """Nobody can read a pipe's link: it is not written there, so nobody signs in, and the
    refresh does not wait out its timeout for a sign-in nobody can finish: it says where to."""
    res = lab.run("refresh", "--profile", "dev", "--json", "--timeout", "600", timeout=120)
    assert res.returncode == 1, res.stdout
    reply = json.loads(res.stdout)
    assert reply["success"] is False, reply
    assert "aws-sso-tray refresh --profile dev" in reply["message"] and "terminal" in reply["message"], reply
    assert "not completed within" not in reply["message"], reply
    assert lab.wait_lab_processes_gone(30) == [], "the CLI outlived the refresh"
    aws_cli.assert_ran(mock)
    assert mock.count("device_authorization") == 1, "the CLI never asked for a code"
    for secret in mock.issued["user_code"] + mock.issued["verification_uri"]:
        assert secret not in res.stdout + res.stderr
    assert not mock.approvals and not lab.token_path(SESSION).exists()


def test_ensure_shows_them_to_whoever_reads_its_output(lab, mock, aws_cli):
    """`ensure` is run for a person (a terminal, Claude Code's awsAuthRefresh, which shows the
    output): the link goes to stderr even into a pipe, stdout stays empty."""
    person = Person(mock)
    proc = lab.spawn("ensure", "--profile", "dev", "--timeout", "90")
    err = ""
    for line in proc.stderr:  # read as it comes, as the tool showing it would
        err += line
        person(err, proc)
    out = proc.stdout.read()
    assert proc.wait(timeout=60) == 0, err[-2000:]
    assert out == ""
    assert person.code == mock.issued["user_code"][-1], err[-2000:]
    assert person.result == "approved", person.result
    aws_cli.assert_ran(mock)
    assert lab.token_path(SESSION).is_file()
