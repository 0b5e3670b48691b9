#!/usr/bin/env python3
"""Soak benchmark of the tray app (release build): file churn for a long time, then a burst.

    python3 src-tauri/benches/tray_soak.py [BIN] [--minutes 30] [--hz 5] [--burst 1000]

1. Burst: BURST file events as fast as Python can write them (client configs and token files
   rewritten in turn, the last write adding a server). Reports how many inventory rebuilds they
   cost (the app logs each rebuild at debug level) and how long until the menu showed the last write.
2. Soak: for MINUTES, a writer rewrites client configs and SSO cache files HZ times a second
   (atomically, like the CLI and editors, and in place, like some editors). RSS and anonymous
   memory are sampled every 10 s; start, end and peak are reported.
3. End: one last change (a new server and a new expiry) must reach the menu, and the app must
   still be alive with no panic in its log.

Needs Xvfb, dbus-daemon and the Python package dbus-fast, like tray_idle.py. Exit status 1 if the
app died, panicked or missed the final update; the numbers themselves are for people to judge.
"""
import argparse
import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "desktop"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import conftest as desk  # noqa: E402  (the desktop tests' D-Bus helpers: Bus, TrayHost)
from tray_idle import cpu_seconds, make_home, private_desktop, status_kib  # noqa: E402

SESSIONS = ["alpha", "bravo", "charlie"]


class Churn:
    """Rewrites the home's files the way the tools that own them do."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.n = 0
        self.claude = json.loads((home / ".claude.json").read_text())
        (home / ".cursor").mkdir(exist_ok=True)

    def token(self, session: str, expires: dt.datetime) -> None:
        path = self.home / ".aws/sso/cache" / (hashlib.sha1(session.encode()).hexdigest() + ".json")
        body = {"startUrl": f"https://{session}.awsapps.com/start", "region": "us-east-1",
                "accessToken": "soak", "expiresAt": expires.strftime("%Y-%m-%dT%H:%M:%SZ")}
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(body))
        tmp.replace(path)   # botocore writes a temp file and renames it

    def claude_json(self, extra: str | None = None) -> None:
        servers = dict(self.claude["mcpServers"])
        servers["churn"] = {"command": "churn", "args": [str(self.n)], "env": {"AWS_PROFILE": "alpha-dev"}}
        if extra:
            servers[extra] = {"command": extra, "env": {"AWS_PROFILE": "alpha-dev"}}
        (self.home / ".claude.json").write_text(json.dumps({"mcpServers": servers}))  # in place

    def cursor(self) -> None:
        path = self.home / ".cursor/mcp.json"
        tmp = path.with_suffix(".swp")
        tmp.write_text(json.dumps({"mcpServers": {"cursor-kb": {
            "command": "uvx", "args": [str(self.n)], "env": {"AWS_PROFILE": "bravo-dev"}}}}))
        tmp.replace(path)

    def step(self) -> None:
        self.n += 1
        kind = self.n % 3
        if kind == 0:
            self.claude_json()
        elif kind == 1:
            self.cursor()
        else:
            session = SESSIONS[self.n % len(SESSIONS)]
            self.token(session, dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=8, seconds=self.n % 600))


def rebuilds(log: Path) -> int:
    """The app's own count of inventory rebuilds, from its last 'inventory rebuilt' log line."""
    last = 0
    with open(log, errors="replace") as f:
        for line in f:
            if "inventory rebuilt" in line and "rebuilds=" in line:
                last = int(line.split("rebuilds=", 1)[1].split()[0])
    return last


def wait_server(host, name: str, timeout: float) -> float | None:
    want = f"Server {name} (Claude Code)"
    t0 = time.perf_counter()
    seen = host.wait_menu(lambda t: "alpha" in desk.session_menus(t)
                          and want in desk.session_menus(t)["alpha"].labels(), timeout, want, fail=False)
    return None if seen is None else time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("binary", nargs="?", default=os.environ.get("AWS_SSO_TRAY_DESKTOP_BIN",
                    str(Path.home() / ".cache/aws-sso-tray/target-desktop/release/aws-sso-tray")))
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--hz", type=float, default=5, help="file writes per second during the soak")
    ap.add_argument("--burst", type=int, default=1000, help="file events in the burst")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="tray-soak-") as tmp, \
            private_desktop(Path(tmp), make_home(Path(tmp)), "warn,aws_sso_tray=debug") as (env, _, _, host):
        root = Path(tmp)
        home = Path(env["HOME"])
        log = root / "app.log"
        app = subprocess.Popen([args.binary], env=env, stderr=open(log, "w"), stdout=subprocess.DEVNULL)
        churn = Churn(home)
        try:
            host.wait_menu(lambda t: t.find("Quit") is not None, 30, "the tray menu with its Quit item")
            time.sleep(3)

            # 1. Burst.
            before = rebuilds(log)
            t0 = time.perf_counter()
            for _ in range(args.burst - 1):
                churn.step()
            churn.claude_json(extra="burst-final")
            burst_s = time.perf_counter() - t0
            shown_after = wait_server(host, "burst-final", 20)
            time.sleep(2)  # any rebuild still due from the burst lands now
            burst_rebuilds = rebuilds(log) - before

            # 2. Soak.
            start_rss, start_anon = status_kib(app.pid, "VmRSS"), status_kib(app.pid, "RssAnon")
            peak_rss, samples = start_rss, []
            soak_before, writes = rebuilds(log), 0
            cpu0, wall0 = cpu_seconds(app.pid), time.monotonic()
            end = time.monotonic() + args.minutes * 60
            next_sample = time.monotonic() + 10
            period = 1 / args.hz
            while time.monotonic() < end and app.poll() is None:
                churn.step()
                writes += 1
                time.sleep(period)
                if time.monotonic() >= next_sample:
                    rss = status_kib(app.pid, "VmRSS")
                    samples.append((rss, status_kib(app.pid, "RssAnon")))
                    peak_rss = max(peak_rss, rss)
                    next_sample += 10
            alive = app.poll() is None
            end_rss = status_kib(app.pid, "VmRSS") if alive else 0
            end_anon = status_kib(app.pid, "RssAnon") if alive else 0
            soak_rebuilds = rebuilds(log) - soak_before
            soak_cpu = 100 * (cpu_seconds(app.pid) - cpu0) / (time.monotonic() - wall0) if alive else 0

            # 3. The last change must show.
            final = f"soak-final-{churn.n}"
            churn.claude_json(extra=final)
            final_s = wait_server(host, final, 10) if alive else None
        finally:
            app.kill()
            app.wait()
        text = log.read_text(errors="replace")
        panicked = "panicked" in text

    mib = lambda kib: f"{kib / 1024:.1f} MiB"  # noqa: E731
    print(f"binary: {args.binary}")
    print(f"burst: {args.burst} file writes in {burst_s:.2f} s -> {burst_rebuilds} inventory rebuilds; "
          f"last write shown after {'%.2f s' % shown_after if shown_after is not None else 'NEVER'}")
    print(f"soak: {args.minutes:g} min, {writes} writes ({args.hz:g}/s) -> {soak_rebuilds} rebuilds, "
          f"app CPU {soak_cpu:.1f} %")
    print(f"  RSS        start {mib(start_rss)}  end {mib(end_rss)}  peak {mib(peak_rss)}")
    print(f"  anonymous  start {mib(start_anon)}  end {mib(end_anon)}")
    if samples:
        q = len(samples) // 4 or 1
        print("  RSS by quarter: " + ", ".join(mib(sum(r for r, _ in part) / len(part))
                                               for part in (samples[i:i + q] for i in range(0, len(samples), q)) if part))
    print(f"end: app alive {alive}, panic in log {panicked}, final update shown "
          f"{'after %.2f s' % final_s if final_s is not None else 'NEVER'}")
    ok = alive and not panicked and final_s is not None and shown_after is not None
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
