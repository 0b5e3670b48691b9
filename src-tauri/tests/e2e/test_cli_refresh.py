"""`aws-sso-tray refresh` and `status` against the real AWS CLI v2 and the loopback OIDC mock."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import time

import pytest

from conftest import (LEGACY_START_URL, SCOPES, SESSION, START_URL, assert_reply_shape,
                      assert_status_shape, by_name, cache_name, iso_z, parse_time,
                      registration_cache_name)


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

def test_mock_drives_real_aws_cli_login(lab, mock):
    """Proves the harness: the real CLI logs in through the mock and writes botocore's cache."""
    mock.configure(expires_in=7200, pending_polls=2)
    started = now_utc()
    res = lab.aws("sso", "login", "--profile", "team.dev")
    assert res.returncode == 0, res.stderr
    token = assert_fresh_token(lab, SESSION, 7200, started)
    assert lab.token_path().name == "3953f9ddf975ab5097ee468d99555c5b441169bf.json"
    assert token["startUrl"] == START_URL  # the '#/' survived config parsing
    assert token["refreshToken"] in mock.issued["refresh_token"]
    assert token["clientSecret"] in mock.issued["client_secret"]
    assert lab.token_path().stat().st_mode & 0o777 == 0o600
    # The registration is cached under botocore's key, so a second login re-uses it.
    assert (lab.cache_dir / registration_cache_name(START_URL, SESSION, SCOPES)).is_file()
    assert mock.logins == 1 and mock.count("token_pending") == 2 and mock.count("register") == 1
    # The CLI prints the user code: this is what the binary must never relay.
    assert mock.issued["user_code"][-1] in res.stdout

    res = lab.aws("sso", "login", "--profile", "legacy")
    assert res.returncode == 0, res.stderr
    assert lab.read_token(LEGACY_START_URL)["accessToken"] == mock.last_access_token
    assert mock.logins == 2 and mock.count("register") == 2


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
    assert mock.logins == 1


def test_second_refresh_renews_token(lab, mock):
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
    assert reply["method"] == "refresh_token" and mock.logins == 1, reply
    assert lab.token_path().stat().st_mode & 0o777 == 0o600
    assert parse_time(reply["expiresAt"]) == parse_time(token["expiresAt"])
    assert mock.count("unknown") == 0


def test_refresh_without_json_is_quiet_and_succeeds(lab, mock):
    res = lab.run("refresh", "--profile", "dev", env=lab.env(RUST_LOG="off"))
    assert res.returncode == 0, res.stderr
    assert mock.logins == 1 and lab.token_path().is_file()
    # Whatever it prints, it is not the CLI's device-code chatter.
    assert "Then enter the code" not in res.stdout + res.stderr


@pytest.mark.parametrize("server, profile, key, cwd", [
    ("aws-docs", "dev", SESSION, "project"),            # ~/.claude.json, env.AWS_PROFILE
    ("team-api", "team.dev", SESSION, "project"),       # args --profile X
    ("deployer", "chained", SESSION, "project"),        # docker -e AWS_PROFILE=X, chained profile
    ("proj-ops", "ops", SESSION, "project"),            # <project>/.mcp.json, --profile=X
    ("local-legacy", "legacy", LEGACY_START_URL, "project"),  # local scope, AWS_DEFAULT_PROFILE
    ("other-srv", "ops", SESSION, "other_project"),     # project found only through the cwd
], ids=["aws-docs", "team-api", "deployer", "proj-ops", "local-legacy", "other-srv"])
def test_refresh_server_resolves_profile(lab, mock, server, profile, key, cwd):
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
    assert mock.logins == 1


def test_refresh_server_project_scope_follows_cwd(lab, mock):
    """other-srv lives in a project that is neither the cwd nor listed in ~/.claude.json."""
    res, reply = lab.run_json("refresh", "--server", "other-srv", "--json", cwd=lab.project)
    assert res.returncode == 1
    assert reply["success"] is False and reply["method"] is None
    assert mock.logins == 0


def test_refresh_chained_profile_logs_in_source(lab, mock):
    started = now_utc()
    res, reply = lab.run_json("refresh", "--profile", "chained", "--json")
    assert res.returncode == 0, res.stderr
    assert reply["success"] is True, reply
    assert reply["profile"] == "chained" and reply["ssoSession"] == SESSION
    assert reply["method"] == "browser"
    token = assert_fresh_token(lab, SESSION, mock.expires_in, started)
    assert parse_time(reply["expiresAt"]) == parse_time(token["expiresAt"])
    assert mock.logins == 1


def test_refresh_honours_aws_config_file(lab, mock):
    """The config lives outside ~/.aws: aws only finds the profile if AWS_CONFIG_FILE is passed on."""
    moved = lab.home / "elsewhere" / "aws-config.ini"
    moved.parent.mkdir()
    shutil.move(lab.aws_config, moved)
    res, reply = lab.run_json("refresh", "--profile", "dev", "--json",
                              env=lab.env(AWS_CONFIG_FILE=str(moved)))
    assert res.returncode == 0, res.stderr
    assert reply["success"] is True, reply
    assert lab.token_path().is_file() and mock.logins == 1


# ---- refresh: failures, timeouts, floods --------------------------------------------------------

def test_refresh_login_failure(lab, mock):
    mock.configure(mode="fail")
    res, reply = lab.run_json("refresh", "--profile", "dev", "--json")
    assert res.returncode == 1, (res.returncode, res.stderr)
    assert_reply_shape(reply)
    assert reply["success"] is False and reply["profile"] == "dev"
    assert reply["expiresAt"] is None
    assert mock.logins == 1  # the CLI really ran and was refused
    assert not lab.token_path().exists()


def test_refresh_login_failure_plain_reports_one_line(lab, mock):
    mock.configure(mode="fail")
    res = lab.run("refresh", "--profile", "dev", env=lab.env(RUST_LOG="off"))
    assert res.returncode == 1
    lines = [l for l in res.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, f"expected one error line on stderr, got: {res.stderr!r}"


def test_refresh_cli_success_without_fresh_token_is_failure(lab, mock):
    """aws exits 0 but the token it writes is already expired: contract says that is a failure."""
    mock.configure(expires_in=-3600)
    res, reply = lab.run_json("refresh", "--profile", "dev", "--json")
    assert mock.logins == 1
    assert res.returncode == 1, reply
    assert reply["success"] is False, reply


@pytest.mark.parametrize("how", ["flag", "settings"])
def test_refresh_timeout_kills_cli(lab, mock, how):
    mock.configure(mode="never")
    if how == "flag":
        args, limit = ["--timeout", "3"], 3
    else:
        lab.write_settings(loginTimeoutSeconds=2)
        args, limit = [], 2
    started = time.monotonic()
    res, reply = lab.run_json("refresh", "--profile", "dev", "--json", *args, timeout=60)
    elapsed = time.monotonic() - started
    assert res.returncode == 1
    assert reply["success"] is False
    # A timeout message: says "timeout"/"timed out", or names the limit ("within 3 s").
    assert re.search(rf"time\s*out|timed out|\b{limit}\s*(s|sec|secs|seconds)\b", reply["message"], re.I), \
        reply["message"]
    assert mock.logins == 1 and mock.count("token_pending") >= 1  # the login was really pending
    assert limit - 0.5 <= elapsed <= limit + 5, f"took {elapsed:.1f}s for a {limit}s timeout"
    survivors = lab.wait_lab_processes_gone(1.0)
    assert not survivors, f"processes from the temp home survived the timeout: {survivors}"


def test_refresh_survives_output_flood(lab, mock):
    """The CLI prints a multi-MB verification URL; an undrained pipe would deadlock it."""
    mock.configure(mode="flood", flood_bytes=4 * 1024 * 1024)
    started = time.monotonic()
    # (the lab's settings.json caps the login at 60 s)
    res, reply = lab.run_json("refresh", "--profile", "dev", "--json", timeout=90)
    assert res.returncode == 0, res.stderr[-2000:]
    assert reply["success"] is True, reply
    assert time.monotonic() - started < 45
    assert "pad=xxxx" not in res.stdout + res.stderr  # and none of it was relayed
    assert len(res.stdout) < 10_000
    assert lab.read_token()["accessToken"] == mock.last_access_token


def test_concurrent_refreshes_share_one_login(lab, mock):
    mock.configure(pending_polls=2)  # keeps the login open ~2 s so the 20 runs overlap
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
    assert mock.logins == 1, f"{mock.logins} device authorizations for one session"
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

def test_status_json_before_and_after_refresh(lab, mock):
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
