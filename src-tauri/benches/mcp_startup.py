#!/usr/bin/env python3
"""Startup benchmark for `aws-sso-tray --mcp`.

Each run spawns the MCP server, performs the client side of the MCP handshake
over stdio (newline-delimited JSON-RPC):

    initialize  ->  (reply)  ->  notifications/initialized  ->  tools/list  ->  (reply)

and measures the wall time from just before the spawn until the tools/list
reply has been read. Then stdin is closed and the child is reaped;
its peak resident set size is recorded (VmHWM from /proc on Linux, taken at the tools/list reply;
ru_maxrss from os.wait4() elsewhere).

Targets: median time <= 8 ms, peak RSS <= 10 MiB (checked against the largest
peak seen over all runs).

The server runs with a throw-away, empty HOME (and XDG/AWS paths inside it)
and that directory as its working directory, so the numbers do not depend on
the AWS config or MCP client files of whoever runs the benchmark. Use --home
to point it at a prepared directory instead.

Usage:
    python3 src-tauri/benches/mcp_startup.py [BIN] [-n RUNS] [--home DIR]

BIN defaults to $AWS_SSO_TRAY_BIN, then to
$HOME/.cache/aws-sso-tray/target-headless/release/aws-sso-tray, built with:
    CARGO_TARGET_DIR=$HOME/.cache/aws-sso-tray/target-headless \
        cargo build --release --no-default-features

Exit status: 0 when both targets are met, 1 when one is missed, 2 on error.
Standard library only (Python 3.11+).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import selectors
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

PROTOCOL_VERSION = "2025-06-18"
TARGET_MEDIAN_MS = 8.0
TARGET_RSS_KIB = 10 * 1024  # 10 MiB
EXPECTED_TOOLS = ("refresh_aws_sso_token", "get_aws_sso_status")
DEFAULT_BIN = "~/.cache/aws-sso-tray/target-headless/release/aws-sso-tray"


class BenchError(Exception):
    """A run did not complete the handshake."""


@dataclass
class RunResult:
    startup_ms: float  # spawn -> tools/list reply
    exit_ms: float  # stdin EOF -> process reaped
    peak_rss_kib: int
    tools: list[str]


def encode(msg: dict) -> bytes:
    return (json.dumps(msg, separators=(",", ":")) + "\n").encode()


INITIALIZE = encode(
    {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": PROTOCOL_VERSION,
            "capabilities": {},
            "clientInfo": {"name": "aws-sso-tray-startup-bench", "version": "1.0.0"},
        },
    }
)
INITIALIZED = encode({"jsonrpc": "2.0", "method": "notifications/initialized"})
TOOLS_LIST = encode({"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}})


class LineReader:
    """Reads newline-terminated JSON-RPC messages from a pipe with a deadline."""

    def __init__(self, fd: int):
        self.fd = fd
        self.buf = b""
        self.sel = selectors.DefaultSelector()
        self.sel.register(fd, selectors.EVENT_READ)

    def close(self) -> None:
        self.sel.close()

    def read_line(self, deadline: float) -> bytes:
        while b"\n" not in self.buf:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                raise BenchError("timed out waiting for a reply")
            if not self.sel.select(remaining):
                continue
            chunk = os.read(self.fd, 65536)
            if not chunk:
                raise BenchError("server closed stdout before replying")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line

    def read_response(self, req_id: int, deadline: float) -> dict:
        """Returns the response with id `req_id`, skipping notifications/requests."""
        while True:
            line = self.read_line(deadline).strip()
            if not line:
                continue
            try:
                msg = json.loads(line)
            except json.JSONDecodeError as exc:
                raise BenchError(f"non-JSON line on stdout: {line[:200]!r}") from exc
            if msg.get("id") != req_id or "method" in msg:
                continue
            if "error" in msg:
                raise BenchError(f"request {req_id} failed: {json.dumps(msg['error'])}")
            if "result" not in msg:
                raise BenchError(f"response {req_id} has no result: {line[:200]!r}")
            return msg["result"]


def reap(pid: int, timeout: float) -> tuple[int, object, bool]:
    """wait4() the child; kills it after `timeout` s. Returns (status, rusage, killed)."""
    deadline = time.perf_counter() + timeout
    killed = False
    while True:
        wpid, status, rusage = os.wait4(pid, os.WNOHANG)
        if wpid == pid:
            return status, rusage, killed
        if not killed and time.perf_counter() >= deadline:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                os.kill(pid, signal.SIGKILL)
            killed = True
        time.sleep(0.0005)


def vm_hwm_kib(pid: int) -> int | None:
    """The child's own peak RSS since exec (Linux). ru_maxrss would also count the memory of the
    forked Python process before exec, which is larger than the server itself."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def kib_from_maxrss(maxrss: int) -> int:
    # Linux reports ru_maxrss in KiB, macOS in bytes.
    return maxrss // 1024 if sys.platform == "darwin" else maxrss


def one_run(binary: str, env: dict, cwd: str, timeout: float) -> RunResult:
    with tempfile.TemporaryFile() as errf:
        t0 = time.perf_counter()
        try:
            proc = subprocess.Popen(
                [binary, "--mcp"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=errf,
                env=env,
                cwd=cwd,
                bufsize=0,
                start_new_session=True,  # own process group, so a hung run can be killed whole
            )
        except OSError as exc:
            raise BenchError(f"cannot start {binary}: {exc}") from exc
        reader = LineReader(proc.stdout.fileno())
        deadline = t0 + timeout
        error: Exception | None = None
        tools: list[str] = []
        startup_ms = exit_ms = math.nan
        hwm_kib = None
        try:
            proc.stdin.write(INITIALIZE)
            init = reader.read_response(1, deadline)
            if "protocolVersion" not in init:
                raise BenchError("initialize result has no protocolVersion")
            proc.stdin.write(INITIALIZED + TOOLS_LIST)
            listed = reader.read_response(2, deadline)
            startup_ms = (time.perf_counter() - t0) * 1000.0
            tools = [t.get("name", "?") for t in listed.get("tools", [])]
            hwm_kib = vm_hwm_kib(proc.pid)
        except (BenchError, BrokenPipeError, OSError) as exc:
            error = exc
        finally:
            t_eof = time.perf_counter()
            try:
                proc.stdin.close()
            except OSError:
                pass
            status, rusage, killed = reap(proc.pid, 0.2 if error else 5.0)
            exit_ms = (time.perf_counter() - t_eof) * 1000.0
            proc.returncode = os.waitstatus_to_exitcode(status)  # already reaped
            reader.close()
            proc.stdout.close()

        if error is None and killed:
            error = BenchError("server did not exit within 5 s after stdin EOF")
        if error is not None:
            errf.seek(0)
            tail = errf.read()[-2000:].decode(errors="replace").strip()
            detail = f"\n--- server stderr (tail) ---\n{tail}" if tail else ""
            raise BenchError(f"{error} (exit code {proc.returncode}){detail}")
        peak = hwm_kib if hwm_kib is not None else kib_from_maxrss(rusage.ru_maxrss)
        return RunResult(startup_ms, exit_ms, peak, tools)


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100.0 * len(ordered)))
    return ordered[rank - 1]


def resolve_binary(arg: str | None) -> Path:
    raw = arg or os.environ.get("AWS_SSO_TRAY_BIN") or DEFAULT_BIN
    return Path(os.path.expanduser(raw)).resolve()


def bench_env(home: Path) -> dict:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "AWS_CONFIG_FILE": str(home / ".aws" / "config"),
        "LANG": "C.UTF-8",
    }
    if "RUST_LOG" in os.environ:  # opt-in diagnostics; logs go to stderr
        env["RUST_LOG"] = os.environ["RUST_LOG"]
    return env


def main() -> int:
    ap = argparse.ArgumentParser(
        description="Measure `aws-sso-tray --mcp` time-to-tools/list and peak RSS."
    )
    ap.add_argument(
        "binary",
        nargs="?",
        help="path to aws-sso-tray (default: $AWS_SSO_TRAY_BIN, then " + DEFAULT_BIN + ")",
    )
    ap.add_argument("-n", "--runs", type=int, default=50, help="measured runs (default 50)")
    ap.add_argument("--warmup", type=int, default=2, help="unmeasured runs first (default 2)")
    ap.add_argument(
        "--home",
        metavar="DIR",
        help="HOME (and working directory) for the server; default: a new empty temp dir",
    )
    ap.add_argument(
        "--timeout", type=float, default=10.0, help="seconds allowed per handshake (default 10)"
    )
    ap.add_argument("--json", action="store_true", help="also print the summary as JSON")
    args = ap.parse_args()

    if args.runs < 1 or args.warmup < 0:
        ap.error("--runs must be >= 1 and --warmup >= 0")

    binary = resolve_binary(args.binary)
    if not (binary.is_file() and os.access(binary, os.X_OK)):
        print(
            f"error: no executable at {binary}\n"
            "build it with:\n"
            "  CARGO_TARGET_DIR=$HOME/.cache/aws-sso-tray/target-headless "
            "cargo build --release --no-default-features\n"
            "or pass the path as an argument / in AWS_SSO_TRAY_BIN",
            file=sys.stderr,
        )
        return 2

    with tempfile.TemporaryDirectory(prefix="aws-sso-tray-bench-") as tmp:
        home = Path(args.home).expanduser().resolve() if args.home else Path(tmp)
        if not home.is_dir():
            print(f"error: --home {home} is not a directory", file=sys.stderr)
            return 2
        env = bench_env(home)

        results: list[RunResult] = []
        try:
            for _ in range(args.warmup):
                one_run(str(binary), env, str(home), args.timeout)
            for _ in range(args.runs):
                results.append(one_run(str(binary), env, str(home), args.timeout))
        except BenchError as exc:
            print(f"error: run {len(results) + 1} failed: {exc}", file=sys.stderr)
            return 2

    times = [r.startup_ms for r in results]
    rss = [r.peak_rss_kib for r in results]
    exits = [r.exit_ms for r in results]
    med_t, p90_t, max_t = statistics.median(times), percentile(times, 90), max(times)
    med_rss, max_rss = statistics.median(rss), max(rss)
    time_ok = med_t <= TARGET_MEDIAN_MS
    rss_ok = max_rss <= TARGET_RSS_KIB

    def verdict(ok: bool) -> str:
        return "PASS" if ok else "MISS"

    tools = results[-1].tools
    missing = [t for t in EXPECTED_TOOLS if t not in tools]

    print(f"binary : {binary}")
    print(f"home   : {home if args.home else '(empty temp dir)'}")
    print(f"runs   : {len(results)} measured, {args.warmup} warm-up")
    print(f"tools  : {', '.join(tools) or '(none)'}")
    print()
    print("spawn -> tools/list reply")
    print(f"  median {med_t:8.2f} ms   target <= {TARGET_MEDIAN_MS:g} ms   {verdict(time_ok)}")
    print(f"  p90    {p90_t:8.2f} ms")
    print(f"  max    {max_t:8.2f} ms")
    print("peak RSS (VmHWM at the tools/list reply on Linux, else ru_maxrss)")
    print(f"  median {med_rss / 1024:8.2f} MiB")
    print(
        f"  max    {max_rss / 1024:8.2f} MiB   target <= {TARGET_RSS_KIB / 1024:g} MiB  "
        f"{verdict(rss_ok)}"
    )
    print("stdin EOF -> exit")
    print(f"  median {statistics.median(exits):8.2f} ms   max {max(exits):.2f} ms")
    if missing:
        print(f"\nwarning: tools/list lacks {', '.join(missing)}", file=sys.stderr)

    if args.json:
        print(
            json.dumps(
                {
                    "binary": str(binary),
                    "runs": len(results),
                    "startup_ms": {"median": med_t, "p90": p90_t, "max": max_t},
                    "peak_rss_kib": {"median": med_rss, "max": max_rss},
                    "exit_after_eof_ms": {"median": statistics.median(exits), "max": max(exits)},
                    "targets": {
                        "median_ms": TARGET_MEDIAN_MS,
                        "peak_rss_kib": TARGET_RSS_KIB,
                        "time_pass": time_ok,
                        "rss_pass": rss_ok,
                    },
                    "tools": tools,
                }
            )
        )
    return 0 if time_ok and rss_ok and not missing else 1


if __name__ == "__main__":
    sys.exit(main())
