"""Issue 11 in the tray: for sessions keep-alive renews, warnings about the end of the sign-in
session (from the session log), never about the hourly access token; other sessions keep the old
warnings.

The planted refreshable tokens carry a client the mock never registered, and keep-alive runs one
minute before expiry (`keepAliveMinutes: 1`): during the test no renewal can change a token, so
what is (not) shown depends on the session log alone.
"""

import datetime as dt
import json
import os

from conftest import edit_until_seen, wait_tray_ready

NOTIFICATION_WAIT = 30


def write_session_log(lab, sessions: dict) -> None:
    path = lab.xdg_state / "aws-sso-tray" / "sessions.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"sessions": sessions}))
    os.chmod(path, 0o600)


def plant_sessions(lab, **settings) -> str:
    """alpha, charlie and delta refreshable, with a session log; returns delta's sign-in time (UTC HH:MM)."""
    lab.write_settings(loginTimeoutSeconds=60, showNonAws=True, keepAliveMinutes=1, **settings)
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    # alpha: the hourly token expires in 4 min (inside the 15-min threshold), the session began
    # 10 min ago: nothing to say.
    lab.plant_token("alpha", now + dt.timedelta(minutes=4), refreshable=True)
    # delta: the token is valid for 50 min, but the session began 8 h - 5 min ago: a sign-in is
    # needed in about 5 min.
    lab.plant_token("delta", now + dt.timedelta(minutes=50), refreshable=True)
    delta_start = now - dt.timedelta(hours=8) + dt.timedelta(minutes=5)
    # charlie: its refresh token was refused a minute ago; the token itself still has 40 min.
    lab.plant_token("charlie", now + dt.timedelta(minutes=40), refreshable=True)
    write_session_log(lab, {
        "alpha": {"signedInAt": int((now - dt.timedelta(minutes=10)).timestamp()), "lastUsable": True},
        "delta": {"signedInAt": int(delta_start.timestamp()), "lastUsable": True},
        "charlie": {"signedInAt": int((now - dt.timedelta(hours=3)).timestamp()),
                    "endedAt": int((now - dt.timedelta(minutes=1)).timestamp()), "lastUsable": True},
    })
    return (delta_start + dt.timedelta(hours=8)).strftime("%H:%M")   # the app runs with TZ=UTC


def test_renewed_sessions_are_warned_about_the_sign_in_not_the_hourly_token(lab, tray_host, notifications, apps):
    delta_end = plant_sessions(lab)
    app = apps.start()
    wait_tray_ready(tray_host, lab)
    due = notifications.wait_for(f"AWS SSO session delta: sign-in needed at ≈ {delta_end}", NOTIFICATION_WAIT)
    assert due["app_name"] == "aws-sso-tray", due
    assert "refresh" in due["actions"][::2], due
    ended = notifications.wait_for("AWS SSO session charlie needs a sign-in", NOTIFICATION_WAIT)
    assert "refresh" in ended["actions"][::2], ended
    # bravo has no refresh token: the old warning about its token still comes.
    notifications.wait_for("AWS SSO session bravo expires soon", NOTIFICATION_WAIT)

    # Two more rebuilds: whatever was due has been shown.
    edit_until_seen(lab, tray_host, "barrier-one")
    edit_until_seen(lab, tray_host, "barrier-two")
    summaries = notifications.summaries()
    assert not [s for s in summaries if "alpha" in s], f"a note about alpha's hourly token: {summaries}"
    assert not [s for s in summaries if "expires soon" in s and "bravo" not in s], summaries
    assert not [s for s in summaries if "has expired" in s], summaries   # charlie's token has not
    for summary in (due["summary"], ended["summary"]):
        assert summaries.count(summary) == 1, summaries
    app.assert_alive()
    # Nothing renewed or signed in behind the test's back.
    assert lab.mock.logins == 0, lab.mock.logins
    assert all(g["outcome"] != "ok" for g in lab.mock.grants()), lab.mock.grants()


def test_without_keep_alive_the_hourly_token_is_warned_about_again(lab, tray_host, notifications, apps):
    """The control: the same sessions with keep-alive off get the token warnings, not the sign-in ones."""
    plant_sessions(lab, keepAlive=False)
    app = apps.start()
    wait_tray_ready(tray_host, lab)
    notifications.wait_for("AWS SSO session alpha expires soon", NOTIFICATION_WAIT)
    notifications.wait_for("AWS SSO session bravo expires soon", NOTIFICATION_WAIT)
    edit_until_seen(lab, tray_host, "barrier-one")
    edit_until_seen(lab, tray_host, "barrier-two")
    summaries = notifications.summaries()
    assert not [s for s in summaries if "sign-in" in s], summaries
    assert sorted(summaries) == ["AWS SSO session alpha expires soon", "AWS SSO session bravo expires soon"], summaries
    app.assert_alive()
