"""Secret audit of the desktop app at RUST_LOG=trace.

The lab's cache holds unique tokens, refresh tokens and client secrets (DesktopLab.planted); the
mock issues unique ones for every login and silent refresh. Every channel the app has is searched
for all of them: its stderr log, every notification, the tray menu and tooltip over D-Bus, and the
window's page source and view. User codes and verification URLs may reach the user in the window
during a login without a browser, and nowhere else; device codes never leave the login.
"""

import json

import pytest

from conftest import (MODE_FAIL, READ_WINDOW, assert_signed_in_at_the_window, assert_signed_in_by_the_browser,
                      edit_until_seen, session_menus, sign_in_at_the_window, wait_tray_ready, wait_until)

TRACE = {"RUST_LOG": "trace"}


def login_prompts(mock) -> list[str]:
    """What a sign-in shows the user: never for a log (PKCE's state and challenge are in its link)."""
    m = mock.issued
    return (list(m["device_code"]) + list(m["user_code"]) + list(m["verification_uri"]) + list(m["pkce_state"])
            + list(m["code_challenge"]))


def leaks(outputs: dict[str, str], values: list[str]) -> list[tuple[str, str]]:
    return [(name, v) for name, text in outputs.items() for v in values if v and v in text]


@pytest.mark.app_env(**TRACE)
def test_tray_menu_notifications_and_log_hold_no_secret(lab, mock, signs_in, tray_host, notifications, driver):
    # Started with its window (WebDriver): the login without a browser is finished from there.
    wd = driver.open_window()
    wait_tray_ready(tray_host, lab)
    # Expiry warnings for bravo (soon) and charlie (expired).
    notifications.wait_for("AWS SSO session bravo expires soon")
    notifications.wait_for("AWS SSO session charlie has expired")
    outputs = {"menu at start": tray_host.layout().dump(), "tooltip at start": json.dumps(tray_host.props(), default=str)}

    # A login through the CLI (browser mode), then a silent refresh of the same session: its new
    # token file holds the mock's refresh token and registration, so CreateToken renews it.
    tray_host.click_label("delta — never logged in", "Refresh")
    notifications.wait_for("AWS SSO session delta refreshed", 60)
    assert mock.sign_ins == 1, dict(mock.counts)
    assert_signed_in_by_the_browser(lab, mock, signs_in)
    issued = len(mock.issued["access_token"])
    delta = tray_host.wait_menu(lambda t: "valid until" in session_menus(t)["delta"].label, 10, "delta valid")
    tray_host.click_label(session_menus(delta)["delta"].label, "Refresh")
    wait_until(lambda: len(mock.issued["access_token"]) > issued, 30, "a silent refresh at the mock")
    wait_until(lambda: len(notifications.matching("AWS SSO session delta refreshed")) == 2, 30,
               "the second 'delta refreshed' notification")
    assert mock.sign_ins == 1 and mock.count("token_refresh") == 1, dict(mock.counts)
    # A login without a browser: the code goes to the window, not to the notification or the log.
    lab.write_settings(loginTimeoutSeconds=60, showNonAws=True, loginWithoutBrowser=True)
    edit_until_seen(lab, tray_host, "settings-read")  # the app has reloaded its settings
    tray_host.click_label(lab.expected_title("charlie"), "Refresh")
    notifications.wait_for("Sign in to AWS SSO session charlie")
    shown = sign_in_at_the_window(wd, mock, "charlie")
    notifications.wait_for("AWS SSO session charlie refreshed", 60)
    assert mock.sign_ins == 2, f"two CLI sign-ins, got {mock.sign_ins}"
    # With a device code approved from the window (2.36 too: `--use-device-code`), no browser.
    assert shown["result"] == "approved" and shown["code"] == mock.issued["user_code"][-1], shown
    assert mock.count("device_authorization") == (1 if signs_in.pkce else 2), dict(mock.counts)
    assert mock.approvals[-1]["via"] == "window", mock.approvals
    assert len(lab.wait_browser("opened", timeout=0)) == 1, lab.browser_visits()
    # A refused login too: its error path must not echo what the CLI printed.
    notifications.wait_for("Sign in to AWS SSO session charlie")
    mock.configure(mode=MODE_FAIL)
    tray_host.click_label(lab.expected_title("bravo"), "Refresh")
    notifications.wait_for("Refreshing bravo failed", 60)

    outputs["menu at end"] = tray_host.layout().dump()
    outputs["tooltip at end"] = json.dumps(tray_host.props(), default=str)
    for i, note in enumerate(notifications.calls()):
        outputs[f"notification {i} {note['summary']}"] = json.dumps(note)
    tray_host.item(timeout=1)  # the app is still there
    wd.quit()  # the app ends with its WebDriver session: its log is complete
    wait_until(lambda: not [n for n in tray_host.bus.names() if "SingleInstance" in n], 15, "the app to exit")
    log = driver.log.read_text(errors="replace")
    assert "TRACE" in log, "trace logging was not on, so the log proves little"
    outputs["stderr"] = log

    hidden = lab.secrets_to_hide()
    assert mock.issued["refresh_token"] and mock.issued["access_token"], "the mock issued tokens to search for"
    assert not leaks(outputs, hidden), f"secrets leaked: {leaks(outputs, hidden)}"
    assert mock.issued["user_code"], "a login ran, so there were sign-in codes to leak"
    assert not leaks(outputs, login_prompts(mock)), f"sign-in codes outside the window: {leaks(outputs, login_prompts(mock))}"


@pytest.mark.app_env(**TRACE)
def test_window_page_and_log_hold_no_secret(lab, mock, signs_in, driver):
    lab.write_settings(loginTimeoutSeconds=60, showNonAws=True, loginWithoutBrowser=True)
    wd = driver.open_window()
    keys = set(lab.expected())
    wait_until(lambda: set(wd.js(READ_WINDOW)["rows"]) >= keys, 30, "every session row")
    pages = {"page at start": wd.source()}

    # Login without a browser: the window shows the URL and code while it runs (the mock waits
    # for the person, who signs in with them).
    wd.click_css('button[data-action=refresh][data-session="delta"]')
    wait_until(lambda: not wd.js(READ_WINDOW)["promptsHidden"], 30, "the sign-in prompt")
    pages["page with prompt"] = wd.source()
    sign_in_at_the_window(wd, mock, "delta")
    # Valid, and the first refresh over (its button enabled again): a click now starts the second.
    wait_until(lambda: (lambda r: r["state"] == "valid" and not r["button"]["disabled"])(
        wd.js(READ_WINDOW)["rows"]["delta"]), 40, "delta valid and its button enabled")
    # A silent refresh of the same session (its token file now holds the mock's refresh token).
    issued = len(mock.issued["access_token"])
    wd.click_css('button[data-action=refresh][data-session="delta"]')
    wait_until(lambda: len(mock.issued["access_token"]) > issued
               and not wd.js(READ_WINDOW)["rows"]["delta"]["button"]["disabled"], 30, "delta renewed silently")
    assert mock.sign_ins == 1 and mock.count("token_refresh") == 1, dict(mock.counts)
    assert_signed_in_at_the_window(lab, mock, signs_in)
    pages["page at end"] = wd.source()
    pages["get_view"] = wd.js_async(
        "const done = arguments[arguments.length - 1];"
        "window.__TAURI__.core.invoke('get_view').then(v => done(JSON.stringify(v)), e => done('ERROR ' + e));")
    assert not pages["get_view"].startswith("ERROR"), pages["get_view"]

    hidden = lab.secrets_to_hide()
    assert mock.issued["refresh_token"], "the silent refresh issued a token to search for"
    assert not leaks(pages, hidden), f"secrets in the window: {leaks(pages, hidden)}"
    assert not leaks(pages, list(mock.issued["device_code"])), "the device code reached the window"
    # The prompt really was on the page (so the log check below is not vacuous).
    assert mock.issued["user_code"][-1] in pages["page with prompt"]
    log = driver.log.read_text(errors="replace")
    assert "TRACE" in log, "trace logging was not on, so the log proves little"
    assert not leaks({"log": log}, hidden + login_prompts(mock)), \
        f"secrets or sign-in codes in the log: {leaks({'log': log}, hidden + login_prompts(mock))}"
