#!/usr/bin/env python3
"""Probe-load benchmark (issue: maglevd core): N HTTP backends on distinct
127.x.y.z addresses, all served by one local HTTP server, checked every 1 s,
first by maglevd and then by HAProxy (`check inter 1s`) against the same
server. Prints, per N: achieved vs scheduled probe rate, CPU seconds per
1,000 probes, CPU share of one core, resident memory per backend, and the
CPU ratio maglevd / HAProxy. Numbers only; no pass/fail.

usage: bench/probe_load/run.py [--build build] [--sizes 1000,10000]
                               [--warmup 8] [--window 20]
"""

import argparse
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


def addr(i):
    return f"127.1.{i // 250}.{i % 250 + 1}"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def read_count(path):
    try:
        with open(path) as f:
            return int(f.read().strip() or 0)
    except (OSError, ValueError):
        return 0


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 65536 if hard == resource.RLIM_INFINITY else min(65536, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, want), hard))


def maglevd_config(n, port):
    lines = ["maglev:", "  vpp:", "    lb:", "      ipv4-src-address: 192.0.2.1",
             "  healthchecks:", "    hc:", "      type: http", f"      port: {port}",
             "      interval: 1s", "      timeout: 1s", "      rise: 2", "      fall: 3",
             "      http:", "        path: /healthz", "  backends:"]
    lines += [f"    b{i}: {{ address: {addr(i)}, healthcheck: hc }}" for i in range(n)]
    lines += ["  frontends:"]
    # 100 backends per frontend (one pool each).
    for f in range((n + 99) // 100):
        lines += [f"    fe{f}:", f"      address: 192.0.{2 + f // 250}.{f % 250 + 1}",
                  "      port: 80", "      pools:", "        - name: main", "          backends:"]
        lines += [f"            b{i}: {{}}" for i in range(f * 100, min(n, f * 100 + 100))]
    return "\n".join(lines) + "\n"


def haproxy_config(n, port):
    lines = ["global", "  maxconn 4000", "  nbthread 1", "defaults", "  mode http",
             "  timeout connect 1s", "  timeout check 1s", "  timeout client 5s",
             "  timeout server 5s",
             # HAProxy refuses to start without a listener; nothing connects to it.
             "frontend fe", f"  bind 127.0.0.1:{free_port()}", "  default_backend be",
             "backend be", "  option httpchk",
             "  http-check send meth GET uri /healthz ver HTTP/1.1 hdr Host bench",
             "  http-check expect status 200",
             "  default-server check inter 1s rise 2 fall 3"]
    lines += [f"  server s{i} {addr(i)}:{port}" for i in range(n)]
    return "\n".join(lines) + "\n"


def measure(proc, count_file, warmup, window):
    time.sleep(warmup)
    if proc.poll() is not None:
        raise RuntimeError(f"{proc.args[0]} exited early with {proc.returncode}")
    c0, t0, p0 = cpu_seconds(proc.pid), time.monotonic(), read_count(count_file)
    time.sleep(window)
    c1, t1, p1 = cpu_seconds(proc.pid), time.monotonic(), read_count(count_file)
    return {"cpu": c1 - c0, "wall": t1 - t0, "probes": p1 - p0, "rss_kib": rss_kib(proc.pid)}


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run_maglevd(build, n, port, count_file, tmp, warmup, window):
    cfg = os.path.join(tmp, f"maglev-{n}.yaml")
    with open(cfg, "w") as f:
        f.write(maglevd_config(n, port))
    proc = subprocess.Popen(
        [os.path.join(build, "bin", "maglevd"), "--config", cfg, "--grpc-addr",
         f"127.0.0.1:{free_port()}", "--metrics-addr", "", "--vpp-api-addr", "",
         "--log-level", "warn"], preexec_fn=raise_nofile, stdout=subprocess.DEVNULL)
    try:
        return measure(proc, count_file, warmup, window)
    finally:
        stop(proc)


def run_haproxy(n, port, count_file, tmp, warmup, window):
    cfg = os.path.join(tmp, f"haproxy-{n}.cfg")
    with open(cfg, "w") as f:
        f.write(haproxy_config(n, port))
    proc = subprocess.Popen(["haproxy", "-db", "-f", cfg], preexec_fn=raise_nofile,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        return measure(proc, count_file, warmup, window)
    finally:
        stop(proc)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(os.path.dirname(__file__), "..", "..",
                                                    "build"))
    ap.add_argument("--sizes", default="1000,10000")
    ap.add_argument("--warmup", type=float, default=8)
    ap.add_argument("--window", type=float, default=20)
    ap.add_argument("--no-haproxy", action="store_true")
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    sizes = [int(s) for s in args.sizes.split(",")]
    have_haproxy = shutil.which("haproxy") is not None and not args.no_haproxy

    tmp = tempfile.mkdtemp(prefix="maglev-bench-")
    port = free_port()
    count_file = os.path.join(tmp, "count")
    server = subprocess.Popen([os.path.join(build, "bin", "bench_http_server"), str(port),
                               count_file], preexec_fn=raise_nofile)
    print(f"probe-load benchmark: interval 1s, warmup {args.warmup}s, window {args.window}s, "
          f"{os.cpu_count()} cores")
    try:
        # Baseline: the daemon with one backend, for the per-backend delta.
        base = run_maglevd(build, 1, port, count_file, tmp, 2, 1)["rss_kib"]
        print(f"maglevd baseline RSS (1 backend): {base} KiB")
        for n in sizes:
            m = run_maglevd(build, n, port, count_file, tmp, args.warmup, args.window)
            sched = n * m["wall"]
            print(f"\nN = {n}")
            print(f"  maglevd: probes {m['probes']} of {sched:.0f} scheduled "
                  f"({100 * m['probes'] / sched:.2f}%), CPU {m['cpu']:.2f}s in {m['wall']:.1f}s "
                  f"= {100 * m['cpu'] / m['wall']:.1f}% of one core, "
                  f"{1000 * m['cpu'] / max(m['probes'], 1):.4f} CPU-s per 1,000 probes")
            print(f"  maglevd: RSS {m['rss_kib']} KiB = {1024 * m['rss_kib'] / n:.0f} B/backend "
                  f"total, {1024 * (m['rss_kib'] - base) / n:.0f} B/backend above baseline")
            if have_haproxy:
                h = run_haproxy(n, port, count_file, tmp, args.warmup, args.window)
                sched_h = n * h["wall"]
                print(f"  haproxy: probes {h['probes']} of {sched_h:.0f} scheduled "
                      f"({100 * h['probes'] / sched_h:.2f}%), CPU {h['cpu']:.2f}s in "
                      f"{h['wall']:.1f}s = {100 * h['cpu'] / h['wall']:.1f}% of one core, "
                      f"{1000 * h['cpu'] / max(h['probes'], 1):.4f} CPU-s per 1,000 probes, "
                      f"RSS {h['rss_kib']} KiB")
                per_m = m["cpu"] / max(m["probes"], 1)
                per_h = h["cpu"] / max(h["probes"], 1)
                print(f"  CPU ratio maglevd/haproxy (per probe): {per_m / per_h:.2f}")
    finally:
        stop(server)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
