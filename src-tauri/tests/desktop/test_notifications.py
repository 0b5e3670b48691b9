"""Notifications over org.freedesktop.Notifications, recorded by a fake server on the private bus."""

import json

from conftest import (MODE_FAIL, assert_signed_in_at_the_window, assert_signed_in_by_the_browser, edit_until_seen,
                      session_menus, sign_in_at_the_window, wait_tray_ready, wait_until)

SOON = "AWS SSO session bravo expires soon"
EXPIRED = "AWS SSO session charlie has expired"


def barrier(lab, host, name):
    """Make the app rebuild once more and wait until the menu shows it: notes of earlier rebuilds are out."""
    edit_until_seen(lab, host, name)


def test_expiry_warnings_once_and_not_again_after_restart(lab, tray_host, notifications, apps):
    app = apps.start()
    wait_tray_ready(tray_host, lab)
    soon = notifications.wait_for(SOON)
    expired = notifications.wait_for(EXPIRED)
    for note in (soon, expired):
        assert note["app_name"] == "aws-sso-tray", note
        assert "refresh" in note["actions"][::2], f"a 'refresh' action is offered: {note}"
    barrier(lab, tray_host, "barrier-one")
    barrier(lab, tray_host, "barrier-two")
    assert len(notifications.matching(SOON)) == 1, notifications.summaries()
    assert len(notifications.matching(EXPIRED)) == 1, notifications.summaries()
    # Valid and never-logged-in sessions get no expiry warning.
    others = [s for s in notifications.summaries() if s not in (SOON, EXPIRED)]
    assert others == [], f"unexpected notifications: {others}"
    state_file = lab.xdg_state / "aws-sso-tray" / "notified.json"
    assert state_file.is_file(), "warnings shown are remembered in $XDG_STATE_HOME/aws-sso-tray/notified.json"
    json.loads(state_file.read_text())

    apps.stop(app)
    second = apps.start()
    tray_host.wait_menu(lambda t: "barrier-two" in t.dump() and "charlie" in session_menus(t), 30,
                        "the restarted app's menu")
    barrier(lab, tray_host, "barrier-three")
    assert len(notifications.matching(SOON)) == 1, f"repeated after restart: {notifications.summaries()}"
    assert len(notifications.matching(EXPIRED)) == 1, f"repeated after restart: {notifications.summaries()}"
    second.assert_alive()


def test_refresh_from_menu_notifies_success(lab, mock, signs_in, tray_host, notifications, apps):
    apps.start()
    wait_tray_ready(tray_host, lab)
    tray_host.click_label("delta — never logged in", "Refresh")
    note = notifications.wait_for("AWS SSO session delta refreshed", 60)
    assert note["app_name"] == "aws-sso-tray"
    assert lab.token_path("delta").exists(), "refreshed, yet no token file"
    barrier(lab, tray_host, "after-refresh")
    assert len(notifications.matching("AWS SSO session delta refreshed")) == 1, notifications.summaries()
    assert not [s for s in notifications.summaries() if "failed" in s], notifications.summaries()
    # The browser got the link (`hand_over` in login.rs marks the prompt opened): the tray stays
    # quiet. A browser that does not open: test_a_browser_that_does_not_open_points_to_the_window.
    assert not notifications.matching("Sign in to AWS SSO session delta"), notifications.summaries()
    assert_signed_in_by_the_browser(lab, mock, signs_in)
    body = note["body"]
    assert not any(secret in body for secret in lab.secrets_to_hide()), f"a secret in the notification: {body}"


def test_a_browser_that_does_not_open_points_to_the_window(lab, mock, signs_in, tray_host, notifications, driver):
    """The opener fails: the user is pointed to the window, once, and signs in with what it shows
    (2.36: the PKCE link, whose redirect comes back to this machine; 2.9: the link and code)."""
    lab.set_browser("fail")
    wd = driver.open_window()
    wait_tray_ready(tray_host, lab)
    tray_host.click_label("delta — never logged in", "Refresh")
    note = notifications.wait_for("Sign in to AWS SSO session delta", 60)
    assert "window" in note["body"], note["body"]
    shown = sign_in_at_the_window(wd, mock, "delta")
    notifications.wait_for("AWS SSO session delta refreshed", 60)
    assert len(notifications.matching("Sign in to AWS SSO session delta")) == 1, notifications.summaries()
    opened = lab.wait_browser("opened", timeout=1)
    assert [v["url"] for v in opened] == [shown["link"]], (opened, shown)
    signs_in.assert_ran(mock)
    if signs_in.pkce:
        assert shown["result"] == "returned to the CLI" and shown["code"] is None, shown
        assert [a["outcome"] for a in mock.authorize_requests] == ["redirected"], mock.authorize_requests
    else:
        assert shown["result"] == "approved" and shown["code"] == mock.issued["user_code"][-1], shown
        assert [a["via"] for a in mock.approvals] == ["window"], mock.approvals
    assert lab.read_token("delta")["accessToken"] == mock.last_access_token


def test_refresh_failure_notifies(lab, mock, signs_in, tray_host, notifications, apps):
    mock.configure(mode=MODE_FAIL)  # the service refuses: the device code, or access on the browser's page
    app = apps.start()
    wait_tray_ready(tray_host, lab)
    tray_host.click_label("delta — never logged in", "Refresh")
    note = notifications.wait_for("Refreshing delta failed", 60)
    assert mock.sign_ins >= 1, "the failure came from a real sign-in attempt"
    signs_in.assert_ran(mock)
    if signs_in.pkce:
        assert [a["outcome"] for a in mock.authorize_requests] == ["denied"], mock.authorize_requests
    else:
        assert mock.count("device_authorization") >= 1 and not mock.authorize_requests, dict(mock.counts)
    assert not mock.issued["access_token"], "nothing was granted"
    assert not lab.token_path("delta").exists()
    assert "AWS SSO session delta refreshed" not in notifications.summaries()
    assert not any(secret in note["body"] for secret in lab.secrets_to_hide()), note["body"]
    tray_host.wait_menu(lambda t: session_menus(t)["delta"].label == "delta — never logged in", 10,
                        "delta back to 'never logged in' after the failure")
    app.assert_alive()


def test_login_without_browser_points_to_the_window(lab, mock, signs_in, tray_host, notifications, driver):
    lab.write_settings(loginTimeoutSeconds=60, showNonAws=True, loginWithoutBrowser=True)
    wd = driver.open_window()
    wait_tray_ready(tray_host, lab)
    tray_host.click_label("delta — never logged in", "Refresh")
    note = notifications.wait_for("Sign in to AWS SSO session delta", 30)
    # The person goes to the window, as the note says, and signs in with what it shows.
    shown = sign_in_at_the_window(wd, mock, "delta")
    # The link and code are for the window only (notification servers keep a history).
    assert "window" in note["body"], note["body"]
    m = mock.issued
    for value in (shown["link"], shown["code"], *m["user_code"], *m["verification_uri"], *m["device_code"],
                  *m["pkce_state"], *m["code_challenge"]):
        assert not value or value not in json.dumps(note), f"{value!r} in the notification: {note}"
    notifications.wait_for("AWS SSO session delta refreshed", 60)
    assert_signed_in_at_the_window(lab, mock, signs_in)
    assert shown["result"] == "approved" and shown["code"] == m["user_code"][-1], shown


def test_without_notification_server_the_app_keeps_working(lab, mock, bus, signs_in, tray_host, apps):
    assert "org.freedesktop.Notifications" not in bus.names(), "no server for this test"
    app = apps.start()
    wait_tray_ready(tray_host, lab)  # startup already hit the expiry warnings (bravo, charlie)
    tray_host.click_label("delta — never logged in", "Refresh")
    at = wait_until(lambda: lab.cached_expiry("delta"), 60, "the delta token after a refresh")
    lab.expiry["delta"] = at
    tray_host.wait_menu(lambda t: session_menus(t)["delta"].label == lab.expected_title("delta"), 10,
                        "delta valid in the menu")
    barrier(lab, tray_host, "still-alive")
    app.assert_alive()
    assert_signed_in_by_the_browser(lab, mock, signs_in)


def test_refresh_action_of_an_expiry_warning_logs_in(lab, mock, signs_in, tray_host, notifications, apps):
    apps.start()
    wait_tray_ready(tray_host, lab)
    note = notifications.wait_for(EXPIRED)
    assert mock.sign_ins == 0
    notifications.invoke(note["id"], "refresh")
    notifications.wait_for("AWS SSO session charlie refreshed", 60)
    assert mock.sign_ins == 1, f"one sign-in for the action, got {mock.sign_ins}"
    assert_signed_in_by_the_browser(lab, mock, signs_in)
    fresh = lab.cached_expiry("charlie")
    assert fresh and fresh > lab.expiry["charlie"], "the action's login wrote a fresh charlie token"
