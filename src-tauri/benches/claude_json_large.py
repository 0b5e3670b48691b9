#!/usr/bin/env python3
"""Benchmark: `aws-sso-tray status --json` over a 100 MB `~/.claude.json`.

Claude Code keeps its history in `~/.claude.json`; users report 65-101 MB files
(anthropics/claude-code#6394, #2593). This generates such a file in a throw-away
HOME: 5,000 projects (their folders exist, empty), each with a prompt history, a
few with local MCP servers, plus user servers at the top level, padded to the
requested size. Then it runs `status --json` against it, checks that every
planted server is reported, and measures wall time and peak RSS.

Targets: median wall time <= 500 ms, peak RSS <= 2 x the file size (checked
against the largest peak seen over all runs).

Usage:
    python3 src-tauri/benches/claude_json_large.py [BIN] [-n RUNS] [--mb SIZE]

BIN defaults to $AWS_SSO_TRAY_BIN, then to
$HOME/.cache/aws-sso-tray/target-headless/release/aws-sso-tray, built with:
    CARGO_TARGET_DIR=$HOME/.cache/aws-sso-tray/target-headless \\
        cargo build --release --no-default-features

Exit status: 0 when both targets are met, 1 when one is missed, 2 on error.
Standard library only (Python 3.11+, Linux or macOS).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECTS = 5000
TARGET_MS = 500.0
RSS_FACTOR = 2.0


def default_bin() -> str:
    return os.environ.get("AWS_SSO_TRAY_BIN") or str(
        Path.home() / ".cache/aws-sso-tray/target-headless/release/aws-sso-tray")


def history_entry(p: int, i: int) -> dict:
    text = (f"project {p} prompt {i}: please look at the failing deploy and explain the "
            "CloudFormation error; here is the stack trace \"quoted\" with a \\ backslash "
            "and some unicode: é ü 你好. " * 3)
    return {"display": text, "pastedContents": {"1": {"id": 1, "type": "text", "content": text}}}


def generate(home: Path, size_mb: int) -> tuple[Path, set[str]]:
    """Writes ~/.claude.json of about size_mb MB; returns its path and the planted server names."""
    target = size_mb * 1000 * 1000
    per_project = target // PROJECTS
    sample = json.dumps(history_entry(0, 0))
    entries = max(1, per_project // (len(sample) + 2))
    expected = {"user-aws", "user-plain"}
    path = home / ".claude.json"
    with open(path, "w", encoding="utf-8") as f:
        f.write('{"numStartups": 812, "autoUpdates": true, "tipsHistory": {"a": 1},\n')
        f.write(' "mcpServers": ' + json.dumps({
            "user-aws": {"command": "uvx", "args": ["awslabs.aws-api-mcp-server@latest"],
                         "env": {"AWS_API_MCP_PROFILE_NAME": "dev"}},
            "user-plain": {"command": "npx", "args": ["-y", "some-mcp"]}}) + ',\n')
        f.write(' "projects": {\n')
        for p in range(PROJECTS):
            root = home / "work" / f"p{p:04d}"
            root.mkdir(parents=True, exist_ok=True)
            project = {"allowedTools": [], "history": [history_entry(p, i) for i in range(entries)],
                       "mcpContextUris": [], "mcpServers": {}, "enabledMcpjsonServers": [],
                       "disabledMcpjsonServers": [], "hasTrustDialogAccepted": True,
                       "lastCost": 0.1234, "lastSessionId": f"{p:08d}-0000-0000-0000-000000000000"}
            if p % 500 == 0:
                name = f"local-{p}"
                project["mcpServers"] = {name: {"command": "uvx", "args": ["srv", "--profile", "dev"]}}
                expected.add(name)
            f.write(("," if p else "") + json.dumps(str(root)) + ": " + json.dumps(project) + "\n")
        f.write('},\n "userID": "0123456789abcdef"}\n')
    (home / ".aws").mkdir(exist_ok=True)
    (home / ".aws" / "config").write_text(
        "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = us-east-1\n"
        "[profile dev]\nsso_session = corp\nsso_account_id = 111111111111\nsso_role_name = Dev\n")
    return path, expected


def run_once(binary: str, home: Path) -> tuple[float, int, dict]:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
           "XDG_STATE_HOME": str(home / ".state"), "AWS_CONFIG_FILE": str(home / ".aws" / "config")}
    start = time.perf_counter()
    proc = subprocess.Popen([binary, "status", "--json"], env=env, cwd=str(home),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.stdout.read(), proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = (time.perf_counter() - start) * 1000
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"status --json exited {proc.returncode}: {err.decode(errors='replace')}")
    # ru_maxrss is KiB on Linux, bytes on macOS.
    rss = usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024)
    return elapsed, rss, json.loads(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("binary", nargs="?", default=default_bin())
    ap.add_argument("-n", "--runs", type=int, default=10)
    ap.add_argument("--mb", type=int, default=100, help="file size in MB (default 100)")
    args = ap.parse_args()
    if not os.access(args.binary, os.X_OK):
        print(f"not an executable: {args.binary}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="claude-json-bench-") as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        t0 = time.perf_counter()
        path, expected = generate(home, args.mb)
        size = path.stat().st_size
        print(f"generated {path.name}: {size / 1e6:.1f} MB, {PROJECTS} projects "
              f"({time.perf_counter() - t0:.1f} s)")
        try:
            run_once(args.binary, home)  # warm the page cache
            times, peaks = [], []
            for _ in range(args.runs):
                ms, rss, doc = run_once(args.binary, home)
                times.append(ms)
                peaks.append(rss)
        except RuntimeError as e:
            print(e, file=sys.stderr)
            return 2
        found = {s["name"] for s in doc["servers"]}
        if found != expected:
            print(f"wrong servers: missing {sorted(expected - found)}, extra {sorted(found - expected)}",
                  file=sys.stderr)
            return 2
        if doc["diagnostics"]:
            print(f"unexpected diagnostics: {doc['diagnostics']}", file=sys.stderr)
            return 2
        median = statistics.median(times)
        peak = max(peaks)
        print(f"status --json, {args.runs} runs: median {median:.0f} ms "
              f"(min {min(times):.0f}, max {max(times):.0f}); peak RSS {peak / 2**20:.1f} MiB "
              f"= {peak / size:.2f} x file size; {len(found)} servers found")
        ok = median <= TARGET_MS and peak <= RSS_FACTOR * size
        print(f"targets: median <= {TARGET_MS:.0f} ms, peak RSS <= {RSS_FACTOR:.0f} x file size: "
              + ("met" if ok else "MISSED"))
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
