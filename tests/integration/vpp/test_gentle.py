# SPDX-License-Identifier: Apache-2.0
"""Gentle traffic changes end to end (issue #10 items 2-4, docs/dataplane.md
"Changing gently"): the real maglevd with real HTTP backends programs the
real maglev-vppsim; every weight change is read from the simulator's own log.
Slow start ramps in steps, a flapping primary under failback-delay does not
move traffic back and forth, a drain goes to weight 0 without flush and ends
disabled with a flush."""

import os
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
sys.path.insert(0, os.path.dirname(__file__))
import maglevtest as mt  # noqa: E402
import vpptest as vt  # noqa: E402
from test_dataplane import DataplaneCase, log_time  # noqa: E402


def with_lines(text, after, *lines):
    """Inserts sibling YAML keys after the first line that is `after`
    (stripped), at its indentation."""
    out, done = [], False
    for line in text.splitlines():
        out.append(line)
        if not done and line.strip() == after:
            indent = " " * (len(line) - len(line.lstrip()))
            out += [indent + l for l in lines]
            done = True
    assert done, after
    return "\n".join(out) + "\n"


class SlowStart(DataplaneCase):
    NET = "127.0.46"

    def test_a_backend_back_from_down_ramps_in_steps(self):
        a = {n: self.backend(n, i + 1) for i, n in enumerate(["b0", "b1"])}
        web = vt.Frontend("192.0.2.80", [("main", {"b0": None, "b1": None})])
        check = vt.http_check(self.port, rise=1, fall=1) + "slow-start: 4s\n"
        text = vt.config({n: (x, "hc") for n, x in a.items()}, {"web": web}, {"hc": check})
        sim = self.start_sim()
        d = self.start_daemon(text, sim)
        # At maglevd's own start: the full weight at once, no ramp.
        self.wait_weights(sim, web.vip, {a["b0"]: 100, a["b1"]: 100})
        self.assertEqual(d.records("slow-start"), [])
        self.servers["b0"].set_mode("503")
        self.wait_weights(sim, web.vip, {a["b0"]: 0, a["b1"]: 100})
        mark = sim.mark()
        self.servers["b0"].set_mode("200")
        # 4 s, 4 steps: 25, 50, 75, 100, each one weight change, ~1 s apart.
        self.wait_weights(sim, web.vip, {a["b0"]: 100, a["b1"]: 100}, timeout=15)
        calls = self.as_calls(sim.calls(mark), a["b0"])
        self.assertEqual([(c["msg"], c["weight"]) for c in calls],
                         [("vppsim-lb-as-set-weight", w) for w in (25, 50, 75, 100)],
                         self.context())
        gaps = [log_time(y) - log_time(x) for x, y in zip(calls, calls[1:])]
        self.assertTrue(all(0.8 <= g <= 1.6 for g in gaps), gaps)
        self.assertEqual(len(d.records("slow-start")), 1)


class FailbackDelay(DataplaneCase):
    NET = "127.0.47"

    def test_a_flapping_primary_does_not_move_traffic_back_and_forth(self):
        a = {n: self.backend(n, i + 1) for i, n in enumerate(["p0", "f0"])}
        web = vt.Frontend("192.0.2.80", [("primary", {"p0": None}), ("fallback", {"f0": None})])
        text = vt.config({n: (x, "hc") for n, x in a.items()}, {"web": web},
                         {"hc": vt.http_check(self.port, rise=1, fall=1)})
        text = with_lines(text, "port: 80", "failback-delay: 3s")
        sim = self.start_sim()
        d = self.start_daemon(text, sim)
        self.wait_weights(sim, web.vip, {a["p0"]: 100, a["f0"]: 0})
        # Failover: at once.
        self.servers["p0"].set_mode("503")
        self.wait_weights(sim, web.vip, {a["p0"]: 0, a["f0"]: 100})
        mark = sim.mark()
        # The primary flaps for ~3 s: up 0.6 s, down 0.4 s.
        flaps_end = time.monotonic() + 3.0
        while time.monotonic() < flaps_end:
            self.servers["p0"].set_mode("200")
            time.sleep(0.6)
            self.servers["p0"].set_mode("503")
            time.sleep(0.4)
        ups = [r for r in d.transitions("p0") if r["to"] == "up"]
        self.assertGreaterEqual(len(ups), 2, "the primary did flap")
        # Not one call moved traffic: no weight for p0, f0 never touched.
        moved = [c for c in sim.calls(mark) if c.get("weight", 0) > 0 or c.get("as") == a["f0"]]
        self.assertEqual(moved, [], self.context())
        self.assertTrue(d.records("frontend-failback-held"))
        # Stable for the delay: traffic returns, in one move.
        mark = sim.mark()
        self.servers["p0"].set_mode("200")
        t0 = time.monotonic()
        self.wait_weights(sim, web.vip, {a["p0"]: 100, a["f0"]: 0}, timeout=10)
        self.assertGreaterEqual(time.monotonic() - t0, 2.5)
        self.assertEqual([(c["as"], c["weight"]) for c in sim.calls(mark)],
                         [(a["p0"], 100), (a["f0"], 0)])


class Drain(DataplaneCase):
    NET = "127.0.48"

    def test_drain_is_weight_zero_without_flush_then_disabled_with_flush(self):
        a = {n: self.backend(n, i + 1) for i, n in enumerate(["b0", "b1"])}
        web = vt.Frontend("192.0.2.80", [("main", {"b0": None, "b1": None})])
        text = vt.config({n: (x, "hc") for n, x in a.items()}, {"web": web},
                         {"hc": vt.http_check(self.port)})
        sim = self.start_sim()
        d = self.start_daemon(text, sim)
        self.wait_weights(sim, web.vip, {a["b0"]: 100, a["b1"]: 100})
        mark = sim.mark()
        r = vt.maglevc(d.grpc_addr, "set", "backend", "b0", "drain", "2s")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("backend b0 draining", r.stdout)
        self.wait_weights(sim, web.vip, {a["b0"]: 0, a["b1"]: 100})
        calls = sim.calls(mark)
        self.assertEqual([(c["as"], c["weight"], c["is_flush"]) for c in calls],
                         [(a["b0"], 0, False)])
        shown = vt.maglevc(d.grpc_addr, "show", "frontends", "web").stdout
        self.assertRegex(shown, r"(?m)^\s+b0 weight 100 effective 0 \[draining\]$")
        self.assertRegex(vt.maglevc(d.grpc_addr, "show", "backends", "b0").stdout,
                         r"draining\s+disabled at ")
        self.assertEqual(vt.metric(d, "maglev_backend_draining", backend="b0"), 1)
        # At the timeout: disabled, and what is left is flushed.
        self.wait(lambda: d.state("b0") == "disabled", 10, "b0 disabled by the drain")
        self.wait(lambda: [c for c in self.as_calls(sim.calls(mark, flush=False), a["b0"])
                           if c["is_flush"]], 5, "the flush of b0")
        self.assertEqual(vt.metric(d, "maglev_backend_draining", backend="b0"), 0)
        # An enable cancels a drain.
        vt.maglevc(d.grpc_addr, "set", "backend", "b0", "enable")
        self.wait_weights(sim, web.vip, {a["b0"]: 100, a["b1"]: 100})
        vt.maglevc(d.grpc_addr, "set", "backend", "b1", "drain", "1m")
        self.wait_weights(sim, web.vip, {a["b0"]: 100, a["b1"]: 0})
        vt.maglevc(d.grpc_addr, "set", "backend", "b1", "enable")
        self.wait_weights(sim, web.vip, {a["b0"]: 100, a["b1"]: 100})
        self.assertEqual(len(d.records("backend-drain-cancelled")), 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
