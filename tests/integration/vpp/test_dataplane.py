"""End-to-end dataplane tests (spec §5, docs/dataplane.md): the real maglevd
probes real HTTP backends on 127.0.0.0/8 and programs the real
maglev-vppsim, whose debug log records every mutating lb call. State is read
back and changed behind maglevd's back with maglev-test-lbctl, an
independent API client.

Every scenario is bounded by timeouts of a few seconds; intervals are short
(200 ms) and the warmup is off unless the warmup itself is tested.
"""

import ipaddress
import os
import re
import shutil
import sys
import tempfile
import time
import unittest
from datetime import datetime, timezone

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import maglevtest as mt  # noqa: E402
import vpptest as vt  # noqa: E402

NEEDED = ("maglevd", "maglevc", "maglev-vppsim", "maglev-test-lbctl")


def log_time(rec):
    """Unix seconds of a JSON log record's "time" (millisecond resolution)."""
    return datetime.strptime(rec["time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=timezone.utc).timestamp()


def ip_key(text):
    a = ipaddress.ip_address(text)
    return (a.version, int(a))


class DataplaneCase(unittest.TestCase):
    """Owns the processes of one test and cleans them up."""

    NET = "127.0.40"  # per class, so classes run in parallel without clashes

    def setUp(self):
        missing = vt.missing_binaries(*NEEDED)
        if missing:
            self.skipTest(f"not built: {', '.join(missing)} (in {mt.BIN_DIR})")
        self.tmp = tempfile.mkdtemp(prefix="maglev-vpp-e2e-")
        self.sims = []
        self.daemons = []
        self.servers = {}
        self.port = mt.free_port("127.0.0.1")

    def tearDown(self):
        for d in self.daemons:
            d.stop()
        for s in self.sims:
            s.stop()
        for srv in self.servers.values():
            if srv is not None:
                srv.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    # ----------------------------------------------------------- helpers

    def backend(self, name, index, mode="200"):
        """An HTTP backend at NET.index; returns its address."""
        host = f"{self.NET}.{index}"
        self.servers[name] = mt.HttpBackend(host, self.port, mode=mode)
        return host

    def stop_backend(self, name):
        self.servers[name].stop()
        self.servers[name] = None

    def start_sim(self, name="vpp", **kw):
        sim = vt.Vppsim(os.path.join(self.tmp, f"{name}.sock"), **kw)
        self.sims.append(sim)
        return sim

    def start_daemon(self, text, sim, name="maglevd"):
        tmpdir = os.path.join(self.tmp, name)
        os.makedirs(tmpdir, exist_ok=True)
        d = mt.Maglevd(text, vpp_socket=sim.socket_path, tmpdir=tmpdir,
                       extra_args=("--log-level", "debug"))
        self.daemons.append(d)
        return d

    def context(self):
        parts = []
        for d in self.daemons:
            parts.append(f"--- maglevd {d.grpc_addr} log tail:\n{d.text()[-4000:]}")
        for s in self.sims:
            parts.append(f"--- vppsim {s.socket_path} log tail:\n{s.text()[-4000:]}")
        return "\n".join(parts)

    def wait(self, pred, timeout, what):
        try:
            return mt.wait_for(pred, timeout, interval=0.05, what=what)
        except AssertionError as e:
            raise AssertionError(f"{e}\n{self.context()}") from None

    def wait_weights(self, sim, vip, expected, timeout=10.0):
        """Waits until the active ASes of `vip` are exactly `expected`
        ({address: weight})."""
        last = {}

        def ok():
            last["w"] = vt.weights(sim.socket_path, vip)
            return last["w"] == expected

        try:
            mt.wait_for(ok, timeout, interval=0.05, what=f"{vip} weights {expected}")
        except AssertionError:
            raise AssertionError(f"{vip}: weights {last.get('w')} != {expected}\n"
                                 f"{self.context()}") from None

    def wait_members(self, sim, vip, expected, timeout=10.0):
        """Legacy API: waits until the active ASes of `vip` are `expected`."""
        last = {}

        def ok():
            d, _ = vt.dump(sim.socket_path)
            last["m"] = set(d[vip]["ases"]) if vip in d else None
            return last["m"] == set(expected)

        try:
            mt.wait_for(ok, timeout, interval=0.05, what=f"{vip} members {expected}")
        except AssertionError:
            raise AssertionError(f"{vip}: members {last.get('m')} != {set(expected)}\n"
                                 f"{self.context()}") from None

    def shown_effective(self, d, frontend):
        """`maglevc show frontends NAME` -> {backend: (configured, effective,
        disabled)}, parsed with the documented line format."""
        r = vt.maglevc(d.grpc_addr, "show", "frontends", frontend)
        self.assertEqual(r.returncode, 0, r.stderr)
        out = {}
        for m in re.finditer(r"^\s+(\S+) weight (\d+)(?: \(runtime; config \d+\))? "
                             r"effective (\d+)( \[disabled\])?$",
                             r.stdout, re.M):
            out[m.group(1)] = (int(m.group(2)), int(m.group(3)), bool(m.group(4)))
        return out

    @staticmethod
    def as_calls(calls, address, vip=None):
        out = []
        for c in calls:
            if c.get("as") != address:
                continue
            if vip is not None and (c["vip"], c["protocol"], c["port"]) != vip:
                continue
            out.append(c)
        return out


# --------------------------------------------------------------------- 1


class HealthToWeight(DataplaneCase):
    """A backend that dies goes to weight 0 with flush (spec §5.1), within
    fall x fast-interval + 1 s; flush-on-down: false drains without flush."""

    NET = "127.0.41"
    FALL = 3
    FAST = 0.2

    def test_backend_down_sets_weight_zero_with_flush(self):
        addrs = {n: self.backend(n, i + 1) for i, n in enumerate(["b0", "b1", "b2", "b3"])}
        backends = {n: (a, "hc") for n, a in addrs.items()}
        web = vt.Frontend("192.0.2.80", [("main", {"b0": None, "b1": None, "b2": None,
                                                    "b3": None})])
        drain = vt.Frontend("192.0.2.81", [("main", {"b2": None, "b3": None})],
                            flush_on_down=False)
        checks = {"hc": vt.http_check(self.port, interval="200ms", fast="200ms",
                                      fall=self.FALL)}
        sim = self.start_sim()
        self.start_daemon(vt.config(backends, {"web": web, "drain": drain}, checks), sim)
        self.wait_weights(sim, web.vip, {a: 100 for a in addrs.values()})
        self.wait_weights(sim, drain.vip, {addrs["b2"]: 100, addrs["b3"]: 100})
        # Fully up (counter at rise + fall - 1): it now takes `fall` failures.
        d = self.daemons[0]
        top = 2 + self.FALL - 1
        for name in ("b1", "b3"):
            self.wait(lambda: vt.metric(d, "maglev_backend_health", backend=name) == top,
                      10, f"{name} fully up")
        bound = self.FALL * self.FAST + 1.0

        # HTTP 503: weight 0 with flush, the AS stays configured.
        mark = sim.mark()
        t0 = time.time()
        self.servers["b1"].set_mode("503")

        def zeroed():
            return [c for c in self.as_calls(sim.calls(mark, flush=False), addrs["b1"])
                    if c["msg"] == "vppsim-lb-as-set-weight" and c["weight"] == 0]

        zero = self.wait(zeroed, bound + 5, "b1 set to weight 0")
        down = self.wait(lambda: [t for t in d.transitions("b1") if t["to"] == "down"], 5,
                         "b1's transition in maglevd's log")[0]
        self.assertEqual((down["from"], down["to"], down["code"]), ("up", "down", "L7STS"))
        self.assertEqual(len(zero), 1, zero)
        self.assertTrue(zero[0]["is_flush"], zero[0])
        self.assertEqual(zero[0]["retval"], 0)
        self.assertEqual((zero[0]["vip"], zero[0]["protocol"], zero[0]["port"]), web.vip)
        elapsed = log_time(zero[0]) - t0
        print(f"\n  b1 (HTTP 503) at weight 0 after {elapsed:.3f}s (bound {bound:.1f}s)",
              file=sys.stderr)
        self.assertLessEqual(elapsed, bound + 0.001,
                             f"b1 weight 0 after {elapsed:.3f}s (bound {bound}s)")
        # Nothing else was touched.
        others = [c for c in sim.calls(mark) if c.get("as") != addrs["b1"]]
        self.assertEqual(others, [])
        self.wait_weights(sim, web.vip, {addrs["b0"]: 100, addrs["b1"]: 0, addrs["b2"]: 100,
                                         addrs["b3"]: 100})

        # The server stops (connection refused): the same, in both frontends;
        # flush only where flush-on-down is on.
        mark = sim.mark()
        t0 = time.time()
        self.stop_backend("b3")

        def both():
            zs = [c for c in self.as_calls(sim.calls(mark, flush=False), addrs["b3"])
                  if c["msg"] == "vppsim-lb-as-set-weight" and c["weight"] == 0]
            return zs if len(zs) >= 2 else None

        zs = self.wait(both, bound + 5, "b3 set to weight 0 in both frontends")
        by_vip = {(c["vip"], c["protocol"], c["port"]): c for c in zs}
        self.assertEqual(set(by_vip), {web.vip, drain.vip})
        self.assertTrue(by_vip[web.vip]["is_flush"])
        self.assertFalse(by_vip[drain.vip]["is_flush"], "flush-on-down: false must not flush")
        for c in zs:
            self.assertLessEqual(log_time(c) - t0, bound + 0.001,
                                 f"b3 weight 0 after {log_time(c) - t0:.3f}s (bound {bound}s)")
        self.wait_weights(sim, drain.vip, {addrs["b2"]: 100, addrs["b3"]: 0})

        # Recovery: back to its weight, without a flush.
        mark = sim.mark()
        self.servers["b1"].set_mode("200")
        self.wait_weights(sim, web.vip, {addrs["b0"]: 100, addrs["b1"]: 100, addrs["b2"]: 100,
                                         addrs["b3"]: 0})
        up = self.as_calls(sim.calls(mark), addrs["b1"])
        self.assertEqual([(c["msg"], c["weight"], c["is_flush"]) for c in up],
                         [("vppsim-lb-as-set-weight", 100, False)])


# --------------------------------------------------------------------- 2


class PoolFailover(DataplaneCase):
    """Priority failover (spec §5.1): the first pool with a backend up gets
    the traffic; standby backends sit at weight 0 without flush."""

    NET = "127.0.42"

    def test_failover_and_failback(self):
        a = {n: self.backend(n, i + 1) for i, n in enumerate(["p0", "p1", "f0", "f1"])}
        backends = {n: (x, "hc") for n, x in a.items()}
        web = vt.Frontend("192.0.2.80", [("primary", {"p0": 100, "p1": 50}),
                                         ("fallback", {"f0": None, "f1": 30})])
        sim = self.start_sim()
        self.start_daemon(vt.config(backends, {"web": web}, {"hc": vt.http_check(self.port)}),
                          sim)
        self.wait_weights(sim, web.vip, {a["p0"]: 100, a["p1"]: 50, a["f0"]: 0, a["f1"]: 0})

        # One primary down: still the primary pool.
        mark = sim.mark()
        self.servers["p0"].set_mode("503")
        self.wait_weights(sim, web.vip, {a["p0"]: 0, a["p1"]: 50, a["f0"]: 0, a["f1"]: 0})
        self.assertEqual(self.as_calls(sim.calls(mark), a["f0"]), [])

        # The whole primary pool down: the fallback takes over.
        mark = sim.mark()
        self.servers["p1"].set_mode("503")
        self.wait_weights(sim, web.vip, {a["p0"]: 0, a["p1"]: 0, a["f0"]: 100, a["f1"]: 30})
        calls = sim.calls(mark)
        p1 = self.as_calls(calls, a["p1"])
        self.assertEqual([(c["weight"], c["is_flush"]) for c in p1], [(0, True)])
        for name, w in (("f0", 100), ("f1", 30)):
            got = self.as_calls(calls, a[name])
            self.assertEqual([(c["msg"], c["weight"]) for c in got],
                             [("vppsim-lb-as-set-weight", w)], name)

        # A primary recovers: traffic goes back; the fallback drains to 0
        # without a flush (standby, not down).
        mark = sim.mark()
        self.servers["p1"].set_mode("200")
        self.wait_weights(sim, web.vip, {a["p0"]: 0, a["p1"]: 50, a["f0"]: 0, a["f1"]: 0})
        calls = sim.calls(mark)
        for name in ("f0", "f1"):
            got = self.as_calls(calls, a[name])
            self.assertEqual([(c["weight"], c["is_flush"]) for c in got], [(0, False)], name)
        self.assertEqual([(c["weight"], c["is_flush"]) for c in self.as_calls(calls, a["p1"])],
                         [(50, False)])
        self.servers["p0"].set_mode("200")
        self.wait_weights(sim, web.vip, {a["p0"]: 100, a["p1"]: 50, a["f0"]: 0, a["f1"]: 0})

        # A standby that goes down: already at 0, but flushed (spec §5.1).
        mark = sim.mark()
        self.servers["f1"].set_mode("503")
        self.wait(lambda: self.as_calls(sim.calls(mark, flush=False), a["f1"]), 5,
                  "a call for the standby that went down")
        self.assertEqual([(c["msg"], c["weight"], c["is_flush"])
                          for c in sim.calls(mark)],
                         [("vppsim-lb-as-set-weight", 0, True)])

    def test_operator_actions(self):
        a = {n: self.backend(n, i + 1) for i, n in enumerate(["p0", "p1", "f0"])}
        backends = {n: (x, "hc") for n, x in a.items()}
        web = vt.Frontend("192.0.2.80", [("primary", {"p0": None, "p1": None}),
                                         ("fallback", {"f0": None})])
        sim = self.start_sim()
        d = self.start_daemon(vt.config(backends, {"web": web}, {"hc": vt.http_check(self.port)}),
                              sim)
        self.wait_weights(sim, web.vip, {a["p0"]: 100, a["p1"]: 100, a["f0"]: 0})

        # Disabling a standby: its weight is already 0, but its sticky flows
        # are flushed (spec §5.1).
        mark = sim.mark()
        r = vt.maglevc(d.grpc_addr, "set", "backend", "f0", "disable")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.wait(lambda: self.as_calls(sim.calls(mark, flush=False), a["f0"]), 5,
                  "a call for the disabled standby")
        self.assertEqual([(c["msg"], c["weight"], c["is_flush"])
                          for c in self.as_calls(sim.calls(mark), a["f0"])],
                         [("vppsim-lb-as-set-weight", 0, True)])
        self.assertEqual(self.shown_effective(d, "web")["f0"], (100, 0, True))

        # A runtime weight: set at once, shown as configured and effective.
        mark = sim.mark()
        r = vt.maglevc(d.grpc_addr, "set", "frontend", "web", "pool", "primary", "backend", "p1",
                       "weight", "25")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.wait_weights(sim, web.vip, {a["p0"]: 100, a["p1"]: 25, a["f0"]: 0})
        self.assertEqual([(c["msg"], c["as"], c["weight"], c["is_flush"])
                          for c in sim.calls(mark)],
                         [("vppsim-lb-as-set-weight", a["p1"], 25, False)])
        self.assertEqual(self.shown_effective(d, "web")["p1"], (25, 25, False))

        # Pause: weight 0 without flush; resume: probed again, back.
        mark = sim.mark()
        r = vt.maglevc(d.grpc_addr, "set", "backend", "p0", "pause")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.wait_weights(sim, web.vip, {a["p0"]: 0, a["p1"]: 25, a["f0"]: 0})
        self.assertEqual([(c["weight"], c["is_flush"])
                          for c in self.as_calls(sim.calls(mark), a["p0"])], [(0, False)])
        r = vt.maglevc(d.grpc_addr, "set", "backend", "p0", "resume")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.wait_weights(sim, web.vip, {a["p0"]: 100, a["p1"]: 25, a["f0"]: 0})

        # Disabling the whole primary pool fails over; enabling fails back.
        for name in ("p0", "p1"):
            r = vt.maglevc(d.grpc_addr, "set", "backend", name, "disable")
            self.assertEqual(r.returncode, 0, r.stderr)
        r = vt.maglevc(d.grpc_addr, "set", "backend", "f0", "enable")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.wait_weights(sim, web.vip, {a["p0"]: 0, a["p1"]: 0, a["f0"]: 100})
        # What maglevc shows as effective is what VPP holds.
        shown = self.shown_effective(d, "web")
        self.assertEqual({a[b]: e for b, (_, e, _) in shown.items()},
                         vt.weights(sim.socket_path, web.vip))


# --------------------------------------------------------------------- 3


class Reload(DataplaneCase):
    """SIGHUP with a new file (spec §4, §5.2): frontends added, removed and
    changed; an unchanged frontend is not touched."""

    NET = "127.0.43"

    def test_add_remove_change(self):
        a = {n: self.backend(n, i + 1) for i, n in enumerate(["b0", "b1", "b2"])}
        backends = {n: (x, "hc") for n, x in a.items()}
        # Static backends of both families (no check: up at once).
        statics = {"s4a": "10.1.0.1", "s4b": "10.1.0.2", "s6a": "2001:db8:6::1",
                   "s6b": "2001:db8:6::2"}
        backends.update({n: (x, None) for n, x in statics.items()})
        checks = {"hc": vt.http_check(self.port)}
        all3 = {"b0": None, "b1": None, "b2": None}
        fes = {
            "keep": vt.Frontend("192.0.2.10", [("main", dict(all3))]),
            "sticky": vt.Frontend("192.0.2.11", [("main", dict(all3))]),
            "weight": vt.Frontend("192.0.2.12", [("main", dict(all3))]),
            "gone": vt.Frontend("192.0.2.13", [("main", {"b0": None, "b1": None})]),
            "shrink": vt.Frontend("192.0.2.15", [("main", dict(all3))]),
            "family": vt.Frontend("192.0.2.16", [("main", {"s4a": None, "s4b": None})]),
        }
        sim = self.start_sim()
        d = self.start_daemon(vt.config(backends, fes, checks), sim)
        full = {x: 100 for x in a.values()}
        for name in ("keep", "sticky", "weight", "shrink"):
            self.wait_weights(sim, fes[name].vip, full)
        self.wait_weights(sim, fes["gone"].vip, {a["b0"]: 100, a["b1"]: 100})
        self.wait_weights(sim, fes["family"].vip, {"10.1.0.1": 100, "10.1.0.2": 100})

        new = {
            "keep": fes["keep"],
            "sticky": vt.Frontend("192.0.2.11", [("main", dict(all3))], src_ip_sticky=True),
            "weight": vt.Frontend("192.0.2.12", [("main", {"b0": None, "b1": 40, "b2": None})]),
            "added": vt.Frontend("192.0.2.14", [("main", {"b1": None, "b2": None})]),
            "shrink": vt.Frontend("192.0.2.15", [("main", {"b0": None, "b1": None})]),
            "family": vt.Frontend("192.0.2.16", [("main", {"s6a": None, "s6b": None})]),
        }
        mark = sim.mark()
        d.reload(vt.config(backends, new, checks))
        self.wait_weights(sim, new["added"].vip, {a["b1"]: 100, a["b2"]: 100})
        self.wait_weights(sim, new["weight"].vip, {a["b0"]: 100, a["b1"]: 40, a["b2"]: 100})
        self.wait(lambda: vt.weights(sim.socket_path, fes["gone"].vip) is None, 10,
                  "VIP of the removed frontend to be deleted")
        self.wait_weights(sim, new["sticky"].vip, full)
        self.wait_weights(sim, new["shrink"].vip, {a["b0"]: 100, a["b1"]: 100})
        self.wait_weights(sim, new["family"].vip, {"2001:db8:6::1": 100, "2001:db8:6::2": 100})
        self.wait(lambda: re.search(r"192\.0\.2\.11/32 src_ip_sticky",
                                    vt.lbctl(sim.socket_path, "cli", "show lb vips verbose")
                                    ["output"]), 10, "sticky VIP re-created with src_ip_sticky")
        calls = sim.calls(mark)

        def of(vip):
            return [c for c in calls if (c["vip"], c["protocol"], c["port"]) == vip]

        # Unchanged frontend: no call at all.
        self.assertEqual(of(fes["keep"].vip), [])
        # Weight change: one lb_as_set_weight, no re-creation.
        self.assertEqual([(c["msg"], c["as"], c["weight"]) for c in of(new["weight"].vip)],
                         [("vppsim-lb-as-set-weight", a["b1"], 40)])
        # Removed frontend: its ASes deleted with flush, then the VIP.
        gone = of(fes["gone"].vip)
        self.assertEqual([(c["msg"], c.get("as"), c["is_del"], c.get("is_flush")) for c in gone],
                         [("vppsim-lb-add-del-as-v2", a["b0"], True, True),
                          ("vppsim-lb-add-del-as-v2", a["b1"], True, True),
                          ("vppsim-lb-add-del-vip-v2", None, True, None)])
        _, raw = vt.dump(sim.socket_path)
        orphans = {x["address"] for x in raw["orphan_ases"] if x["vip"] == "192.0.2.13/32"}
        self.assertEqual(orphans, {a["b0"], a["b1"]})
        self.assertFalse(any(x["active"] for x in raw["orphan_ases"]))
        # src-ip-sticky change: ASes deleted with flush, VIP deleted,
        # re-created sticky, ASes added in ascending order.
        st = [(c["msg"], c.get("as"), c["is_del"], c.get("is_flush"), c.get("src_ip_sticky"))
              for c in of(new["sticky"].vip)]
        ordered = sorted(a.values(), key=ip_key)
        expect = [("vppsim-lb-add-del-as-v2", x, True, True, None) for x in ordered]
        expect.append(("vppsim-lb-add-del-vip-v2", None, True, None, False))
        expect.append(("vppsim-lb-add-del-vip-v2", None, False, None, True))
        expect += [("vppsim-lb-add-del-as-v2", x, False, False, None) for x in ordered]
        self.assertEqual(st, expect)
        # Added frontend: VIP then its ASes.
        added = of(new["added"].vip)
        self.assertEqual([(c["msg"], c.get("as"), c["is_del"]) for c in added],
                         [("vppsim-lb-add-del-vip-v2", None, False),
                          ("vppsim-lb-add-del-as-v2", a["b1"], False),
                          ("vppsim-lb-add-del-as-v2", a["b2"], False)])
        # A backend taken out of a frontend: its AS deleted with flush.
        self.assertEqual([(c["msg"], c["as"], c["is_del"], c["is_flush"])
                          for c in of(new["shrink"].vip)],
                         [("vppsim-lb-add-del-as-v2", a["b2"], True, True)])
        # All backends switch family: the VIP is re-created with GRE6.
        # (The new static backends may still be unknown when the reload's
        # sync runs: then they are added at 0 and raised by a later event.)
        fam = [(c["msg"], c.get("as"), c["is_del"], c.get("encap")) for c in of(new["family"].vip)
               if c["msg"] != "vppsim-lb-as-set-weight"]
        raised = [(c["as"], c["weight"]) for c in of(new["family"].vip)
                  if c["msg"] == "vppsim-lb-as-set-weight"]
        self.assertTrue(all(w == 100 for _, w in raised), raised)
        self.assertEqual(fam, [("vppsim-lb-add-del-as-v2", "10.1.0.1", True, None),
                               ("vppsim-lb-add-del-as-v2", "10.1.0.2", True, None),
                               ("vppsim-lb-add-del-vip-v2", None, True, 0),
                               ("vppsim-lb-add-del-vip-v2", None, False, 1),
                               ("vppsim-lb-add-del-as-v2", "2001:db8:6::1", False, None),
                               ("vppsim-lb-add-del-as-v2", "2001:db8:6::2", False, None)])
        self.assertEqual(vt.dump(sim.socket_path)[0][new["family"].vip]["encap"], "gre6")
        self.assertTrue(all(c["retval"] == 0 for c in calls), calls)

        # A new table length cannot be applied to a live VIP: every VIP is
        # re-created with it.
        mark = sim.mark()
        d.reload(vt.config(backends, new, checks, table_length=2048))

        def all_2048():
            dd, _ = vt.dump(sim.socket_path)
            return (len(dd) == len(new) and
                    all(v["flow_table_length_low16"] == 2048 and len(v["ases"]) >= 2
                        for v in dd.values()))

        self.wait(all_2048, 10, "every VIP re-created with 2048 buckets")
        self.wait_weights(sim, new["weight"].vip, {a["b0"]: 100, a["b1"]: 40, a["b2"]: 100})
        calls = sim.calls(mark)
        adds = [c for c in calls if c["msg"] == "vppsim-lb-add-del-vip-v2" and not c["is_del"]]
        dels = [c for c in calls if c["msg"] == "vppsim-lb-add-del-vip-v2" and c["is_del"]]
        self.assertEqual(len(adds), len(new), adds)
        self.assertEqual(len(dels), len(new), dels)
        self.assertTrue(all(c["new_flows_table_length"] == 2048 for c in adds))
        dd, _ = vt.dump(sim.socket_path)
        for v in dd.values():
            self.assertEqual(sum(x["num_buckets"] for x in v["ases"].values()), 2048)


    def test_runtime_state_survives_reload(self):
        # Operator state (runtime weight, disabled) is kept by a reload that
        # does not change those very items (spec §4), so VPP is not touched.
        a = {n: self.backend(n, i + 1) for i, n in enumerate(["b0", "b1", "b2"])}
        backends = {n: (x, "hc") for n, x in a.items()}
        checks = {"hc": vt.http_check(self.port)}
        web = vt.Frontend("192.0.2.80", [("main", {"b0": None, "b1": None, "b2": None})])
        sim = self.start_sim()
        d = self.start_daemon(vt.config(backends, {"web": web}, checks), sim)
        self.wait_weights(sim, web.vip, {a["b0"]: 100, a["b1"]: 100, a["b2"]: 100})
        r = vt.maglevc(d.grpc_addr, "set", "frontend", "web", "pool", "main", "backend", "b0",
                       "weight", "30")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = vt.maglevc(d.grpc_addr, "set", "backend", "b1", "disable")
        self.assertEqual(r.returncode, 0, r.stderr)
        want = {a["b0"]: 30, a["b1"]: 0, a["b2"]: 100}
        self.wait_weights(sim, web.vip, want)

        mark = sim.mark()
        runs = vt.metric(d, "maglev_vpp_sync_runs_total", kind="full")
        other = vt.Frontend("192.0.2.81", [("main", {"b2": None})])
        d.reload(vt.config(backends, {"web": web, "other": other}, checks))
        self.wait_weights(sim, other.vip, {a["b2"]: 100})
        self.wait(lambda: vt.metric(d, "maglev_vpp_sync_runs_total", kind="full") > runs, 5,
                  "the reload's full sync")
        self.assertEqual(vt.weights(sim.socket_path, web.vip), want)
        self.assertEqual([c for c in sim.calls(mark) if c["vip"] == "192.0.2.80/32"], [])
        self.assertEqual(self.shown_effective(d, "web"),
                         {"b0": (30, 30, False), "b1": (100, 0, True), "b2": (100, 100, False)})


# --------------------------------------------------------------------- 4


class SimulatorRestart(DataplaneCase):
    """VPP restarts empty (spec §5.4): maglevd notices, retries every 5 s,
    reconnects and resyncs everything, including what changed meanwhile."""

    NET = "127.0.44"

    def test_kill_and_restart(self):
        a = {n: self.backend(n, i + 1) for i, n in enumerate(["b0", "b1", "b2"])}
        backends = {n: (x, "hc") for n, x in a.items()}
        fes = {"web": vt.Frontend("192.0.2.80", [("main", {"b0": None, "b1": 60})]),
               "api": vt.Frontend("192.0.2.81", [("main", {"b1": None}),
                                                 ("spare", {"b2": None})], port=443)}
        sim = self.start_sim()
        d = self.start_daemon(vt.config(backends, fes, {"hc": vt.http_check(self.port)},
                                        sync_interval="1s"), sim)
        self.wait_weights(sim, fes["web"].vip, {a["b0"]: 100, a["b1"]: 60})
        self.wait_weights(sim, fes["api"].vip, {a["b1"]: 100, a["b2"]: 0})
        self.assertEqual(vt.metric(d, "maglev_vpp_connects_total"), 1)

        sim.kill()
        self.wait(lambda: d.records("vpp-disconnect"), 10, "maglevd to notice the loss")
        self.wait(lambda: vt.metric(d, "maglev_vpp_connected") == 0, 5, "connected gauge 0")
        # VPP being away is a normal state: the VPP commands say so.
        for cmd in (("sync", "vpp", "lb", "state"), ("show", "vpp", "info"),
                    ("show", "vpp", "lb", "state")):
            r = vt.maglevc(d.grpc_addr, *cmd)
            self.assertNotEqual(r.returncode, 0, cmd)
            self.assertRegex(r.stderr + r.stdout, r"(?i)unavailable|not connected", cmd)
        # While VPP is away, b1 goes down.
        self.servers["b1"].set_mode("503")
        d.wait_state("b1", "down")
        # At least one failed retry before VPP comes back.
        self.wait(lambda: d.records("vpp-connect-failed") or d.records("vpp-unreachable"), 10,
                  "a failed reconnect attempt")
        sim2 = self.start_sim()  # same socket path, stale file replaced
        self.assertEqual(sim2.socket_path, sim.socket_path)
        self.wait_weights(sim2, fes["web"].vip, {a["b0"]: 100, a["b1"]: 0}, timeout=15)
        self.wait_weights(sim2, fes["api"].vip, {a["b1"]: 0, a["b2"]: 100}, timeout=15)
        dd, raw = vt.dump(sim2.socket_path)
        self.assertEqual(set(dd), {fes["web"].vip, fes["api"].vip})
        self.assertEqual(raw["conf"]["ip4_src_address"], "192.0.2.1")
        self.assertEqual(vt.metric(d, "maglev_vpp_connects_total"), 2)
        self.assertEqual(vt.metric(d, "maglev_vpp_connected"), 1)
        # Retries back off (100 ms doubling to 500 ms): prompt once VPP is
        # back, never a busy loop. The first failure after the loss is a
        # warning naming the reason, the next ones (same reason) are quiet.
        self.wait(lambda: len(d.records("vpp-connect")) >= 2, 5, "the reconnect in the log")
        unreachable = d.records("vpp-unreachable")
        self.assertEqual(len(unreachable), 1, unreachable)
        self.assertEqual(unreachable[0]["level"], "warn")
        attempts = [log_time(r) for r in d.records()
                    if r.get("msg") in ("vpp-disconnect", "vpp-unreachable", "vpp-connect-failed",
                                        "vpp-connect")]
        attempts = attempts[1:]  # drop the very first connect
        self.assertGreaterEqual(len(attempts), 3, attempts)
        gaps = [b - a_ for a_, b in zip(attempts, attempts[1:])]
        self.assertTrue(all(0.09 <= g <= 1.5 for g in gaps), gaps)
        self.assertGreater(max(gaps), gaps[0], gaps)  # the wait grows


# --------------------------------------------------------------------- 5


class DriftRepair(DataplaneCase):
    """State changed behind maglevd's back (spec §5.2): repaired by the next
    periodic sync; the operator's one-frontend sync repairs that frontend
    at once and never removes VIPs."""

    NET = "127.0.45"

    def setup_two(self, sync_interval):
        a = {n: self.backend(n, i + 1) for i, n in enumerate(["b0", "b1", "b2"])}
        backends = {n: (x, "hc") for n, x in a.items()}
        fes = {"web": vt.Frontend("192.0.2.80", [("main", {"b0": None, "b1": None, "b2": 70})]),
               "other": vt.Frontend("192.0.2.81", [("main", {"b0": None, "b1": None})])}
        sim = self.start_sim()
        d = self.start_daemon(vt.config(backends, fes, {"hc": vt.http_check(self.port)},
                                        sync_interval=sync_interval), sim)
        self.wait_weights(sim, fes["web"].vip, {a["b0"]: 100, a["b1"]: 100, a["b2"]: 70})
        self.wait_weights(sim, fes["other"].vip, {a["b0"]: 100, a["b1"]: 100})
        return a, fes, sim, d

    def drift(self, sim, a, d=None):
        """Changes the simulator behind maglevd's back, in one pipelined
        batch on one connection; with `d`, just after one of d's periodic
        full syncs, so that none runs in the middle."""
        if d is not None:
            runs = vt.metric(d, "maglev_vpp_sync_runs_total", kind="full")
            self.wait(lambda: vt.metric(d, "maglev_vpp_sync_runs_total", kind="full") > runs, 5,
                      "a periodic sync")
        web, extra = vt.vip_arg("192.0.2.80"), vt.vip_arg("192.0.2.99")
        vt.lbctl(sim.socket_path, "batch",
                 f"set-weight {web} {a['b0']} 42",
                 f"del-as {web} {a['b1']} flush",
                 f"add-as {web} 10.99.0.1 100",
                 f"add-vip {extra}",
                 f"add-as {extra} 10.99.0.2 100",
                 "set-conf 192.0.2.200 2001:db8::200 1024 7")

    def test_periodic_sync_repairs(self):
        a, fes, sim, d = self.setup_two("1s")
        mark = sim.mark()
        self.drift(sim, a, d)
        extra = vt.vip_id("192.0.2.99")
        self.wait_weights(sim, fes["web"].vip, {a["b0"]: 100, a["b1"]: 100, a["b2"]: 70},
                          timeout=5)
        self.wait(lambda: vt.weights(sim.socket_path, extra) is None, 5, "extra VIP removed")
        runs = vt.metric(d, "maglev_vpp_sync_runs_total", kind="full")
        # One more periodic sync: nothing left to do.
        self.wait(lambda: vt.metric(d, "maglev_vpp_sync_runs_total", kind="full") >= runs + 1, 5,
                  "another full sync")
        calls = [(c["msg"], c["vip"], c.get("as"), c.get("weight"), c.get("is_del"))
                 for c in sim.calls(mark) if c["msg"] != "vppsim-lb-conf"]
        confs = [(c["ip4_src"], c["ip6_src"], c["sticky_buckets_per_core"], c["flow_timeout"])
                 for c in sim.calls(mark) if c["msg"] == "vppsim-lb-conf"]
        # The global conf is written back because it differed (and only then).
        self.assertEqual(confs, [("192.0.2.200", "2001:db8::200", 1024, 7),
                                 ("192.0.2.1", "2001:db8::1", 65536, 40)])
        web = "192.0.2.80/32"
        self.assertCountEqual(calls, [
            # The drift (maglev-test-lbctl).
            ("vppsim-lb-as-set-weight", web, a["b0"], 42, None),
            ("vppsim-lb-add-del-as-v2", web, a["b1"], 0, True),
            ("vppsim-lb-add-del-as-v2", web, "10.99.0.1", 100, False),
            ("vppsim-lb-add-del-vip-v2", "192.0.2.99/32", None, None, False),
            ("vppsim-lb-add-del-as-v2", "192.0.2.99/32", "10.99.0.2", 100, False),
            # The repair (maglevd), and nothing more.
            ("vppsim-lb-as-set-weight", web, a["b0"], 100, None),
            ("vppsim-lb-add-del-as-v2", web, a["b1"], 100, False),
            ("vppsim-lb-add-del-as-v2", web, "10.99.0.1", 0, True),
            ("vppsim-lb-add-del-as-v2", "192.0.2.99/32", "10.99.0.2", 0, True),
            ("vppsim-lb-add-del-vip-v2", "192.0.2.99/32", None, None, True),
        ])
        self.wait(lambda: d.records("lb-stale-vip"), 5, "lb-stale-vip in the log")

    def test_event_after_drift_redumps(self):
        # No periodic sync: an event-driven sync diffs against maglevd's cache
        # of VPP, which the drift made wrong. The failed call marks the VIP
        # dirty; the next event re-dumps it and repairs it.
        a, fes, sim, d = self.setup_two("1h")
        web = vt.vip_arg("192.0.2.80")
        vt.lbctl(sim.socket_path, "del-vip", web)
        mark = sim.mark()
        self.servers["b1"].set_mode("503")
        self.wait(lambda: d.records("lb-call-failed"), 5, "the failed call")
        failed = d.records("lb-call-failed")[0]
        self.assertIn("192.0.2.80", failed["call"])
        self.assertEqual([(c["msg"], c["retval"]) for c in sim.calls(mark)
                          if c["vip"] == "192.0.2.80/32"],
                         [("vppsim-lb-as-set-weight", -6)])
        self.servers["b1"].set_mode("200")
        self.wait_weights(sim, fes["web"].vip, {a["b0"]: 100, a["b1"]: 100, a["b2"]: 70})
        self.assertEqual(vt.weights(sim.socket_path, fes["other"].vip),
                         {a["b0"]: 100, a["b1"]: 100})

    def test_frontend_view_shows_drift(self):
        a, fes, sim, d = self.setup_two("1h")  # no periodic sync during the test

        def show(frontend):
            r = vt.maglevc(d.grpc_addr, "show", "frontends", frontend)
            self.assertEqual(r.returncode, 0, r.stderr)
            return r.stdout

        out = show("web")
        self.assertRegex(out, r"(?m)^  dataplane +in-sync$")
        self.assertNotIn("vpp differs", out)
        self.drift(sim, a)
        out = show("web")
        self.assertRegex(out, r"(?m)^  dataplane +out-of-sync$")
        # Per backend: what VPP holds against what it should carry.
        self.assertIn("  vpp differs\n    b0 vpp 42 effective 100\n"
                      "    b1 vpp absent effective 100\n", out)
        self.assertNotRegex(out, r"(?m)^    b2 vpp ")
        # The calls a sync would send, including the foreign AS no backend
        # accounts for.
        pending = out.split("  pending sync\n", 1)[1].splitlines()
        self.assertEqual(sorted(p.split()[0] + " " + p.split()[3] for p in pending),
                         ["add-as " + a["b1"], "del-as 10.99.0.1", "set-as-weight " + a["b0"]])
        # The pool lines keep their scripted format.
        self.assertEqual(self.shown_effective(d, "web"),
                         {"b0": (100, 100, False), "b1": (100, 100, False),
                          "b2": (70, 70, False)})
        # Looking is read-only: the drift is still there.
        self.assertEqual(vt.weights(sim.socket_path, fes["web"].vip),
                         {a["b0"]: 42, a["b2"]: 70, "10.99.0.1": 100})
        # A sync of the frontend: in sync again.
        r = vt.maglevc(d.grpc_addr, "sync", "vpp", "lb", "state", "web")
        self.assertEqual(r.returncode, 0, r.stderr)
        out = show("web")
        self.assertRegex(out, r"(?m)^  dataplane +in-sync$")
        self.assertNotIn("pending sync", out)
        # VPP gone: the view still answers, the dataplane is unknown.
        sim.kill()
        self.wait(lambda: vt.metric(d, "maglev_vpp_connected") == 0, 10, "disconnect")
        out = show("web")
        self.assertRegex(out, r"(?m)^  dataplane +unknown \(not connected to VPP\)$")

    def test_operator_sync_of_one_frontend(self):
        a, fes, sim, d = self.setup_two("1h")  # no periodic sync during the test
        self.drift(sim, a)
        other = vt.vip_arg("192.0.2.81")
        vt.lbctl(sim.socket_path, "set-weight", other, a["b1"], 7)
        extra = vt.vip_id("192.0.2.99")
        r = vt.maglevc(d.grpc_addr, "sync", "vpp", "lb", "state", "web")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("synced frontend web", r.stdout)
        # Synchronous: repaired when the command returns.
        self.assertEqual(vt.weights(sim.socket_path, fes["web"].vip),
                         {a["b0"]: 100, a["b1"]: 100, a["b2"]: 70})
        # The extra VIP survives a one-frontend sync, as does other's drift.
        self.assertEqual(vt.weights(sim.socket_path, extra), {"10.99.0.2": 100})
        self.assertEqual(vt.weights(sim.socket_path, fes["other"].vip),
                         {a["b0"]: 100, a["b1"]: 7})
        # A sync of everything removes it and repairs the rest.
        r = vt.maglevc(d.grpc_addr, "sync", "vpp", "lb", "state")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("synced all frontends", r.stdout)
        self.assertIsNone(vt.weights(sim.socket_path, extra))
        self.assertEqual(vt.weights(sim.socket_path, fes["other"].vip),
                         {a["b0"]: 100, a["b1"]: 100})
        r = vt.maglevc(d.grpc_addr, "sync", "vpp", "lb", "state", "nosuch")
        self.assertNotEqual(r.returncode, 0)


# --------------------------------------------------------------------- 6


class Warmup(DataplaneCase):
    """A restart of maglevd (spec §5.3): the new instance does not touch VPP
    before it knows better, so no healthy backend's weight ever drops."""

    NET = "127.0.46"

    def setup_fleet(self):
        a = {n: self.backend(n, i + 1) for i, n in enumerate(["b0", "b1", "b2", "b3"])}
        a["b4"] = self.backend("b4", 5, mode="503")
        backends = {n: (x, "hc") for n, x in a.items()}
        fes = {"web": vt.Frontend("192.0.2.80", [("primary", {"b0": None, "b1": 50, "b4": None}),
                                                 ("fallback", {"b2": None})]),
               "api": vt.Frontend("192.0.2.81", [("main", {"b2": None, "b3": None})], port=443)}
        # First probes are spread over `interval`: 2 s makes it certain that
        # a new instance has not probed everything at once.
        checks = {"hc": vt.http_check(self.port, interval="2s", fast="200ms", down="200ms")}
        expect = {fes["web"].vip: {a["b0"]: 100, a["b1"]: 50, a["b4"]: 0, a["b2"]: 0},
                  fes["api"].vip: {a["b2"]: 100, a["b3"]: 100}}
        healthy = {(fes["web"].vip, a["b0"]), (fes["web"].vip, a["b1"]),
                   (fes["api"].vip, a["b2"]), (fes["api"].vip, a["b3"])}
        return a, backends, fes, checks, expect, healthy

    def first_instance(self, backends, fes, checks, expect):
        sim = self.start_sim()
        first = self.start_daemon(vt.config(backends, fes, checks, sync_interval="1s"), sim,
                                  name="first")
        for vip, w in expect.items():
            self.wait_weights(sim, vip, w)
        self.assertEqual(first.stop(), 0)
        return sim

    @staticmethod
    def drops(calls, healthy):
        """Calls that set a healthy backend's weight to 0 or remove it."""
        out = []
        for c in calls:
            key = ((c["vip"], c["protocol"], c["port"]), c.get("as"))
            if key not in healthy:
                continue
            if c["msg"] == "vppsim-lb-as-set-weight" and c["weight"] == 0:
                out.append(c)
            elif c["msg"].startswith("vppsim-lb-add-del-as") and c["is_del"]:
                out.append(c)
        for c in calls:
            if c["msg"].startswith("vppsim-lb-add-del-vip") and c["is_del"]:
                out.append(c)
        return out

    def test_restart_never_drops_healthy_weights(self):
        a, backends, fes, checks, expect, healthy = self.setup_fleet()
        sim = self.first_instance(backends, fes, checks, expect)
        mark = sim.mark()
        second = self.start_daemon(vt.config(backends, fes, checks, sync_interval="1s",
                                             min_delay="1s", max_delay="4s"), sim, name="second")
        self.wait(lambda: second.records("warmup-done"), 10, "warmup to end")
        runs = vt.metric(second, "maglev_vpp_sync_runs_total", kind="full")
        self.wait(lambda: vt.metric(second, "maglev_vpp_sync_runs_total", kind="full") >= runs + 2,
                  10, "two periodic syncs after the warmup")
        calls = sim.calls(mark)
        self.assertEqual(self.drops(calls, healthy), [])
        # Weights were right already: the new instance changed nothing.
        self.assertEqual(calls, [])
        for vip, w in expect.items():
            self.assertEqual(vt.weights(sim.socket_path, vip), w)
        # Both frontends were released before the max delay, as soon as all
        # their backends had been probed (frontend syncs, not the full one).
        released = {r["frontend"] for r in second.records("warmup-release")}
        self.assertEqual(released, {"web", "api"})
        done_at = log_time(second.records("warmup-done")[0])
        self.assertTrue(all(log_time(r) < done_at for r in second.records("warmup-release")))
        self.assertGreaterEqual(vt.metric(second, "maglev_vpp_sync_runs_total", kind="frontend"),
                                2)

    def test_min_delay_holds_changes(self):
        # The new instance has a different weight for b1: it applies it, but
        # only after startup-min-delay, and once web is released (before the
        # max delay), through the one-frontend path.
        a, backends, fes, checks, expect, healthy = self.setup_fleet()
        sim = self.first_instance(backends, fes, checks, expect)
        mark = sim.mark()
        fes2 = dict(fes)
        fes2["web"] = vt.Frontend("192.0.2.80", [("primary", {"b0": None, "b1": 60, "b4": None}),
                                                 ("fallback", {"b2": None})])
        second = self.start_daemon(vt.config(backends, fes2, checks, sync_interval="1s",
                                             min_delay="1s", max_delay="4s"), sim, name="second")
        self.wait(lambda: second.records("warmup-done"), 10, "warmup to end")
        calls = sim.calls(mark)
        self.assertEqual([(c["msg"], c["as"], c["weight"], c["is_flush"]) for c in calls],
                         [("vppsim-lb-as-set-weight", a["b1"], 60, False)])
        started = log_time(second.records("maglevd-start")[0])
        self.assertGreaterEqual(log_time(calls[0]) - started, 1.0)
        self.assertLess(log_time(calls[0]), log_time(second.records("warmup-done")[0]))
        self.assertEqual(self.drops(calls, healthy), [])

    def test_unresolved_frontend_waits_for_max_delay(self):
        # A frontend with a backend still unknown (its first probe hangs for
        # the 6 s timeout) is not released early: its change is applied by
        # the full sync at startup-max-delay. The other frontend is released
        # as soon as its backends are known.
        a = {"b0": self.backend("b0", 1), "b1": self.backend("b1", 2),
             "slow": self.backend("slow", 3, mode="hang")}
        self.servers["slow"].hang_seconds = 10
        checks = {"hc": vt.http_check(self.port, interval="2s", fast="200ms"),
                  "hang": vt.http_check(self.port, interval="2s", fast="200ms", timeout="6s")}
        backends = {"b0": (a["b0"], "hc"), "b1": (a["b1"], "hc"), "slow": (a["slow"], "hang")}

        def fes(w):
            return {"quick": vt.Frontend("192.0.2.80", [("main", {"b0": None, "b1": w})]),
                    "held": vt.Frontend("192.0.2.81", [("main", {"b0": w, "slow": None})])}

        sim = self.start_sim()
        first = self.start_daemon(vt.config(backends, fes(50), checks), sim, name="first")
        self.wait_weights(sim, fes(50)["quick"].vip, {a["b0"]: 100, a["b1"]: 50})
        self.wait_weights(sim, fes(50)["held"].vip, {a["b0"]: 50, a["slow"]: 0})
        self.assertEqual(first.stop(), 0)
        mark = sim.mark()
        second = self.start_daemon(vt.config(backends, fes(60), checks, min_delay="1s",
                                             max_delay="4s"), sim, name="second")
        self.wait_weights(sim, fes(60)["quick"].vip, {a["b0"]: 100, a["b1"]: 60})
        # Released: in sync. Still held: the difference is the warmup's, not
        # drift (the slow backend is unknown until max-delay).
        r = vt.maglevc(second.grpc_addr, "show", "frontends", "quick")
        self.assertRegex(r.stdout, r"(?m)^  dataplane +in-sync$")
        r = vt.maglevc(second.grpc_addr, "show", "frontends", "held")
        self.assertRegex(r.stdout, r"(?m)^  dataplane +warmup$")
        self.assertIn("  vpp differs\n    b0 vpp 50 effective 60\n", r.stdout)
        self.wait_weights(sim, fes(60)["held"].vip, {a["b0"]: 60, a["slow"]: 0})
        r = vt.maglevc(second.grpc_addr, "show", "frontends", "held")
        self.assertRegex(r.stdout, r"(?m)^  dataplane +in-sync$")
        started = log_time(second.records("maglevd-start")[0])
        done = log_time(self.wait(lambda: second.records("warmup-done"), 5, "warmup-done")[0])
        released = [r["frontend"] for r in second.records("warmup-release")]
        self.assertEqual(released, ["quick"])
        calls = sim.calls(mark)
        at = {c["vip"]: log_time(c) for c in calls}
        self.assertEqual(len(calls), 2, calls)
        self.assertGreaterEqual(at["192.0.2.81/32"] - started, 4.0)
        self.assertGreaterEqual(at["192.0.2.81/32"], done)
        self.assertGreaterEqual(at["192.0.2.80/32"] - started, 1.0)
        self.assertLess(at["192.0.2.80/32"], done)

    def test_control_without_warmup_drops_weights(self):
        # The same restart with the warmup off: the detector above sees the
        # drops (the new instance has not probed yet), so its silence in the
        # test above is meaningful.
        a, backends, fes, checks, expect, healthy = self.setup_fleet()
        sim = self.first_instance(backends, fes, checks, expect)
        mark = sim.mark()
        second = self.start_daemon(vt.config(backends, fes, checks, sync_interval="1s"), sim,
                                   name="second")
        for vip, w in expect.items():
            self.wait_weights(sim, vip, w)
        self.wait(lambda: second.records("warmup-disabled"), 5, "warmup-disabled in the log")
        drops = self.drops(sim.calls(mark), healthy)
        self.assertTrue(drops, "expected weight drops without warmup")
        self.assertTrue(all(not c.get("is_flush") for c in drops), drops)


# --------------------------------------------------------------------- 7


def parse_show_vips(text):
    """`show lb vips verbose` -> {prefix line: {address: (buckets, weight,
    used)}}, leaving out the simulator's pool indexes (VIP [i], dpo)."""
    out = {}
    cur = None
    for line in text.splitlines():
        m = re.match(r"^ (\S+) \[\d+\] (\S+)(.*)$", line)
        if m:
            cur = f"{m.group(1)} {m.group(2)}{m.group(3)}"
            out[cur] = {"ases": {}}
            continue
        m = re.match(r"^\s+new_size:(\d+)", line)
        if m and cur:
            out[cur]["new_size"] = int(m.group(1))
            continue
        m = re.match(r"^\s+protocol:(\d+) port:(\d+)", line)
        if m and cur:
            out[cur]["proto_port"] = (int(m.group(1)), int(m.group(2)))
            continue
        # VPP's format: "<as> weight:W buckets:B flows:F dpo:D used|removed".
        m = re.match(r"^\s+(\S+) weight:(\d+) buckets:(\d+) flows:\d+ dpo:\d+ +(used|removed)",
                     line)
        if m and cur:
            out[cur]["ases"][m.group(1)] = (int(m.group(3)), int(m.group(2)), m.group(4))
    return out


def parse_lb_state(text):
    """`maglevc show vpp lb state` -> {vip_id: {address: (weight, buckets)}}
    for the ASes flagged used."""
    out = {}
    cur = None
    for line in text.splitlines():
        m = re.match(r"^vip (\S+) protocol (\S+) port (\d+) ", line)
        if m:
            cur = (m.group(1), vt.PROTO[m.group(2)], int(m.group(3)))
            out[cur] = {}
            continue
        m = re.match(r"^  (\S+) weight (\d+) buckets (\d+) flags (\S+)", line)
        if m and cur and "used" in m.group(4).split(","):
            out[cur][m.group(1)] = (int(m.group(2)), int(m.group(3)))
    return out


class TwoInstances(DataplaneCase):
    """Two maglevd on one config program two VPPs identically (spec §5.2:
    deterministic order; the same AS sets and weights give the same Maglev
    table). The simulator does not print the bucket table itself, so this
    compares per-AS bucket counts, weights and flags, and the `show lb vips
    verbose` text without pool indexes; the builder being order-independent
    and a pure function of (address, weight), equal inputs mean equal
    tables."""

    NET = "127.0.47"

    def test_identical_dataplanes(self):
        a = {n: self.backend(n, i + 1) for i, n in enumerate(["b0", "b1", "b2", "b3", "b4"])}
        self.servers["b4"].set_mode("503")
        backends = {n: (x, "hc") for n, x in a.items()}
        # Static backends (no check: up at once), IPv6 for a GRE6 VIP.
        for i in range(3):
            backends[f"s{i}"] = (f"2001:db8:5::{i + 10}", None)
        fes = {
            "web": vt.Frontend("192.0.2.80", [("main", {"b0": None, "b1": 50, "b2": 30,
                                                        "b3": 1, "b4": None})]),
            "api": vt.Frontend("192.0.2.81", [("primary", {"b4": None}),
                                              ("fallback", {"b1": None, "b3": 77})], port=443),
            "all": vt.Frontend("192.0.2.82", [("main", {"b2": None, "b0": 10})], protocol="any"),
            "v6": vt.Frontend("2001:db8::80", [("main", {"s2": None, "s0": 20, "s1": 100})]),
        }
        text = vt.config(backends, fes, {"hc": vt.http_check(self.port)}, table_length=4096)
        sims = [self.start_sim("vpp-a"), self.start_sim("vpp-b")]
        for i, sim in enumerate(sims):
            self.start_daemon(text, sim, name=f"maglevd-{i}")
        expect = {
            fes["web"].vip: {a["b0"]: 100, a["b1"]: 50, a["b2"]: 30, a["b3"]: 1, a["b4"]: 0},
            fes["api"].vip: {a["b4"]: 0, a["b1"]: 100, a["b3"]: 77},
            fes["all"].vip: {a["b2"]: 100, a["b0"]: 10},
            fes["v6"].vip: {"2001:db8:5::10": 20, "2001:db8:5::11": 100,
                            "2001:db8:5::12": 100},
        }
        for sim in sims:
            for vip, w in expect.items():
                self.wait_weights(sim, vip, w)

        dumps = [vt.dump(s.socket_path)[0] for s in sims]
        self.assertEqual(set(dumps[0]), set(expect))
        for vip in expect:
            one, two = dumps[0][vip], dumps[1][vip]
            self.assertEqual(one["encap"], two["encap"])
            self.assertEqual(one["flow_table_length_low16"], 4096)
            rows = [{x: (y["weight"], y["flags"], y["num_buckets"]) for x, y in d["ases"].items()}
                    for d in (one, two)]
            self.assertEqual(rows[0], rows[1], vip)
            self.assertEqual(sum(b for _, _, b in rows[0].values()), 4096, vip)
        self.assertEqual(dumps[0][fes["v6"].vip]["encap"], "gre6")
        shows = [parse_show_vips(vt.lbctl(s.socket_path, "cli", "show lb vips verbose")["output"])
                 for s in sims]
        self.assertEqual(len(shows[0]), 4)
        self.assertEqual(shows[0], shows[1])
        # `maglevc show vpp lb state` of each daemon shows its VPP as it is.
        for d, dd in zip(self.daemons, dumps):
            r = vt.maglevc(d.grpc_addr, "show", "vpp", "lb", "state")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(parse_lb_state(r.stdout), {
                vip: {x: (y["weight"], y["num_buckets"]) for x, y in v["ases"].items()}
                for vip, v in dd.items()})
        # ASes of each VIP were added in ascending address order in both.
        for sim in sims:
            per_vip = {}
            for c in sim.calls():
                if c["msg"] == "vppsim-lb-add-del-as-v2" and not c["is_del"]:
                    per_vip.setdefault(c["vip"], []).append(c["as"])
            for vip, order in per_vip.items():
                self.assertEqual(order, sorted(order, key=ip_key), vip)


# --------------------------------------------------------------------- 8


class LegacyApi(DataplaneCase):
    """An lb plugin without weights (spec §5.4): membership fallback, said so
    in the log and in `maglevc show vpp info`."""

    NET = "127.0.48"

    def test_membership(self):
        a = {n: self.backend(n, i + 1) for i, n in enumerate(["b0", "b1", "b2"])}
        backends = {n: (x, "hc") for n, x in a.items()}
        web = vt.Frontend("192.0.2.80", [("primary", {"b0": None, "b1": 50}),
                                         ("fallback", {"b2": None})])
        sim = self.start_sim(legacy=True)
        d = self.start_daemon(vt.config(backends, {"web": web}, {"hc": vt.http_check(self.port)},
                                        sync_interval="1s"), sim)
        # Standby (weight 0) is absent; weights above 0 are plain members.
        self.wait_members(sim, web.vip, {a["b0"], a["b1"]})
        self.wait(lambda: d.records("vpp-lb-membership-fallback"), 5, "the fallback warning")
        r = vt.maglevc(d.grpc_addr, "show", "vpp", "info")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"lb-api\s+.*membership fallback")
        _, raw = vt.dump(sim.socket_path)
        self.assertEqual(raw["lb_api"], "legacy")
        self.assertNotIn("weight", raw["vips"][0]["ases"][0])

        mark = sim.mark()
        self.servers["b1"].set_mode("503")
        self.wait_members(sim, web.vip, {a["b0"]})
        calls = sim.calls(mark)
        self.assertEqual([(c["msg"], c["as"], c["is_del"], c["is_flush"]) for c in calls],
                         [("vppsim-lb-add-del-as", a["b1"], True, True)])

        mark = sim.mark()
        self.servers["b1"].set_mode("200")
        self.wait_members(sim, web.vip, {a["b0"], a["b1"]})
        calls = sim.calls(mark)
        self.assertEqual([(c["msg"], c["as"], c["is_del"]) for c in calls],
                         [("vppsim-lb-add-del-as", a["b1"], False)])

        # A runtime weight of 0 removes the AS, without flush (a drain);
        # any weight above 0 makes it a member again.
        mark = sim.mark()
        r = vt.maglevc(d.grpc_addr, "set", "frontend", "web", "pool", "primary", "backend", "b0",
                       "weight", "0")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.wait_members(sim, web.vip, {a["b1"]})
        r = vt.maglevc(d.grpc_addr, "set", "frontend", "web", "pool", "primary", "backend", "b0",
                       "weight", "10")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.wait_members(sim, web.vip, {a["b0"], a["b1"]})
        self.assertEqual([(c["msg"], c["as"], c["is_del"], c["is_flush"]) for c in sim.calls(mark)],
                         [("vppsim-lb-add-del-as", a["b0"], True, False),
                          ("vppsim-lb-add-del-as", a["b0"], False, False)])

        # The whole primary pool down: the fallback becomes the member.
        mark = sim.mark()
        self.servers["b0"].set_mode("503")
        self.servers["b1"].set_mode("503")
        self.wait_members(sim, web.vip, {a["b2"]})
        # Periodic syncs in legacy mode change nothing either (no lb_conf_get:
        # the conf is written once per connection).
        runs = vt.metric(d, "maglev_vpp_sync_runs_total", kind="full")
        mark = sim.mark()
        self.wait(lambda: vt.metric(d, "maglev_vpp_sync_runs_total", kind="full") >= runs + 2, 6,
                  "two periodic syncs")
        self.assertEqual(sim.calls(mark), [])


# --------------------------------------------------------------------- 9


class IdleSync(DataplaneCase):
    """A periodic sync with nothing to change sends no mutating message
    (spec §5.2)."""

    NET = "127.0.49"

    def test_zero_mutating_calls(self):
        a = {n: self.backend(n, i + 1) for i, n in enumerate(["b0", "b1", "b2", "b3"])}
        self.servers["b3"].set_mode("503")
        backends = {n: (x, "hc") for n, x in a.items()}
        backends["s0"] = ("2001:db8:9::1", None)
        fes = {"web": vt.Frontend("192.0.2.80", [("primary", {"b0": None, "b3": None}),
                                                 ("fallback", {"b1": 20})]),
               "api": vt.Frontend("192.0.2.81", [("main", {"b2": None, "b3": None})],
                                  protocol="udp", port=53),
               "v6": vt.Frontend("2001:db8::53", [("main", {"s0": None})], protocol="any")}
        sim = self.start_sim()
        d = self.start_daemon(vt.config(backends, fes, {"hc": vt.http_check(self.port)},
                                        sync_interval="500ms"), sim)
        self.wait_weights(sim, fes["web"].vip, {a["b0"]: 100, a["b3"]: 0, a["b1"]: 0})
        self.wait_weights(sim, fes["api"].vip, {a["b2"]: 100, a["b3"]: 0})
        self.wait_weights(sim, fes["v6"].vip, {"2001:db8:9::1": 100})
        # Settled: the last change has been applied by a full sync since.
        runs = vt.metric(d, "maglev_vpp_sync_runs_total", kind="full")
        self.wait(lambda: vt.metric(d, "maglev_vpp_sync_runs_total", kind="full") >= runs + 1, 5,
                  "a full sync after settling")

        mark = sim.mark()
        before = vt.metric(d, "maglev_vpp_mutating_calls_total")
        runs = vt.metric(d, "maglev_vpp_sync_runs_total", kind="full")
        failures = vt.metric(d, "maglev_vpp_sync_failures_total")
        dumps = vt.metric(d, "maglev_vpp_api_calls_total", message="lb_as_v2_dump")
        self.wait(lambda: vt.metric(d, "maglev_vpp_sync_runs_total", kind="full") >= runs + 4, 10,
                  "four periodic syncs")
        self.assertEqual(vt.metric(d, "maglev_vpp_mutating_calls_total"), before)
        self.assertEqual(sim.calls(mark), [])
        # The syncs did look at VPP (one AS dump each, at least).
        self.assertGreaterEqual(vt.metric(d, "maglev_vpp_api_calls_total",
                                          message="lb_as_v2_dump") - dumps, 4)
        self.assertEqual(vt.metric(d, "maglev_vpp_sync_failures_total"), failures)


# ----------------------------------------------------------- edge cases


class EdgeCases(DataplaneCase):
    """Corners of §5 found while writing the scenarios above."""

    NET = "127.0.50"

    def test_table_length_beyond_16_bits(self):
        # lb_vip_details reports the table length truncated to 16 bits, so
        # 65536 and 131072 both read back as 0; maglevd must still re-create
        # the VIP when the configured length changes between them.
        backends = {"s0": ("10.1.0.1", None), "s1": ("10.1.0.2", None)}
        web = vt.Frontend("192.0.2.80", [("main", {"s0": None, "s1": None})])
        sim = self.start_sim()
        d = self.start_daemon(vt.config(backends, {"web": web}, {}, table_length=65536,
                                        sync_interval="1s"), sim)
        self.wait_weights(sim, web.vip, {"10.1.0.1": 100, "10.1.0.2": 100})
        # The truncated 0 read back is not taken for a difference.
        mark = sim.mark()
        runs = vt.metric(d, "maglev_vpp_sync_runs_total", kind="full")
        self.wait(lambda: vt.metric(d, "maglev_vpp_sync_runs_total", kind="full") >= runs + 2, 5,
                  "two periodic syncs")
        self.assertEqual(sim.calls(mark), [])

        def new_size():
            out = vt.lbctl(sim.socket_path, "cli", "show lb vips verbose")["output"]
            # A deleted VIP stays listed (" removed") until VPP's GC frees it.
            sizes = [int(m.group(2)) for m in
                     re.finditer(r"^ \S+ \[\d+\] \S+([^\n]*)\n\s+new_size:(\d+)", out, re.M)
                     if "removed" not in m.group(1)]
            return sizes[0] if len(sizes) == 1 else None

        self.assertEqual(new_size(), 65536)
        runs = vt.metric(d, "maglev_vpp_sync_runs_total", kind="full")
        d.reload(vt.config(backends, {"web": web}, {}, table_length=131072,
                           sync_interval="1s"))
        self.wait(lambda: vt.metric(d, "maglev_vpp_sync_runs_total", kind="full") > runs, 5,
                  "the reload's full sync")
        self.wait(lambda: new_size() == 131072, 5, "the VIP re-created with 131072 buckets")
        self.wait_weights(sim, web.vip, {"10.1.0.1": 100, "10.1.0.2": 100})

    def test_clean_start_has_no_failed_sync(self):
        # VPP is up before maglevd starts (warmup off): nothing has failed,
        # so nothing may be logged or counted as a failed sync.
        a = {"b0": self.backend("b0", 1)}
        fes = {"web": vt.Frontend("192.0.2.80", [("main", {"b0": None})]),
               "static": vt.Frontend("192.0.2.81", [("main", {"s0": None})])}
        backends = {"b0": (a["b0"], "hc"), "s0": ("10.0.0.1", None)}
        sim = self.start_sim()
        d = self.start_daemon(vt.config(backends, fes, {"hc": vt.http_check(self.port)}), sim)
        self.wait_weights(sim, fes["web"].vip, {a["b0"]: 100})
        self.wait_weights(sim, fes["static"].vip, {"10.0.0.1": 100})
        self.assertEqual(d.records("lb-sync-failed"), [])
        self.assertEqual(vt.metric(d, "maglev_vpp_sync_failures_total"), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
