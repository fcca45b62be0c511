#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""How fast maglevd re-programs a restarted VPP (docs/benchmarks.md, "VPP
restart"). A real maglevd with F frontends x B static backends programs a real
maglev-vppsim; the simulator is killed (SIGKILL, as a crashing VPP), stays
down for a while, and is started again on the same socket. Measured from the
new simulator's `vppsim-listen` record to the first and to the last mutating
call of the re-program (the simulator's own debug records, one clock), over
several restarts with different down times. Numbers only, no pass/fail.

usage: python3 bench/vpp/bench_vpp_restart.py [--build build] [--maglevd PATH]
           [--frontends 200] [--backends 8] [--restarts 6]
"""

import argparse
import datetime
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stamp(rec):
    t = datetime.datetime.strptime(rec["time"], "%Y-%m-%dT%H:%M:%S.%fZ")
    return t.replace(tzinfo=datetime.timezone.utc).timestamp()


class Logged:
    """A child whose JSON-lines stderr is collected."""

    def __init__(self, argv):
        self.records = []
        self.lock = threading.Lock()
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True, bufsize=1)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stderr:
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            with self.lock:
                self.records.append(rec)

    def find(self, msg):
        with self.lock:
            return [r for r in self.records if r.get("msg") == msg]

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(10)
        self.reader.join(5)


def config(frontends, backends):
    lines = ["maglev:", "  vpp:", "    lb:", "      ipv4-src-address: 192.0.2.1",
             "      sync-interval: 1h", "      startup-min-delay: 0s",
             "      startup-max-delay: 0s", "  backends:"]
    for b in range(backends):
        lines.append(f"    s{b}: {{ address: 10.9.{b // 250}.{b % 250 + 1} }}")
    lines.append("  frontends:")
    for f in range(frontends):
        lines += [f"    fe{f}:", f"      address: 192.0.{100 + f // 250}.{f % 250 + 1}",
                  "      port: 80", "      pools:", "        - name: p", "          backends:"]
        lines += [f"            s{b}: {{}}" for b in range(backends)]
    return "\n".join(lines) + "\n"


MUTATING = ("vppsim-lb-conf", "vppsim-lb-add-del-vip-v2", "vppsim-lb-add-del-as-v2",
            "vppsim-lb-as-set-weight")


def wait(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.01)
    raise SystemExit(f"timed out waiting for {what}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--maglevd", help="maglevd binary (default: BUILD/bin/maglevd)")
    ap.add_argument("--frontends", type=int, default=200)
    ap.add_argument("--backends", type=int, default=8)
    ap.add_argument("--restarts", type=int, default=6)
    args = ap.parse_args()
    sim_bin = os.path.join(args.build, "bin", "maglev-vppsim")
    maglevd_bin = args.maglevd or os.path.join(args.build, "bin", "maglevd")
    tmp = tempfile.mkdtemp(prefix="bench-vpp-restart-")
    sock = os.path.join(tmp, "api.sock")
    cfg = os.path.join(tmp, "maglev.yaml")
    with open(cfg, "w") as f:
        f.write(config(args.frontends, args.backends))
    expected = args.frontends * (1 + args.backends) + 1  # VIPs, ASes, the conf

    def sim():
        return Logged([sim_bin, "--socket", sock, "--log-level", "debug", "--gc-interval", "0"])

    s = sim()
    wait(lambda: s.find("vppsim-listen"), 10, "the simulator")
    d = Logged([maglevd_bin, "--config", cfg, "--grpc-addr", f"127.0.0.1:{free_port()}",
                "--metrics-addr", "", "--vpp-api-addr", sock])
    wait(lambda: len(s.find("vppsim-lb-add-del-as-v2")) >= args.frontends * args.backends, 60,
         "the first programming")
    print(f"maglevd {maglevd_bin}: {args.frontends} frontends x {args.backends} backends, "
          f"{expected} mutating calls per re-program")
    print(f"{'down':>6} {'listen->first call':>19} {'listen->last call':>18} {'calls':>6}")
    results = []
    for i in range(args.restarts):
        s.stop(signal.SIGKILL)
        # Down for a while: 0.2 s to 2.1 s, so that the reconnect meets VPP at
        # every phase of maglevd's retry schedule.
        down = 0.2 + 0.37 * i
        time.sleep(down)
        s = sim()
        listen = stamp(wait(lambda: s.find("vppsim-listen"), 10, "the simulator")[0])

        def programmed():
            calls = [r for m in MUTATING for r in s.find(m)]
            return calls if len(calls) >= expected else None

        calls = wait(programmed, 60, "the re-program")
        times = sorted(stamp(r) for r in calls)
        first, last = times[0] - listen, times[-1] - listen
        results.append(last)
        print(f"{down:5.1f}s {first * 1000:16.0f} ms {last * 1000:15.0f} ms {len(calls):6d}")
    results.sort()
    print(f"listen->last call: median {results[len(results) // 2] * 1000:.0f} ms, "
          f"max {results[-1] * 1000:.0f} ms")
    d.stop()
    s.stop()


if __name__ == "__main__":
    sys.exit(main())
