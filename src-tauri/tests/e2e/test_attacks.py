"""Regression tests for the defences of issue 12 ("Hardening, round two"), end to end: the real
binary, the real AWS CLI v2 (both: Debian's 2.9.19 and 2.36.7, redirected to the loopback OIDC mock)
and real signals.

Each test names the item of issue 12 it holds and would fail against the code before the fix.
Sign-ins run through the stand-in browser (`signs_in`); one that must never finish is left open
there (`ignore`): 2.9 then polls for its device code, 2.36 waits for PKCE's redirect on its loopback.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from conftest import Lab, tray_binary
from oidc_mock import follow_sign_in_link
from test_silent_refresh import RawMcp, plant_session, wait_until

COOL_DOWN = re.compile(r'the sign-in for SSO session "lab" failed (\d+) s ago \((.+)\); try again in (\d+) s',
                       re.IGNORECASE)
NEVER_ENDS = 120   # loginTimeoutSeconds for sign-ins that must be ended by something else
# Short, yet long enough for either CLI to hand its link over on a busy box.
SHORT_TIMEOUT = 8


@pytest.fixture(autouse=True)
def a_person_approves(mock):
    """Device codes are granted only once a person approved them (never by the mock by itself)."""
    mock.configure(require_approval=True)


# ---- helpers ------------------------------------------------------------------------------------

def aws_logins(lab) -> list[int]:
    """Pids of live `aws sso login` processes of this lab (after exec: the cmdline is the CLI's)."""
    return [pid for pid, cmd in lab.lab_processes() if " sso login" in cmd and "aws-sso-tray" not in cmd]


def links_opened(lab) -> list[dict]:
    """The sign-in links the stand-in browser was given: one per sign-in that reached the user."""
    return [v for v in lab.browser_visits() if v["event"] == "opened"]


def wait_for_logins(lab, n: int = 1, timeout: float = 45) -> list[int]:
    """Waits until n sign-in links reached the browser (the CLI now waits for the person) and n
    `aws sso login` processes are alive."""
    opened = lab.wait_browser("opened", n, timeout)
    assert len(opened) >= n, f"only {len(opened)} sign-in link(s) reached the browser within {timeout}s"
    pids = wait_until(lambda: (lambda p: p if len(p) >= n else None)(aws_logins(lab)), timeout)
    assert pids, f"no {n} live `aws sso login` process(es): {lab.lab_processes()}"
    return pids


def loopback_ports(lab) -> list[int]:
    """The CLI's loopback ports (PKCE's redirect_uri) of the links the browser was given."""
    ports = []
    for visit in links_opened(lab):
        redirect = parse_qs(urlparse(visit["url"]).query).get("redirect_uri")
        if redirect:
            ports.append(urlparse(redirect[0]).port)
    return ports


def listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(3)
        return s.connect_ex(("127.0.0.1", port)) == 0


def assert_sign_in_waits(lab, aws_cli) -> list[int]:
    """The sign-ins in flight wait as their flow does: 2.36 (PKCE) on a loopback port that
    answers, which must close with the CLI. Returns those ports."""
    ports = loopback_ports(lab)
    if aws_cli.pkce:
        assert ports, f"no PKCE link reached the browser: {links_opened(lab)}"
    assert all(listening(p) for p in ports), ports
    return ports


def assert_loopbacks_closed(ports: list[int]) -> None:
    # A process being torn down may hold its sockets a moment after its memory (what
    # lab_processes reads) is gone.
    closed = wait_until(lambda: not any(listening(p) for p in ports), 10)
    assert closed, f"the CLI's loopback callback server outlived it: {[p for p in ports if listening(p)]}"


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes in process group pgid."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(entry.name))
    return members


def assert_no_lab_process(lab, timeout: float = 15) -> None:
    survivors = lab.wait_lab_processes_gone(timeout)
    assert not survivors, f"processes of the lab still alive after {timeout}s: {survivors}"


def proc_environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    return dict(kv.decode(errors="replace").split("=", 1) for kv in raw.split(b"\0") if b"=" in kv)


def add_sessions(lab, names: list[str]) -> None:
    """More sso-sessions, one profile each (named like the session), in the lab's AWS config."""
    with open(lab.aws_config, "a") as f:
        for i, name in enumerate(names):
            f.write(f"\n[sso-session {name}]\nsso_start_url = https://e2e-{name}.awsapps.com/start\n"
                    f"sso_region = us-east-1\nsso_registration_scopes = sso:account:access\n\n"
                    f"[profile {name}]\nsso_session = {name}\nsso_account_id = 77777777777{i}\n"
                    f"sso_role_name = Extra\nregion = us-east-1\n")


def call_refresh(server: RawMcp, request_id: int, **arguments) -> None:
    """Sends a tools/call of refresh_aws_sso_token without waiting for its answer."""
    server.send({"jsonrpc": "2.0", "id": request_id, "method": "tools/call",
                 "params": {"name": "refresh_aws_sso_token", "arguments": arguments}})


def reply_of(res) -> dict:
    try:
        return json.loads(res.stdout)
    except ValueError:
        pytest.fail(f"stdout is not JSON (rc={res.returncode}): {res.stdout[:1000]!r} {res.stderr[-1000:]!r}")


# ---- 1. the login child's environment -----------------------------------------------------------

def test_login_child_runs_no_browser_program_and_no_user_site_code(lab, mock, signs_in):
    """Issue 12 #1: BROWSER passed the allow-list (a hostile program ran and got the link and code)
    and a .pth file in Python's per-user site folder ran inside `aws --version` / `aws sso login`."""
    browser_marker = lab.root / "browser-ran"
    pth_marker = lab.root / "pth-ran"
    browser = lab.root / "evil-browser"
    browser.write_text(f"#!/bin/sh\necho \"$@\" > {browser_marker}\n")
    browser.chmod(0o755)
    user_site = subprocess.run(
        ["/usr/bin/python3", "-c", "import site; print(site.getusersitepackages())"],
        env={"HOME": str(lab.home), "PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
        check=True).stdout.strip()
    assert user_site.startswith(str(lab.home)), user_site
    Path(user_site).mkdir(parents=True)
    (Path(user_site) / "evil.pth").write_text(f"import os; open({str(pth_marker)!r}, 'w').write('x')\n")
    hostile = {"BROWSER": str(browser), "DISPLAY": ":99", "XDG_CURRENT_DESKTOP": "evil",
               "XDG_DATA_DIRS": str(lab.root), "XDG_CONFIG_DIRS": str(lab.root)}

    # Not vacuous: the same CLI, run plainly with that environment, runs both (2.36.7 only the
    # browser: it runs in a venv, whose Python never reads the user site).
    plain = subprocess.Popen(lab._aws_command("sso", "login", "--profile", "dev"),
                             env={**lab._aws_env(), **hostile}, cwd=str(lab.home), text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    lab._popen.append(plain)
    link = wait_until(lambda: browser_marker.exists() and browser_marker.read_text().strip(), 60)
    assert link, "the planted BROWSER did not run"
    # The person at that "browser" signs in with the link it got.
    assert follow_sign_in_link(link, mock.url, via="browser") in ("approved", "returned to the CLI")
    try:
        out, _ = plain.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("the plain `aws sso login` did not finish")
    assert plain.returncode == 0, out[-2000:]
    signs_in.assert_ran(mock)
    assert pth_marker.exists() == (signs_in.version == "2.9.19"), f"the .pth ran: {pth_marker.exists()}"
    browser_marker.unlink()
    pth_marker.unlink(missing_ok=True)
    lab.token_path().unlink()   # no refresh token: the binary must run `aws sso login` itself
    sign_ins_before = mock.sign_ins

    mock.configure(pending_polls=4)   # keeps a device login open a few seconds to look at the child
    proc = lab.spawn("refresh", "--profile", "dev", "--json", env=lab.env(**hostile))
    seen: dict[str, str] | None = None
    cmdline = ""
    deadline = time.monotonic() + 60
    while proc.poll() is None and seen is None and time.monotonic() < deadline:
        for pid in aws_logins(lab):
            try:
                seen = proc_environ(pid)
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            break
        time.sleep(0.02)
    out, err = proc.communicate(timeout=90)
    assert proc.returncode == 0, (out, err[-2000:])
    assert json.loads(out)["success"] is True, out
    assert mock.sign_ins == sign_ins_before + 1, "the binary did not sign in through `aws sso login`"
    assert len(lab.wait_browser("followed", timeout=10)) == 1, lab.browser_visits()
    assert not browser_marker.exists(), f"BROWSER ran: {browser_marker.read_text()!r}"
    assert not pth_marker.exists(), "a .pth file in the user site ran inside the AWS CLI"

    assert seen is not None, "never caught the `aws sso login` child alive"
    assert "--no-browser" in cmdline.split(), cmdline
    # A browser at hand: 2.36 is left its PKCE flow.
    assert "--use-device-code" not in cmdline.split(), cmdline
    leaked = sorted(k for k in seen if k in ("BROWSER", "DISPLAY") or k.startswith("XDG_"))
    assert not leaked, f"the login child got {leaked}"
    assert seen.get("PYTHONNOUSERSITE") == "1" and seen.get("PYTHONSAFEPATH") == "1", seen
    assert_no_lab_process(lab)


# ---- 2. one outcome for everyone queued, then a cool-down ------------------------------------------

def test_a_failed_sign_in_is_shared_and_cools_down(lab, mock, signs_in):
    """Issue 12 #2: 20 queued refreshes of a session whose sign-in never completes ran 20 sign-ins
    back to back. Now one runs; the others get its outcome; more get it during the cool-down."""
    lab.set_browser("ignore")
    lab.write_settings(loginTimeoutSeconds=SHORT_TIMEOUT)
    procs = [lab.spawn("refresh", "--profile", "dev", "--json") for _ in range(20)]
    results = []
    deadline = time.monotonic() + 120
    for p in procs:
        try:
            out, err = p.communicate(timeout=max(1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pytest.fail(f"20 refreshes did not all end within 120 s; {len(links_opened(lab))} sign-ins")
        results.append((p.returncode, out, err))
    assert len(links_opened(lab)) == 1, f"{len(links_opened(lab))} sign-ins for one session (one expected)"
    assert mock.logins == (0 if signs_in.pkce else 1)
    assert all(rc == 1 for rc, _, _ in results), [(rc, err[-300:]) for rc, _, err in results]
    messages = [json.loads(out)["message"] for _, out, _ in results]
    timed_out = f"not completed within {SHORT_TIMEOUT} s"
    ran = [m for m in messages if timed_out in m and not COOL_DOWN.search(m)]
    shared = [m for m in messages if COOL_DOWN.search(m)]
    assert len(ran) == 1, messages
    assert len(shared) == 19, messages
    for m in shared:
        assert timed_out in COOL_DOWN.search(m).group(2), m

    # Within the 30 s cool-down a new request gets the same answer, without a new sign-in.
    res = lab.run("refresh", "--profile", "dev", "--json")
    reply = reply_of(res)
    assert res.returncode == 1, reply
    found = COOL_DOWN.search(reply["message"])
    assert found, reply["message"]
    assert int(found.group(1)) + int(found.group(3)) in (29, 30, 31), reply["message"]
    assert len(links_opened(lab)) == 1 and mock.sign_ins == (0 if signs_in.pkce else 1)

    # After the cool-down a sign-in runs again.
    lab.end_cool_down()
    lab.set_browser("follow")
    res = lab.run("refresh", "--profile", "dev", "--json")
    reply = reply_of(res)
    assert res.returncode == 0 and reply["success"] is True, (reply, res.stderr[-2000:])
    assert len(links_opened(lab)) == 2
    signs_in.assert_ran(mock)
    if signs_in.pkce:
        assert [a["outcome"] for a in mock.authorize_requests] == ["redirected"], mock.authorize_requests
    else:
        assert mock.logins == 2
    assert_no_lab_process(lab)


# ---- 3. logins do not outlive the app -------------------------------------------------------------

def test_sigterm_to_the_mcp_server_ends_its_sign_in(lab, mock, signs_in):
    """Issue 12 #3a: SIGTERM to `--mcp` left `aws sso login` running (it could still complete)."""
    lab.set_browser("ignore")
    lab.write_settings(loginTimeoutSeconds=NEVER_ENDS)
    server = RawMcp(lab)
    server.initialize()
    call_refresh(server, 1001, profile="dev")
    [aws] = wait_for_logins(lab)
    ports = assert_sign_in_waits(lab, signs_in)
    os.kill(server.proc.pid, signal.SIGTERM)
    try:
        rc = server.proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        pytest.fail("--mcp did not exit within 15 s of SIGTERM")
    assert rc == 128 + signal.SIGTERM, rc
    assert wait_until(lambda: not group_members(aws), 15), f"sign-in group {aws} survived SIGTERM"
    assert_no_lab_process(lab)
    assert_loopbacks_closed(ports)
    assert len(links_opened(lab)) == 1 and mock.logins == (0 if signs_in.pkce else 1)
    signs_in.assert_ran(mock)


def test_ctrl_c_on_refresh_ends_its_sign_in(lab, mock, signs_in):
    """Issue 12 #3b: Ctrl-C (SIGINT) on `refresh` left `aws sso login` running."""
    lab.set_browser("ignore")
    lab.write_settings(loginTimeoutSeconds=NEVER_ENDS)
    proc = lab.spawn("refresh", "--profile", "dev", "--json")
    wait_for_logins(lab)
    ports = assert_sign_in_waits(lab, signs_in)
    os.kill(proc.pid, signal.SIGINT)   # the process only, as a terminal's Ctrl-C reaches it
    try:
        proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        pytest.fail("refresh did not exit within 15 s of SIGINT")
    assert proc.returncode == 130, proc.returncode
    assert_no_lab_process(lab)
    assert_loopbacks_closed(ports)
    assert len(links_opened(lab)) == 1 and mock.logins == (0 if signs_in.pkce else 1)
    signs_in.assert_ran(mock)


def test_sigkill_of_refresh_takes_its_sign_in_along(lab, mock, signs_in):
    """Issue 12 #3c: SIGKILL of `refresh` orphaned `aws sso login` (now PR_SET_PDEATHSIG)."""
    lab.set_browser("ignore")
    lab.write_settings(loginTimeoutSeconds=NEVER_ENDS)
    proc = lab.spawn("refresh", "--profile", "dev", "--json")
    [aws] = wait_for_logins(lab)
    ports = assert_sign_in_waits(lab, signs_in)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=15)
    assert proc.returncode == -signal.SIGKILL
    gone = wait_until(lambda: not group_members(aws), 15)
    assert gone, f"`aws sso login` (pid {aws}) outlived the killed refresh: {lab.lab_processes()}"
    assert_no_lab_process(lab)
    assert_loopbacks_closed(ports)
    signs_in.assert_ran(mock)


def test_stdin_eof_starts_no_queued_sign_in_and_logins_are_capped(lab, mock, signs_in):
    """Issue 12 #3d (and the cap of #2): when stdin ends, sign-ins queued behind running ones must
    not start. Four requests: three sessions (two run, the cap; one waits for a slot) and a fourth
    behind the first's session lock. (2.36 signs the legacy profile in with a device code.)"""
    lab.set_browser("ignore")
    lab.write_settings(loginTimeoutSeconds=NEVER_ENDS)
    add_sessions(lab, ["extra1"])
    server = RawMcp(lab)
    server.initialize()
    for i, profile in enumerate(["dev", "legacy", "extra1", "team.dev"]):
        call_refresh(server, 2001 + i, profile=profile)
    running = wait_for_logins(lab, 2)
    assert len(running) == 2, f"more than two sign-ins at once: {running}"
    ports = assert_sign_in_waits(lab, signs_in)
    # A bounded watch for a third sign-in while two run (this wait IS the observation of the cap).
    assert len(lab.wait_browser("opened", 3, timeout=5)) == 2, "a third sign-in ran at once"
    assert len(aws_logins(lab)) == 2, aws_logins(lab)
    assert mock.count("register") == 2, "a third CLI started signing in"
    server.proc.stdin.close()
    try:
        server.proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        pytest.fail("--mcp did not exit within 15 s of stdin closing")
    assert_no_lab_process(lab)
    assert_loopbacks_closed(ports)
    # With every process of the lab gone, nothing can start a sign-in any more: the count is final.
    started = len(links_opened(lab))
    assert started == 2, f"{started} sign-ins started; only the two running ones may have"
    assert mock.count("register") == 2, mock.registrations
    assert mock.logins == 2 - len(ports), "device codes asked for, besides the PKCE sign-ins"
    signs_in.assert_ran(mock)


# ---- 4. nothing from the OIDC endpoint verbatim -----------------------------------------------------

def test_oidc_error_text_never_reaches_replies_or_logs(lab, mock):
    """Issue 12 #4: an error code (x-amzn-ErrorType) and message echoing the refresh token and
    client secret reached the `refresh --json` reply and the keep-alive WARN log."""
    mock.configure(refresh_error_echo=True)
    planted = plant_session(lab, minutes_left=5)
    secrets = [planted["refreshToken"], planted["clientSecret"]]

    res = lab.run("refresh", "--profile", "dev", "--json", "--silent-only")
    reply = reply_of(res)
    assert res.returncode == 1 and reply["success"] is False, reply
    assert [g["outcome"] for g in mock.grants()] == ["echoed"], mock.grants()
    assert "the SSO OIDC service refused with an unknown error" in reply["message"], reply["message"]
    for s in secrets:
        assert s not in res.stdout and s not in res.stderr, f"{s} in the refresh output"

    lab.write_settings(loginTimeoutSeconds=60, mcpKeepAlive=True)
    server = RawMcp(lab)
    server.initialize()
    assert mock.wait_for("token_refresh", 2, timeout=30), "keep-alive never tried to renew"
    warned = wait_until(lambda: any("WARN" in l and "unknown error" in l for l in server.stderr), 15)
    assert warned, f"no keep-alive WARN line: {''.join(server.stderr)[-2000:]}"
    server.close()
    log = "".join(server.stderr)
    for s in secrets:
        assert s not in log, f"{s} in the MCP server's log"
    assert mock.refresh_token_state(planted["refreshToken"]) == "live"
    assert mock.logins == 0
    assert_no_lab_process(lab)


# ---- 5. the cache folder must be the user's own and private ------------------------------------------

def test_shared_cache_folder_or_planted_symlink_is_refused(lab, mock):
    """Issue 12 #5: a world-writable cache folder let another user plant a symlink at the token's
    name, and the CLI wrote the victim's new tokens into the attacker's file."""
    lab.cache_dir.mkdir(parents=True)
    lab.cache_dir.chmod(0o777)
    res = lab.run("refresh", "--profile", "dev", "--json")
    reply = reply_of(res)
    assert res.returncode == 1, reply
    assert "refusing to write sso tokens to" in reply["message"].lower(), reply["message"]
    assert "chmod go-w" in reply["message"], reply["message"]
    assert str(lab.cache_dir) in reply["message"], reply["message"]
    assert mock.logins == 0 and mock.count("register") == 0 and mock.grants() == []

    # A refreshable token does not change that: no grant either.
    plant_session(lab, minutes_left=5)
    lab.cache_dir.chmod(0o777)
    res = lab.run("refresh", "--profile", "dev", "--json")
    assert res.returncode == 1 and "refusing to write sso tokens to" in reply_of(res)["message"].lower()
    assert mock.grants() == [] and mock.logins == 0

    # Modes fixed, but the token's name is someone's symlink to a file of theirs.
    lab.token_path().unlink()
    lab.cache_dir.chmod(0o700)
    trap = lab.root / "attacker-owned.json"
    trap.write_text("{}")
    trap.chmod(0o666)
    os.symlink(trap, lab.token_path())
    before = (trap.read_bytes(), trap.stat().st_mtime_ns)
    res = lab.run("refresh", "--profile", "dev", "--json")
    reply = reply_of(res)
    assert res.returncode == 1, reply
    assert "refusing to write sso tokens to" in reply["message"].lower(), reply["message"]
    assert "symbolic link" in reply["message"], reply["message"]
    assert (trap.read_bytes(), trap.stat().st_mtime_ns) == before, "the symlink's target was written"
    assert lab.token_path().is_symlink()
    assert mock.logins == 0 and mock.grants() == []
    assert_no_lab_process(lab)


# ---- 6. no refresh token spent when the new token cannot be saved ------------------------------------

@pytest.fixture
def nobody_lab(mock):
    """A lab that the user `nobody` owns, outside pytest's root-only tmp folder."""
    if os.geteuid() != 0:
        pytest.fail("this test runs the binary as `nobody` and needs root", pytrace=False)
    if shutil.which("setpriv") is None:
        pytest.fail("setpriv (util-linux) is needed to run as another user", pytrace=False)
    root = Path(tempfile.mkdtemp(prefix="aws-sso-tray-nobody-"))
    lab = Lab(root, mock)
    try:
        yield lab
    finally:
        lab.cleanup()
        shutil.rmtree(root, ignore_errors=True)


def test_unwritable_cache_spends_no_refresh_token(nobody_lab, mock):
    """Issue 12 #6: the grant came before the write; when the write then failed (read-only folder,
    full disk), the single-use refresh token was spent and the new one lost."""
    lab = nobody_lab
    planted = plant_session(lab, minutes_left=5)
    exe = lab.root / "aws-sso-tray"
    shutil.copy2(tray_binary(), exe)
    for p in [lab.root, *lab.root.rglob("*")]:
        os.lchown(p, 65534, 65534)
    for p in [lab.root, *lab.root.rglob("*")]:
        if p.is_dir() and not p.is_symlink():
            p.chmod(0o755)
    exe.chmod(0o755)
    lab.cache_dir.chmod(0o555)   # the user's own folder, private, but read-only
    before = lab.token_path().read_bytes()
    cmd = [shutil.which("setpriv"), "--reuid=65534", "--regid=65534", "--clear-groups", str(exe),
           "refresh", "--profile", "dev", "--silent-only", "--json"]
    proc = subprocess.run(cmd, env=lab.env(), cwd=str(lab.project), capture_output=True, text=True,
                          timeout=60)
    reply = reply_of(proc)
    assert proc.returncode == 1 and reply["success"] is False, (reply, proc.stderr[-2000:])
    assert "the refresh token was not used" in reply["message"], reply["message"]
    assert mock.grants() == [], f"a refresh grant was made: {mock.grants()}"
    assert mock.refresh_token_state(planted["refreshToken"]) == "live"
    assert lab.token_path().read_bytes() == before
    assert mock.logins == 0
    assert_no_lab_process(lab)


# ---- 7. bounded echoes ------------------------------------------------------------------------------

def test_a_huge_server_name_is_not_echoed_whole(lab, mock):
    """Issue 12 #7: a 1 MiB server name was echoed whole into the reply and the WARN log."""
    huge = "h\u001b[2J" + "x" * (1 << 20)
    server = RawMcp(lab)
    server.initialize()
    answer = server.request("tools/call", {"name": "refresh_aws_sso_token",
                                           "arguments": {"server": huge}}, timeout=60)
    server.close()
    assert "result" in answer, str(answer)[:2000]
    text = "\n".join(c.get("text", "") for c in answer["result"].get("content", []))
    whole = json.dumps(answer)
    assert len(whole) < 10_000, f"{len(whole)} bytes of reply"
    assert "…" in text, text[:500]
    assert "no mcp server named" in text.lower(), text[:500]
    assert "\x1b" not in text, "a control character was echoed"
    log = "".join(server.stderr)
    assert len(log) < 100_000, f"{len(log)} bytes of server log"
    assert "x" * 1000 not in log
    assert mock.logins == 0
    assert_no_lab_process(lab)


# ---- 8. cancellation -------------------------------------------------------------------------------

def test_cancelled_tool_call_ends_its_sign_in(lab, mock, signs_in):
    """Issue 12 #8 (smaller ones): `notifications/cancelled` was ignored; the sign-in kept running."""
    lab.set_browser("ignore")
    lab.write_settings(loginTimeoutSeconds=NEVER_ENDS)
    server = RawMcp(lab)
    server.initialize()
    call_refresh(server, 3001, profile="dev")
    [aws] = wait_for_logins(lab)
    assert group_members(aws)
    ports = assert_sign_in_waits(lab, signs_in)
    server.send({"jsonrpc": "2.0", "method": "notifications/cancelled",
                 "params": {"requestId": 3001, "reason": "user pressed stop"}})
    gone = wait_until(lambda: not group_members(aws), 20)
    assert gone, f"the cancelled sign-in's process group {aws} is still alive: {group_members(aws)}"
    assert_loopbacks_closed(ports)
    listed = server.request("tools/list", {})
    assert "result" in listed and listed["result"]["tools"], listed
    assert server.proc.poll() is None
    assert len(links_opened(lab)) == 1 and mock.logins == (0 if signs_in.pkce else 1)
    signs_in.assert_ran(mock)
    server.close()
    assert_no_lab_process(lab)


# ---- 9. a relative AWS_CONFIG_FILE -------------------------------------------------------------------

def test_relative_aws_config_file_means_the_same_file_to_the_child(lab, mock, signs_in):
    """Issue 12 #8 (smaller ones): a relative AWS_CONFIG_FILE meant one file to the binary (its
    cwd) and another to the login child (which runs in HOME)."""
    moved = lab.root / "conf" / "aws-config"
    moved.parent.mkdir()
    shutil.move(lab.aws_config, moved)
    relative = "conf/aws-config"
    assert not (lab.home / relative).exists()
    res = lab.run("refresh", "--profile", "dev", "--json", cwd=lab.root,
                  env=lab.env(AWS_CONFIG_FILE=relative))
    reply = reply_of(res)
    assert res.returncode == 0 and reply["success"] is True, (reply, res.stderr[-2000:])
    assert reply["method"] == "browser", reply
    assert mock.sign_ins == 1
    signs_in.assert_ran(mock)
    assert lab.read_token()["accessToken"] == mock.last_access_token
    assert_no_lab_process(lab)
