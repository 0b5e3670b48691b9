"""Tray: the StatusNotifierItem, its dbusmenu and its icon, read as a panel would."""

import datetime as dt
import json
import subprocess
import time

from conftest import (LEGACY_URL, TRAILER, assert_signed_in_by_the_browser, cache_name, colour_state, decode_png,
                      edit_until_seen, icon_colour, ICONS, session_menus, wait_sign_ins, wait_tray_ready, wait_until)


def test_item_registers_with_the_watcher(lab, tray_host, apps):
    app = apps.start()
    service, path = tray_host.item(timeout=30)
    props = tray_host.props()
    assert props.get("Menu"), f"the item exports no dbusmenu: {props}"
    assert props.get("IconName"), f"the item has no IconName: {props}"
    assert props.get("Status") in ("Active", "NeedsAttention"), props
    app.assert_alive()


def test_menu_lists_sessions_profiles_and_servers(lab, tray_host, apps):
    apps.start()
    tree = wait_tray_ready(tray_host, lab)
    menus = session_menus(tree)
    expected = lab.expected()
    assert set(menus) == set(expected), f"session submenus {sorted(menus)} != {sorted(expected)}\n{tree.dump()}"
    assert expected[LEGACY_URL]["label"] == LEGACY_URL  # legacy sessions go by their start URL
    for key, exp in expected.items():
        sub = menus[key]
        assert sub.label == lab.expected_title(key), (key, sub.label)
        shown = sub.shown()
        assert shown[0].label == "Refresh" and shown[0].enabled, f"{key}: first entry\n{tree.dump()}"
        assert shown[1].label == "Start a fresh session…" and shown[1].enabled, f"{key}\n{tree.dump()}"
        assert shown[2].separator, f"{key}: no separator after the actions\n{tree.dump()}"
        rest = [c.label for c in shown[3:] if not c.separator]
        want = [f"Profile {p}" for p in exp["profiles"]] + [f"Server {n} ({c})" for n, c in exp["servers"]]
        assert sorted(rest) == sorted(want), f"{key}: {rest} != {want}"
        profile_pos = [i for i, t in enumerate(rest) if t.startswith("Profile ")]
        server_pos = [i for i, t in enumerate(rest) if t.startswith("Server ")]
        assert not server_pos or max(profile_pos) < min(server_pos), f"{key}: profiles before servers: {rest}"

    top = tree.shown()
    labels = [c.label for c in top if not c.separator]
    # The first line says the overall state in words; it is information, not an action.
    assert top[0].label == "Sign-in needed: 3 of 5 sessions" and not top[0].enabled, tree.dump()
    assert not top[0].submenu and top[1].separator, tree.dump()
    # Then one line per session, the most urgent first: never logged in, expired, expiring.
    session_labels = [c.label for c in top if c.submenu and " — " in c.label]
    assert session_labels[:3] == [lab.expected_title(k) for k in ("delta", "charlie", "bravo")], session_labels
    assert top[2].label == session_labels[0], tree.dump()
    assert "Servers without AWS (1)" in labels, labels  # showNonAws=true, one server ("no-aws")
    assert labels[-4:] == TRAILER, labels
    idx = next(i for i, c in enumerate(top) if c.label == TRAILER[0])
    assert top[idx - 1].separator, f"no separator before {TRAILER[0]!r}\n{tree.dump()}"
    # The summary, one submenu per session, the non-AWS list and the trailer: nothing else.
    assert len(labels) == 1 + len(expected) + 1 + len(TRAILER), labels


def test_refresh_from_menu_logs_in_through_the_cli(lab, mock, signs_in, tray_host, apps):
    mock.configure(pending_polls=3)  # device code: keeps the login running ~3 s after the approval
    app = apps.start()
    wait_tray_ready(tray_host, lab)
    assert lab.expected_title("delta") == "delta — never logged in"
    tray_host.click_label("delta — never logged in", "Refresh")

    # Looked for first: 2.36's PKCE sign-in ends as soon as the browser comes back.
    busy = tray_host.wait_menu(lambda t: "delta — refreshing…" in [c.label for c in t.shown()], 10,
                               "the submenu to read 'delta — refreshing…'")
    item = busy.find("delta — refreshing…").shown()[0]
    assert item.label == "Refreshing…" and not item.enabled, (item.label, item.enabled)
    wait_sign_ins(mock, 1, timeout=30)

    token = wait_until(lambda: lab.token_path("delta").exists() and lab.read_token("delta"), 30,
                       "the delta token file written by `aws sso login`")
    assert token["accessToken"] == mock.last_access_token
    assert token.get("refreshToken") in mock.issued["refresh_token"]
    at = lab.cached_expiry("delta")
    lab.expiry["delta"] = at
    want = f"delta — valid until {at.strftime('%H:%M')}"
    tree = tray_host.wait_menu(lambda t: want in [c.label for c in t.shown()], 10, f"label {want!r}")
    assert tree.find(want).shown()[0].label == "Refresh" and tree.find(want).shown()[0].enabled
    assert mock.sign_ins == 1, f"one click, one sign-in; got {mock.sign_ins}"
    assert_signed_in_by_the_browser(lab, mock, signs_in)
    app.assert_alive()


def test_icon_follows_the_worst_state(lab, tray_host, apps):
    refs = {s: decode_png((ICONS / f"tray-{s}.png").read_bytes()) for s in ("valid", "expiring", "expired")}
    for state, ref in refs.items():  # the shipped icons match the contract colours
        assert colour_state(icon_colour((ICONS / f"tray-{state}.png").read_bytes())) == state

    def shows(state):
        name, png = tray_host.icon_png()
        decoded = decode_png(png)
        return name if (colour_state(icon_colour(png)) == state and decoded == refs[state]) else None

    apps.start()
    wait_tray_ready(tray_host, lab)
    start_name = wait_until(lambda: shows("expired"), 10,
                            lambda: f"the expired icon (expired + never logged in); centre-left pixel "
                                    f"{icon_colour(tray_host.icon_png()[1])}")

    now = dt.datetime.now(dt.timezone.utc)
    for key in ("bravo", "charlie", "delta"):
        lab.plant_token(key, now + dt.timedelta(hours=6))
    valid_name = wait_until(lambda: shows("valid"), 10,
                            lambda: f"the valid icon once every session is valid; IconName "
                                    f"{tray_host.icon_png()[0]} pixel {icon_colour(tray_host.icon_png()[1])}")
    assert valid_name != start_name, "IconName must change with the state"

    lab.plant_token("bravo", now + dt.timedelta(minutes=6))
    wait_until(lambda: shows("expiring"), 10, "the expiring icon when one session enters the threshold")

    lab.plant_token("charlie", now - dt.timedelta(minutes=1))
    wait_until(lambda: shows("expired"), 10, "the expired icon when one session has expired")


def mark_mask(png: bytes) -> set[tuple[int, int]]:
    """The pixels of the white mark inside an icon's badge: its shape, whatever the colour."""
    w, h, rows = decode_png(png)
    r = 0.38 * w
    return {(x, y) for y in range(h) for x in range(w)
            if (x + 0.5 - w / 2) ** 2 + (y + 0.5 - h / 2) ** 2 < r * r
            and min(rows[y][x][:3]) >= 200 and rows[y][x][3] >= 200}


def test_icons_differ_in_shape_not_only_colour():
    """A check, a clock and a cross: told apart without colour (the marks barely overlap)."""
    masks = {s: mark_mask((ICONS / f"tray-{s}.png").read_bytes()) for s in ("valid", "expiring", "expired")}
    for state, mask in masks.items():
        assert len(mask) >= 40, f"tray-{state}.png has almost no mark ({len(mask)} px)"
    for a, b in (("valid", "expiring"), ("valid", "expired"), ("expiring", "expired")):
        overlap = len(masks[a] & masks[b]) / len(masks[a] | masks[b])
        assert overlap < 0.5, f"tray-{a}.png and tray-{b}.png have nearly the same mark (IoU {overlap:.2f})"
    # Grey-scale (what a colour-blind user or a monochrome panel gets): the images still differ.
    grey = {s: [[round(0.3 * p[0] + 0.59 * p[1] + 0.11 * p[2]) for p in row]
                for row in decode_png((ICONS / f"tray-{s}.png").read_bytes())[2]] for s in masks}
    for a, b in (("valid", "expiring"), ("valid", "expired"), ("expiring", "expired")):
        differing = sum(1 for ra, rb in zip(grey[a], grey[b]) for pa, pb in zip(ra, rb) if abs(pa - pb) > 60)
        assert differing >= 30, f"{a} and {b} look alike in grey ({differing} px differ)"


def test_menu_follows_client_config_edits_within_2s(lab, tray_host, apps):
    apps.start()
    wait_tray_ready(tray_host, lab)
    edit_until_seen(lab, tray_host, "warm-up")  # steady state (startup: see test_edit_at_startup_is_not_lost)
    t0 = time.monotonic()
    lab.add_claude_server("fresh-srv", "charlie-ro")
    want = "Server fresh-srv (Claude Code)"
    tray_host.wait_menu(lambda t: (session_menus(t).get("charlie") is not None
                                   and want in session_menus(t)["charlie"].labels()), 2.0,
                        f"{want!r} under charlie within 2 s of editing ~/.claude.json")
    assert time.monotonic() - t0 < 2.5

    # A client installed later: its folder and file did not exist at start.
    t0 = time.monotonic()
    windsurf = lab.home / ".codeium" / "windsurf"
    windsurf.mkdir(parents=True)
    (windsurf / "mcp_config.json").write_text(json.dumps({"mcpServers": {
        "surf": {"command": "surf-mcp", "env": {"AWS_PROFILE": "bravo-admin"}}}}))
    want = "Server surf (Windsurf)"
    tray_host.wait_menu(lambda t: (session_menus(t).get("bravo") is not None
                                   and want in session_menus(t)["bravo"].labels()), 2.0,
                        f"{want!r} under bravo within 2 s of creating ~/.codeium/windsurf/mcp_config.json")


def test_menu_follows_a_new_cache_file_within_2s(lab, tray_host, apps):
    apps.start()
    wait_tray_ready(tray_host, lab)
    edit_until_seen(lab, tray_host, "warm-up")
    at = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=3)).replace(microsecond=0)
    t0 = time.monotonic()
    lab.plant_token("delta", at)
    want = f"delta — valid until {at.strftime('%H:%M')}"
    tray_host.wait_menu(lambda t: want in [c.label for c in t.shown()], 2.0,
                        f"{want!r} within 2 s of writing {cache_name('delta')}")
    assert time.monotonic() - t0 < 2.5


def test_edit_at_startup_is_not_lost(lab, tray_host, apps):
    """An edit made the moment the first full menu is published (signal-driven, within ms) must still
    reach the menu: files have to be watched before they are first read."""
    done = tray_host.on_first_menu(lambda t: "charlie" in session_menus(t),
                                   lambda: lab.add_claude_server("early-srv", "charlie-ro"))
    apps.start()
    wait_until(done.is_set, 30, "the first full tray menu")
    want = "Server early-srv (Claude Code)"
    tray_host.wait_menu(lambda t: want in session_menus(t)["charlie"].labels(), 2.0,
                        f"{want!r} within 2 s of an edit made right after the first menu appeared")


def test_open_window_and_quit_from_menu(lab, tray_host, apps, display):
    app = apps.start()
    wait_tray_ready(tray_host, lab)

    def window_titles():
        out = subprocess.run(["xwininfo", "-root", "-tree", "-display", display],
                             capture_output=True, text=True, timeout=10).stdout
        return out

    assert '"AWS SSO sessions"' not in window_titles(), "the tray app starts without a window"
    tray_host.click_label("Open window")
    wait_until(lambda: '"AWS SSO sessions"' in window_titles(), 20,
               "an X window titled 'AWS SSO sessions' after 'Open window'")
    tray_host.click_label("Quit")
    wait_until(lambda: not app.alive(), 10, "the app to exit after 'Quit'")
    assert app.proc.returncode == 0, f"Quit exits with 0, got {app.proc.returncode}\n{app.stderr()}"


def test_refresh_all_expired_logs_in_expired_and_never_logged_in(lab, mock, signs_in, tray_host, apps):
    apps.start()
    wait_tray_ready(tray_host, lab)
    tray_host.click_label("Refresh all expired")
    # charlie (expired) and delta (never logged in); alpha, bravo and the legacy session are left alone.
    for key in ("charlie", "delta"):
        wait_until(lambda k=key: lab.cached_expiry(k) and lab.cached_expiry(k) > dt.datetime.now(dt.timezone.utc),
                   60, f"a fresh {key} token after 'Refresh all expired'")
    assert mock.sign_ins == 2, f"two sessions to sign in, got {mock.sign_ins} sign-ins"
    assert_signed_in_by_the_browser(lab, mock, signs_in, n=2)
    for key in ("charlie", "delta"):
        lab.expiry[key] = lab.cached_expiry(key)
    tray_host.wait_menu(lambda t: all(session_menus(t)[k].label == lab.expected_title(k)
                                      for k in ("charlie", "delta")), 10, "charlie and delta valid in the menu")
    assert lab.read_token("bravo")["accessToken"] in lab.planted, "bravo (expiring) was not refreshed"


def test_menu_shows_every_profile_and_disabled_servers_stay_out_of_the_icon(lab, tray_host, apps):
    """Issue 9: a server that may use several profiles (mcp-proxy-for-aws's AWS_MCP_PROXY_PROFILES)
    is listed under each of their sessions, naming them all; a disabled server is marked, and a
    session used only by disabled servers does not turn the icon red."""
    # delta's only server becomes a disabled Cursor entry; a multi-profile server joins alpha and charlie.
    del lab.claude["mcpServers"]["builder"]
    lab.claude["mcpServers"]["multi"] = {"command": "uvx", "args": ["mcp-proxy-for-aws@latest", "https://x/mcp"],
                                         "env": {"AWS_MCP_PROXY_PROFILES": "alpha-dev charlie-ro"}}
    lab.write_claude()
    (lab.home / ".cursor" / "mcp.json").write_text(json.dumps({"mcpServers": {
        "cursor-docs": {"command": "uvx", "args": ["aws-docs-mcp", "--profile=alpha-ops"]},
        "builder-off": {"command": "uvx", "args": ["b"], "env": {"AWS_PROFILE": "delta-dev"}, "disabled": True}}}))
    now = dt.datetime.now(dt.timezone.utc)
    for key in ("bravo", "charlie"):
        lab.plant_token(key, now + dt.timedelta(hours=6))
    # delta: never logged in, used only by the disabled server.

    apps.start()
    multi = "Server multi (Claude Code) — profiles alpha-dev, charlie-ro"
    off = "Server builder-off (Cursor) — disabled"

    def ready(t):
        menus = session_menus(t)
        return all(k in menus for k in ("alpha", "charlie", "delta")) and \
            off in menus["delta"].labels() and multi in menus["charlie"].labels()

    tree = tray_host.wait_menu(ready, 30, "the menu with the multi-profile and the disabled server")
    menus = session_menus(tree)
    assert multi in menus["alpha"].labels(), menus["alpha"].dump()
    assert multi in menus["charlie"].labels(), menus["charlie"].dump()
    assert multi not in menus["bravo"].labels(), menus["bravo"].dump()
    assert off in menus["delta"].labels(), menus["delta"].dump()
    # The refresh of a session used only by disabled servers is still offered.
    assert menus["delta"].shown()[0].label == "Refresh" and menus["delta"].shown()[0].enabled

    ref = decode_png((ICONS / "tray-valid.png").read_bytes())
    wait_until(lambda: colour_state(icon_colour(tray_host.icon_png()[1])) == "valid"
               and decode_png(tray_host.icon_png()[1]) == ref, 10,
               lambda: f"the valid icon: delta is used only by a disabled server; pixel "
                       f"{icon_colour(tray_host.icon_png()[1])}")

    # Enabling the server brings delta (never logged in) back into the icon's state.
    (lab.home / ".cursor" / "mcp.json").write_text(json.dumps({"mcpServers": {
        "cursor-docs": {"command": "uvx", "args": ["aws-docs-mcp", "--profile=alpha-ops"]},
        "builder-off": {"command": "uvx", "args": ["b"], "env": {"AWS_PROFILE": "delta-dev"}, "disabled": False}}}))
    wait_until(lambda: colour_state(icon_colour(tray_host.icon_png()[1])) == "expired", 10,
               "the expired icon once the server using delta is enabled")


def _sign_ins_for(home) -> list[int]:
    """Pids of `aws sso login` processes running for the lab whose HOME is `home`."""
    import os
    needle = f"HOME={home}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = open(f"/proc/{entry}/cmdline", "rb").read()
            environ = open(f"/proc/{entry}/environ", "rb").read()
            state = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and b"sso\0login" in cmdline and needle in environ.split(b"\0"):
            found.append(int(entry))
    return found


def test_quit_during_a_sign_in_ends_it(lab, mock, signs_in, tray_host, apps):
    """Issue 12 #3: a sign-in started from the tray kept running (and could still complete) after Quit."""
    mock.configure(mode="never")  # the browser's page never confirms
    app = apps.start()
    wait_tray_ready(tray_host, lab)
    tray_host.click_label("delta — never logged in", "Refresh")
    wait_sign_ins(mock, 1, timeout=30)
    signs_in.assert_ran(mock)
    wait_until(lambda: _sign_ins_for(lab.home), 20, "`aws sso login` running for the lab")
    tray_host.click_label("Quit")
    wait_until(lambda: not app.alive(), 15, "the app to exit after 'Quit'")
    wait_until(lambda: not _sign_ins_for(lab.home), 15, "no `aws sso login` left after Quit")
