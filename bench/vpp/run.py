#!/usr/bin/env python3
"""VPP benchmarks (docs/benchmarks.md, section VPP). Runs, in order:

1. bench_vpp_sync: a full sync of 1,000 VIPs x 32 ASes into an empty
   maglev-vppsim, pipelined (one LbClient::Execute batch) vs one request at a
   time, and through the Reconciler (then an idle full sync);
2. idle periodic syncs of a real maglevd with 1,000 frontends x 32 backends
   (32 TCP-checked backends on 127.2.0.x, each in every frontend: 32,000
   ASes) against a real maglev-vppsim at debug level: maglevd's
   maglev_vpp_mutating_calls_total and maglev_vpp_sync_runs_total{kind="full"}
   and the simulator's log of mutating calls over several sync intervals;
3. bench_vpp_latency: 10,000 backends, 1,000 flipped down 10 ms apart,
   latency from the transition to the lb_as_set_weight leaving maglevd.

Numbers only, no pass/fail.

usage: python3 bench/vpp/run.py [--build build] [--syncs 5] [--interval 1s]
                                [--skip-sync] [--skip-idle] [--skip-latency]
"""

import argparse
import os
import re
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scrape(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)$', line)
        if m:
            out[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return out


class Acceptors:
    """TCP listeners on many loopback addresses that accept and close."""

    def __init__(self, addrs, port):
        self.sel = selectors.DefaultSelector()
        self.socks = []
        for a in addrs:
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((a, port))
            s.listen(128)
            s.setblocking(False)
            self.sel.register(s, selectors.EVENT_READ)
            self.socks.append(s)
        self.stopping = False
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self):
        while not self.stopping:
            for key, _ in self.sel.select(0.2):
                try:
                    c, _ = key.fileobj.accept()
                    c.close()
                except OSError:
                    pass

    def stop(self):
        self.stopping = True
        self.thread.join(2)
        for s in self.socks:
            s.close()


class LineCounter:
    """Reads a child's stderr; counts the simulator's mutating-call records."""

    MUTATING = re.compile(r'"msg":"vppsim-lb-(conf|add-del-vip|add-del-vip-v2|add-del-as|'
                          r'add-del-as-v2|as-set-weight|flush-vip|add-del-intf-nat[46])"')

    def __init__(self, stream):
        self.count = 0
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.read, args=(stream,), daemon=True)
        self.thread.start()

    def read(self, stream):
        for line in stream:
            if self.MUTATING.search(line):
                with self.lock:
                    self.count += 1

    def value(self):
        with self.lock:
            return self.count


def idle_config(frontends, backends, port, interval):
    lines = ["maglev:", "  vpp:", "    lb:", "      ipv4-src-address: 192.0.2.1",
             f"      sync-interval: {interval}", "      startup-min-delay: 0s",
             "      startup-max-delay: 0s", "  healthchecks:", "    hc:", "      type: tcp",
             f"      port: {port}", "      interval: 1s", "      timeout: 500ms",
             "  backends:"]
    for i in range(backends):
        lines.append(f"    b{i}: {{ address: 127.2.0.{i + 1}, healthcheck: hc }}")
    lines.append("  frontends:")
    for f in range(frontends):
        lines += [f"    fe{f}:", f"      address: 198.18.{f // 256}.{f % 256}", "      port: 80",
                  "      pools:", "        - name: main", "          backends:"]
        lines += [f"            b{i}: {{}}" for i in range(backends)]
    return "\n".join(lines) + "\n"


def wait(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.1)
    raise SystemExit(f"timed out waiting for {what}")


def run_idle(bin_dir, syncs, interval, frontends=1000, backends=32):
    tmp = tempfile.mkdtemp(prefix="maglev-bench-idle-")
    sock = os.path.join(tmp, "vpp.sock")
    port = free_port()
    acc = Acceptors([f"127.2.0.{i + 1}" for i in range(backends)], port)
    cfg = os.path.join(tmp, "maglev.yaml")
    with open(cfg, "w") as f:
        f.write(idle_config(frontends, backends, port, interval))
    sim = subprocess.Popen([os.path.join(bin_dir, "maglev-vppsim"), "--socket", sock,
                            "--log-level", "debug"], stderr=subprocess.PIPE, text=True)
    counter = LineCounter(sim.stderr)
    wait(lambda: os.path.exists(sock), 10, "the simulator")
    mport = free_port()
    log = open(os.path.join(tmp, "maglevd.log"), "w")
    d = subprocess.Popen([os.path.join(bin_dir, "maglevd"), "--config", cfg, "--grpc-addr",
                          f"127.0.0.1:{free_port()}", "--metrics-addr", f"127.0.0.1:{mport}",
                          "--vpp-api-addr", sock], stderr=log, stdout=log)
    try:
        def metrics():
            try:
                return scrape(mport)
            except OSError:
                return None

        want = 1 + frontends + frontends * backends  # conf + VIPs + ASes
        t0 = time.monotonic()
        # Programmed: every AS added and every backend's weight raised.
        wait(lambda: (metrics() or {}).get("maglev_vpp_mutating_calls_total", 0) >= want, 120,
             "the initial sync")
        last = [None]

        def stable():
            m = metrics()
            v = m["maglev_vpp_mutating_calls_total"]
            same = v == last[0]
            last[0] = v
            if same:
                time.sleep(2 * parse_seconds(interval))
                return metrics()["maglev_vpp_mutating_calls_total"] == v
            return False

        wait(stable, 120, "the dataplane to settle")
        ready = time.monotonic() - t0
        m0 = metrics()
        sim0 = counter.value()
        cpu0 = cpu_seconds(d.pid)
        key_runs = 'maglev_vpp_sync_runs_total{kind="full"}'
        key_secs = 'maglev_vpp_sync_duration_seconds_total{kind="full"}'
        wait(lambda: metrics()[key_runs] >= m0[key_runs] + syncs,
             syncs * parse_seconds(interval) * 3 + 60, f"{syncs} full syncs")
        m1 = metrics()
        cpu1 = cpu_seconds(d.pid)
        sim1 = counter.value()
        runs = m1[key_runs] - m0[key_runs]
        print(f"maglevd with {frontends} frontends x {backends} backends ({frontends * backends} "
              f"ASes), sync-interval {interval}; programmed and settled after {ready:.1f}s "
              f"({int(m0['maglev_vpp_mutating_calls_total'])} mutating calls)")
        print(f"  full syncs observed:                  {int(runs)}")
        mutating = m1["maglev_vpp_mutating_calls_total"] - m0["maglev_vpp_mutating_calls_total"]
        print(f"  maglev_vpp_mutating_calls_total delta: {int(mutating)}")
        print(f"  simulator's mutating-call log lines:   {sim1 - sim0}")
        print(f"  mean full sync duration:               "
              f"{(m1[key_secs] - m0[key_secs]) / runs * 1000:.1f} ms")
        print(f"  maglevd CPU per full sync:             {(cpu1 - cpu0) / runs * 1000:.1f} ms "
              f"(includes {backends} TCP probes/s)")
        print(f"  sync failures:                         "
              f"{int(m1['maglev_vpp_sync_failures_total'] - m0['maglev_vpp_sync_failures_total'])}")
        sys.stdout.flush()
    finally:
        d.send_signal(signal.SIGTERM)
        d.wait(30)
        log.close()
        sim.send_signal(signal.SIGTERM)
        sim.wait(30)
        acc.stop()


def parse_seconds(text):
    total = 0.0
    for num, unit in re.findall(r"([\d.]+)(ms|s|m|h)", text):
        total += float(num) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]
    return total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--syncs", type=int, default=5)
    ap.add_argument("--interval", default="1s")
    ap.add_argument("--skip-sync", action="store_true")
    ap.add_argument("--skip-idle", action="store_true")
    ap.add_argument("--skip-latency", action="store_true")
    args = ap.parse_args()
    bin_dir = os.path.join(os.path.abspath(args.build), "bin")
    sim = os.path.join(bin_dir, "maglev-vppsim")
    print(f"# {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}", flush=True)
    if not args.skip_sync:
        print("\n## full sync: pipelined vs one at a time", flush=True)
        subprocess.run([os.path.join(bin_dir, "bench_vpp_sync"), "--vppsim", sim], check=True)
    if not args.skip_idle:
        print("\n## idle periodic syncs (real maglevd)", flush=True)
        run_idle(bin_dir, args.syncs, args.interval)
    if not args.skip_latency:
        print("\n## transition -> lb_as_set_weight latency", flush=True)
        subprocess.run([os.path.join(bin_dir, "bench_vpp_latency"), "--vppsim", sim], check=True)


if __name__ == "__main__":
    main()
