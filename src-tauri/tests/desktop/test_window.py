"""The window, driven through tauri-driver + WebKitWebDriver (app started with --show)."""

import datetime as dt
import json

import pytest

from conftest import (LAYOUT_PROBLEMS, LEGACY_URL, READ_WINDOW, SESSIONS_IN_VIEW, STATE_TEXT, artifacts_dir,
                      assert_signed_in_at_the_window, assert_signed_in_by_the_browser, decode_png, follow_sign_in_link,
                      parse_time, read_clipboard, wait_sign_ins, wait_until)

DEFAULT_SIZE = (680, 560)   # the window's first size (src-tauri/src/desktop/geometry.rs)
LIGHT_BG, DARK_BG = "rgb(255, 255, 255)", "rgb(13, 17, 23)"


def read(wd):
    return wd.js(READ_WINDOW)


def wait_rows(wd, lab, timeout=30):
    keys = set(lab.expected())
    return wait_until(lambda: (lambda v: v if set(v["rows"]) >= keys else None)(read(wd)), timeout,
                      lambda: f"rows for {sorted(keys)}; window has {sorted(read(wd)['rows'])}")


def add_sixth_session(lab):
    """foxtrot: a sixth session (valid, 3 h left) with one server, for 'up to 6 sessions'."""
    with lab.aws_config.open("a") as f:
        f.write("\n[sso-session foxtrot]\nsso_start_url = https://foxtrot.awsapps.com/start\n"
                "sso_region = us-east-1\n\n[profile foxtrot-dev]\nsso_session = foxtrot\n"
                "sso_account_id = 666666666666\nsso_role_name = Developer\n")
    lab.plant_token("foxtrot", dt.datetime.now(dt.timezone.utc).replace(microsecond=0) + dt.timedelta(hours=3))
    lab.add_claude_server("fox-api", "foxtrot-dev")


def test_window_lists_sessions_most_urgent_first(lab, driver):
    wd = driver.open_window()
    view = wait_rows(wd, lab)
    expected = lab.expected()
    assert set(view["rows"]) == set(expected), sorted(view["rows"])
    # Sessions needing a sign-in first (never logged in, expired, expiring), then the rest.
    assert view["order"][:3] == ["delta", "charlie", "bravo"], view["order"]
    assert set(view["order"][3:]) == {"alpha", LEGACY_URL}, view["order"]
    assert view["summary"] == "Sign-in needed: 3 of 5 sessions", view["summary"]
    for key, exp in expected.items():
        row = view["rows"][key]
        assert row["state"] == exp["state"], (key, row)
        assert row["stateText"] == STATE_TEXT[exp["state"]], (key, row)
        assert row["name"] == exp["label"], (key, row["name"])
        if exp["expiresAt"] is None:
            assert not row["expires"] and not row["countdown"], (key, row)
        else:
            assert abs((parse_time(row["expires"]) - exp["expiresAt"]).total_seconds()) < 1, (key, row)
        n_p, n_s = len(exp["profiles"]), len(exp["servers"])
        want = f"{n_p} profile{'s' * (n_p != 1)} · {n_s} server{'s' * (n_s != 1)}"
        assert row["toggle"] == want, (key, row["toggle"])
        assert not row["expanded"] and not row["detailsShown"], f"{key}: details start collapsed"
        # A renewable session refreshes; the others need a browser sign-in.
        action = "Refresh" if key == "alpha" else "Sign in"
        assert row["button"] == {"text": action, "disabled": False, "session": key}, (key, row)
    assert view["rows"][LEGACY_URL]["legacy"] and not view["rows"]["alpha"]["legacy"]
    assert view["rows"]["alpha"]["attention"] == "none" and view["rows"]["delta"]["attention"] == "signIn"

    # Countdowns: time left and the local (TZ=UTC) clock time.
    bravo = expected["bravo"]["expiresAt"]
    left = int((bravo - dt.datetime.now(dt.timezone.utc)).total_seconds() // 60)
    row = view["rows"]["bravo"]
    assert row["countdown"] in (f"{left} min left", f"{left + 1} min left"), row
    assert row["clock"] == f"until {bravo.strftime('%H:%M')}", row
    charlie = view["rows"]["charlie"]
    assert charlie["countdown"] in ("1 h 00 min ago", "1 h 01 min ago"), charlie
    assert charlie["clock"] == f"at {expected['charlie']['expiresAt'].strftime('%H:%M')}", charlie

    # Expanding a session shows its profiles, its servers and a link to each config file.
    wd.click_css('.session[data-session="alpha"] .toggle')
    alpha = wait_until(lambda: (lambda r: r if r["detailsShown"] else None)(read(wd)["rows"]["alpha"]), 5,
                       "alpha's details to open")
    assert alpha["expanded"], alpha
    assert alpha["profiles"] == ["alpha-dev", "alpha-ops"], alpha
    assert sorted(alpha["servers"]) == ["cursor-docs (Cursor, user)", "docs (Claude Code, user)"], alpha
    assert sorted(b["title"] for b in alpha["serverButtons"]) == sorted(
        [str(lab.home / ".claude.json"), str(lab.home / ".cursor" / "mcp.json")]), alpha
    assert {b["text"] for b in alpha["serverButtons"]} == {"open config"}, alpha
    assert not read(wd)["rows"]["bravo"]["detailsShown"], "only the session clicked opens"

    # Problems: collapsed, with a count (the broken Gemini file and the server without AWS).
    assert not view["problemsHidden"] and not view["problemsOpen"], view
    assert view["problemsSummary"] == "Problems (2)", view["problemsSummary"]
    wd.click_css("#problems summary")
    problems = wait_until(lambda: (lambda v: v if v["problemsOpen"] else None)(read(wd)), 5, "Problems to open")
    assert any(str(lab.broken_file) in d for d in problems["diagnostics"]), problems["diagnostics"]
    assert any(o.startswith("no-aws (Claude Code)") for o in problems["other"]), problems["other"]

    # Settings are a view of their own, not under the list.
    assert not view["settingsShown"] and view["sessionsShown"], view
    wd.click_css("#tab-settings")
    settings = wait_until(lambda: (lambda v: v if v["settingsShown"] else None)(read(wd)), 5, "the settings view")
    assert not settings["sessionsShown"], "the session list is hidden behind the Settings tab"
    for name in ("expiringThresholdMinutes", "notifyBeforeExpiry", "notifyAtExpiry", "notifyRefreshResult",
                 "keepAlive", "loginWithoutBrowser", "startAtLogin", "showNonAws"):
        assert name in settings["settingsInputs"], f"settings form input {name!r}: {settings['settingsInputs']}"
    theme = wd.js("return {dark: matchMedia('(prefers-color-scheme: dark)').matches,"
                  " bg: getComputedStyle(document.body).backgroundColor};")
    assert theme == {"dark": False, "bg": LIGHT_BG}, theme

    wd.click_css("#tab-sessions")
    png = wd.screenshot()
    w, h, rows = decode_png(png)
    assert w >= 300 and h >= 200, (w, h)
    assert len({px for row in rows[::8] for px in row[::8]}) > 5, "the screenshot is blank"
    (artifacts_dir() / "window.png").write_bytes(png)


def layout_problems(wd):
    return wd.js(LAYOUT_PROBLEMS)


def card_rects(wd):
    return wd.js("""return [...document.querySelectorAll('#sessions .session')].map(c =>
        ['.name', '.state', '.countdown', '.clock', '[data-action=refresh]', '.toggle'].map(s => {
            const r = c.querySelector(s).getBoundingClientRect();
            return [s, Math.round(r.left * 2) / 2, Math.round(r.top * 2) / 2, Math.round(r.width * 2) / 2];
        }));""")


def test_layout_holds_at_default_size_and_200_percent_zoom(lab, driver):
    add_sixth_session(lab)
    wd = driver.open_window()
    keys = set(lab.expected()) | {"foxtrot"}
    wait_until(lambda: set(read(wd)["rows"]) >= keys, 30, lambda: f"six session rows; {sorted(read(wd)['rows'])}")
    size = wd.js("return [innerWidth, innerHeight];")
    assert tuple(size) == DEFAULT_SIZE, f"the window opens at {DEFAULT_SIZE}, got {size}"

    # Six sessions: every name, state and action visible without scrolling.
    seen = wd.js(SESSIONS_IN_VIEW)
    assert len(seen) == 6, seen
    hidden = [s for s in seen if not (s["name"] and s["state"] and s["action"])]
    assert not hidden, f"not visible without scrolling at {size}: {hidden}"
    # Name, state, time and action share one line at the default size.
    one_line = wd.js("""return [...document.querySelectorAll('#sessions .line')].map(l => {
        const tops = [...l.children].map(c => Math.round(c.getBoundingClientRect().top + c.getBoundingClientRect().height / 2));
        return Math.max(...tops) - Math.min(...tops); });""")
    assert all(d <= 4 for d in one_line), f"a session's first line wraps at the default size: {one_line}"

    # Nothing overflows and no word breaks, collapsed and with details and problems open.
    assert layout_problems(wd) == [], layout_problems(wd)
    for key in ("alpha", LEGACY_URL):
        wd.click_css(f'.session[data-session="{key}"] .toggle')
    wd.click_css("#problems summary")
    wait_until(lambda: read(wd)["problemsOpen"] and read(wd)["rows"][LEGACY_URL]["detailsShown"], 5, "details open")
    assert layout_problems(wd) == [], layout_problems(wd)

    # A countdown tick moves nothing: widths are fixed and digits tabular.
    before = card_rects(wd)
    for offset_min in (1, 7, 59, 61, 125, 300, 600):
        wd.js("tick(Date.now() + arguments[0] * 60000);", offset_min)
        assert card_rects(wd) == before, f"layout moved when the clock advanced {offset_min} min"
    wd.js("tick();")

    check_keyboard(wd)

    # 200 % zoom, as a user sets it: Ctrl + five times (20 % a step). The page then has half the
    # window's CSS pixels; the cards stack, and still nothing overflows and no word breaks.
    wd.js("document.activeElement.blur();")
    for _ in range(5):
        wd.s("POST", "/actions", {"actions": [{"type": "key", "id": "kbd", "actions": [
            {"type": "keyDown", "value": "\ue009"}, {"type": "keyDown", "value": "="},
            {"type": "keyUp", "value": "="}, {"type": "keyUp", "value": "\ue009"}]}]})
    half = (DEFAULT_SIZE[0] // 2, DEFAULT_SIZE[1] // 2)
    zoomed = wait_until(lambda: (lambda s: s if abs(s[0] - half[0]) <= 1 else None)(
        wd.js("return [innerWidth, innerHeight];")), 10,
        lambda: f"200 % zoom to leave the page {half} CSS pixels; it has {wd.js('return [innerWidth, innerHeight];')}")
    assert abs(zoomed[1] - half[1]) <= 1, zoomed
    problems = layout_problems(wd)
    assert problems == [], f"at 200 % zoom: {problems}"
    # The Settings tab, by keyboard (WebDriver's pointer does not follow the page zoom).
    wd.js("document.getElementById('tab-sessions').focus();")
    wd.s("POST", "/actions", {"actions": [{"type": "key", "id": "kbd", "actions": [
        {"type": "keyDown", "value": "\ue014"}, {"type": "keyUp", "value": "\ue014"}]}]})
    wait_until(lambda: read(wd)["settingsShown"], 5, "ArrowRight on the tabs to show the settings view")
    assert wd.js("return document.activeElement.id;") == "tab-settings"
    problems = layout_problems(wd)
    assert problems == [], f"settings at 200 % zoom: {problems}"


def check_keyboard(wd):
    """Controls are native and named, Tab reaches them and Enter on a toggle expands its session."""
    controls = wd.js("""
        return [...document.querySelectorAll('button, input, textarea, a, summary')].map(e => ({
            tag: e.tagName, tabIndex: e.tabIndex, role: e.getAttribute('role'),
            name: e.getAttribute('aria-label') || e.textContent.trim()
                || (e.labels && e.labels[0] && e.labels[0].textContent.trim()) || ''}));""")
    assert controls, "no controls"
    # Tabs use roving focus (the inactive tab is reached with the arrow keys).
    assert all(c["tabIndex"] >= 0 for c in controls if c["role"] != "tab"), controls
    assert all(c["name"] for c in controls), [c for c in controls if not c["name"]]
    refresh = wd.js("return [...document.querySelectorAll('[data-action=refresh]')].map(b => b.tagName)")
    assert refresh and set(refresh) == {"BUTTON"}, refresh
    # The keyboard alone: focus a toggle, press Enter, the session opens.
    wd.js("document.querySelector('.session[data-session=bravo] .toggle').focus();")
    wd.s("POST", "/actions", {"actions": [{"type": "key", "id": "kbd", "actions": [
        {"type": "keyDown", "value": "\ue007"}, {"type": "keyUp", "value": "\ue007"}]}]})
    wait_until(lambda: read(wd)["rows"]["bravo"]["detailsShown"], 5, "Enter on bravo's toggle to open it")
    assert wd.js("return document.activeElement.classList.contains('toggle');"), "focus stays on the toggle"


@pytest.mark.app_env(GTK_THEME="Adwaita:dark")
def test_dark_theme_follows_the_system(lab, driver):
    wd = driver.open_window()
    wait_rows(wd, lab)
    theme = wd.js("return {dark: matchMedia('(prefers-color-scheme: dark)').matches,"
                  " bg: getComputedStyle(document.body).backgroundColor,"
                  " fg: getComputedStyle(document.body).color};")
    assert theme["dark"], f"the system asks for dark (GTK_THEME=Adwaita:dark): {theme}"
    assert theme["bg"] == DARK_BG, theme
    assert layout_problems(wd) == [], layout_problems(wd)


def test_window_remembers_its_size_and_position(lab, driver, bus):
    wd = driver.open_window()
    wait_rows(wd, lab)
    assert tuple(wd.js("return [innerWidth, innerHeight];")) == DEFAULT_SIZE
    saved = lab.xdg_state / "aws-sso-tray" / "window.json"
    wd.s("POST", "/window/rect", {"x": 40, "y": 30, "width": 700, "height": 500})

    def stored():
        try:
            g = json.loads(saved.read_text())
        except (OSError, ValueError):
            return None
        return g if (g["width"], g["height"], g.get("x"), g.get("y")) == (700, 500, 40, 30) else None
    wait_until(stored, 10, lambda: f"{saved} to hold 700×500 at 40,30; has "
                                   f"{saved.read_text() if saved.exists() else 'nothing'}")
    wd.quit()
    wait_until(lambda: not [n for n in bus.names() if "SingleInstance" in n], 15, "the first app to exit")
    wd = driver.open_window()
    wait_rows(wd, lab)
    again = wd.js("return [innerWidth, innerHeight, screenX, screenY];")
    assert again == [700, 500, 40, 30], f"the window reopens where it was left: {again}"


def test_refresh_button_logs_in_and_page_holds_no_secret(lab, mock, signs_in, driver):
    mock.configure(pending_polls=2)
    wd = driver.open_window()
    wait_rows(wd, lab)
    wd.click_css('button[data-action=refresh][data-session="delta"]')
    # Looked for first: 2.36's PKCE sign-in ends as soon as the browser comes back.
    busy = wait_until(lambda: (lambda r: r if r["button"]["disabled"] else None)(read(wd)["rows"]["delta"]), 10,
                      "the delta button to show 'Refreshing…' while the login runs")
    assert busy["button"]["text"] == "Refreshing…", busy
    wait_sign_ins(mock, 1, timeout=30)
    row = wait_until(lambda: (lambda r: r if r["state"] == "valid" and not r["button"]["disabled"] else None)(
        read(wd)["rows"]["delta"]), 30, lambda: f"delta row valid and its button back; now {read(wd)['rows']['delta']}")
    token = lab.read_token("delta")
    assert token["accessToken"] == mock.last_access_token
    assert abs((parse_time(row["expires"]) - parse_time(token["expiresAt"])).total_seconds()) < 1, row
    # Signed in with a refresh token: the next one renews silently.
    assert row["button"] == {"text": "Refresh", "disabled": False, "session": "delta"}, row
    assert mock.sign_ins == 1
    assert_signed_in_by_the_browser(lab, mock, signs_in)

    hidden = lab.secrets_to_hide()
    # What the sign-in handed the CLI alone: the device code, or PKCE's code and verifier.
    assert (mock.issued["auth_code"] and mock.issued["code_verifier"] if signs_in.pkce
            else mock.issued["device_code"]), dict(mock.issued)
    assert token["refreshToken"] in hidden
    source = wd.source()
    leaks = [s for s in hidden if s in source]
    assert not leaks, f"secrets in the page source: {leaks}"
    view = wd.js_async("const done = arguments[arguments.length - 1];"
                       "window.__TAURI__.core.invoke('get_view').then(v => done(JSON.stringify(v)),"
                       " e => done('ERROR ' + e));")
    assert not view.startswith("ERROR"), view
    leaks = [s for s in hidden if s in view]
    assert not leaks, f"secrets in get_view: {leaks}"


def test_login_without_browser_shows_url_and_code_with_copy_buttons(lab, mock, signs_in, driver):
    """The prompt stays until the person signs in with what they copied (the mock waits for them)."""
    lab.write_settings(loginTimeoutSeconds=60, showNonAws=True, loginWithoutBrowser=True)
    wd = driver.open_window()
    wait_rows(wd, lab)
    wd.click_css('button[data-action=refresh][data-session="delta"]')
    view = wait_until(lambda: (lambda v: v if not v["promptsHidden"] else None)(read(wd)), 30,
                      "#prompts to show the sign-in URL and code")
    assert mock.issued["user_code"], f"{signs_in} asked for no device code; the window shows {view['links']}"
    code, marker = mock.issued["user_code"][-1], mock.issued["verification_uri"][-1]
    assert view["codes"] == [code], view
    assert any(marker in link for link in view["links"]), view["links"]
    assert marker in view["promptsText"] and "delta" in view["promptsText"], view["promptsText"]
    assert view["copyButtons"] == ["Copy link", "Copy code"], view["copyButtons"]
    assert mock.issued["device_code"][-1] not in wd.source()
    assert layout_problems(wd) == [], layout_problems(wd)

    # The copy buttons put the link and the code on the clipboard, as another program reads it.
    link = view["links"][0]
    assert read_clipboard(lab.x_display) != link
    wd.click_css('#prompts button[data-copy="link"]')
    wait_until(lambda: read_clipboard(lab.x_display) == link, 5,
               lambda: f"the link on the clipboard; it holds {read_clipboard(lab.x_display)!r}")
    assert wd.js("return document.querySelector('#prompts .copy-status').textContent") == "Link copied."
    wd.click_css('#prompts button[data-copy="code"]')
    wait_until(lambda: read_clipboard(lab.x_display) == code, 5,
               lambda: f"the code on the clipboard; it holds {read_clipboard(lab.x_display)!r}")
    assert wd.js("return document.querySelector('#prompts .copy-status').textContent") == "Code copied."

    # The person signs in with what they copied; the prompt goes away and the row turns valid.
    assert follow_sign_in_link(link, mock.url, code=code, via="window") == "approved"
    wait_until(lambda: (lambda v: v if v["promptsHidden"] and v["rows"]["delta"]["state"] == "valid" else None)(
        read(wd)), 40, lambda: f"prompt gone and delta valid; now {read(wd)['rows']['delta']}")
    assert lab.cached_expiry("delta") > dt.datetime.now(dt.timezone.utc)
    assert_signed_in_at_the_window(lab, mock, signs_in)
    assert mock.approvals[0]["pending_polls_before"] >= 1, f"approved before the CLI waited: {mock.approvals}"
