#!/usr/bin/env python3
"""Renders the window for a fixture home with two sessions in each state, in light and dark, and
writes window.png and window-dark.png (the README's screenshots) into docs/ or --out DIR.

    python3 src-tauri/tests/desktop/screenshots.py [--out DIR]

Same needs as the desktop tests (Xvfb, D-Bus, tauri-driver, WebKitWebDriver, the desktop binary in
$AWS_SSO_TRAY_DESKTOP_BIN). Not part of the test suite: its name does not start with test_, and the
suite never writes into docs/.
"""

import datetime as dt
import json
import os
import sys
from pathlib import Path

OUT_ENV = "AWS_SSO_TRAY_SCREENSHOTS_OUT"
REPO = Path(__file__).resolve().parents[3]

if __name__ == "__main__":
    import argparse

    import pytest

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs", help="folder for the PNGs (default: docs/)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    os.environ[OUT_ENV] = str(args.out.resolve())
    sys.exit(pytest.main([__file__, "-q", "-s", "-p", "no:cacheprovider"]))

import pytest  # noqa: E402

from conftest import READ_WINDOW, decode_png, wait_until  # noqa: E402

CONFIG = """\
[sso-session {name}]
sso_start_url = https://{name}.awsapps.com/start
sso_region = eu-west-1
sso_registration_scopes = sso:account:access

"""
PROFILE = """\
[profile {profile}]
sso_session = {session}
sso_account_id = {account}
sso_role_name = {role}

"""
LEGACY_URL = "https://d-9067a1b2c3.awsapps.com/start"

# session -> (state, minutes from now to the token's expiry or None, refreshable, profiles)
SESSIONS = {
    "platform": ("valid", 50, True, ["platform-dev", "platform-admin"]),
    "data-lake": ("valid", 7 * 60 + 12, False, ["data-lake-ro"]),
    "billing": ("expiring", 6, False, ["billing-viewer"]),
    "staging": ("expiring", 12, False, ["staging-deploy"]),
    "sandbox": ("expired", -95, False, ["sandbox-dev"]),
    LEGACY_URL: ("expired", -20, False, ["legacy-ops"]),
    "security-audit": ("missing", None, False, ["audit-ro"]),
    "ml-research": ("missing", None, False, ["ml-notebooks"]),
}
SERVERS = {  # name -> (client file, profile)
    "aws-docs": ("claude", "platform-dev"), "cdk-helper": ("claude", "platform-admin"),
    "cloudwatch": ("cursor", "platform-dev"), "athena": ("claude", "data-lake-ro"),
    "cost-explorer": ("claude", "billing-viewer"), "deployer": ("cursor", "staging-deploy"),
    "sandbox-api": ("claude", "sandbox-dev"), "ops-runbooks": ("claude", "legacy-ops"),
    "security-hub": ("claude", "audit-ro"), "sagemaker": ("cursor", "ml-notebooks"),
    "filesystem": ("claude", None),
}


def build_home(lab) -> None:
    now = dt.datetime.now(dt.timezone.utc).replace(second=0, microsecond=0)
    text, account = "", 100000000000
    for session, (_, _, _, profiles) in SESSIONS.items():
        if session != LEGACY_URL:
            text += CONFIG.format(name=session)
        for p in profiles:
            account += 111111111
            if session == LEGACY_URL:
                text += (f"[profile {p}]\nsso_start_url = {LEGACY_URL}\nsso_region = eu-west-1\n"
                         f"sso_account_id = {account}\nsso_role_name = Operator\n\n")
            else:
                text += PROFILE.format(profile=p, session=session, account=account,
                                       role="Admin" if p.endswith("admin") else "Developer")
    lab.aws_config.write_text(text)
    for f in lab.cache_dir.glob("*.json"):
        f.unlink()
    for session, (_, minutes, refreshable, _) in SESSIONS.items():
        if minutes is not None:
            lab.plant_token(session, now + dt.timedelta(minutes=minutes), refreshable=refreshable)
    # platform renews itself; it signed in 3 h ago, so a sign-in is needed in about 5 h.
    log = lab.xdg_state / "aws-sso-tray" / "sessions.json"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(json.dumps({"sessions": {"platform": {
        "signedInAt": int((now - dt.timedelta(hours=3)).timestamp()), "lastUsable": True}}}))
    os.chmod(log, 0o600)
    claude = {name: {"command": "uvx", "args": [f"{name}-mcp"], **({"env": {"AWS_PROFILE": p}} if p else {})}
              for name, (where, p) in SERVERS.items() if where == "claude"}
    cursor = {name: {"command": "uvx", "args": [f"{name}-mcp", f"--profile={p}"]}
              for name, (where, p) in SERVERS.items() if where == "cursor"}
    (lab.home / ".claude.json").write_text(json.dumps({"mcpServers": claude}, indent=2))
    (lab.home / ".cursor" / "mcp.json").write_text(json.dumps({"mcpServers": cursor}, indent=2))
    lab.broken_file.unlink()
    lab.write_settings(showNonAws=True)


def render(lab, driver, name: str) -> None:
    out = Path(os.environ.get(OUT_ENV) or pytest.fail(f"run this file as a script ({__file__}), "
                                                      f"or set {OUT_ENV}", pytrace=False))
    build_home(lab)
    wd = driver.open_window()
    wait_until(lambda: len(wd.js(READ_WINDOW)["rows"]) == len(SESSIONS), 30, "every session in the window")
    wd.click(wd.find('.session[data-session="platform"] .toggle'))
    wait_until(lambda: wd.js(READ_WINDOW)["rows"]["platform"]["detailsShown"], 5, "platform's details")
    # As tall as the page, at the window's own width, so that the picture shows every session.
    width = wd.js("return innerWidth;")
    height = wd.js("return document.documentElement.scrollHeight;")
    wd.s("POST", "/window/rect", {"width": width, "height": height})
    wait_until(lambda: wd.js("return innerHeight;") >= height, 10, "the window to grow")
    wd.js("document.activeElement.blur(); window.scrollTo(0, 0);")
    # Two frames, so that the picture is of the page as it now is (WebKit paints asynchronously).
    wd.js_async("const done = arguments[arguments.length - 1];"
                "requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(done, 300)));")
    png = wd.screenshot()
    w, h, _ = decode_png(png)
    assert w >= 300 and h >= height - 2, (w, h, height)
    (out / name).write_bytes(png)
    print(f"wrote {out / name} ({w}×{h})")


def test_light(lab, driver):
    render(lab, driver, "window.png")


@pytest.mark.app_env(GTK_THEME="Adwaita:dark")
def test_dark(lab, driver):
    render(lab, driver, "window-dark.png")

