"""Shared fixtures for the aws-sso-tray end-to-end tests.

Every test gets its own temp HOME ("lab") wired to its own loopback OIDC mock: the real AWS CLI v2
(/usr/bin/aws) is redirected to the mock by endpoint-rule-set overrides in ~/.aws/models, so
`aws sso login` writes genuine cache files without network, TLS or root.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import json
import os
import pty
import re
import secrets
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from oidc_mock import OidcMock, follow_sign_in_link  # noqa: E402

E2E_DIR = Path(__file__).parent

AWS_CLI = "/usr/bin/aws"  # the Debian AWS CLI v2; a pip CLI v1 may shadow it on PATH
# The current AWS CLI v2 (2.36.7), installed by .ci/setup as AWS's installer lays it out under
# /usr/local, but into this folder: a test mounts it over /usr/local in a private mount namespace,
# so the machine's own /usr/local (and the CLI every other test uses) is untouched.
CURRENT_CLI_ROOT = Path(os.environ.get("AWS_SSO_TRAY_CURRENT_CLI_ROOT", "/opt/aws-sso-tray-ci/awscli-2.36.7"))
BOTOCORE_DATA = Path("/usr/lib/python3/dist-packages/awscli/botocore/data")
DEFAULT_BIN = Path.home() / ".cache/aws-sso-tray/target-headless/debug/aws-sso-tray"
BUILD_HINT = ("cd /work/main && CARGO_TARGET_DIR=$HOME/.cache/aws-sso-tray/target-headless "
              "cargo build --no-default-features")

SESSION = "lab"
START_URL = "https://e2e-lab.awsapps.com/start/#/"   # '#' must survive config parsing
LEGACY_START_URL = "https://e2e-legacy.awsapps.com/start"
SCOPES = ["sso:account:access"]
# Profiles whose token is the `lab` session token.
LAB_PROFILES = ["dev", "team.dev", "ops"]


def tray_binary() -> Path:
    """The binary under test; a missing binary is a failure, never a skip."""
    path = Path(os.environ.get("AWS_SSO_TRAY_BIN") or DEFAULT_BIN)
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(f"aws-sso-tray binary not found or not executable at {path}. "
                    f"Set AWS_SSO_TRAY_BIN or build it: {BUILD_HINT}", pytrace=False)
    return path


def cache_name(key: str) -> str:
    """botocore's token cache file name: sha1(session name, or start URL for legacy)."""
    return hashlib.sha1(key.encode()).hexdigest() + ".json"


def registration_cache_name(start_url: str, session: str | None, scopes) -> str:
    """botocore's client-registration cache key (SSOTokenFetcher._registration_cache_key)."""
    args = {"tool": "botocore", "startUrl": start_url, "region": "us-east-1",
            "scopes": scopes, "session_name": session}
    return hashlib.sha1(json.dumps(args, sort_keys=True).encode()).hexdigest() + ".json"


def parse_time(value: str) -> dt.datetime:
    """Parse the cache/reply timestamp formats seen in the wild into aware UTC datetimes."""
    v = value.strip()
    if v.endswith("UTC"):
        v = v[:-3] + "+00:00"
    elif v.endswith("Z"):
        v = v[:-1] + "+00:00"
    parsed = dt.datetime.fromisoformat(v)
    assert parsed.tzinfo is not None, f"timestamp without zone: {value!r}"
    return parsed.astimezone(dt.timezone.utc)


def iso_z(when: dt.datetime) -> str:
    return when.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_endpoint_overrides(home: Path, url: str) -> None:
    """Point botocore's sso-oidc, sso and sts clients at the mock (botocore reads ~/.aws/models
    first), so `aws sso login` and `aws sts get-caller-identity --profile <sso profile>` stay local."""
    for service in ("sso-oidc", "sso", "sts"):
        src = BOTOCORE_DATA / service
        version = sorted(p.name for p in src.iterdir() if p.is_dir())[-1]
        original = json.loads((src / version / "endpoint-rule-set-1.json").read_text())
        ruleset = {"version": original.get("version", "1.0"),
                   "parameters": original["parameters"],
                   "rules": [{"conditions": [], "type": "endpoint",
                              "endpoint": {"url": url, "properties": {}, "headers": {}}}]}
        dst = home / ".aws" / "models" / service / version
        dst.mkdir(parents=True, exist_ok=True)
        (dst / "endpoint-rule-set-1.json").write_text(json.dumps(ruleset, indent=1))


AWS_CONFIG = """\
# e2e AWS config: one sso-session shared by several profiles
[sso-session {session}]
sso_start_url = {start_url}
sso_region = us-east-1
sso_registration_scopes = sso:account:access

[profile dev]
sso_session = {session}
sso_account_id = 111111111111
sso_role_name = Developer
region = us-east-1

[profile team.dev]
sso_session = {session}
sso_account_id = 222222222222
sso_role_name = Admin

[profile ops]
sso_session = {session}
sso_account_id = 555555555555
sso_role_name = Operator

[profile chained]
role_arn = arn:aws:iam::333333333333:role/Deploy
source_profile = dev

[profile legacy]
sso_start_url = {legacy_url}
sso_region = us-east-1
sso_account_id = 444444444444
sso_role_name = ReadOnly

[profile static]
aws_access_key_id = AKIAE2ESTATIC0000000
aws_secret_access_key = {static_secret}

[profile -evil]
sso_session = {session}
sso_account_id = 666666666666
sso_role_name = Evil
"""


# The stand-in browser put at /usr/bin/xdg-open by Lab.use_browser (see there).
BROWSER_SCRIPT = """#!/usr/bin/python3 -I
import json, os, sys, time
sys.path.insert(0, {e2e_dir})
LOG, BEHAVIOUR, MOCK = {log}, {behaviour}, {mock}

def note(entry):
    with open(LOG, "a") as f:
        f.write(json.dumps(entry) + "\\n")

url = sys.argv[1] if len(sys.argv) > 1 else ""
try:
    with open(BEHAVIOUR) as f:
        behaviour = json.load(f)["behaviour"]
except (OSError, ValueError, KeyError):
    behaviour = "follow"
# The environment as the opener was started with (Python adds LC_CTYPE to os.environ itself).
with open("/proc/self/environ", "rb") as f:
    names = sorted(v.split(b"=", 1)[0].decode() for v in f.read().split(b"\\0") if v)
note({{"event": "opened", "url": url, "argv": sys.argv[1:], "env": names,
       "behaviour": behaviour, "time": time.time()}})
if behaviour == "fail":
    sys.exit(3)
if behaviour == "follow" and os.fork() == 0:
    # The browser goes on after xdg-open returned, as a real one does.
    os.setsid()
    try:
        from oidc_mock import follow_sign_in_link
        time.sleep(0.3)  # a person reads the page
        result = follow_sign_in_link(url, MOCK, via="browser")
    except Exception as e:  # recorded for the test to see
        result = "error: " + repr(e)
    note({{"event": "followed", "url": url, "result": result, "time": time.time()}})
    os._exit(0)
sys.exit(0)
"""


class Lab:
    """A hermetic temp HOME + XDG dirs + project dir, wired to one OidcMock."""

    def __init__(self, root: Path, mock: OidcMock) -> None:
        self.root = root
        self.mock = mock
        self.home = root / "home"
        self.xdg_config = root / "xdg-config"
        # Prepended to the binary's command line: a private mount namespace when the test put a
        # CLI or a browser at a fixed path (use_current_cli, use_browser); empty otherwise.
        self.cli_prefix: list[str] = []
        self.current_cli = False   # use_current_cli: AWS CLI 2.36.7 at /usr/local/bin/aws
        self._mounts: list[tuple[str, str]] = []   # (shell command using "$N", source path)
        # Set by use_browser: the binary then believes a display (and so a browser) exists.
        self.display: str | None = None
        self.browser_dir = root / "browser"
        self.xdg_state = root / "xdg-state"
        self.project = self.home / "work" / "proj"   # below HOME: ancestors are searched up to HOME
        # A project NOT listed in ~/.claude.json "projects": only found when it is the cwd.
        self.other_project = self.home / "work" / "other"
        self.aws_config = self.home / ".aws" / "config"
        self.cache_dir = self.home / ".aws" / "sso" / "cache"
        self.settings_path = self.xdg_config / "aws-sso-tray" / "settings.json"
        self.static_secret = f"e2eStaticSecret-{secrets.token_hex(8)}"  # planted in ~/.aws/config
        self._popen: list[subprocess.Popen] = []
        for d in (self.home, self.xdg_config, self.xdg_state, self.project, self.other_project):
            d.mkdir(parents=True, exist_ok=True)
        write_endpoint_overrides(self.home, mock.url)
        self.aws_config.write_text(AWS_CONFIG.format(session=SESSION, start_url=START_URL,
                                                     legacy_url=LEGACY_START_URL,
                                                     static_secret=self.static_secret))
        self._write_client_configs()
        # A safety net so a broken binary cannot hang a test for the 120 s default.
        self.write_settings(loginTimeoutSeconds=60)

    # ---- files -------------------------------------------------------------------------------
    def _write_client_configs(self) -> None:
        claude = {
            "mcpServers": {
                "aws-docs": {"command": "uvx", "args": ["awslabs.aws-documentation-mcp-server"],
                             "env": {"AWS_PROFILE": "dev"}},
                "team-api": {"command": "npx", "args": ["-y", "team-api-mcp", "--profile", "team.dev"]},
                "deployer": {"command": "docker",
                             "args": ["run", "-i", "--rm", "-e", "AWS_PROFILE=chained", "deploy-mcp"]},
                "ghost": {"command": "ghost-mcp", "env": {"AWS_PROFILE": "not-in-config"}},
                "static-srv": {"command": "s3-mcp", "env": {"AWS_PROFILE": "static"}},
                "evil-srv": {"command": "evil-mcp", "env": {"AWS_PROFILE": "-evil"}},
            },
            "projects": {str(self.project): {"mcpServers": {
                "local-legacy": {"command": "legacy-mcp", "env": {"AWS_DEFAULT_PROFILE": "legacy"}},
            }}},
        }
        (self.home / ".claude.json").write_text(json.dumps(claude, indent=2))
        # Project scope: only visible when the binary runs with cwd inside the project.
        (self.project / ".mcp.json").write_text(json.dumps({"mcpServers": {
            "proj-ops": {"command": "ops-mcp", "args": ["--profile=ops"]}}}, indent=2))
        (self.other_project / ".mcp.json").write_text(json.dumps({"mcpServers": {
            "other-srv": {"command": "other-mcp", "env": {"AWS_PROFILE": "ops"}}}}))
        # VS Code style: comments, trailing commas, an unresolvable ${env:...} profile.
        (self.project / ".vscode").mkdir(exist_ok=True)
        (self.project / ".vscode" / "mcp.json").write_text(
            '// VS Code workspace MCP servers\n{\n  "servers": {\n'
            '    /* unresolved on purpose */\n'
            '    "vs-env": {"command": "x", "env": {"AWS_PROFILE": "${env:AWS_PROFILE}"},},\n'
            '  },\n}\n')

    def use_current_cli(self) -> None:
        """From now on the binary runs where /usr/local holds AWS CLI 2.36.7 (a private mount
        namespace), so the app picks that CLI from its trusted folders, as on a machine where AWS's
        installer put it. A missing install fails the test: .ci/setup --test makes it."""
        aws = CURRENT_CLI_ROOT / "bin" / "aws"
        if not os.path.lexists(aws):
            pytest.fail(f"AWS CLI 2.36.7 is not installed at {CURRENT_CLI_ROOT}: run .ci/setup --test",
                        pytrace=False)
        self._add_mount('mount --bind "${n}" /usr/local', str(CURRENT_CLI_ROOT))
        self.current_cli = True

    def _add_mount(self, command: str, source: str) -> None:
        """Adds a mount to the namespace the binary starts in (`{n}` in `command` is replaced by
        the number of the positional parameter that holds `source`) and rebuilds cli_prefix."""
        self._mounts.append((command, source))
        steps = [cmd.replace("{n}", str(i + 1)) for i, (cmd, _) in enumerate(self._mounts)]
        script = " && ".join([*steps, f"shift {len(self._mounts)}", 'exec "$@"'])
        self.cli_prefix = ["unshare", "-m", "sh", "-c", script, "e2e-namespace",
                           *(src for _, src in self._mounts)]

    def use_browser(self, behaviour: str = "follow", display: str = ":99") -> None:
        """From now on the binary runs with DISPLAY set and, at /usr/bin/xdg-open (the fixed opener
        it starts with a minimal environment), a stand-in browser: a script that records every
        link it is given (browser_visits) and then, in the background as a browser would, does
        what `behaviour` says (set_browser changes it at any time):
        - "follow": follow the link as a person would (oidc_mock.follow_sign_in_link: confirm a
          device code at the mock, or open a PKCE authorize link and follow its redirect to the
          CLI's loopback);
        - "ignore": the page opens, nobody acts on it;
        - "fail": the opener fails (exit 3), as when no browser can be started.
        The opener is put in place in the binary's private mount namespace (a read-only overlay on
        /usr/bin), so the machine's own /usr/bin is untouched."""
        bin_dir = self.browser_dir / "bin"
        bin_dir.mkdir(parents=True, exist_ok=True)
        bin_dir.chmod(0o755)  # the overlay's /usr/bin takes this folder's owner and mode
        assert not set(":,") & set(str(bin_dir)), f"overlay lowerdir cannot hold ':' or ',': {bin_dir}"
        self.set_browser(behaviour)
        script = bin_dir / "xdg-open"
        script.write_text(BROWSER_SCRIPT.format(
            e2e_dir=json.dumps(str(E2E_DIR)), log=json.dumps(str(self.browser_dir / "visits.jsonl")),
            behaviour=json.dumps(str(self.browser_dir / "behaviour.json")),
            mock=json.dumps(self.mock.url)))
        script.chmod(0o755)
        self.display = display
        if os.path.exists("/usr/bin/xdg-open"):
            self._add_mount('mount --bind "${n}/xdg-open" /usr/bin/xdg-open', str(bin_dir))
        else:
            self._add_mount('mount -t overlay e2e-browser -o "lowerdir=${n}:/usr/bin" /usr/bin', str(bin_dir))

    def set_browser(self, behaviour: str) -> None:
        """What the stand-in browser does with the next link: "follow", "ignore" or "fail"."""
        assert behaviour in ("follow", "ignore", "fail"), behaviour
        self.browser_dir.mkdir(parents=True, exist_ok=True)
        (self.browser_dir / "behaviour.json").write_text(json.dumps({"behaviour": behaviour}))

    def browser_visits(self) -> list[dict]:
        """What the stand-in browser recorded, in order: one {"event": "opened", "url", "argv",
        "env" (variable names it got), "behaviour"} per link, then one {"event": "followed", "url",
        "result"} once it acted on a followed link."""
        path = self.browser_dir / "visits.jsonl"
        if not path.exists():
            return []
        # Only whole lines: the browser may be writing one right now.
        return [json.loads(line) for line in path.read_text().split("\n")[:-1] if line.strip()]

    def wait_browser(self, event: str = "opened", n: int = 1, timeout: float = 60.0) -> list[dict]:
        """Polls until the stand-in browser recorded `n` entries of `event`; returns them (fewer at
        the deadline)."""
        deadline = time.monotonic() + timeout
        while True:
            found = [v for v in self.browser_visits() if v.get("event") == event]
            if len(found) >= n or time.monotonic() >= deadline:
                return found
            time.sleep(0.05)

    def login_failures(self) -> list[Path]:
        """The notes of failed sign-ins that hold further sign-ins back for a cool-down."""
        return sorted((self.xdg_state / "aws-sso-tray" / "locks").glob("*.failed"))

    def end_cool_down(self) -> None:
        """Lets the next request sign in at once after a failed one (as the cool-down's end would)."""
        for note in self.login_failures():
            note.unlink()

    def write_settings(self, **settings) -> None:
        self.settings_path.parent.mkdir(parents=True, exist_ok=True)
        self.settings_path.write_text(json.dumps(settings))

    def token_path(self, key: str = SESSION) -> Path:
        return self.cache_dir / cache_name(key)

    def read_token(self, key: str = SESSION) -> dict:
        return json.loads(self.token_path(key).read_text())

    def plant_file(self, name: str, content: dict | str) -> Path:
        """Put a file into the SSO cache folder (tokens, registrations, foreign junk)."""
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        path = self.cache_dir / name
        path.write_text(content if isinstance(content, str) else json.dumps(content))
        path.chmod(0o600)
        return path

    # ---- environment and processes -------------------------------------------------------------
    def env(self, **extra) -> dict[str, str]:
        """The whole environment for the binary: nothing leaks in from the test runner."""
        env = {"PATH": "/usr/bin:/bin", "HOME": str(self.home),
               "XDG_CONFIG_HOME": str(self.xdg_config), "XDG_STATE_HOME": str(self.xdg_state),
               "AWS_CONFIG_FILE": str(self.aws_config), "RUST_LOG": "info",
               # Hermeticity for anything that talks OIDC through the Rust SDK (the binary renews
               # with the cached refresh token before falling back to `aws sso login`); the CLI
               # 2.9.19 ignores these and uses the ~/.aws/models override instead.
               "AWS_ENDPOINT_URL_SSO_OIDC": self.mock.url, "AWS_ENDPOINT_URL_SSO": self.mock.url,
               "AWS_EC2_METADATA_DISABLED": "true"}
        if self.display:
            env["DISPLAY"] = self.display
        env.update(extra)
        return {k: v for k, v in env.items() if v is not None}

    def run(self, *args: str, timeout: float = 90, cwd: Path | None = None,
            env: dict | None = None) -> subprocess.CompletedProcess:
        """Run the binary to completion (own session so a hang can be cleaned up by pid)."""
        proc = self.spawn(*args, cwd=cwd, env=env)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._kill(proc)
            out, err = proc.communicate()
            pytest.fail(f"aws-sso-tray {' '.join(args)} did not finish within {timeout}s; "
                        f"stderr tail: {err[-2000:]!r}")
        return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)

    def spawn(self, *args: str, cwd: Path | None = None, env: dict | None = None,
              **popen_kw) -> subprocess.Popen:
        popen_kw.setdefault("stdout", subprocess.PIPE)
        popen_kw.setdefault("stderr", subprocess.PIPE)
        proc = subprocess.Popen([*self.cli_prefix, str(tray_binary()), *args], cwd=str(cwd or self.project),
                                env=env if env is not None else self.env(), text=True,
                                start_new_session=True, **popen_kw)
        self._popen.append(proc)
        return proc

    def run_json(self, *args: str, **kw) -> tuple[subprocess.CompletedProcess, dict]:
        res = self.run(*args, **kw)
        try:
            reply = json.loads(res.stdout)
        except ValueError:
            pytest.fail(f"stdout of {' '.join(args)} is not one JSON document "
                        f"(rc={res.returncode}): {res.stdout[:2000]!r} stderr: {res.stderr[-2000:]!r}")
        return res, reply

    def aws(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        """Run the real AWS CLI v2 the test chose (Debian's 2.9.19, or 2.36.7 after
        use_current_cli, in the lab's namespace) in the lab, with a clean environment."""
        return subprocess.run(self._aws_command(*args), env=self._aws_env(), cwd=str(self.home),
                              capture_output=True, text=True, timeout=timeout)

    def aws_sign_in(self, profile: str, timeout: float = 60) -> subprocess.CompletedProcess:
        """`aws sso login --no-browser --profile P` run by the chosen CLI alone (another tool
        signing in, not this app), with a person reading its output and signing in with the
        link it prints (Person: the device code at the mock, or the PKCE link through to the
        CLI's loopback), as a user would."""
        proc = subprocess.Popen(self._aws_command("sso", "login", "--no-browser", "--profile", profile),
                                env=self._aws_env(), cwd=str(self.home), stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                start_new_session=True)
        self._popen.append(proc)
        person = Person(self.mock)
        seen: list[str] = []

        def read() -> None:
            for line in proc.stdout:
                seen.append(line)
                person("".join(seen), proc)

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._kill(proc)
            proc.wait()
            pytest.fail(f"aws sso login --profile {profile} did not finish within {timeout}s; "
                        f"the person saw a link: {person.link is not None} ({person.result}); "
                        f"output tail: {''.join(seen)[-2000:]!r}")
        reader.join(timeout=30)
        return subprocess.CompletedProcess(proc.args, rc, "".join(seen), "")

    def _aws_command(self, *args: str) -> list[str]:
        return [*self.cli_prefix, "/usr/local/bin/aws" if self.current_cli else AWS_CLI, *args]

    def _aws_env(self) -> dict[str, str]:
        # 2.9.19 reaches the mock through ~/.aws/models, later CLIs through the endpoint variables.
        return {"PATH": "/usr/bin:/bin", "HOME": str(self.home), "AWS_CONFIG_FILE": str(self.aws_config),
                "AWS_ENDPOINT_URL_SSO_OIDC": self.mock.url, "AWS_ENDPOINT_URL_SSO": self.mock.url}

    def lab_processes(self) -> list[tuple[int, str]]:
        """Live processes whose environment or command line references this lab's temp dirs."""
        found = []
        me = os.getpid()
        needle_env = f"HOME={self.home}".encode()
        needle = str(self.root).encode()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == me:
                continue
            try:
                environ = (entry / "environ").read_bytes()
                cmdline = (entry / "cmdline").read_bytes()
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            except (OSError, IndexError):
                continue  # vanished or not ours to read
            if state == "Z":
                continue  # a zombie has released everything; only its parent can reap it
            if needle_env in environ.split(b"\0") or needle in cmdline:
                found.append((int(entry.name), cmdline.replace(b"\0", b" ").decode(errors="replace")[:300]))
        return found

    def wait_lab_processes_gone(self, timeout: float) -> list[tuple[int, str]]:
        """Poll until no lab process is alive; return the survivors at the deadline."""
        deadline = time.monotonic() + timeout
        while True:
            alive = self.lab_processes()
            if not alive or time.monotonic() >= deadline:
                return alive
            time.sleep(0.02)

    @staticmethod
    def _kill(proc: subprocess.Popen) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)

    def cleanup(self) -> None:
        """Kill what this lab started (by pid), including escaped aws children."""
        for proc in self._popen:
            if proc.poll() is None:
                self._kill(proc)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=5)
        for pid, _ in self.lab_processes():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)


@pytest.fixture
def mock():
    with OidcMock() as m:
        yield m


@pytest.fixture
def lab(tmp_path, mock):
    lab = Lab(tmp_path, mock)
    try:
        yield lab
    finally:
        lab.cleanup()


@pytest.fixture
def tray_bin() -> Path:
    return tray_binary()


# ---- contract checks shared by several test files ----------------------------------------------

SERVER_KEYS = {"name", "client", "scope", "configPath", "profile", "profiles", "profileSource", "enabled"}
PROFILE_KEYS = {"name", "kind", "ssoSession", "startUrl", "region", "accountId", "roleName",
                "sourceProfile", "token"}
CLIENT_IDS = {"claude-code", "claude-desktop", "cursor", "vscode", "gemini-cli", "copilot-cli",
              "amazon-q", "cline", "windsurf", "zed", "kiro", "codex", "roo-code"}
KINDS = {"sso_session", "legacy_sso", "chained", "not_sso", "not_in_config"}
STATES = {"valid", "expiring", "expired", "missing"}
REPLY_KEYS = {"success", "profile", "profileSource", "ssoSession", "expiresAt", "message"}


def assert_status_shape(doc: dict) -> None:
    """`status --json` / get_aws_sso_status shape, as /tmp/contract.md describes it."""
    assert set(doc) >= {"servers", "profiles", "diagnostics"}, doc.keys()
    for s in doc["servers"]:
        assert SERVER_KEYS <= set(s), s
        assert s["client"] in CLIENT_IDS, s
        assert s["scope"] in {"user", "project", "local"}, s
        assert isinstance(s["configPath"], str) and os.path.isabs(s["configPath"]), s
        assert s["profile"] is None or isinstance(s["profile"], str), s
        # `profiles`: every profile the server may use, the default (`profile`) first.
        assert isinstance(s["profiles"], list) and all(isinstance(p, str) for p in s["profiles"]), s
        if s["profile"] is not None:
            assert s["profiles"][:1] == [s["profile"]], s
        assert isinstance(s["enabled"], bool), s
        if "profileUnresolved" in s:
            assert isinstance(s["profileUnresolved"], str), s
    for p in doc["profiles"]:
        assert PROFILE_KEYS <= set(p), p
        assert p["kind"] in KINDS, p
        if p["kind"] in {"not_sso", "not_in_config"}:
            assert p["token"] is None, p
        else:
            assert p["token"] is not None, p
        if p["token"] is not None:
            t = p["token"]
            assert set(t) >= {"state", "expiresAt", "refreshable"}, t
            assert t["state"] in STATES, t
            assert isinstance(t["refreshable"], bool), t
            if t["expiresAt"] is not None:
                parse_time(t["expiresAt"])
    for d in doc["diagnostics"]:
        assert set(d) >= {"path", "line", "message"}, d
        assert d["line"] is None or isinstance(d["line"], int), d


def assert_reply_shape(reply: dict) -> None:
    assert REPLY_KEYS <= set(reply), reply
    assert isinstance(reply["success"], bool), reply
    assert reply["profileSource"] in {"parameter", "mcp_config"}, reply
    assert isinstance(reply["message"], str) and reply["message"], reply


def by_name(items: list[dict]) -> dict[str, dict]:
    return {i["name"]: i for i in items}


# ---- MCP helpers (shared by test_mcp.py and test_secrets.py) ----------------------------------

def mcp_params(lab: Lab, cwd: Path | None = None, **env_extra):
    """stdio parameters that start the server through `env -i`, so the SDK's inherited
    variables (USER, SHELL, TERM...) cannot leak in: the server sees exactly lab.env(). It starts
    in the lab's mount namespace, if any (lab.cli_prefix: use_current_cli, use_browser)."""
    from mcp import StdioServerParameters
    env = lab.env(**env_extra)
    # Through lab.cli_prefix (a private mount namespace) when the test chose another CLI.
    command = [*lab.cli_prefix, "/usr/bin/env", "-i", *(f"{k}={v}" for k, v in env.items()),
               str(tray_binary()), "--mcp"]
    return StdioServerParameters(command=command[0], args=command[1:], env={}, cwd=str(cwd or lab.project))


def person_at_client(lab: Lab, action: str = "accept"):
    """An MCP client's elicitation handler with a person behind it: each request is noted in
    `lab.elicited` and answered with `action`; on "accept" the person also opens the link and
    signs in with it (follow_sign_in_link, via="client"; the result in `lab.client_sign_ins`)."""
    lab.elicited = getattr(lab, "elicited", [])
    lab.client_sign_ins = getattr(lab, "client_sign_ins", [])

    async def answer(context, params):
        from mcp import types
        lab.elicited.append(params)
        if action == "accept" and getattr(params, "url", None):
            lab.client_sign_ins.append(await asyncio.to_thread(
                follow_sign_in_link, params.url, lab.mock.url, via="client"))
        return types.ElicitResult(action=action)
    return answer


@contextlib.asynccontextmanager
async def mcp_session(lab: Lab, errlog_path: Path, cwd: Path | None = None, elicitation="person",
                      **env_extra):
    """A Python SDK client session. By default the client shows URL-mode elicitations to a person
    who opens the link (`person_at_client`); pass an answer function of your own, or None for a
    client without elicitation."""
    from mcp import ClientSession
    from mcp.client.stdio import stdio_client
    if elicitation == "person":
        elicitation = person_at_client(lab)
    with open(errlog_path, "a") as errlog:
        async with stdio_client(mcp_params(lab, cwd, **env_extra), errlog=errlog) as (read, write):
            async with ClientSession(read, write, elicitation_callback=elicitation) as session:
                await asyncio.wait_for(session.initialize(), 15)
                yield session


def mcp_errors_tuple() -> tuple[type[Exception], ...]:
    """The SDK's JSON-RPC error exception (renamed McpError -> MCPError across SDK versions)."""
    from mcp.shared import exceptions
    return tuple(getattr(exceptions, n) for n in ("MCPError", "McpError") if hasattr(exceptions, n))


def run_async(coro, timeout: float = 120):
    """Run a coroutine with an overall deadline so a hung server fails the test instead of CI."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


def structured(result) -> dict | None:
    """structuredContent of a CallToolResult (field name differs across mcp SDK versions)."""
    value = getattr(result, "structured_content", None)
    if value is None:
        value = getattr(result, "structuredContent", None)
    return value


def is_error(result) -> bool:
    value = getattr(result, "is_error", None)
    if value is None:
        value = getattr(result, "isError", None)
    return bool(value)


def text_of(result) -> str:
    return "\n".join(getattr(c, "text", "") for c in (result.content or []))


# ---- a person at a terminal ------------------------------------------------------------------

LINK = re.compile(r"(https?://\S+)")
CODE = re.compile(r"\b([A-Z0-9]{4}-[A-Z0-9]{4})\b")   # a user code as the service issues them


class Person:
    """A person at a terminal, to pass as run_in_terminal's `on_output`: reads stderr as it comes,
    and once a sign-in link (and, for the device flow, its code) is on it, signs in with it once
    (oidc_mock.follow_sign_in_link, recorded by the mock as via="terminal"), as they would in a
    browser. `act=False`: only reads. Afterwards: `link`, `code` (None for PKCE), `result`,
    `shown_at` (monotonic)."""

    def __init__(self, mock, act: bool = True) -> None:
        self.mock = mock
        self.act = act
        self.link: str | None = None
        self.code: str | None = None
        self.result: str | None = None
        self.shown_at: float | None = None

    def __call__(self, text: str, proc) -> None:
        if self.link is not None:
            return
        links = [l for l in LINK.findall(text) if "/authorize?" in l or "device.sso." in l]
        code = CODE.search(text)
        if not links:
            return
        link = links[-1]
        if "/authorize?" in link:
            code = None  # PKCE has no code (a UUID in its link may look like one)
        elif code is None:
            return  # the device flow's code is still to come
        self.link, self.code, self.shown_at = link, code.group(1) if code else None, time.monotonic()
        if self.act:
            self.result = follow_sign_in_link(link, self.mock.url, code=self.code, via="terminal")


def run_in_terminal(lab: Lab, *args: str, timeout: float = 90, env: dict | None = None,
                    on_output=None) -> tuple[int, str, str]:
    """Runs the binary (in the lab's namespace, lab.cli_prefix) with stderr on a pseudo-terminal,
    as a person at a terminal sees it, and stdout on a pipe (the reply); returns (exit code,
    stdout, stderr). `on_output(stderr_so_far, proc)` is called after every chunk of stderr: the
    person reading along (follow the link it shows, press Ctrl-C with os.killpg(proc.pid,
    SIGINT)...). Past `timeout` the process group is killed and the test fails."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([*lab.cli_prefix, str(tray_binary()), *args],
                            env=env if env is not None else lab.env(), cwd=lab.project,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave,
                            start_new_session=True)
    lab._popen.append(proc)
    os.close(slave)
    out: list[bytes] = []
    reader = threading.Thread(target=lambda: out.append(proc.stdout.read()), daemon=True)
    reader.start()
    err = b""
    deadline = time.monotonic() + timeout
    timed_out = False
    try:
        while True:
            if time.monotonic() >= deadline:
                timed_out = True
                break
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # the terminal closed: the process is gone
                    break
                if not chunk:
                    break
                err += chunk
                if on_output is not None:
                    on_output(err.decode(errors="replace"), proc)
            elif proc.poll() is not None:
                break
        if timed_out:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        rc = proc.wait(timeout=30)
        reader.join(timeout=30)
    finally:
        os.close(master)
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    if timed_out:
        pytest.fail(f"aws-sso-tray {' '.join(args)} did not finish within {timeout}s; "
                    f"terminal: {err.decode(errors='replace')[-2000:]!r}")
    return rc, b"".join(out).decode(errors="replace"), err.decode(errors="replace")


# ---- both AWS CLIs ----------------------------------------------------------------------------

class AwsCliChoice:
    """The AWS CLI a test runs the binary with (the `aws_cli` fixture)."""

    def __init__(self, version: str) -> None:
        self.version = version

    @property
    def pkce(self) -> bool:
        """Whether it signs in with PKCE (authorization code) when a browser is at hand: from 2.22."""
        major, minor, _ = (int(x) for x in self.version.split("."))
        return (major, minor) >= (2, 22)

    def assert_ran(self, mock: OidcMock) -> None:
        """It was this CLI that talked to the mock (its User-Agent on RegisterClient)."""
        agents = mock.register_agents
        assert agents, "no RegisterClient reached the mock: no CLI signed in"
        assert all(f"aws-cli/{self.version} " in a for a in agents), (self.version, agents)

    def __repr__(self) -> str:
        return f"AWS CLI {self.version}"


@pytest.fixture(params=["cli-2.9", "cli-2.36"])
def aws_cli(request, lab) -> AwsCliChoice:
    """Runs the test once with each AWS CLI, selected explicitly: `cli-2.9` is Debian's 2.9.19 at
    /usr/bin/aws (device code only), `cli-2.36` is 2.36.7 mounted over /usr/local
    (lab.use_current_cli; PKCE by default, `--use-device-code`). Take it before calling
    lab.use_browser (either order works: both are mounts in the same namespace)."""
    if request.param == "cli-2.36":
        lab.use_current_cli()
        return AwsCliChoice("2.36.7")
    return AwsCliChoice("2.9.19")


def assert_sign_ins(mock, aws_cli, *, device: int = 0, pkce: int = 0) -> None:
    """Exactly these sign-ins reached the mock (device authorizations, PKCE authorize pages), all
    made by the AWS CLI under test."""
    aws_cli.assert_ran(mock)
    assert (mock.logins, mock.count("authorize")) == (device, pkce), dict(mock.counts)


def assert_browser_sign_ins(mock, aws_cli, n: int = 1) -> None:
    """n sign-ins through the browser here: PKCE for a CLI that has it, else the device code.
    (A legacy profile, without sso-session, always signs in with the device code.)"""
    assert_sign_ins(mock, aws_cli, **{"pkce" if aws_cli.pkce else "device": n})


@pytest.fixture
def signs_in(lab, aws_cli) -> AwsCliChoice:
    """For a test in which a sign-in runs through a browser on this machine, as on most users'
    machines: runs it once with each AWS CLI (aws_cli), with the stand-in browser following every
    link it is given (lab.use_browser("follow"); lab.set_browser changes what it does), and the
    mock granting a device code only once a person approved it."""
    lab.mock.require_approval = True
    lab.use_browser("follow")
    return aws_cli


@pytest.fixture(autouse=True)
def _sign_ins_run_with_both_clis(request):
    """Fails a test in which a sign-in reached the mock but that did not take the aws_cli fixture
    (directly, or through signs_in): every sign-in test runs with both CLIs. Tests of the mock
    itself, each against the one flow it checks, say so with @pytest.mark.mock_harness."""
    yield
    mock = request.node.funcargs.get("mock")
    if mock is None or "aws_cli" in request.fixturenames or request.node.get_closest_marker("mock_harness"):
        return
    started = mock.count("device_authorization") + mock.count("authorize")
    if started:
        pytest.fail(f"{started} sign-in(s) reached the mock in a test that does not take the aws_cli "
                    "fixture (or signs_in): every sign-in test runs with both AWS CLIs", pytrace=False)


def pytest_configure(config):
    config.addinivalue_line("markers", "mock_harness: a test of the OIDC mock itself, against the one "
                            "sign-in flow it checks (exempt from the both-CLIs guard)")
