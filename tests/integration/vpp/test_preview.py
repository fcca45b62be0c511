# SPDX-License-Identifier: Apache-2.0
"""Preview before acting end to end (issue #10 item 5, docs/dataplane.md
"Preview"): the real maglevd programming the real maglev-vppsim. For each
action, `maglevc ... preview` is run first and must change nothing in VPP;
then the action is made, and the moved buckets and every backend's buckets
the preview predicted must equal the simulator's own new-flow table
(`vppsim lb table`) before and after."""

import os
import re
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
sys.path.insert(0, os.path.dirname(__file__))
import maglevtest as mt  # noqa: E402,F401
import vpptest as vt  # noqa: E402
from test_dataplane import DataplaneCase  # noqa: E402

HEAD = re.compile(r"^frontend (\S+) vip (\S+) (\S+): moves (\d+) of (\d+) buckets "
                  r"\((\d+\.\d) %\)$")
ROW = re.compile(r"^\s+(\S+)\s+(\S+)\s+(\S+) -> (\S+)\s+(\d+) -> (\d+)\s+(flushed|-)$")


def parse_preview(text):
    """maglevc's preview output -> {frontend: {"moved", "length", "share",
    "backends": {address: (buckets before, after, flushed)}}}."""
    out, cur = {}, None
    for line in text.splitlines():
        m = HEAD.match(line)
        if m:
            cur = {"vip": m.group(2), "moved": int(m.group(4)), "length": int(m.group(5)),
                   "share": float(m.group(6)), "backends": {}}
            out[m.group(1)] = cur
            continue
        m = ROW.match(line)
        if m and cur is not None and m.group(1) != "BACKEND":
            cur["backends"][m.group(2)] = (int(m.group(5)), int(m.group(6)),
                                           m.group(7) == "flushed")
    return out


def sim_tables(sim):
    """The simulator's new-flow tables: {vip prefix: [AS address per bucket
    (None: no server)]}."""
    text = vt.lbctl(sim.socket_path, "cli", "vppsim lb table")["output"]
    out, names, vip = {}, {}, None
    for line in text.splitlines():
        w = line.split()
        if not w:
            continue
        if w[0] == "vip":
            vip = w[2]
            names = {}
        elif w[0] == "as":
            names[w[1]] = w[2]
        elif w[0] == "buckets":
            out[vip] = [names.get(x) for x in w[1:]]
    return out


class Preview(DataplaneCase):
    NET = "127.0.71"

    def maglevc_ok(self, d, *args):
        r = vt.maglevc(d.grpc_addr, *args)
        self.assertEqual(r.returncode, 0, f"maglevc {args}: {r.stderr}\n{self.context()}")
        return r.stdout

    def preview(self, d, sim, *args):
        """Runs a preview and checks that it changed nothing in VPP."""
        before = sim_tables(sim)
        mark = sim.mark()
        out = self.maglevc_ok(d, *args)
        self.assertIn("nothing was changed", out)
        self.assertEqual(sim.calls(mark), [], f"a preview called VPP: {out}")
        self.assertEqual(sim_tables(sim), before)
        return parse_preview(out), out

    def check(self, predicted, before, after, vips, text):
        """The preview of each frontend in `vips` ({frontend: prefix})
        against the simulator's tables before and after the change."""
        self.assertEqual(set(predicted), set(vips), text)
        for fe, prefix in vips.items():
            p = predicted[fe]
            b, a = before[prefix], after[prefix]
            self.assertEqual(p["length"], len(a), text)
            moved = sum(1 for x, y in zip(b, a) if x != y)
            self.assertEqual(p["moved"], moved, f"{fe}: {text}")
            self.assertGreater(moved, 0, text)
            self.assertEqual(p["share"], round(100.0 * moved / len(a), 1), text)
            for addr, (nb, na, _) in p["backends"].items():
                self.assertEqual(nb, b.count(addr), f"{fe} {addr} before: {text}")
                self.assertEqual(na, a.count(addr), f"{fe} {addr} after: {text}")
            # Every AS the simulator uses is in the preview.
            self.assertTrue({x for x in a if x} <= set(p["backends"]), text)

    def test_predictions_equal_the_simulator(self):
        names = ["b0", "b1", "b2", "b3"]
        a = {n: self.backend(n, i + 1) for i, n in enumerate(names)}
        web = vt.Frontend("192.0.2.80", [("main", {n: None for n in names})])
        api = vt.Frontend("192.0.2.81", [("primary", {"b0": None}), ("fallback", {"b3": None})],
                          port=443)
        # Probes that do not flap on a loaded machine: a flap would be a real
        # change in VPP between the preview and the action.
        checks = {"hc": vt.http_check(self.port, timeout="2s", rise=1, fall=50)}
        text = vt.config({n: (x, "hc") for n, x in a.items()}, {"web": web, "api": api}, checks,
                         table_length=1024)
        sim = self.start_sim()
        d = self.start_daemon(text, sim)
        all_up = {x: 100 for x in a.values()}
        self.wait_weights(sim, web.vip, all_up)
        self.wait_weights(sim, api.vip, {a["b0"]: 100, a["b3"]: 0})
        wp, ap = "192.0.2.80/32", "192.0.2.81/32"

        # A weight change.
        p, out = self.preview(d, sim, "set", "frontend", "web", "pool", "main", "backend", "b1",
                              "weight", "40", "preview")
        self.assertEqual(set(p), {"web"}, out)
        self.assertEqual(p["web"]["backends"][a["b1"]][2], False)  # no flush
        before = sim_tables(sim)
        self.maglevc_ok(d, "set", "frontend", "web", "pool", "main", "backend", "b1", "weight",
                        "40")
        self.wait_weights(sim, web.vip, dict(all_up, **{a["b1"]: 40}))
        self.check(p, before, sim_tables(sim), {"web": wp}, out)

        # A disable: both VIPs, the api one fails over to its fallback pool.
        p, out = self.preview(d, sim, "set", "backend", "b0", "disable", "preview")
        self.assertTrue(p["web"]["backends"][a["b0"]][2], out)  # flushed
        self.assertEqual(p["api"]["moved"], 1024, out)
        self.assertIn("active pool primary -> fallback", out)
        before = sim_tables(sim)
        self.maglevc_ok(d, "set", "backend", "b0", "disable")
        self.wait_weights(sim, web.vip, dict(all_up, **{a["b0"]: 0, a["b1"]: 40}))
        self.wait_weights(sim, api.vip, {a["b0"]: 0, a["b3"]: 100})
        self.check(p, before, sim_tables(sim), {"web": wp, "api": ap}, out)

        # A drain: weight 0, no flush.
        p, out = self.preview(d, sim, "set", "backend", "b2", "drain", "10m", "preview")
        self.assertFalse(p["web"]["backends"][a["b2"]][2], out)
        before = sim_tables(sim)
        self.maglevc_ok(d, "set", "backend", "b2", "drain", "10m")
        self.wait_weights(sim, web.vip, {a["b0"]: 0, a["b1"]: 40, a["b2"]: 0, a["b3"]: 100})
        self.check(p, before, sim_tables(sim), {"web": wp}, out)

        # An enable: predicted for once b0's probes pass.
        p, out = self.preview(d, sim, "set", "backend", "b0", "enable", "preview")
        self.assertIn("assuming backend b0 is up", out)
        before = sim_tables(sim)
        self.maglevc_ok(d, "set", "backend", "b0", "enable")
        self.wait_weights(sim, web.vip, {a["b0"]: 100, a["b1"]: 40, a["b2"]: 0, a["b3"]: 100})
        self.wait_weights(sim, api.vip, {a["b0"]: 100, a["b3"]: 0})
        self.check(p, before, sim_tables(sim), {"web": wp, "api": ap}, out)

        # A candidate config: b3 leaves web (flushed there), table unchanged.
        web2 = vt.Frontend("192.0.2.80", [("main", {"b0": None, "b1": None, "b2": None})])
        text2 = vt.config({n: (x, "hc") for n, x in a.items()}, {"web": web2, "api": api},
                          checks, table_length=1024)
        d.write_config(text2)
        p, out = self.preview(d, sim, "config", "check", "preview")
        self.assertEqual(set(p), {"web"}, out)
        self.assertTrue(p["web"]["backends"][a["b3"]][2], out)
        before = sim_tables(sim)
        self.maglevc_ok(d, "config", "reload")
        self.wait_weights(sim, web.vip, {a["b0"]: 100, a["b1"]: 40, a["b2"]: 0})
        self.check(p, before, sim_tables(sim), {"web": wp}, out)

        # A sync after a change behind maglevd's back: b1 set to 100 in VPP.
        vt.lbctl(sim.socket_path, "set-weight", vt.vip_arg("192.0.2.80"), a["b1"], 100)
        self.wait_weights(sim, web.vip, {a["b0"]: 100, a["b1"]: 100, a["b2"]: 0})
        p, out = self.preview(d, sim, "sync", "vpp", "lb", "state", "web", "preview")
        before = sim_tables(sim)
        self.maglevc_ok(d, "sync", "vpp", "lb", "state", "web")
        self.wait_weights(sim, web.vip, {a["b0"]: 100, a["b1"]: 40, a["b2"]: 0})
        self.check(p, before, sim_tables(sim), {"web": wp}, out)

        # Nothing to do: a preview says so.
        _, out = self.preview(d, sim, "set", "backend", "b1", "resume", "preview")
        self.assertIn("no VIP would change", out)

    def test_bad_input_is_an_error_and_changes_nothing(self):
        a = {"b0": self.backend("b0", 11)}
        web = vt.Frontend("192.0.2.80", [("main", {"b0": None})])
        text = vt.config({"b0": (a["b0"], "hc")}, {"web": web},
                         {"hc": vt.http_check(self.port, timeout="2s", rise=1, fall=50)})
        sim = self.start_sim()
        d = self.start_daemon(text, sim)
        self.wait_weights(sim, web.vip, {a["b0"]: 100})
        mark = sim.mark()
        r = vt.maglevc(d.grpc_addr, "set", "backend", "nope", "disable", "preview")
        self.assertEqual(r.returncode, 1)
        self.assertIn('backend "nope" not found', r.stderr)
        d.write_config("maglev: [broken\n")
        r = vt.maglevc(d.grpc_addr, "config", "check", "preview")
        self.assertEqual(r.returncode, 1)
        self.assertIn("configuration parse error", r.stderr)
        r = vt.maglevc(d.grpc_addr, "config", "check", "preview", "/nonexistent/maglev.yaml")
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertEqual(sim.calls(mark), [])
        self.assertEqual(d.state("b0"), "up")


if __name__ == "__main__":
    unittest.main(verbosity=2)
