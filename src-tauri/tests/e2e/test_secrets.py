"""No secret ever leaves the binary: not on stdout, stderr (even at RUST_LOG=trace) or over MCP.

The SSO cache is seeded with unique secret values (including files that are not ours), a real
login runs through the mock (whose tokens, device/user codes and verification URLs are unique
too), and every byte the binary emits is searched for all of them.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import threading

from conftest import (LEGACY_START_URL, SCOPES, SESSION, START_URL, Person, assert_sign_ins, cache_name, iso_z,
                      mcp_errors_tuple, mcp_session, registration_cache_name, run_async,
                      run_in_terminal, structured)
from oidc_mock import follow_sign_in_link

# What a sign-in of each flow leaves at the mock: secrets that then exist to be leaked.
PKCE_SECRETS = ("pkce_state", "code_challenge", "auth_code", "code_verifier")
DEVICE_SECRETS = ("user_code", "verification_uri", "device_code")

# Everything at trace, and the SDK's own modules named too: a more specific directive must not
# get around the binary's cap on them.
TRACE = {"RUST_LOG": "trace,aws_smithy_runtime::client::orchestrator=trace,hyper_util::client=trace"}
# Our own trace lines: proof that trace logging was on (any stderr at all proves nothing).
# (A line is "LEVEL [span: ...]target: message".)
OWN_TRACE = re.compile(r"TRACE (\S+: )*aws_sso_tray::")
# The AWS SDK and its HTTP stack log bodies (tokens, client secrets) at debug and trace; the
# binary caps them at warn whatever RUST_LOG says.
SDK_CHATTER = re.compile(r"(DEBUG|TRACE) (\S+: )*(aws_smithy|aws_sdk_ssooidc|aws_runtime|hyper|h2|rustls)")


def assert_traced(text: str, name: str) -> None:
    assert OWN_TRACE.search(text), f"{name}: no trace line of ours, so trace logging was not on"
    chatter = SDK_CHATTER.search(text)
    assert not chatter, f"{name}: the SDK logged at debug/trace: {text[chatter.start():chatter.start() + 200]!r}"


def plant_secrets(lab) -> list[str]:
    """Seed the cache with secrets in every kind of file the binary may open."""
    def s(kind: str) -> str:
        return f"e2ePlanted{kind}-{secrets.token_hex(8)}"

    planted: list[str] = []

    def keep(value: str) -> str:
        planted.append(value)
        return value

    now = dt.datetime.now(dt.timezone.utc)
    # Our session's token, expired: status reads it, the login replaces it.
    lab.plant_file(cache_name(SESSION), {
        "startUrl": START_URL, "region": "us-east-1", "accessToken": keep(s("AccessToken")),
        "expiresAt": iso_z(now - dt.timedelta(hours=2)), "clientId": "planted-client",
        "clientSecret": keep(s("ClientSecret")), "refreshToken": keep(s("RefreshToken")),
        "registrationExpiresAt": iso_z(now - dt.timedelta(days=1))})
    # The registration the CLI will re-use: its clientSecret flows into the new token file.
    lab.plant_file(registration_cache_name(START_URL, SESSION, SCOPES), {
        "clientId": "planted-reg-client", "clientSecret": keep(s("RegSecret")),
        "expiresAt": "2099-01-01T00:00:00Z", "scopes": SCOPES})
    # A valid legacy token: status reports on it.
    lab.plant_file(cache_name(LEGACY_START_URL), {
        "startUrl": LEGACY_START_URL, "region": "us-east-1", "accessToken": keep(s("LegacyToken")),
        "expiresAt": iso_z(now + dt.timedelta(hours=3))})
    # Foreign files: another session's token, the old CLI registration, another tool's file.
    lab.plant_file(cache_name("someone-elses-session"), {
        "startUrl": "https://other.awsapps.com/start", "region": "eu-west-1",
        "accessToken": keep(s("ForeignToken")), "refreshToken": keep(s("ForeignRefresh")),
        "clientSecret": keep(s("ForeignClientSecret")), "expiresAt": iso_z(now + dt.timedelta(hours=1))})
    lab.plant_file("botocore-client-id-us-east-1.json", {
        "clientId": "old-client", "clientSecret": keep(s("OldRegSecret")),
        "expiresAt": "2099-01-01T00:00:00Z"})
    lab.plant_file("kiro-auth-token.json", {"accessToken": keep(s("KiroToken")),
                                            "refreshToken": keep(s("KiroRefresh")),
                                            "expiresAt": iso_z(now + dt.timedelta(hours=1))})
    planted.append(lab.static_secret)  # aws_secret_access_key in ~/.aws/config
    return planted


def assert_no_leak(lab, planted: list[str], outputs: dict[str, str], aws_cli) -> None:
    """Search every captured output for every planted and issued secret."""
    mock_secrets = lab.mock.secrets()
    # Not vacuous: logins happened (through the browser: PKCE for 2.36) and their secrets exist
    # to be leaked.
    assert lab.mock.issued["access_token"]
    for kind in PKCE_SECRETS if aws_cli.pkce else DEVICE_SECRETS:
        assert lab.mock.issued[kind], f"no {kind} was issued"
    leaks = [(name, secret) for name, text in outputs.items()
             for secret in planted + mock_secrets if secret in text]
    assert not leaks, "secrets leaked:\n" + "\n".join(f"  {n}: {s}" for n, s in leaks)


def test_cli_outputs_leak_no_secret(lab, mock, signs_in):
    planted = plant_secrets(lab)
    env = lab.env(**TRACE)
    outputs: dict[str, str] = {}

    def capture(name: str, *args: str, rc: int | None = None) -> None:
        res = lab.run(*args, env=env)
        outputs[f"{name} stdout"] = res.stdout
        outputs[f"{name} stderr"] = res.stderr
        if rc is not None:
            assert res.returncode == rc, (name, res.returncode, res.stderr[-2000:])

    capture("status before", "status", rc=0)
    capture("status --json before", "status", "--json", rc=0)
    capture("refresh ok --json", "refresh", "--profile", "dev", "--json", rc=0)
    capture("refresh ok", "refresh", "--profile", "team.dev", rc=0)
    if signs_in.pkce:
        # The planted registration is a device-code one: 2.36 registers anew for PKCE.
        assert mock.count("register") == 1, mock.registrations
        assert mock.registrations[0]["grantTypes"] == ["authorization_code", "refresh_token"]
        assert lab.read_token()["clientSecret"] in mock.issued["client_secret"]
    else:
        # The planted registration was used, so the fresh token file carries its clientSecret.
        assert mock.count("register") == 0
        assert lab.read_token()["clientSecret"] in planted
    capture("status after", "status", rc=0)
    capture("status --json after", "status", "--json", rc=0)
    capture("refresh server", "refresh", "--server", "aws-docs", "--json", rc=0)
    mock.configure(mode="fail")
    capture("refresh fail --json", "refresh", "--profile", "dev", "--json", rc=1)
    lab.end_cool_down()
    capture("refresh fail", "refresh", "--profile", "dev", rc=1)
    lab.end_cool_down()
    mock.configure(mode="never")
    lab.write_settings(loginTimeoutSeconds=5)  # long enough for the page to open (2.36 is slow)
    capture("refresh timeout", "refresh", "--profile", "dev", "--json", rc=1)
    assert "not completed within 5 s" in outputs["refresh timeout stdout"]
    lab.write_settings(loginTimeoutSeconds=60)
    # The flood is in the device flow's links, where a browser gets no code (the link that
    # carries it is cut): the person reads link and code at a terminal (no display).
    mock.configure(mode="flood", flood_bytes=256 * 1024)
    person = Person(mock)
    rc, out, err = run_in_terminal(lab, "refresh", "--profile", "legacy", "--json", on_output=person,
                                   env=lab.env(DISPLAY=None, **TRACE))
    assert rc == 0 and person.result == "approved", (rc, person.result, err[-2000:])
    outputs["refresh flood stdout"] = out
    # The terminal shows its person the link and code once; anything else on it is searched.
    assert err.count(person.link) == 1 and err.count(person.code) == 1, err[-3000:]
    outputs["refresh flood terminal"] = err.replace(person.link, "<link>").replace(person.code, "<code>")
    capture("refresh unknown", "refresh", "--profile", "nope", "--json", rc=1)
    # The ok, fail, timeout and flood runs really reached the mock (legacy: device code for both).
    if signs_in.pkce:
        assert_sign_ins(mock, signs_in, pkce=4, device=1)
    else:
        # 2.9 re-used the planted registration, which the mock never issued: the binary's refresh
        # grants are refused, so the team.dev and aws-docs runs signed in too.
        assert mock.grants(outcome="invalid_client", agent="tray"), mock.grants()
        assert (mock.logins, mock.count("authorize")) == (7, 0), dict(mock.counts)
    # trace logging really was on (otherwise stderr proves little)
    for name in ("refresh ok --json stderr", "refresh fail --json stderr", "refresh flood terminal"):
        assert_traced(outputs[name], name)
    assert_no_leak(lab, planted, outputs, signs_in)


def test_mcp_replies_leak_no_secret(lab, mock, signs_in):
    planted = plant_secrets(lab)
    log_path = lab.root / "mcp-server.log"
    errors = mcp_errors_tuple()
    outputs: dict[str, str] = {}

    async def scenario():
        async with mcp_session(lab, log_path, **TRACE) as s:
            outputs["tools/list"] = (await s.list_tools()).model_dump_json()
            outputs["status before"] = (await s.call_tool("get_aws_sso_status", {})).model_dump_json()
            ok = await s.call_tool("refresh_aws_sso_token", {"profile": "dev"})
            assert structured(ok)["success"] is True, ok
            outputs["refresh ok"] = ok.model_dump_json()
            outputs["refresh server"] = (await s.call_tool(
                "refresh_aws_sso_token", {"server": "team-api"})).model_dump_json()
            outputs["status after"] = (await s.call_tool("get_aws_sso_status", {})).model_dump_json()
            outputs["status profile"] = (await s.call_tool(
                "get_aws_sso_status", {"profile": "dev"})).model_dump_json()
            mock.configure(mode="fail")
            outputs["refresh fail"] = (await s.call_tool(
                "refresh_aws_sso_token", {"profile": "dev"})).model_dump_json()
            outputs["refresh unknown server"] = (await s.call_tool(
                "refresh_aws_sso_token", {"server": "no-such-server"})).model_dump_json()
            try:
                await s.call_tool("refresh_aws_sso_token", {})
                outputs["invalid params"] = "no error"
            except errors as exc:
                outputs["invalid params"] = repr(exc.error)

    run_async(scenario())
    outputs["server stderr"] = log_path.read_text()
    # The ok and fail sign-ins. 2.9 re-used the planted registration (so no RegisterClient to
    # check), which the mock never issued: its refresh grant is refused, so team-api signed in too.
    if signs_in.pkce:
        assert_sign_ins(mock, signs_in, pkce=2)
    else:
        assert mock.grants(outcome="invalid_client", agent="tray"), mock.grants()
        assert (mock.logins, mock.count("authorize")) == (3, 0), dict(mock.counts)
    assert_traced(outputs["server stderr"], "server stderr")
    assert_no_leak(lab, planted, outputs, signs_in)


def test_silent_refresh_paths_leak_no_secret(lab, mock, signs_in):
    """The refresh-token grant moves the most secrets of all (refresh token and client secret out,
    new tokens in): every path of it, at trace level, over the CLI and MCP. (A refused grant over
    MCP falls back to a sign-in, through the browser.)"""
    from test_silent_refresh import plant_session

    planted = plant_secrets(lab)
    lab.write_settings(loginTimeoutSeconds=60, mcpKeepAlive=True)
    sent = plant_session(lab, minutes_left=5)
    planted += [sent["accessToken"], sent["refreshToken"], sent["clientSecret"]]
    env = lab.env(**TRACE)
    outputs: dict[str, str] = {}
    for name, args in [("silent-only", ("refresh", "--profile", "dev", "--silent-only", "--json")),
                       ("silent first", ("refresh", "--profile", "team.dev", "--json")),
                       ("status", ("status", "--json"))]:
        res = lab.run(*args, env=env)
        assert res.returncode == 0, (name, res.stdout, res.stderr[-2000:])
        outputs[f"{name} stdout"], outputs[f"{name} stderr"] = res.stdout, res.stderr
    log_path = lab.root / "mcp-silent.log"

    async def scenario():
        async with mcp_session(lab, log_path, **TRACE) as s:
            ok = await s.call_tool("refresh_aws_sso_token", {"profile": "ops"})
            assert structured(ok)["success"] is True, ok
            outputs["mcp refresh"] = ok.model_dump_json()
            mock.configure(allow_refresh_grant=False)
            lab.write_settings(loginTimeoutSeconds=60)
            refused = await s.call_tool("refresh_aws_sso_token", {"profile": "dev"})
            outputs["mcp refused"] = refused.model_dump_json()
            assert structured(refused)["method"] == "browser", refused
    run_async(scenario())
    # The fallback sign-in (2.9 re-used the planted registration: no RegisterClient to check).
    if signs_in.pkce:
        assert_sign_ins(mock, signs_in, pkce=1)
    else:
        assert (mock.logins, mock.count("authorize")) == (1, 0), dict(mock.counts)
    res = lab.run("refresh", "--profile", "dev", "--silent-only", env=env)
    assert res.returncode == 1, res.stderr[-2000:]
    outputs["refused stdout"], outputs["refused stderr"] = res.stdout, res.stderr
    outputs["mcp stderr"] = log_path.read_text()

    grants = mock.grants()
    assert [g["outcome"] for g in grants].count("ok") >= 3, grants
    assert "refused" in [g["outcome"] for g in grants], grants
    for name in ("silent-only stderr", "silent first stderr", "refused stderr", "mcp stderr"):
        assert_traced(outputs[name], name)
    leaks = [(name, secret) for name, text in outputs.items()
             for secret in planted + mock.secrets() if secret in text]
    assert not leaks, "secrets leaked:\n" + "\n".join(f"  {n}: {s}" for n, s in leaks)


def test_sign_in_prompts_leak_nowhere(lab, mock, aws_cli):
    """Issue 10: the sign-in prompts of both CLIs and both flows (the device code and its links;
    PKCE's authorize link, its state and challenge, the code the browser brings back, the CLI's
    verifier) reach the user only: never a log file (stderr into a file, the app's own state
    files) or an MCP reply, at RUST_LOG=trace. Over MCP: a client without URL elicitation, and one
    whose user is shown the link (URL-mode elicitation) and opens it."""
    mock.configure(require_approval=True, pending_polls=0)  # only a person who saw it approves
    elicited: list[str] = []

    async def person_opens_the_link(context, params):
        from mcp import types
        url = getattr(params, "url", None) or ""
        elicited.append(url)
        if url:  # opened in a browser, which goes on by itself
            threading.Thread(target=follow_sign_in_link, args=(url, mock.url),
                             kwargs={"via": "elicitation"}, daemon=True).start()
        return types.ElicitResult(action="accept")

    env = lab.env(**TRACE)
    outputs: dict[str, str] = {}
    replies: dict[str, dict | None] = {}
    errors = mcp_errors_tuple()

    def capture(name: str, *args: str, env: dict) -> int:
        with open(lab.root / f"{name}.log", "w+") as log:
            proc = lab.spawn(*args, env=env, stderr=log)
            out, _ = proc.communicate(timeout=150)
            log.seek(0)
            outputs[f"{name} stdout"], outputs[f"{name} log"] = out, log.read()
        return proc.returncode

    async def mcp(name: str, elicitation=None) -> None:
        async with mcp_session(lab, lab.root / f"mcp-{name}.log", elicitation=elicitation, **TRACE) as s:
            try:
                result = await s.call_tool("refresh_aws_sso_token", {"profile": "dev"})
                outputs[f"mcp {name} reply"] = result.model_dump_json()
                replies[name] = structured(result)
            except errors as exc:
                outputs[f"mcp {name} reply"] = repr(exc.error)
        outputs[f"mcp {name} log"] = (lab.root / f"mcp-{name}.log").read_text()

    # No display: the device flow's link and code are printed by the CLI and go nowhere (into a
    # pipe nobody reads them; the app may stop at once or wait out the timeout).
    rc_hidden = capture("refresh without a browser", "refresh", "--profile", "dev", "--json",
                        "--timeout", "15", env=env)
    lab.end_cool_down()
    run_async(mcp("without a browser"), timeout=200)
    lab.end_cool_down()
    run_async(mcp("elicitation", elicitation=person_opens_the_link), timeout=200)
    lab.end_cool_down()
    lab.token_path().unlink(missing_ok=True)  # else the next refresh renews it silently
    # A browser (PKCE for 2.36): the link goes to the opener only.
    lab.use_browser("follow")
    rc_browser = capture("refresh with a browser", "refresh", "--profile", "dev", "--json",
                         env=lab.env(**TRACE))
    lab.end_cool_down()
    lab.token_path().unlink(missing_ok=True)
    run_async(mcp("with a browser"), timeout=200)
    # The app's own files: the session log, lock and failure notes, settings.
    for folder in (lab.xdg_state, lab.xdg_config):
        for path in folder.rglob("*"):
            if path.is_file():
                outputs[f"file {path.relative_to(lab.root)}"] = path.read_text(errors="replace")

    links = [v["url"] for v in lab.browser_visits() if v["event"] == "opened"]
    searched = mock.secrets() + links + [e for e in elicited if e]
    leaks = [(name, secret) for name, text in outputs.items() for secret in searched if secret in text]
    assert not leaks, "sign-in prompts leaked:\n" + "\n".join(f"  {n}: {s[:120]}" for n, s in leaks)
    # Not vacuous: trace logging was on, both prompts were really produced, and both CLIs ran.
    for name in ("refresh without a browser log", "refresh with a browser log", "mcp with a browser log",
                 "mcp elicitation log"):
        assert_traced(outputs[name], name)
    aws_cli.assert_ran(mock)
    assert mock.count("device_authorization") >= 2 and mock.issued["user_code"], mock.counts
    assert rc_hidden == 1, outputs["refresh without a browser stdout"]
    assert len(links) == 2, lab.browser_visits()
    assert rc_browser == 0, outputs["refresh with a browser stdout"]
    assert (replies.get("with a browser") or {}).get("success") is True, outputs["mcp with a browser reply"]
    assert (replies.get("elicitation") or {}).get("success") is True, outputs["mcp elicitation reply"]
    assert len(elicited) == 1 and mock.issued["user_code"][2] in elicited[0], elicited
    if aws_cli.pkce:  # the browser's sign-ins were PKCE; the others asked for a device code
        for kind in ("pkce_state", "code_challenge", "auth_code", "code_verifier"):
            assert len(mock.issued[kind]) == 2, (kind, mock.issued[kind])
        assert mock.count("device_authorization") == 3
        assert [a["via"] for a in mock.approvals] == ["elicitation"]
    else:
        assert mock.count("device_authorization") == 5
        assert [a["via"] for a in mock.approvals] == ["elicitation", "browser", "browser"]
