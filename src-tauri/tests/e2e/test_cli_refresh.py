"""`aws-sso-tray refresh` and `status` against the real AWS CLI v2 and the loopback OIDC mock."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import time

import pytest

from conftest import (LEGACY_START_URL, SCOPES, SESSION, START_URL, Person, assert_browser_sign_ins,
                      assert_reply_shape, assert_sign_ins, assert_status_shape, by_name, cache_name,
                      iso_z, parse_time, registration_cache_name, run_in_terminal)


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def assert_fresh_token(lab, key: str, expires_in: int, started: dt.datetime) -> dict:
    """The cache file exists, holds the mock's latest token and expires about expires_in from now."""
    path = lab.token_path(key)
    assert path.is_file(), f"no cache file {path.name} after login"
    token = lab.read_token(key)
    assert token["accessToken"] == lab.mock.last_access_token
    expires = parse_time(token["expiresAt"])
    assert started + dt.timedelta(seconds=expires_in - 5) <= expires \
        <= now_utc() + dt.timedelta(seconds=expires_in + 5), token["expiresAt"]
    return token


# ---- the mock alone, with the real CLI (no binary needed) -----------------------------------

def test_mock_drives_real_aws_cli_login(lab, mock, aws_cli):
    """Proves the harness: the real CLI logs in through the mock and writes botocore's cache,
    finished by a person reading its output (2.9: device code; 2.36: its PKCE link)."""
    mock.configure(expires_in=7200, pending_polls=2, require_approval=True)
    started = now_utc()
    res = lab.aws_sign_in("team.dev")
    assert res.returncode == 0, res.stdout
    token = assert_fresh_token(lab, SESSION, 7200, started)
    assert lab.token_path().name == "3953f9ddf975ab5097ee468d99555c5b441169bf.json"
    assert token["startUrl"] == START_URL  # the '#/' survived config parsing
    assert token["refreshToken"] in mock.issued["refresh_token"]
    assert token["clientSecret"] in mock.issued["client_secret"]
    assert lab.token_path().stat().st_mode & 0o777 == 0o600
    # The registration is cached under botocore's key, so a second login re-uses it.
    assert (lab.cache_dir / registration_cache_name(START_URL, SESSION, SCOPES)).is_file()
    assert mock.count("register") == 1
    if aws_cli.pkce:
        assert_sign_ins(mock, aws_cli, pkce=1)
        assert mock.registrations[0]["grantTypes"] == ["authorization_code", "refresh_token"]
        assert [a["outcome"] for a in mock.authorize_requests] == ["redirected"]
        assert [g["outcome"] for g in mock.code_grants] == ["ok"]
        # The CLI prints its authorize link (state and challenge in it): never to be relayed.
        assert mock.issued["pkce_state"][-1] in res.stdout
        assert mock.issued["code_challenge"][-1] in res.stdout
    else:
        assert_sign_ins(mock, aws_cli, device=1)
        # Pending until both the mock's 2 polls passed and the person approved.
        [approval] = mock.approvals
        assert approval["via"] == "terminal"
        assert mock.count("token_pending") == max(2, approval["pending_polls_before"])
        # The CLI prints the user code: this is what the binary must never relay.
        assert mock.issued["user_code"][-1] in res.stdout

    # A legacy profile (no sso-session): the device code with either CLI.
    res = lab.aws_sign_in("legacy")
    assert res.returncode == 0, res.stdout
    assert lab.read_token(LEGACY_START_URL)["accessToken"] == mock.last_access_token
    assert mock.count("register") == 2
    assert_sign_ins(mock, aws_cli, **({"pkce": 1, "device": 1} if aws_cli.pkce else {"device": 2}))
    assert mock.issued["user_code"][-1] in res.stdout


# ---- refresh: success paths -------------------------------------------------------------------

def test_refresh_profile_writes_fresh_token(lab, mock, signs_in):
    mock.configure(expires_in=5 * 3600)
    # A stale token from an earlier login must be replaced, not reported.
    lab.plant_file(cache_name(SESSION), {"startUrl": START_URL, "region": "us-east-1",
                                         "accessToken": "stale", "expiresAt": "2020-01-01T00:00:00Z"})
    started = now_utc()
    res, reply = lab.run_json("refresh", "--profile", "team.dev", "--json")
    assert res.returncode == 0, res.stderr
    assert_reply_shape(reply)
    assert reply["success"] is True, reply
    assert reply["profile"] == "team.dev" and reply["method"] == "browser"
    assert reply["profileSource"] == "parameter"
    assert reply["ssoSession"] == SESSION
    token = assert_fresh_token(lab, SESSION, 5 * 3600, started)
    assert parse_time(reply["expiresAt"]) == parse_time(token["expiresAt"])
    assert_browser_sign_ins(mock, signs_in)


def test_second_refresh_renews_token(lab, mock, signs_in):
    """After a login the cache holds a refresh token. A second refresh must renew silently with
    it (no second login) and reply with the new file's expiry."""
    _, first_reply = lab.run_json("refresh", "--profile", "dev", "--json")
    assert first_reply["success"] is True and first_reply["method"] == "browser", first_reply
    first = lab.read_token()
    mock.configure(expires_in=6 * 3600)
    started = now_utc()
    res, reply = lab.run_json("refresh", "--profile", "team.dev", "--json")
    assert res.returncode == 0, res.stderr
    assert reply["success"] is True, reply
    token = assert_fresh_token(lab, SESSION, 6 * 3600, started)
    assert token["accessToken"] != first["accessToken"]
    assert token["clientSecret"] == first["clientSecret"]  # the registration is kept
    assert token.get("refreshToken") in mock.issued["refresh_token"]
    assert reply["method"] == "refresh_token", reply
    assert_browser_sign_ins(mock, signs_in)  # the first refresh's, none since
    assert lab.token_path().stat().st_mode & 0o777 == 0o600
    assert parse_time(reply["expiresAt"]) == parse_time(token["expiresAt"])
    assert mock.count("unknown") == 0


def test_refresh_without_json_is_quiet_and_succeeds(lab, mock, signs_in):
    res = lab.run("refresh", "--profile", "dev", env=lab.env(RUST_LOG="off"))
    assert res.returncode == 0, res.stderr
    assert_browser_sign_ins(mock, signs_in)
    assert lab.token_path().is_file()
    # Whatever it prints, it is not the CLI's sign-in chatter (code, links).
    said = res.stdout + res.stderr
    assert "Then enter the code" not in said and "/authorize?" not in said, said
    for secret in mock.issued["user_code"] + mock.issued["verification_uri"] + mock.issued["pkce_state"]:
        assert secret not in said


@pytest.mark.parametrize("server, profile, key, cwd", [
    ("aws-docs", "dev", SESSION, "project"),            # ~/.claude.json, env.AWS_PROFILE
    ("team-api", "team.dev", SESSION, "project"),       # args --profile X
    ("deployer", "chained", SESSION, "project"),        # docker -e AWS_PROFILE=X, chained profile
    ("proj-ops", "ops", SESSION, "project"),            # <project>/.mcp.json, --profile=X
    ("local-legacy", "legacy", LEGACY_START_URL, "project"),  # local scope, AWS_DEFAULT_PROFILE
    ("other-srv", "ops", SESSION, "other_project"),     # project found only through the cwd
], ids=["aws-docs", "team-api", "deployer", "proj-ops", "local-legacy", "other-srv"])
def test_refresh_server_resolves_profile(lab, mock, signs_in, server, profile, key, cwd):
    started = now_utc()
    res, reply = lab.run_json("refresh", "--server", server, "--json", cwd=getattr(lab, cwd))
    assert res.returncode == 0, res.stderr
    assert_reply_shape(reply)
    assert reply["success"] is True, reply
    assert reply["profile"] == profile and reply["method"] == "browser"
    assert reply["profileSource"] == "mcp_config"
    assert reply["ssoSession"] == (None if key == LEGACY_START_URL else SESSION)
    token = assert_fresh_token(lab, key, mock.expires_in, started)
    assert parse_time(reply["expiresAt"]) == parse_time(token["expiresAt"])
    if key == LEGACY_START_URL:  # no sso-session: the device code, even for 2.36
        assert_sign_ins(mock, signs_in, device=1)
    else:
        assert_browser_sign_ins(mock, signs_in)


def test_refresh_server_project_scope_follows_cwd(lab, mock):
    """other-srv lives in a project that is neither the cwd nor listed in ~/.claude.json."""
    res, reply = lab.run_json("refresh", "--server", "other-srv", "--json", cwd=lab.project)
    assert res.returncode == 1
    assert reply["success"] is False and reply["method"] is None
    assert mock.logins == 0


def test_refresh_chained_profile_logs_in_source(lab, mock, signs_in):
    started = now_utc()
    res, reply = lab.run_json("refresh", "--profile", "chained", "--json")
    assert res.returncode == 0, res.stderr
    assert reply["success"] is True, reply
    assert reply["profile"] == "chained" and reply["ssoSession"] == SESSION
    assert reply["method"] == "browser"
    token = assert_fresh_token(lab, SESSION, mock.expires_in, started)
    assert parse_time(reply["expiresAt"]) == parse_time(token["expiresAt"])
    assert_browser_sign_ins(mock, signs_in)


def test_refresh_honours_aws_config_file(lab, mock, signs_in):
    """The config lives outside ~/.aws: aws only finds the profile if AWS_CONFIG_FILE is passed on."""
    moved = lab.home / "elsewhere" / "aws-config.ini"
    moved.parent.mkdir()
    shutil.move(lab.aws_config, moved)
    res, reply = lab.run_json("refresh", "--profile", "dev", "--json",
                              env=lab.env(AWS_CONFIG_FILE=str(moved)))
    assert res.returncode == 0, res.stderr
    assert reply["success"] is True, reply
    assert lab.token_path().is_file()
    assert_browser_sign_ins(mock, signs_in)


# ---- refresh: failures, timeouts, floods --------------------------------------------------------

def assert_refused(mock, aws_cli) -> None:
    """The one sign-in really ran and the service refused it (mode "fail"): a denied authorize
    page for PKCE, AccessDenied on the device code's CreateToken."""
    assert_browser_sign_ins(mock, aws_cli)
    if aws_cli.pkce:
        assert [a["outcome"] for a in mock.authorize_requests] == ["denied"], mock.authorize_requests
        assert mock.code_grants == []
    assert mock.count("token_issued") == 0


def test_refresh_login_failure(lab, mock, signs_in):
    mock.configure(mode="fail")
    res, reply = lab.run_json("refresh", "--profile", "dev", "--json")
    assert res.returncode == 1, (res.returncode, res.stderr)
    assert_reply_shape(reply)
    assert reply["success"] is False and reply["profile"] == "dev"
    assert reply["expiresAt"] is None
    assert_refused(mock, signs_in)  # the CLI really ran and was refused
    assert "`aws sso login` failed" in reply["message"], reply["message"]
    if not signs_in.pkce:  # the CLI's own summary of the refusal
        assert "(AccessDeniedException) when calling the CreateToken" in reply["message"], reply["message"]
    assert not lab.token_path().exists()


def test_refresh_login_failure_plain_reports_one_line(lab, mock, signs_in):
    mock.configure(mode="fail")
    res = lab.run("refresh", "--profile", "dev", env=lab.env(RUST_LOG="off"))
    assert res.returncode == 1
    assert_refused(mock, signs_in)
    lines = [l for l in res.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, f"expected one error line on stderr, got: {res.stderr!r}"


def test_refresh_cli_success_without_fresh_token_is_failure(lab, mock, signs_in):
    """aws exits 0 but the token it writes is already expired: contract says that is a failure."""
    mock.configure(expires_in=-3600)
    res, reply = lab.run_json("refresh", "--profile", "dev", "--json")
    assert_browser_sign_ins(mock, signs_in)
    assert mock.count("token_issued") == 1  # the CLI got its (expired) token
    assert res.returncode == 1, reply
    assert reply["success"] is False, reply
    assert "no valid token" in reply["message"], reply["message"]


@pytest.mark.parametrize("how", ["flag", "settings"])
def test_refresh_timeout_kills_cli(lab, mock, signs_in, how):
    # The person opens the page, but the service never confirms.
    mock.configure(mode="never")
    # Long enough for the page to open (2.36 starts slowly) before the time is up.
    if how == "flag":
        args, limit = ["--timeout", "6"], 6
    else:
        lab.write_settings(loginTimeoutSeconds=5)
        args, limit = [], 5
    started = time.monotonic()
    res, reply = lab.run_json("refresh", "--profile", "dev", "--json", *args, timeout=60)
    elapsed = time.monotonic() - started
    assert res.returncode == 1
    assert reply["success"] is False
    # A timeout message: says "timeout"/"timed out", or names the limit ("within 3 s").
    assert re.search(rf"time\s*out|timed out|\b{limit}\s*(s|sec|secs|seconds)\b", reply["message"], re.I), \
        reply["message"]
    # The login was really pending.
    assert_browser_sign_ins(mock, signs_in)
    if signs_in.pkce:
        assert [a["outcome"] for a in mock.authorize_requests] == ["held"], mock.authorize_requests
    else:
        assert mock.count("token_pending") >= 1 and mock.approvals
    assert limit - 0.5 <= elapsed <= limit + 5, f"took {elapsed:.1f}s for a {limit}s timeout"
    survivors = lab.wait_lab_processes_gone(1.0)
    assert not survivors, f"processes from the temp home survived the timeout: {survivors}"


def test_refresh_survives_output_flood(lab, mock, aws_cli):
    """The CLI prints a multi-MB verification URL; an undrained pipe would deadlock it. The flood
    is in the device flow's links, which 2.36 uses only without a browser, so the person is at a
    terminal, where the link and code are shown."""
    mock.configure(mode="flood", flood_bytes=4 * 1024 * 1024, require_approval=True)
    person = Person(mock)
    started = time.monotonic()
    # (the lab's settings.json caps the login at 60 s)
    rc, out, err = run_in_terminal(lab, "refresh", "--profile", "dev", "--json", on_output=person,
                                   timeout=90)
    assert rc == 0, err[-2000:]
    reply = json.loads(out)
    assert reply["success"] is True, reply
    assert time.monotonic() - started < 45
    assert person.result == "approved", person.result
    assert_sign_ins(mock, aws_cli, device=1)
    # None of it was relayed: not in the reply, and the terminal got only the link's first part.
    assert "pad=xxxx" not in out
    assert len(out) < 10_000
    assert len(err) < 10_000, f"{len(err)} bytes on the terminal"
    assert lab.read_token()["accessToken"] == mock.last_access_token


def test_concurrent_refreshes_share_one_login(lab, mock, signs_in):
    # Keeps a device-code login open ~2 s so the 20 runs overlap (2.36 starts slowly anyway).
    mock.configure(pending_polls=2)
    profiles = ["dev", "team.dev", "ops", "chained"]
    procs = [lab.spawn("refresh", "--profile", profiles[i % len(profiles)], "--json")
             for i in range(20)]
    results = []
    deadline = time.monotonic() + 120
    for proc in procs:
        out, err = proc.communicate(timeout=max(1, deadline - time.monotonic()))
        results.append((proc.returncode, out, err))
    for i, (rc, out, err) in enumerate(results):
        assert rc == 0, f"run {i} ({profiles[i % 4]}) rc={rc}: {err[-1000:]}"
    token = lab.read_token()
    for rc, out, err in results:
        reply = json.loads(out)
        assert reply["success"] is True, reply
        assert parse_time(reply["expiresAt"]) == parse_time(token["expiresAt"])
    assert_browser_sign_ins(mock, signs_in)  # one sign-in for one session
    opened = [v for v in lab.browser_visits() if v["event"] == "opened"]
    assert len(opened) == 1, lab.browser_visits()  # one sign-in page shown
    assert token["accessToken"] == mock.last_access_token


@pytest.mark.parametrize("args, fragment", [
    (["--profile", "nope"], "nope"),                       # not in the config
    (["--profile", "static"], "static"),                   # keys, not SSO
    (["--profile=-evil"], "-evil"),                        # would be an option on aws's argv
    (["--profile", "-evil"], None),                        # clap may reject it before us
    (["--server", "no-such-server"], "no-such-server"),
    (["--server", "ghost"], "not-in-config"),              # server names a profile not in config
    (["--server", "static-srv"], "static"),
    (["--server", "evil-srv"], "-evil"),                   # a config file can plant '-' too
], ids=["unknown", "not-sso", "dash-eq", "dash-space", "unknown-server", "server-not-in-config",
        "server-not-sso", "server-dash"])
def test_refresh_rejects_bad_profiles_without_running_aws(lab, mock, args, fragment):
    res = lab.run("refresh", *args, "--json", env=lab.env(RUST_LOG="off"))
    assert res.returncode != 0
    if fragment is not None:
        reply = json.loads(res.stdout)
        assert reply["success"] is False
        assert fragment in reply["message"], reply["message"]
        assert res.returncode == 1
    assert mock.count("register") == 0 and mock.logins == 0, "aws sso login was run"
    assert not lab.token_path().exists()
    assert not lab.lab_processes()


# ---- status ------------------------------------------------------------------------------------

def test_status_json_before_and_after_refresh(lab, mock, signs_in):
    res, doc = lab.run_json("status", "--json")
    assert res.returncode == 0, res.stderr
    assert_status_shape(doc)
    servers, profiles = by_name(doc["servers"]), by_name(doc["profiles"])

    # servers from ~/.claude.json (user + local), the project .mcp.json and .vscode/mcp.json
    home_claude = str(lab.home / ".claude.json")
    expect = {
        "aws-docs": ("claude-code", "user", home_claude, "dev", "env_aws_profile"),
        "team-api": ("claude-code", "user", home_claude, "team.dev", "arg_profile"),
        "deployer": ("claude-code", "user", home_claude, "chained", "docker_env"),
        "local-legacy": ("claude-code", "local", home_claude, "legacy", "env_aws_default_profile"),
        "proj-ops": ("claude-code", "project", str(lab.project / ".mcp.json"), "ops", "arg_profile"),
    }
    for name, (client, scope, path, profile, source) in expect.items():
        s = servers.get(name)
        assert s is not None, f"server {name} missing: {sorted(servers)}"
        assert (s["client"], s["scope"], s["configPath"], s["profile"], s["profileSource"]) == \
            (client, scope, path, profile, source), s
    vs = servers["vs-env"]
    assert vs["client"] == "vscode" and vs["scope"] == "project"
    assert vs["profile"] is None and vs["profileUnresolved"] == "${env:AWS_PROFILE}"
    assert vs["profileSource"] == "env_aws_profile"

    td = profiles["team.dev"]
    assert (td["kind"], td["ssoSession"], td["startUrl"], td["region"], td["accountId"],
            td["roleName"]) == ("sso_session", SESSION, START_URL, "us-east-1", "222222222222", "Admin")
    assert td["token"]["state"] == "missing" and td["token"]["expiresAt"] is None
    assert profiles["legacy"]["kind"] == "legacy_sso"
    assert profiles["legacy"]["startUrl"] == LEGACY_START_URL
    assert profiles["chained"]["kind"] == "chained" and profiles["chained"]["sourceProfile"] == "dev"
    assert profiles["static"]["kind"] == "not_sso" and profiles["static"]["token"] is None
    assert profiles["not-in-config"]["kind"] == "not_in_config"
    assert profiles["not-in-config"]["token"] is None

    res, reply = lab.run_json("refresh", "--profile", "dev", "--json")
    assert reply["success"] is True, reply
    assert_browser_sign_ins(mock, signs_in)
    file_expiry = parse_time(lab.read_token()["expiresAt"])

    res, doc = lab.run_json("status", "--json")
    assert res.returncode == 0
    assert_status_shape(doc)
    profiles = by_name(doc["profiles"])
    for name in ["dev", "team.dev", "ops", "chained"]:
        tok = profiles[name]["token"]
        assert tok["state"] == "valid", (name, tok)
        assert parse_time(tok["expiresAt"]) == file_expiry, (name, tok)
    # The CLI stored refreshToken + client registration: botocore can refresh this token.
    assert profiles["dev"]["token"]["refreshable"] is True
    assert profiles["legacy"]["token"]["state"] == "missing"

    human = lab.run("status")
    assert human.returncode == 0
    assert "team.dev" in human.stdout and "legacy" in human.stdout


def test_status_token_states_and_odd_cache_files(lab, mock):
    """States from planted files in the formats seen in the wild; junk in the cache is ignored."""
    now = now_utc()
    lab.plant_file(cache_name(SESSION), {  # expiring: < 15 min left, Rust-SDK fractional format
        "startUrl": START_URL, "region": "us-east-1", "accessToken": "a",
        "expiresAt": (now + dt.timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S.502193Z")})
    lab.plant_file(cache_name(LEGACY_START_URL), {  # expired, old CLI "UTC" suffix
        "startUrl": LEGACY_START_URL, "region": "us-east-1", "accessToken": "b",
        "expiresAt": (now - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SUTC")})
    lab.plant_file("botocore-client-id-us-east-1.json", {"clientId": "c", "clientSecret": "d",
                                                         "expiresAt": iso_z(now)})
    lab.plant_file("garbage.json", "{not json")
    lab.plant_file("list.json", "[1, 2, 3]")
    res, doc = lab.run_json("status", "--json")
    assert res.returncode == 0, res.stderr
    assert_status_shape(doc)
    profiles = by_name(doc["profiles"])
    assert profiles["dev"]["token"]["state"] == "expiring"
    assert profiles["legacy"]["token"]["state"] == "expired"
    assert profiles["dev"]["token"]["refreshable"] is False  # no refreshToken in the file
    assert abs(parse_time(profiles["dev"]["token"]["expiresAt"]) - (now + dt.timedelta(minutes=5))) \
        < dt.timedelta(seconds=2)


def test_status_survives_broken_client_config(lab, mock):
    (lab.home / ".cursor").mkdir()
    (lab.home / ".cursor" / "mcp.json").write_text('{"mcpServers": {"x": ')
    res, doc = lab.run_json("status", "--json")
    assert res.returncode == 0, res.stderr
    assert_status_shape(doc)
    assert any(d["path"] == str(lab.home / ".cursor" / "mcp.json") for d in doc["diagnostics"]), \
        doc["diagnostics"]
    assert "aws-docs" in by_name(doc["servers"])  # the good files still count
