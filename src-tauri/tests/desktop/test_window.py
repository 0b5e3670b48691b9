"""The window, driven through tauri-driver + WebKitWebDriver (app started with --show)."""

import datetime as dt

from conftest import (LEGACY_URL, READ_WINDOW, STATE_TEXT, artifacts_dir, decode_png, parse_time, wait_until)


def read(wd):
    return wd.js(READ_WINDOW)


def wait_rows(wd, lab, timeout=30):
    keys = set(lab.expected())
    return wait_until(lambda: (lambda v: v if set(v["rows"]) >= keys else None)(read(wd)), timeout,
                      lambda: f"rows for {sorted(keys)}; window has {sorted(read(wd)['rows'])}")


def test_window_lists_sessions_profiles_servers_and_diagnostics(lab, driver):
    wd = driver.open_window()
    view = wait_rows(wd, lab)
    expected = lab.expected()
    assert set(view["rows"]) == set(expected), sorted(view["rows"])
    for key, exp in expected.items():
        row = view["rows"][key]
        assert row["state"] == exp["state"], (key, row)
        assert row["stateText"] == STATE_TEXT[exp["state"]], (key, row)
        assert row["th"].startswith(exp["label"]), (key, row["th"])
        if exp["expiresAt"] is None:
            assert not row["expires"], (key, row)
        else:
            assert abs((parse_time(row["expires"]) - exp["expiresAt"]).total_seconds()) < 1, (key, row)
        assert sorted(p.strip() for p in row["profiles"].split(",")) == sorted(exp["profiles"]), (key, row)
        want = sorted(f"{name} ({client}, user)" for name, client in exp["servers"])
        assert sorted(row["servers"]) == want, (key, row["servers"])
        assert row["serverButtons"] == ["open config"] * len(want), (key, row)
        assert row["button"] == {"text": "Refresh", "disabled": False, "session": key}, (key, row)
    assert "(legacy)" in view["rows"][LEGACY_URL]["th"]
    assert not view["diagnosticsHidden"], "a broken client file must be listed"
    assert any(str(lab.broken_file) in d for d in view["diagnostics"]), \
        f"#diagnostics names {lab.broken_file}: {view['diagnostics']}"
    assert view["promptsHidden"], "no sign-in waiting"
    for name in ("expiringThresholdMinutes", "notifyBeforeExpiry", "notifyAtExpiry", "notifyRefreshResult",
                 "keepAlive", "loginWithoutBrowser", "startAtLogin", "showNonAws"):
        assert name in view["settingsInputs"], f"settings form input {name!r}: {view['settingsInputs']}"
    # Countdowns: minutes left and the local (TZ=UTC) time of expiry.
    bravo = lab.expected()["bravo"]["expiresAt"]
    left = int((bravo - dt.datetime.now(dt.timezone.utc)).total_seconds() // 60)
    text = view["rows"]["bravo"]["countdown"]
    assert f"({bravo.strftime('%H:%M')})" in text and any(f"in {n} min" in text for n in (left, left + 1)), text
    assert view["rows"]["charlie"]["countdown"].startswith("expired"), view["rows"]["charlie"]

    png = wd.screenshot()
    w, h, rows = decode_png(png)
    assert w >= 400 and h >= 300, (w, h)
    assert len({px for row in rows[::8] for px in row[::8]}) > 5, "the screenshot is blank"
    (artifacts_dir() / "window.png").write_bytes(png)
    check_keyboard_and_double_zoom(wd)


def test_refresh_button_logs_in_and_page_holds_no_secret(lab, mock, driver):
    mock.configure(pending_polls=2)
    wd = driver.open_window()
    wait_rows(wd, lab)
    wd.click(wd.find('button[data-action=refresh][data-session="delta"]'))
    assert mock.wait_for("device_authorization", 1, timeout=30), f"no login at the mock: {dict(mock.counts)}"
    busy = wait_until(lambda: (lambda r: r if r["button"]["disabled"] else None)(read(wd)["rows"]["delta"]), 10,
                      "the delta button to show 'Refreshing…' while the login runs")
    assert busy["button"]["text"] == "Refreshing…", busy
    row = wait_until(lambda: (lambda r: r if r["state"] == "valid" and not r["button"]["disabled"] else None)(
        read(wd)["rows"]["delta"]), 30, lambda: f"delta row valid and its button back; now {read(wd)['rows']['delta']}")
    token = lab.read_token("delta")
    assert token["accessToken"] == mock.last_access_token
    assert abs((parse_time(row["expires"]) - parse_time(token["expiresAt"])).total_seconds()) < 1, row
    assert row["button"] == {"text": "Refresh", "disabled": False, "session": "delta"}, row
    assert mock.logins == 1

    hidden = lab.secrets_to_hide()
    assert mock.issued["device_code"] and token["refreshToken"] in hidden
    source = wd.source()
    leaks = [s for s in hidden if s in source]
    assert not leaks, f"secrets in the page source: {leaks}"
    view = wd.js_async("const done = arguments[arguments.length - 1];"
                       "window.__TAURI__.core.invoke('get_view').then(v => done(JSON.stringify(v)),"
                       " e => done('ERROR ' + e));")
    assert not view.startswith("ERROR"), view
    leaks = [s for s in hidden if s in view]
    assert not leaks, f"secrets in get_view: {leaks}"


def test_login_without_browser_shows_url_and_code(lab, mock, driver):
    lab.write_settings(loginTimeoutSeconds=60, showNonAws=True, loginWithoutBrowser=True)
    mock.configure(pending_polls=5)
    wd = driver.open_window()
    wait_rows(wd, lab)
    wd.click(wd.find('button[data-action=refresh][data-session="delta"]'))
    view = wait_until(lambda: (lambda v: v if not v["promptsHidden"] else None)(read(wd)), 30,
                      "#prompts to show the sign-in URL and code")
    code, marker = mock.issued["user_code"][-1], mock.issued["verification_uri"][-1]
    assert view["codes"] == [code], view
    assert any(marker in link for link in view["links"]), view["links"]
    assert marker in view["promptsText"] and "delta" in view["promptsText"], view["promptsText"]
    assert mock.issued["device_code"][-1] not in wd.source()
    # The login completes at the mock, the prompt goes away and the row turns valid.
    wait_until(lambda: (lambda v: v if v["promptsHidden"] and v["rows"]["delta"]["state"] == "valid" else None)(
        read(wd)), 40, lambda: f"prompt gone and delta valid; now {read(wd)['rows']['delta']}")
    assert lab.cached_expiry("delta") > dt.datetime.now(dt.timezone.utc)


def check_keyboard_and_double_zoom(wd):
    """Controls are native and named; at 200 % zoom the page stacks and needs no sideways scroll."""
    # Every control is a native, focusable form control with a visible name.
    controls = wd.js("""
        return [...document.querySelectorAll('button, input, textarea, a')].map(e => ({
            tag: e.tagName, tabIndex: e.tabIndex, name: e.getAttribute('aria-label') || e.textContent.trim()
                || (e.labels && e.labels[0] && e.labels[0].textContent.trim()) || ''}));""")
    assert controls, "no controls"
    assert all(c["tabIndex"] >= 0 for c in controls), [c for c in controls if c["tabIndex"] < 0]
    assert all(c["name"] for c in controls), [c for c in controls if not c["name"]]
    refresh = wd.js("return [...document.querySelectorAll('[data-action=refresh]')].map(b => b.tagName)")
    assert refresh and set(refresh) == {"BUTTON"}, refresh
    # Tab moves focus from control to control.
    first = wd.js("document.activeElement.blur(); const b = document.querySelector('[data-action=refresh]');"
                  "b.focus(); return document.activeElement === b;")
    assert first, "a Refresh button takes keyboard focus"
    # 200 % zoom on a 960 px window is a 480 px wide viewport: the table becomes one block per
    # session and nothing needs horizontal scrolling.
    wd.s("POST", "/window/rect", {"width": 480, "height": 620})
    layout = wait_until(lambda: (lambda v: v if v["width"] <= 500 else None)(wd.js(
        "return {width: innerWidth, scroll: document.documentElement.scrollWidth,"
        " thead: getComputedStyle(document.querySelector('#sessions thead')).display};")), 10,
        "the window to shrink to 480 px")
    assert layout["thead"] == "none", f"stacked layout expected at {layout['width']} px: {layout}"
    wide = wd.js("return [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right"
                 " > innerWidth + 1).slice(0, 5).map(e => e.tagName + '#' + e.id + '.' + e.className + ' '"
                 " + Math.round(e.getBoundingClientRect().right));")
    assert layout["scroll"] <= layout["width"] + 1, f"horizontal overflow at double zoom: {layout}, {wide}"
