"""Desktop tests for aws-sso-tray: tray menu (StatusNotifierItem + dbusmenu), notifications, window.

Run from /work/main (the suite starts its own Xvfb and private D-Bus session bus; an outer
`dbus-run-session --` is harmless but not needed):

    python3 -m pytest src-tauri/tests/desktop -q

Needs: Xvfb, dbus-daemon, x11-utils (xwininfo), /usr/bin/aws (AWS CLI 2.9) and AWS CLI 2.36.7 at
e2e's CURRENT_CLI_ROOT (.ci/setup --test; sign-in tests run with both, mounted by `unshare -m`, as root),
libayatana-appindicator3-1, webkit2gtk-driver (/usr/bin/WebKitWebDriver), tauri-driver (`cargo install tauri-driver --locked`),
pip packages pytest + dbus-fast. tauri-driver: $TAURI_DRIVER, else ~/.cargo/bin/tauri-driver; it needs
ports 4444/4445 free, so run the tests serially (no xdist). Binary: $AWS_SSO_TRAY_DESKTOP_BIN, else
~/.cache/aws-sso-tray/target-desktop/debug/aws-sso-tray. Screenshot: $ARTIFACTS_DIR/window.png, else
$TMPDIR/aws-sso-tray-artifacts/window.png (never docs/).

The OIDC mock and the home-building helpers come from ../e2e (imported, not copied). The test
process plays the desktop: it owns org.kde.StatusNotifierWatcher (tray host) and
org.freedesktop.Notifications on the private bus, and records what the app sends there.
"""
# No `from __future__ import annotations`: dbus-fast reads the D-Bus signatures from annotations.

import asyncio
import contextlib
import datetime as dt
import http.client
import importlib.util
import json
import os
import secrets
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from pathlib import Path

import pytest

E2E_DIR = Path(__file__).resolve().parent.parent / "e2e"
sys.path.insert(0, str(E2E_DIR))
from oidc_mock import MODE_FAIL, OidcMock, follow_sign_in_link  # noqa: E402


def _load_e2e_conftest():
    # Loaded under its own name: `import conftest` would return this very module.
    spec = importlib.util.spec_from_file_location("e2e_conftest", E2E_DIR / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["e2e_conftest"] = module
    spec.loader.exec_module(module)
    return module


e2e = _load_e2e_conftest()
cache_name = e2e.cache_name
iso_z = e2e.iso_z
parse_time = e2e.parse_time

try:
    from dbus_fast import Message, MessageType, PropertyAccess, Variant
    from dbus_fast.aio import MessageBus
    from dbus_fast.service import ServiceInterface, dbus_property, method, signal as dbus_signal
except ImportError:  # a failure with the fix, not a skip
    raise ImportError("the desktop tests need dbus-fast: pip install dbus-fast") from None

REPO = Path(__file__).resolve().parents[3]
ICONS = REPO / "icons"
DEFAULT_DESKTOP_BIN = Path.home() / ".cache/aws-sso-tray/target-desktop/debug/aws-sso-tray"
BUILD_HINT = "cd /work/main && CARGO_TARGET_DIR=$HOME/.cache/aws-sso-tray/target-desktop cargo build"
WEBKIT_DRIVER = "/usr/bin/WebKitWebDriver"
WEBDRIVER_PORT = 4444

WATCHER = "org.kde.StatusNotifierWatcher"
ITEM_IFACE = "org.kde.StatusNotifierItem"
DBUSMENU = "com.canonical.dbusmenu"
NOTIFICATIONS = "org.freedesktop.Notifications"

# Contract colours at the centre-left of the disc.
ICON_COLOURS = {"valid": (46, 157, 79), "expiring": (224, 146, 0), "expired": (200, 40, 40)}
TRAILER = ["Refresh all expired", "Open window", "Settings…", "Quit"]


def desktop_binary() -> Path:
    path = Path(os.environ.get("AWS_SSO_TRAY_DESKTOP_BIN") or DEFAULT_DESKTOP_BIN)
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(f"desktop binary not found at {path}; set AWS_SSO_TRAY_DESKTOP_BIN or build: {BUILD_HINT}",
                    pytrace=False)
    return path


def need_tool(path_or_name: str, hint: str) -> str:
    found = path_or_name if os.access(path_or_name, os.X_OK) else shutil.which(path_or_name)
    if not found:
        pytest.fail(f"{path_or_name} not found: {hint}", pytrace=False)
    return found


def wait_until(fn, timeout: float, what: str, interval: float = 0.05, fail: bool = True):
    """Poll fn() until it returns something truthy; fail with `what` (callable for late detail),
    or return None at the deadline when fail=False."""
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() >= deadline:
            if not fail:
                return None
            pytest.fail(f"timed out after {timeout}s waiting for {what() if callable(what) else what}",
                        pytrace=False)
        time.sleep(interval)


# ---- PNG (stdlib decoder: 8-bit RGB/RGBA, non-interlaced — what the icons and WebKit produce) ----

def decode_png(data: bytes) -> tuple[int, int, list[list[tuple[int, ...]]]]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, ihdr = 8, b"", None
    while pos < len(data):
        (length,), kind = struct.unpack(">I", data[pos:pos + 4]), data[pos + 4:pos + 8]
        chunk = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat += chunk
        elif kind == b"IEND":
            break
    w, h, depth, ctype, _, _, interlace = ihdr
    assert depth == 8 and ctype in (2, 6) and interlace == 0, f"unsupported PNG {ihdr}"
    bpp = 4 if ctype == 6 else 3
    raw, stride = zlib.decompress(idat), w * bpp
    rows, prev, i = [], bytearray(stride), 0
    for _ in range(h):
        ftype, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if ftype == 1:
                line[x] = (line[x] + a) & 0xFF
            elif ftype == 2:
                line[x] = (line[x] + b) & 0xFF
            elif ftype == 3:
                line[x] = (line[x] + (a + b) // 2) & 0xFF
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        rows.append([tuple(line[x:x + bpp]) + ((255,) if bpp == 3 else ()) for x in range(0, stride, bpp)])
        prev = line
    return w, h, rows


def icon_colour(png: bytes) -> tuple[int, int, int]:
    """RGB at the centre-left of the disc (clear of the white mark)."""
    w, h, rows = decode_png(png)
    return rows[h // 2][int(w * 0.2)][:3]


def colour_state(rgb) -> str | None:
    for state, ref in ICON_COLOURS.items():
        if all(abs(a - b) <= 12 for a, b in zip(rgb, ref)):
            return state
    return None


# ---- X server and private session bus (one per test session) ----------------------------------

@pytest.fixture(scope="session")
def display(tmp_path_factory):
    xvfb = need_tool("Xvfb", "apt-get install xvfb")
    r, w = os.pipe()
    log = open(tmp_path_factory.mktemp("xvfb") / "xvfb.log", "w")
    proc = subprocess.Popen([xvfb, "-displayfd", str(w), "-screen", "0", "1280x1024x24", "-nolisten", "tcp"],
                            pass_fds=(w,), stdout=log, stderr=log, start_new_session=True)
    os.close(w)
    number = b""
    with os.fdopen(r, "rb") as pipe:
        while not number.endswith(b"\n"):
            ch = pipe.read(1)
            if not ch:
                break
            number += ch
    if not number.strip().isdigit():
        proc.kill()
        pytest.fail(f"Xvfb did not start (see {log.name})", pytrace=False)
    try:
        yield f":{number.decode().strip()}"
    finally:
        _stop(proc)
        log.close()


BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir={dir}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default"><allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/>
  <allow own="*"/></policy>
</busconfig>
"""  # no service dirs: nothing gets auto-activated (no real notification daemon, portal, a11y bus)


@pytest.fixture(scope="session")
def bus_address(tmp_path_factory):
    need_tool("dbus-daemon", "apt-get install dbus")
    d = tmp_path_factory.mktemp("dbus")
    (d / "session.conf").write_text(BUS_CONFIG.format(dir=d))
    log = open(d / "dbus-daemon.log", "w")
    proc = subprocess.Popen(["dbus-daemon", f"--config-file={d / 'session.conf'}", "--nofork",
                             "--print-address=1"], stdout=subprocess.PIPE, stderr=log, text=True,
                            start_new_session=True)
    address = proc.stdout.readline().strip()
    if not address:
        _stop(proc)
        pytest.fail("dbus-daemon did not print an address", pytrace=False)
    try:
        yield address
    finally:
        _stop(proc)
        log.close()


def _stop(proc: subprocess.Popen, grace: float = 5) -> None:
    """TERM the process group, then KILL; by pid only."""
    if proc.poll() is None:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, sig)
            try:
                proc.wait(timeout=grace)
                break
            except subprocess.TimeoutExpired:
                continue


# ---- D-Bus from the test side: one asyncio loop in a thread ------------------------------------

class BusLoop:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="dbus-loop", daemon=True)
        self.thread.start()

    def run(self, coro, timeout: float = 10):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture(scope="session")
def bus_loop():
    loop = BusLoop()
    yield loop
    loop.close()


class Bus:
    """A test-side connection to the private session bus."""

    def __init__(self, loop: BusLoop, address: str) -> None:
        self.loop = loop
        async def connect():  # MessageBus needs the running loop
            return await MessageBus(bus_address=address).connect()
        self.bus = loop.run(connect())

    def call(self, dest: str, path: str, iface: str, member: str, sig: str = "", body=(), timeout: float = 10):
        msg = Message(destination=dest, path=path, interface=iface, member=member, signature=sig, body=list(body))
        reply = self.loop.run(asyncio.wait_for(self.bus.call(msg), timeout), timeout + 1)
        if reply.message_type == MessageType.ERROR:
            raise RuntimeError(f"{member} on {dest}{path}: {reply.error_name}: {reply.body}")
        return reply.body

    def names(self) -> list[str]:
        return self.call("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "ListNames")[0]

    def own(self, interface: ServiceInterface, path: str, name: str) -> None:
        async def go():
            self.bus.export(path, interface)
            await self.bus.request_name(name)
        self.loop.run(go())
        owner = self.call("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                          "GetNameOwner", "s", [name])[0]
        assert owner == self.bus.unique_name, f"{name} is owned by {owner}, not by the test"

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.bus.disconnect()
            self.loop.run(self.bus.wait_for_disconnect(), 5)


@pytest.fixture
def bus(bus_loop, bus_address):
    b = Bus(bus_loop, bus_address)
    yield b
    b.close()


# ---- fake StatusNotifierWatcher (the tray host) ------------------------------------------------

class Watcher(ServiceInterface):
    def __init__(self) -> None:
        super().__init__(WATCHER)
        self.items: list[tuple[str, str]] = []   # (bus name, object path), in registration order
        self.lock = threading.Lock()

    @method()
    def RegisterStatusNotifierItem(self, service: "s"):  # noqa: N802,F821
        pass  # recorded by _record_sender, which sees the caller's bus name

    @method()
    def RegisterStatusNotifierHost(self, service: "s"):  # noqa: N802,F821
        pass

    @dbus_property(access=PropertyAccess.READ)
    def RegisteredStatusNotifierItems(self) -> "as":  # noqa: N802,F722
        with self.lock:
            return [f"{s}{p}" for s, p in self.items]

    @dbus_property(access=PropertyAccess.READ)
    def IsStatusNotifierHostRegistered(self) -> "b":  # noqa: N802,F821
        return True

    @dbus_property(access=PropertyAccess.READ)
    def ProtocolVersion(self) -> "i":  # noqa: N802,F821
        return 0

    @dbus_signal()
    def StatusNotifierItemRegistered(self, item) -> "s":  # noqa: N802,F821
        return item

    def _record_sender(self, msg):
        if (msg.message_type == MessageType.METHOD_CALL and msg.interface == WATCHER
                and msg.member == "RegisterStatusNotifierItem" and msg.body):
            arg = msg.body[0]
            item = (msg.sender, arg) if arg.startswith("/") else (arg, "/StatusNotifierItem")
            with self.lock:
                self.items.append(item)
            self.StatusNotifierItemRegistered(f"{item[0]}{item[1]}")
        return None  # let the interface answer


class MenuNode:
    def __init__(self, node_id: int, props: dict, children: list["MenuNode"]) -> None:
        self.id = node_id
        self.props = props
        self.children = children

    @property
    def label(self) -> str:
        return menu_text(self.props.get("label", ""))

    @property
    def enabled(self) -> bool:
        return self.props.get("enabled", True)

    @property
    def visible(self) -> bool:
        return self.props.get("visible", True)

    @property
    def separator(self) -> bool:
        return self.props.get("type") == "separator"

    @property
    def submenu(self) -> bool:
        return self.props.get("children-display") == "submenu" or bool(self.children)

    def shown(self) -> list["MenuNode"]:
        return [c for c in self.children if c.visible]

    def labels(self) -> list[str]:
        return [c.label for c in self.shown() if not c.separator]

    def find(self, label: str) -> "MenuNode | None":
        for c in self.shown():
            if c.label == label:
                return c
            hit = c.find(label)
            if hit is not None:
                return hit
        return None

    def dump(self, indent: int = 0) -> str:
        lines = []
        for c in self.children:
            flags = "".join(f for f, on in (("-", c.separator), ("x", not c.enabled), ("h", not c.visible)) if on)
            lines.append(f"{'  ' * indent}[{c.id}{flags}] {c.label}")
            lines.append(c.dump(indent + 1))
        return "\n".join(line for line in lines if line)


def menu_text(label: str) -> str:
    """dbusmenu labels carry GTK mnemonics: '_x' marks an accelerator, '__' is a literal '_'."""
    out, i = [], 0
    while i < len(label):
        if label[i] == "_":
            if label[i + 1:i + 2] == "_":
                out.append("_")
                i += 2
                continue
            i += 1
            continue
        out.append(label[i])
        i += 1
    return "".join(out)


def _parse_layout(raw) -> MenuNode:
    node_id, props, children = raw
    props = {k: v.value for k, v in props.items()}
    return MenuNode(node_id, props, [_parse_layout(c.value) for c in children])


class TrayHost:
    """The test acting as the panel: knows the registered item, reads its menu and icon, clicks."""

    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self.watcher = Watcher()
        bus.bus.add_message_handler(self.watcher._record_sender)
        bus.own(self.watcher, "/StatusNotifierWatcher", WATCHER)

    def items(self) -> list[tuple[str, str]]:
        with self.watcher.lock:
            return list(self.watcher.items)

    def item(self, timeout: float = 20) -> tuple[str, str]:
        """The most recent registered item whose owner is still on the bus."""
        def alive():
            names = set(self.bus.names())
            live = [i for i in self.items() if i[0] in names]
            return live[-1] if live else None
        return wait_until(alive, timeout, lambda: f"a StatusNotifierItem registration (seen: {self.items()})")

    def props(self) -> dict:
        service, path = self.item()
        raw = self.bus.call(service, path, "org.freedesktop.DBus.Properties", "GetAll", "s", [ITEM_IFACE])[0]
        return {k: v.value for k, v in raw.items()}

    def layout(self) -> MenuNode:
        service, _ = self.item()
        menu_path = self.props()["Menu"]
        _, raw = self.bus.call(service, menu_path, DBUSMENU, "GetLayout", "iias", [0, -1, []])
        return _parse_layout(raw)

    def wait_menu(self, pred, timeout: float, what: str, fail: bool = True) -> MenuNode | None:
        last = {"tree": None, "error": None}

        def check():
            try:
                tree = self.layout()
            except (RuntimeError, asyncio.TimeoutError, TimeoutError) as e:
                last["error"] = e
                return None
            last["tree"] = tree
            return tree if pred(tree) else None

        def detail():
            tree = last["tree"]
            return f"{what}; last menu:\n{tree.dump() if tree else last['error']}"
        return wait_until(check, timeout, detail, interval=0.1, fail=fail)

    def on_first_menu(self, pred, action) -> threading.Event:
        """Run action() in the bus thread as soon as a LayoutUpdated signal leads to a menu matching
        pred (signal-driven, within milliseconds of the app publishing it). Returns an Event set once
        action ran."""
        done = threading.Event()
        busy = {"on": False}
        bus = self.bus.bus

        async def look():
            try:
                for service, path in reversed(self.items()):
                    props = await bus.call(Message(destination=service, path=path,
                                                   interface="org.freedesktop.DBus.Properties", member="Get",
                                                   signature="ss", body=[ITEM_IFACE, "Menu"]))
                    if props.message_type == MessageType.ERROR:
                        continue
                    reply = await bus.call(Message(destination=service, path=props.body[0].value,
                                                   interface=DBUSMENU, member="GetLayout", signature="iias",
                                                   body=[0, -1, []]))
                    if reply.message_type != MessageType.ERROR and not done.is_set() and pred(
                            _parse_layout(reply.body[1])):
                        action()
                        done.set()
                    return
            finally:
                busy["on"] = False

        def handler(msg):
            if (msg.message_type == MessageType.SIGNAL and msg.interface == DBUSMENU
                    and msg.member == "LayoutUpdated" and not done.is_set() and not busy["on"]):
                busy["on"] = True
                asyncio.ensure_future(look())
            return None

        bus.add_message_handler(handler)
        self.bus.call("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "AddMatch", "s",
                      [f"type='signal',interface='{DBUSMENU}',member='LayoutUpdated'"])
        return done

    def click(self, node: MenuNode) -> None:
        service, _ = self.item()
        menu_path = self.props()["Menu"]
        self.bus.call(service, menu_path, DBUSMENU, "Event", "isvu",
                      [node.id, "clicked", Variant("i", 0), int(time.time()) & 0xFFFFFFFF])

    def click_label(self, *path: str) -> None:
        """Click the entry at `path` (submenu label, ..., item label) in a fresh layout. The app may
        rebuild its menu between our read and our click (item ids change): then read and click again."""
        for attempt in range(5):
            node = self.layout()
            for label in path:
                nxt = node.find(label) if node is not None else None
                assert nxt is not None, f"no menu entry {label!r} (path {path}); menu:\n{self.layout().dump()}"
                node = nxt
            assert node.enabled, f"menu entry {path} is disabled"
            try:
                return self.click(node)
            except RuntimeError as e:
                if "does not refer to a menu item" not in str(e) or attempt == 4:
                    raise
                time.sleep(0.2)

    def icon_png(self) -> tuple[str, bytes]:
        """(IconName, PNG bytes). IconName is a file the tray library wrote; retry if replaced meanwhile."""
        def read():
            props = self.props()
            name = props.get("IconName", "")
            candidates = [Path(name)]
            if props.get("IconThemePath") and not name.startswith("/"):
                candidates += [Path(props["IconThemePath"]) / f"{name}.png", Path(props["IconThemePath"]) / name]
            for c in candidates:
                with contextlib.suppress(OSError):
                    return name, c.read_bytes()
            return None
        return wait_until(read, 5, "a readable PNG behind the item's IconName")

    def icon_state(self) -> str | None:
        return colour_state(icon_colour(self.icon_png()[1]))


@pytest.fixture
def tray_host(bus):
    """Owns org.kde.StatusNotifierWatcher: request it BEFORE starting the app."""
    return TrayHost(bus)


def session_menus(tree: MenuNode) -> dict[str, MenuNode]:
    """Top-level submenus keyed by their label (without the state part), excluding 'Servers without AWS'."""
    out = {}
    for c in tree.shown():
        if c.submenu and " — " in c.label:
            out[c.label.rsplit(" — ", 1)[0]] = c
    return out


# ---- fake notification server ------------------------------------------------------------------

class NotificationServer(ServiceInterface):
    def __init__(self) -> None:
        super().__init__(NOTIFICATIONS)
        self.calls: list[dict] = []
        self.lock = threading.Lock()

    @method()
    def Notify(self, app_name: "s", replaces_id: "u", app_icon: "s", summary: "s", body: "s",  # noqa: N802,F821
               actions: "as", hints: "a{sv}", expire_timeout: "i") -> "u":  # noqa: F821,F722
        with self.lock:
            nid = len(self.calls) + 1
            self.calls.append({"id": nid, "app_name": app_name, "summary": summary, "body": body,
                               "actions": list(actions), "at": time.monotonic()})
        return nid

    @method()
    def GetCapabilities(self) -> "as":  # noqa: N802,F722
        return ["actions", "body"]

    @method()
    def GetServerInformation(self) -> "ssss":  # noqa: N802,F821
        return ["fake-notifications", "aws-sso-tray-tests", "1.0", "1.2"]

    @method()
    def CloseNotification(self, nid: "u"):  # noqa: N802,F821
        self.NotificationClosed(nid, 3)

    @dbus_signal()
    def ActionInvoked(self, nid, action) -> "us":  # noqa: N802,F821
        return [nid, action]

    @dbus_signal()
    def NotificationClosed(self, nid, reason) -> "uu":  # noqa: N802,F821
        return [nid, reason]


class Notifications:
    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self.server = NotificationServer()
        bus.own(self.server, "/org/freedesktop/Notifications", NOTIFICATIONS)

    def calls(self) -> list[dict]:
        with self.server.lock:
            return list(self.server.calls)

    def summaries(self) -> list[str]:
        return [c["summary"] for c in self.calls()]

    def matching(self, summary: str) -> list[dict]:
        return [c for c in self.calls() if c["summary"] == summary]

    def wait_for(self, summary: str, timeout: float = 20) -> dict:
        return wait_until(lambda: (self.matching(summary) or [None])[0], timeout,
                          lambda: f"notification {summary!r}; got {self.summaries()}")

    def invoke(self, nid: int, action: str) -> None:
        """The user picks an action of notification `nid` (the server emits ActionInvoked)."""
        self.bus.loop.loop.call_soon_threadsafe(self.server.ActionInvoked, nid, action)


@pytest.fixture
def notifications(bus):
    """Owns org.freedesktop.Notifications and records every Notify call."""
    return Notifications(bus)


# ---- the lab: temp HOME with sessions in every state -------------------------------------------

DESKTOP_AWS_CONFIG = """\
# desktop tests: one SSO session per state, plus a legacy profile
[sso-session alpha]
sso_start_url = https://alpha.awsapps.com/start/#/
sso_region = us-east-1
sso_registration_scopes = sso:account:access

[sso-session bravo]
sso_start_url = https://bravo.awsapps.com/start
sso_region = us-east-1
sso_registration_scopes = sso:account:access

[sso-session charlie]
sso_start_url = https://charlie.awsapps.com/start
sso_region = us-east-1
sso_registration_scopes = sso:account:access

[sso-session delta]
sso_start_url = https://delta.awsapps.com/start
sso_region = us-east-1
sso_registration_scopes = sso:account:access

[profile alpha-dev]
sso_session = alpha
sso_account_id = 111111111111
sso_role_name = Developer

[profile alpha-ops]
sso_session = alpha
sso_account_id = 111111111112
sso_role_name = Operator

[profile bravo-admin]
sso_session = bravo
sso_account_id = 222222222222
sso_role_name = Admin

[profile charlie-ro]
sso_session = charlie
sso_account_id = 333333333333
sso_role_name = ReadOnly

[profile delta-dev]
sso_session = delta
sso_account_id = 444444444444
sso_role_name = Developer

[profile echo-legacy]
sso_start_url = {legacy_url}
sso_region = us-east-1
sso_account_id = 555555555555
sso_role_name = Legacy

[profile plain]
aws_access_key_id = AKIADESKTOPSTATIC000
aws_secret_access_key = {static_secret}
"""

LEGACY_URL = "https://echo.awsapps.com/start"
START_URLS = {"alpha": "https://alpha.awsapps.com/start/#/", "bravo": "https://bravo.awsapps.com/start",
              "charlie": "https://charlie.awsapps.com/start", "delta": "https://delta.awsapps.com/start",
              LEGACY_URL: LEGACY_URL}
STATE_TEXT = {"valid": "Valid", "expiring": "Expiring", "expired": "Expired", "missing": "Never logged in"}
CLIENT_NAMES = {"claude-code": "Claude Code", "cursor": "Cursor", "windsurf": "Windsurf"}


class DesktopLab(e2e.Lab):
    """e2e Lab (temp HOME, XDG dirs, endpoint overrides to the mock) with the desktop fixture data.

    Sessions (key -> state): alpha valid (refreshable), bravo expiring (now+5 min), charlie expired,
    delta never logged in, legacy start URL valid. ~/.gemini/settings.json is broken on purpose.
    """

    def __init__(self, root: Path, mock: OidcMock, display: str, bus_address: str) -> None:
        # The X display the app runs on (the e2e Lab's own `display` is for a stand-in browser,
        # and its constructor resets it).
        self.x_display = display
        self.bus_address = bus_address
        self.tag = secrets.token_hex(6)
        self.planted: list[str] = []   # secret values written into cache files
        super().__init__(root, mock)
        self.aws_config.write_text(DESKTOP_AWS_CONFIG.format(legacy_url=LEGACY_URL,
                                                             static_secret=self.static_secret))
        self.runtime_dir = root / "run"
        self.runtime_dir.mkdir(mode=0o700, exist_ok=True)
        self.cache_home = root / "xdg-cache"
        self.data_home = root / "xdg-data"
        self.write_settings(loginTimeoutSeconds=60, showNonAws=True)
        now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        self.expiry = {"alpha": now + dt.timedelta(hours=8), "bravo": now + dt.timedelta(minutes=5),
                       "charlie": now - dt.timedelta(hours=1), LEGACY_URL: now + dt.timedelta(hours=7)}
        self.plant_token("alpha", self.expiry["alpha"], refreshable=True)
        self.plant_token("bravo", self.expiry["bravo"])
        self.plant_token("charlie", self.expiry["charlie"])
        self.plant_token(LEGACY_URL, self.expiry[LEGACY_URL])
        reg_secret = f"deskRegSecret-{self.tag}"
        self.plant_file("botocore-client-id-us-east-1.json", {
            "clientId": f"deskRegClient-{self.tag}", "clientSecret": reg_secret,
            "expiresAt": iso_z(now + dt.timedelta(days=80))})
        self.planted.append(reg_secret)

    # ---- files ---------------------------------------------------------------------------------
    def _write_client_configs(self) -> None:  # called by e2e.Lab.__init__
        self.claude = {"mcpServers": {
            "docs": {"command": "uvx", "args": ["aws-docs-mcp"], "env": {"AWS_PROFILE": "alpha-dev"}},
            "deploy": {"command": "npx", "args": ["-y", "deploy-mcp", "--profile", "bravo-admin"]},
            "reports": {"command": "reports-mcp", "env": {"AWS_PROFILE": "charlie-ro"}},
            "builder": {"command": "docker", "args": ["run", "-i", "--rm", "-e", "AWS_PROFILE=delta-dev", "b"]},
            "old-portal": {"command": "portal-mcp", "env": {"AWS_DEFAULT_PROFILE": "echo-legacy"}},
            "no-aws": {"command": "fs-mcp", "args": ["/tmp"]},
        }}
        # server -> (profile, client display name), for the expectations
        self.servers = {"docs": ("alpha-dev", "Claude Code"), "deploy": ("bravo-admin", "Claude Code"),
                        "reports": ("charlie-ro", "Claude Code"), "builder": ("delta-dev", "Claude Code"),
                        "old-portal": ("echo-legacy", "Claude Code"), "no-aws": (None, "Claude Code"),
                        "cursor-docs": ("alpha-ops", "Cursor")}
        self.write_claude()
        (self.home / ".cursor").mkdir(exist_ok=True)
        (self.home / ".cursor" / "mcp.json").write_text(json.dumps({"mcpServers": {
            "cursor-docs": {"command": "uvx", "args": ["aws-docs-mcp", "--profile=alpha-ops"]}}}))
        (self.home / ".gemini").mkdir(exist_ok=True)
        self.broken_file = self.home / ".gemini" / "settings.json"
        self.broken_file.write_text('{\n  "mcpServers": {\n    "half": {"command": "x",\n')

    def write_claude(self) -> None:
        (self.home / ".claude.json").write_text(json.dumps(self.claude, indent=2))

    def add_claude_server(self, name: str, profile: str, command: str | None = None) -> None:
        self.claude["mcpServers"][name] = {"command": command or f"{name}-cmd", "env": {"AWS_PROFILE": profile}}
        self.servers[name] = (profile, "Claude Code")
        self.write_claude()

    def plant_token(self, key: str, expires_at: dt.datetime, refreshable: bool = False) -> Path:
        """A token file as the CLI writes it; every secret value is remembered in self.planted."""
        token = {"startUrl": START_URLS.get(key, key), "region": "us-east-1",
                 "accessToken": f"deskAccess-{self.tag}-{secrets.token_hex(4)}", "expiresAt": iso_z(expires_at)}
        if refreshable:
            token.update({"clientId": f"deskClientId-{self.tag}", "clientSecret": f"deskClientSecret-{self.tag}",
                          "refreshToken": f"deskRefresh-{self.tag}-{secrets.token_hex(4)}",
                          "registrationExpiresAt": iso_z(dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=80))})
        self.planted += [token[k] for k in ("accessToken", "clientSecret", "refreshToken") if k in token]
        self.expiry[key] = expires_at
        # Write then rename, like botocore, so a watcher never reads half a file.
        tmp = self.plant_file(f".{cache_name(key)}.tmp", token)
        final = self.cache_dir / cache_name(key)
        tmp.replace(final)
        return final

    # ---- what the app should show ---------------------------------------------------------------
    def expected(self) -> dict[str, dict]:
        """key -> label, state, profiles, servers [(name, client display name)], expiresAt."""
        def state(key):
            at = self.expiry.get(key)
            if at is None:
                return "missing"
            left = at - dt.datetime.now(dt.timezone.utc)
            return "expired" if left <= dt.timedelta(0) else "expiring" if left <= dt.timedelta(minutes=15) else "valid"
        profiles = {"alpha": ["alpha-dev", "alpha-ops"], "bravo": ["bravo-admin"], "charlie": ["charlie-ro"],
                    "delta": ["delta-dev"], LEGACY_URL: ["echo-legacy"]}
        servers = {k: [(name, client) for name, (prof, client) in self.servers.items() if prof in profs]
                   for k, profs in profiles.items()}
        return {k: {"label": k, "state": state(k), "profiles": profiles[k], "servers": servers[k],
                    "expiresAt": self.expiry.get(k)} for k in profiles}

    def expected_title(self, key: str) -> str:
        e = self.expected()[key]
        at = e["expiresAt"].astimezone(dt.timezone.utc).strftime("%H:%M") if e["expiresAt"] else None
        return {"valid": f"{key} — valid until {at}", "expiring": f"{key} — expires at {at} (soon)",
                "expired": f"{key} — expired at {at}", "missing": f"{key} — never logged in"}[e["state"]]

    def cached_expiry(self, key: str) -> dt.datetime | None:
        """expiresAt of the token file now on disk (after a real login), or None."""
        try:
            return parse_time(self.read_token(key)["expiresAt"])
        except (OSError, ValueError, KeyError):
            return None

    def secrets_to_hide(self) -> list[str]:
        m = self.mock.issued
        # The PKCE flow's counterparts of the device code: the code and verifier never leave the login.
        return (self.planted + [self.static_secret] + list(m["access_token"]) + list(m["refresh_token"])
                + list(m["client_secret"]) + list(m["device_code"]) + list(m["auth_code"])
                + list(m["code_verifier"]))

    def use_browser(self, behaviour: str = "follow", display: str | None = None) -> None:
        # The app keeps the Xvfb display (app_env sets DISPLAY=x_display whatever this says).
        super().use_browser(behaviour, display or self.x_display)

    # ---- environment ---------------------------------------------------------------------------
    def app_env(self, **extra) -> dict[str, str]:
        """The whole environment of the app (nothing inherited from the runner)."""
        return self.env(DISPLAY=self.x_display, DBUS_SESSION_BUS_ADDRESS=self.bus_address, TZ="UTC",
                        XDG_RUNTIME_DIR=str(self.runtime_dir), XDG_CACHE_HOME=str(self.cache_home),
                        XDG_DATA_HOME=str(self.data_home), **extra)


class DesktopOidcMock(OidcMock):
    """The e2e mock, but user codes have the real service's shape (XXXX-XXXX, e.g. "4F2A-0007"):
    the app only takes a line of that shape for the code it shows (the e2e mock's "E2EUSER-<tag>-<n>"
    is not one). Still unique per mock instance, so leak checks keep working."""

    def _next(self, kind: str, fmt: str) -> str:
        if kind != "user_code":
            return super()._next(kind, fmt)
        self._seq += 1  # caller holds the lock
        value = f"{self.tag[:4].upper()}-{self._seq:04d}"
        self.issued[kind].append(value)
        return value


@pytest.fixture
def mock():
    with DesktopOidcMock() as m:
        yield m


@pytest.fixture
def lab(tmp_path, mock, display, bus_address):
    lab = DesktopLab(tmp_path, mock, display, bus_address)
    try:
        yield lab
    finally:
        lab.cleanup()


# ---- sign-ins: both AWS CLIs, finished as a person would ---------------------------------------

# The e2e fixtures, registered here too (pytest does not load ../e2e/conftest.py for these tests):
# `aws_cli` runs a test once with each AWS CLI (ids cli-2.9, cli-2.36); `signs_in` adds the stand-in
# browser at /usr/bin/xdg-open, following every link the app opens, and a mock that grants a device
# code only once a person approved it; the guard fails a test that signs in without `aws_cli`.
aws_cli = e2e.aws_cli
signs_in = e2e.signs_in
_sign_ins_run_with_both_clis = e2e._sign_ins_run_with_both_clis


def wait_sign_ins(mock: OidcMock, n: int = 1, timeout: float = 60) -> None:
    """Until n sign-ins reached the service: device codes asked for, or authorize pages opened."""
    wait_until(lambda: mock.sign_ins >= n, timeout,
               lambda: f"{n} sign-in(s) at the mock; counts {dict(mock.counts)}")


def assert_signed_in_by_the_browser(lab: DesktopLab, mock: OidcMock, cli, n: int = 1) -> None:
    """n sign-ins, run by this CLI and finished in the stand-in browser with the link the app opened:
    2.36 with PKCE (authorize, redirect to the CLI's loopback), 2.9 with the device code approved."""
    cli.assert_ran(mock)
    opened = lab.wait_browser("opened", n, timeout=10)
    followed = lab.wait_browser("followed", n, timeout=30)
    assert len(opened) == n and len(followed) == n, lab.browser_visits()
    assert all(v["argv"] == [v["url"]] for v in opened), opened
    if cli.pkce:
        assert mock.count("device_authorization") == 0, dict(mock.counts)
        assert all(urllib.parse.urlparse(v["url"]).path == "/authorize" for v in opened), opened
        assert [a["outcome"] for a in mock.authorize_requests] == ["redirected"] * n, mock.authorize_requests
        assert [f["result"] for f in followed] == ["returned to the CLI"] * n, followed
    else:
        assert mock.count("device_authorization") == n and not mock.authorize_requests, dict(mock.counts)
        assert all(v["url"].startswith("https://device.sso.") for v in opened), opened
        assert [f["result"] for f in followed] == ["approved"] * n, followed
        assert [a["via"] for a in mock.approvals] == ["browser"] * n, mock.approvals


def assert_signed_in_at_the_window(lab: DesktopLab, mock: OidcMock, cli, n: int = 1) -> None:
    """n sign-ins, run by this CLI with a device code that a person approved from the window, and
    no browser opened: without a browser the code must work on any device, so 2.36 runs
    `--use-device-code` (its PKCE redirect only reaches this machine)."""
    cli.assert_ran(mock)
    assert mock.count("device_authorization") == n and not mock.authorize_requests, \
        f"{cli}: {n} device code(s) expected; counts {dict(mock.counts)}, authorize {mock.authorize_requests}"
    assert all(r["grantTypes"] is None for r in mock.registrations), mock.registrations
    assert [a["via"] for a in mock.approvals] == ["window"] * n, mock.approvals
    assert not lab.browser_visits(), f"a browser was opened: {lab.browser_visits()}"


# ---- the app process ---------------------------------------------------------------------------

class App:
    def __init__(self, proc: subprocess.Popen, stderr_path: Path) -> None:
        self.proc = proc
        self.stderr_path = stderr_path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stderr(self, tail: int = 4000) -> str:
        with contextlib.suppress(OSError):
            return self.stderr_path.read_text(errors="replace")[-tail:]
        return ""

    def assert_alive(self) -> None:
        assert self.alive(), f"the app exited with {self.proc.returncode}; stderr:\n{self.stderr()}"


class AppRunner:
    """Starts the desktop app with a clean env; stop() / teardown always kill it (by pid)."""

    def __init__(self, lab: DesktopLab, bus: Bus) -> None:
        self.lab = lab
        self.bus = bus
        self.apps: list[App] = []

    def start(self, *args: str, **env_extra) -> App:
        self.wait_single_instance_free()
        n = len(self.apps)
        err = self.lab.root / f"app-{n}.stderr"
        # In the lab's mount namespace, if the test chose a CLI or a browser (lab.cli_prefix).
        proc = subprocess.Popen([*self.lab.cli_prefix, str(desktop_binary()), *args], cwd=str(self.lab.home),
                                env=self.lab.app_env(**env_extra), stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=open(err, "w"), start_new_session=True)
        app = App(proc, err)
        self.apps.append(app)
        return app

    def single_instance_names(self) -> list[str]:
        return [n for n in self.bus.names() if "SingleInstance" in n]

    def wait_single_instance_free(self, timeout: float = 10) -> None:
        wait_until(lambda: not self.single_instance_names(), timeout,
                   lambda: f"no running instance on the bus (still there: {self.single_instance_names()})")

    def stop(self, app: App) -> None:
        _stop(app.proc)
        self.wait_single_instance_free()

    def stop_all(self) -> None:
        for app in self.apps:
            _stop(app.proc)

    def report(self) -> str:
        return "\n".join(f"--- app {i} (rc={a.proc.returncode}) stderr tail:\n{a.stderr(3000)}"
                         for i, a in enumerate(self.apps))


@pytest.fixture
def apps(lab, bus):
    runner = AppRunner(lab, bus)
    try:
        yield runner
    finally:
        runner.stop_all()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.when == "call" and rep.failed and "apps" in item.funcargs:
        rep.sections.append(("app stderr", item.funcargs["apps"].report()))


def edit_until_seen(lab: DesktopLab, host: TrayHost, name: str, timeout: float = 20) -> float:
    """Add server `name` (profile alpha-dev) to ~/.claude.json and rewrite it until the menu shows it.
    A barrier: afterwards the app has rebuilt and its file watches are in place. Returns the tries."""
    want = f"Server {name} (Claude Code)"
    deadline = time.monotonic() + timeout
    tries = 0
    while True:
        tries += 1
        lab.add_claude_server(name, "alpha-dev", command=f"{name}-cmd-{tries}")
        seen = host.wait_menu(lambda t: "alpha" in session_menus(t) and want in session_menus(t)["alpha"].labels(),
                              min(2.0, max(0.1, deadline - time.monotonic())), want, fail=False)
        if seen is not None:
            return tries
        if time.monotonic() >= deadline:
            pytest.fail(f"{want!r} never appeared in the tray menu after {tries} edits of ~/.claude.json",
                        pytrace=False)


def wait_tray_ready(host: TrayHost, lab: DesktopLab, timeout: float = 30) -> MenuNode:
    """The item is registered and its menu lists every fixture session."""
    keys = list(lab.expected())
    return host.wait_menu(lambda t: all(k in session_menus(t) for k in keys), timeout,
                          f"tray menu with the sessions {keys}")


# ---- WebDriver (plain urllib, W3C protocol) ----------------------------------------------------

ELEMENT = "element-6066-11e4-a52e-4f735466cecf"


class WebDriverError(RuntimeError):
    pass


class WebDriver:
    def __init__(self, base: str, diagnose=lambda: "") -> None:
        self.base = base
        self.session: str | None = None
        self.diagnose = diagnose

    def req(self, method_: str, path: str, body=None, timeout: float = 60):
        data = None if body is None else json.dumps(body).encode()
        for attempt in range(4):
            r = urllib.request.Request(self.base + path, data=data, method=method_,
                                       headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(r, timeout=timeout) as resp:
                    payload = json.loads(resp.read() or b"{}")
                return payload.get("value")
            except urllib.error.HTTPError as e:
                raise WebDriverError(f"{method_} {path}: HTTP {e.code}: {e.read()[:2000]!r}\n{self.diagnose()}") from None
            except (http.client.RemoteDisconnected, ConnectionResetError) as e:
                # tauri-driver's pooled keep-alive connection to WebKitWebDriver can be stale; it then
                # drops ours without an answer ("client error (SendRequest)" in its log). The request
                # did not reach WebKitWebDriver: send it again.
                last = e
                time.sleep(0.1 * (attempt + 1))
            except (OSError, http.client.HTTPException) as e:  # the driver or the app went away
                raise WebDriverError(f"{method_} {path}: {e!r}\n{self.diagnose()}") from None
        raise WebDriverError(f"{method_} {path}: {last!r} (4 tries)\n{self.diagnose()}")

    def s(self, method_: str, path: str, body=None, timeout: float = 60):
        return self.req(method_, f"/session/{self.session}{path}", body, timeout)

    def start(self, application: Path, args: list[str]) -> None:
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "wry", "tauri:options": {"application": str(application), "args": args}}}}
        value = self.req("POST", "/session", caps, timeout=90)
        self.session = value["sessionId"]

    def quit(self) -> None:
        if self.session:
            with contextlib.suppress(Exception):
                self.req("DELETE", f"/session/{self.session}", timeout=20)
            self.session = None

    def find_all(self, css: str) -> list[str]:
        return [e[ELEMENT] for e in self.s("POST", "/elements", {"using": "css selector", "value": css})]

    def find(self, css: str) -> str:
        return self.s("POST", "/element", {"using": "css selector", "value": css})[ELEMENT]

    def click(self, element: str) -> None:
        self.s("POST", f"/element/{element}/click", {})

    def click_css(self, css: str, tries: int = 5) -> None:
        """Find and click; find again when the page re-rendered the element in between."""
        for attempt in range(tries):
            try:
                return self.click(self.find(css))
            except WebDriverError as e:
                if "stale element reference" not in str(e) or attempt == tries - 1:
                    raise
                time.sleep(0.1)

    def text(self, element: str) -> str:
        return self.s("GET", f"/element/{element}/text")

    def type_css(self, css: str, text: str) -> None:
        """Types into the element as a person would (key events, not a value set by script)."""
        self.s("POST", f"/element/{self.find(css)}/value", {"text": text})

    def js(self, script: str, *args):
        return self.s("POST", "/execute/sync", {"script": script, "args": list(args)})

    def js_async(self, script: str, *args):
        return self.s("POST", "/execute/async", {"script": script, "args": list(args)})

    def source(self) -> str:
        return self.s("GET", "/source")

    def screenshot(self) -> bytes:
        import base64
        return base64.b64decode(self.s("GET", "/screenshot"))


# Everything the window shows, read in one script (session cards keyed by data-session, in page order).
READ_WINDOW = """
const rows = {};
const order = [];
for (const card of document.querySelectorAll('#sessions .session')) {
  const btn = card.querySelector('button[data-action=refresh]');
  const cd = card.querySelector('.countdown');
  const toggle = card.querySelector('.toggle');
  const details = card.querySelector('.details');
  order.push(card.dataset.session);
  rows[card.dataset.session] = {
    state: card.dataset.state, attention: card.dataset.attention,
    name: card.querySelector('.name').textContent,
    stateText: card.querySelector('.state').textContent,
    expires: cd.dataset.expires, countdown: cd.textContent, clock: card.querySelector('.clock').textContent,
    signIn: (card.querySelector('.sign-in') || {}).textContent || null,
    toggle: toggle.textContent, expanded: toggle.getAttribute('aria-expanded') === 'true',
    detailsShown: !details.hidden && details.getClientRects().length > 0,
    legacy: !!card.querySelector('.legacy'),
    profiles: [...card.querySelectorAll('.profiles li')].map(li => li.textContent),
    servers: [...card.querySelectorAll('.servers li')].map(li =>
      `${li.querySelector('.server-name').textContent} ${li.querySelector('.server-meta').textContent}`),
    serverButtons: [...card.querySelectorAll('.servers li button')].map(b => ({text: b.textContent, title: b.title})),
    button: btn ? {text: btn.textContent, disabled: btn.disabled, session: btn.dataset.session} : null,
  };
}
const p = document.getElementById('prompts');
return {
  rows, order,
  summary: document.getElementById('summary').textContent,
  problemsHidden: document.getElementById('problems').hidden,
  problemsOpen: document.getElementById('problems').open,
  problemsSummary: document.querySelector('#problems summary').textContent,
  diagnostics: [...document.querySelectorAll('#diagnostics li')].map(li => li.textContent),
  diagnosticsHidden: document.getElementById('diagnostics-section').hidden,
  other: [...document.querySelectorAll('#other li')].map(li => li.textContent),
  promptsHidden: p.hidden, promptsText: p.textContent,
  codes: [...p.querySelectorAll('.code')].map(c => c.textContent),
  links: [...p.querySelectorAll('a')].map(a => a.getAttribute('href')),
  copyButtons: [...p.querySelectorAll('button[data-copy]')].map(b => b.textContent),
  settingsInputs: [...document.querySelectorAll('#settings-form [name]')].map(i => i.name),
  settingsShown: !document.getElementById('view-settings').hidden,
  sessionsShown: !document.getElementById('view-sessions').hidden,
};
"""

# Text that overflows its box, words broken across lines, buttons on more than one line: each
# problem found, as a string. Only what is rendered counts. A "word" is a run of letters and digits,
# so a break after "-", "/" or "." is between words; the sign-in link (.prompt-url) may break anywhere.
LAYOUT_PROBLEMS = """
const out = [];
const rendered = e => e.getClientRects().length > 0 && getComputedStyle(e).visibility !== 'hidden';
const name = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
  (e.className && typeof e.className === 'string' ? '.' + e.className.trim().split(/\\s+/).join('.') : '');
const lines = rects => new Set([...rects].filter(r => r.width > 0).map(r => Math.round(r.top))).size;
for (const e of document.querySelectorAll('body *')) {
  if (!rendered(e) || e.closest('.visually-hidden') || e.namespaceURI !== 'http://www.w3.org/1999/xhtml') continue;
  const d = getComputedStyle(e).display;
  if (d !== 'inline' && e.clientWidth > 0 && e.scrollWidth > e.clientWidth + 1 && e.tagName !== 'TEXTAREA') {
    out.push(`overflow: ${name(e)} scrollWidth ${e.scrollWidth} > clientWidth ${e.clientWidth}: ${e.textContent.slice(0, 60)}`);
  }
  if (e.tagName === 'BUTTON' || e.tagName === 'SUMMARY') {
    const r = document.createRange();
    r.selectNodeContents(e);
    if (lines(r.getClientRects()) > 1) out.push(`button on ${lines(r.getClientRects())} lines: ${name(e)} ${e.textContent}`);
  }
}
if (document.documentElement.scrollWidth > innerWidth + 1) {
  out.push(`page scrolls sideways: ${document.documentElement.scrollWidth} > ${innerWidth}`);
}
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
for (let t = walker.nextNode(); t; t = walker.nextNode()) {
  const host = t.parentElement;
  if (!host || !rendered(host) || host.closest('.prompt-url, .visually-hidden, script, style')) continue;
  for (const m of t.data.matchAll(/[\\p{L}\\p{N}]+/gu)) {
    const r = document.createRange();
    r.setStart(t, m.index);
    r.setEnd(t, m.index + m[0].length);
    const n = lines(r.getClientRects());
    if (n > 1) out.push(`word broken over ${n} lines: "${m[0]}" in ${name(host)}`);
  }
}
return out;
"""

# For each session card: is its name, state and action inside the viewport without scrolling?
SESSIONS_IN_VIEW = """
window.scrollTo(0, 0);
const inside = e => { const r = e.getBoundingClientRect();
  return r.width > 0 && r.top >= 0 && r.left >= 0 && r.bottom <= innerHeight + 0.5 && r.right <= innerWidth + 0.5; };
return [...document.querySelectorAll('#sessions .session')].map(c => ({
  key: c.dataset.session, name: inside(c.querySelector('.name')), state: inside(c.querySelector('.state')),
  action: inside(c.querySelector('[data-action=refresh]'))}));
"""


class Driver:
    """tauri-driver (+ WebKitWebDriver) started with the lab's clean environment."""

    def __init__(self, lab: DesktopLab, prefix: list[str] | None = None, **env_extra: str) -> None:
        self.lab = lab
        self.env_extra = env_extra  # reaches the app: WebKitWebDriver starts it with this env
        # Prepended to tauri-driver's command line, so the app it starts runs there too (e.g. the
        # e2e lab's cli_prefix: a mount namespace with AWS CLI 2.36.7 at /usr/local).
        self.prefix = prefix or []
        self.log = lab.root / "tauri-driver.log"
        self.proc: subprocess.Popen | None = None
        self.sessions: list[WebDriver] = []

    def start(self) -> None:
        tauri_driver = need_tool(os.environ.get("TAURI_DRIVER") or str(Path.home() / ".cargo/bin/tauri-driver"),
                                 "cargo install tauri-driver --locked")
        need_tool(WEBKIT_DRIVER, "apt-get install webkit2gtk-driver")
        wait_until(lambda: not _port_open(WEBDRIVER_PORT), 15, f"port {WEBDRIVER_PORT} to be free")
        self.proc = subprocess.Popen(
            [*self.prefix, tauri_driver, "--port", str(WEBDRIVER_PORT), "--native-driver", WEBKIT_DRIVER],
            env=self.lab.app_env(**self.env_extra), cwd=str(self.lab.home), stdin=subprocess.DEVNULL,
            stdout=open(self.log, "w"), stderr=subprocess.STDOUT, start_new_session=True)
        base = f"http://127.0.0.1:{WEBDRIVER_PORT}"

        def ready():
            if self.proc.poll() is not None:
                pytest.fail(f"tauri-driver exited ({self.proc.returncode}): {self.log.read_text()[-2000:]}")
            with contextlib.suppress(OSError, ValueError):
                with urllib.request.urlopen(base + "/status", timeout=2) as r:
                    return r.status == 200
            return False
        wait_until(ready, 30, "tauri-driver GET /status", interval=0.2)
        self.base = base

    def open_window(self, args=("--show",)) -> WebDriver:
        wd = WebDriver(self.base, self.diagnose)
        try:
            wd.start(desktop_binary(), list(args))
        except WebDriverError as e:
            pytest.fail(f"WebDriver session could not start the app: {e}\n"
                        f"tauri-driver log:\n{self.log.read_text()[-3000:]}", pytrace=False)
        self.sessions.append(wd)
        return wd

    def diagnose(self) -> str:
        procs = "\n".join(f"  {pid} {cmd[:120]}" for pid, cmd in self.lab.lab_processes())
        return f"live lab processes:\n{procs}\ntauri-driver log tail:\n{self.log.read_text(errors='replace')[-3000:]}"

    def stop(self) -> None:
        for wd in self.sessions:
            wd.quit()
        if self.proc is not None:
            _stop(self.proc)


def _port_open(port: int) -> bool:
    import socket
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def driver(lab, bus, request):
    # A test marked `@pytest.mark.app_env(RUST_LOG="trace")` starts the app with that env.
    marker = request.node.get_closest_marker("app_env")
    # The CLI and browser a test chose are mounts in the namespace tauri-driver starts in: first.
    for name in ("signs_in", "aws_cli"):
        if name in request.fixturenames:
            request.getfixturevalue(name)
    d = Driver(lab, prefix=lab.cli_prefix, **(marker.kwargs if marker else {}))
    d.start()
    try:
        yield d
    finally:
        d.stop()
        # The app started by WebKitWebDriver must be gone before the next test starts one.
        wait_until(lambda: not [n for n in bus.names() if "SingleInstance" in n], 15,
                   "the WebDriver-launched app to leave the bus")


# The sign-in prompt the window shows for one session, as a person reads it (null while none).
READ_PROMPT = """
const box = document.getElementById('prompts');
const p = [...box.querySelectorAll('.prompt')].find(e => e.dataset.session === arguments[0]);
if (!p || box.hidden) return null;
const code = p.querySelector('.code');
return {link: p.querySelector('a.prompt-url').getAttribute('href'), code: code ? code.textContent : null,
        text: p.textContent};
"""


def sign_in_at_the_window(wd: WebDriver, mock: OidcMock, key: str, timeout: float = 30) -> dict:
    """A person reads the link (and code) the window shows for session `key` and signs in with
    them (follow_sign_in_link, recorded as via="window"). Returns what was shown, and "result"."""
    shown = wait_until(lambda: wd.js(READ_PROMPT, key), timeout, f"the window's sign-in prompt for {key}")
    shown["result"] = follow_sign_in_link(shown["link"], mock.url, code=shown["code"], via="window")
    return shown


def artifacts_dir() -> Path:
    # Never docs/: the README's screenshots are made on purpose, not as a side effect of a test run.
    d = (Path(os.environ["ARTIFACTS_DIR"]) if os.environ.get("ARTIFACTS_DIR")
         else Path(tempfile.gettempdir()) / "aws-sso-tray-artifacts")
    d.mkdir(parents=True, exist_ok=True)
    return d


# ---- the X clipboard, read as another program would (libX11 through ctypes) --------------------

def read_clipboard(display: str, timeout: float = 5.0) -> str | None:
    """The CLIPBOARD selection's text (UTF8_STRING) on `display`, or None when nobody owns it."""
    import ctypes
    import ctypes.util
    x11 = ctypes.CDLL(ctypes.util.find_library("X11") or "libX11.so.6")
    x11.XOpenDisplay.restype = ctypes.c_void_p
    x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
    x11.XDefaultRootWindow.restype = ctypes.c_ulong
    x11.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
    x11.XCreateSimpleWindow.restype = ctypes.c_ulong
    x11.XCreateSimpleWindow.argtypes = [ctypes.c_void_p, ctypes.c_ulong] + [ctypes.c_int] * 2 + \
        [ctypes.c_uint] * 3 + [ctypes.c_ulong] * 2
    x11.XInternAtom.restype = ctypes.c_ulong
    x11.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    x11.XGetSelectionOwner.restype = ctypes.c_ulong
    x11.XGetSelectionOwner.argtypes = [ctypes.c_void_p, ctypes.c_ulong]
    x11.XConvertSelection.argtypes = [ctypes.c_void_p] + [ctypes.c_ulong] * 5
    x11.XFlush.argtypes = [ctypes.c_void_p]
    x11.XPending.argtypes = [ctypes.c_void_p]
    x11.XNextEvent.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    x11.XGetWindowProperty.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_long,
                                       ctypes.c_long, ctypes.c_int, ctypes.c_ulong,
                                       ctypes.POINTER(ctypes.c_ulong), ctypes.POINTER(ctypes.c_int),
                                       ctypes.POINTER(ctypes.c_ulong), ctypes.POINTER(ctypes.c_ulong),
                                       ctypes.POINTER(ctypes.c_void_p)]
    x11.XFree.argtypes = [ctypes.c_void_p]
    x11.XDestroyWindow.argtypes = [ctypes.c_void_p, ctypes.c_ulong]
    x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
    dpy = x11.XOpenDisplay(display.encode())
    assert dpy, f"cannot open X display {display}"
    try:
        win = x11.XCreateSimpleWindow(dpy, x11.XDefaultRootWindow(dpy), 0, 0, 1, 1, 0, 0, 0)
        atom = lambda n: x11.XInternAtom(dpy, n, 0)  # noqa: E731
        clipboard, utf8, prop = atom(b"CLIPBOARD"), atom(b"UTF8_STRING"), atom(b"AWS_SSO_TRAY_TEST")
        if not x11.XGetSelectionOwner(dpy, clipboard):
            return None
        x11.XConvertSelection(dpy, clipboard, utf8, prop, win, 0)  # CurrentTime
        x11.XFlush(dpy)
        event = ctypes.create_string_buffer(192)  # sizeof(XEvent)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            while x11.XPending(dpy):
                x11.XNextEvent(dpy, event)
                if ctypes.c_int.from_buffer(event).value == 31:  # SelectionNotify
                    # XSelectionEvent: type, serial, send_event, display, requestor, selection, target, property
                    got = ctypes.c_ulong.from_buffer(event, 7 * 8).value
                    if not got:
                        return None
                    kind, fmt, n, after, data = (ctypes.c_ulong(), ctypes.c_int(), ctypes.c_ulong(),
                                                 ctypes.c_ulong(), ctypes.c_void_p())
                    x11.XGetWindowProperty(dpy, win, prop, 0, 1 << 20, 1, 0, ctypes.byref(kind),
                                           ctypes.byref(fmt), ctypes.byref(n), ctypes.byref(after),
                                           ctypes.byref(data))
                    try:
                        return ctypes.string_at(data, n.value).decode() if data else ""
                    finally:
                        if data:
                            x11.XFree(data)
            time.sleep(0.02)
        raise AssertionError(f"no SelectionNotify within {timeout}s")
    finally:
        x11.XCloseDisplay(dpy)


def _docs_files() -> dict[str, tuple[int, int]]:
    return {str(f.relative_to(REPO)): (f.stat().st_size, f.stat().st_mtime_ns)
            for f in (REPO / "docs").rglob("*") if f.is_file()}


@pytest.fixture(scope="session", autouse=True)
def docs_untouched():
    """The suite never writes into docs/: its screenshots are made on purpose by screenshots.py."""
    if os.environ.get("AWS_SSO_TRAY_SCREENSHOTS_OUT"):  # screenshots.py, which exists to write there
        yield
        return
    before = _docs_files()
    yield
    after = _docs_files()
    assert after == before, f"the test run changed docs/: {sorted(set(after.items()) ^ set(before.items()))}"


def pytest_configure(config):
    config.addinivalue_line("markers", "app_env(**env): extra environment for the app the driver starts")
