"""A sign-in run from a terminal without a browser shows its link and code to the person there
(on stderr; stdout stays the reply), and only there: not when stderr is a pipe or a log."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import time

from conftest import SESSION, tray_binary


def run_with_terminal_stderr(lab, *args: str, timeout: float = 90) -> tuple[int, str, str]:
    """Runs the binary with stderr on a pseudo-terminal; returns (exit code, stdout, stderr)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([str(tray_binary()), *args], env=lab.env(), cwd=lab.project,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave,
                            start_new_session=True)
    os.close(slave)
    err = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # the terminal closed: the process is gone
                    break
                if not chunk:
                    break
                err += chunk
            elif proc.poll() is not None:
                break
        out = proc.stdout.read().decode()
        rc = proc.wait(timeout=10)
    finally:
        os.close(master)
        if proc.poll() is None:
            os.killpg(proc.pid, 9)
            proc.wait()
    return rc, out, err.decode(errors="replace")


def test_refresh_in_a_terminal_shows_the_link_and_code(lab, mock):
    """Issue 10 (reported): without a display the link the CLI printed was swallowed and the
    refresh waited out its timeout."""
    rc, out, err = run_with_terminal_stderr(lab, "refresh", "--profile", "dev", "--json")
    assert rc == 0, err
    assert '"success": true' in out
    codes = mock.issued["user_code"]
    links = mock.issued["verification_uri"]
    assert codes and links, "no sign-in ran"
    assert codes[-1] in err, err
    assert links[-1] in err, err
    # stdout is the reply only.
    assert codes[-1] not in out and links[-1] not in out


def test_refresh_into_a_pipe_keeps_them_out(lab, mock):
    res = lab.run("refresh", "--profile", "dev", "--json")
    assert res.returncode == 0, res.stderr
    for secret in mock.issued["user_code"] + mock.issued["verification_uri"]:
        assert secret not in res.stdout + res.stderr


def test_ensure_shows_them_to_whoever_reads_its_output(lab, mock):
    """`ensure` is run for a person (a terminal, Claude Code's awsAuthRefresh, which shows the
    output): the link goes to stderr even into a pipe, stdout stays empty."""
    res = lab.run("ensure", "--profile", "dev")
    assert res.returncode == 0, res.stderr
    assert res.stdout == ""
    assert mock.issued["user_code"][-1] in res.stderr, res.stderr
    assert lab.token_path(SESSION).is_file()
