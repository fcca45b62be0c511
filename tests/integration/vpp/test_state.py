# SPDX-License-Identifier: Apache-2.0
"""Operator state across restarts and the route withdrawal hook end to end
(issue #10 items 1 and 6; docs/state-file.md, docs/dataplane.md): the real
maglevd with real HTTP backends programs the real maglev-vppsim.

- A restart with --state-file keeps a disabled backend disabled, a runtime
  weight and a drain, and sends VPP not one mutating call.
- A corrupt state file is ignored with one warning; maglevd starts.
- routes.notify-command gets frontend, VIP and state on every change of the
  frontend's servable state, a hung command is killed at its timeout, and
  routes.servable-file follows."""

import json
import os
import stat
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
sys.path.insert(0, os.path.dirname(__file__))
import maglevtest as mt  # noqa: E402
import vpptest as vt  # noqa: E402
from test_dataplane import DataplaneCase  # noqa: E402


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return None


def state_of(path):
    try:
        return json.loads(read(path) or "")
    except ValueError:
        return None


class StateCase(DataplaneCase):
    def start_with_state(self, text, sim, state_path, name="maglevd"):
        tmpdir = os.path.join(self.tmp, name)
        os.makedirs(tmpdir, exist_ok=True)
        d = mt.Maglevd(text, vpp_socket=sim.socket_path, tmpdir=tmpdir,
                       extra_args=("--log-level", "debug", "--state-file", state_path))
        self.daemons.append(d)
        return d

    def ok(self, d, *args):
        r = vt.maglevc(d.grpc_addr, *args)
        self.assertEqual(r.returncode, 0, f"maglevc {args}: {r.stderr}\n{self.context()}")
        return r.stdout


class StateFile(StateCase):
    NET = "127.0.51"

    def config(self, a, min_delay="1s", max_delay="8s"):
        web = vt.Frontend("192.0.2.80", [("main", {"b0": None, "b1": None, "b2": None,
                                                   "b3": None})])
        return web, vt.config({n: (x, "hc") for n, x in a.items()}, {"web": web},
                              # Forgiving probes: a slow answer on a busy test
                              # machine must not flap a backend (that would
                              # be a real change for VPP).
                              {"hc": vt.http_check(self.port, timeout="2s", rise=1, fall=3)},
                              min_delay=min_delay, max_delay=max_delay)

    def test_restart_keeps_operator_state_and_vpp_untouched(self):
        a = {n: self.backend(n, i + 1) for i, n in enumerate(["b0", "b1", "b2", "b3"])}
        web, text = self.config(a)
        state = os.path.join(self.tmp, "state.json")
        sim = self.start_sim()
        d = self.start_with_state(text, sim, state)
        self.wait_weights(sim, web.vip, {x: 100 for x in a.values()}, timeout=15)
        self.ok(d, "set", "backend", "b0", "disable")
        self.ok(d, "set", "frontend", "web", "pool", "main", "backend", "b1", "weight", "20")
        self.ok(d, "set", "backend", "b2", "drain", "10m")
        self.wait_weights(sim, web.vip, {a["b0"]: 0, a["b1"]: 20, a["b2"]: 0, a["b3"]: 100})

        def persisted():
            s = state_of(state)
            return (s and s["backends"].get("b0", {}).get("admin") == "disabled"
                    and "drain_deadline_unix_ms" in s["backends"].get("b2", {})
                    and s["weights"] == [{"frontend": "web", "pool": "main", "backend": "b1",
                                          "weight": 20, "config_weight": 100}])
        self.wait(persisted, 10, "the state file to hold the decisions")
        deadline = state_of(state)["backends"]["b2"]["drain_deadline_unix_ms"]
        before, _ = vt.dump(sim.socket_path)
        self.assertEqual(d.stop(), 0)
        mark = sim.mark()

        d2 = self.start_with_state(text, sim, state, name="maglevd2")
        self.wait(lambda: d2.records("warmup-done"), 20, "the second maglevd's warmup")
        # Its full sync is on the reconciler's queue: wait until a dump shows
        # it ran (a sync reads VPP first), then a little more.
        time.sleep(1.5)
        self.assertEqual(sim.calls(mark), [], "VPP was changed by the restart\n" + "\n".join(
            l for l in d2.text().splitlines() if "probe-done" not in l and "lb-call" not in l))
        after, _ = vt.dump(sim.socket_path)
        self.assertEqual(after, before)
        self.assertEqual(len(d2.records("state-file-restored")), 1)
        self.assertEqual(d2.state("b0"), "disabled")
        self.wait(lambda: d2.state("b3") == "up", 10, "b3 up")
        # Never probed: its first transition is the restored disable.
        first = d2.transitions("b0")
        self.assertTrue(first and first[0]["to"] == "disabled", first)
        self.assertEqual(d2.probes("b0", "L7OK"), 0)
        # The frontend was released early: its health matched the file.
        early = [r for r in d2.records("warmup-release") if r.get("persisted_health")]
        self.assertTrue(early, self.context())
        # maglevc marks what is the operator's.
        shown = self.ok(d2, "show", "frontends", "web")
        self.assertRegex(shown, r"(?m)^\s+b1 weight 20 \(runtime; config 100\) effective 20$")
        self.assertRegex(shown, r"(?m)^\s+b2 weight 100 effective 0 \[draining\]$")
        self.assertRegex(self.ok(d2, "show", "backends", "b0"), r"state\s+disabled \(runtime\)")
        # The drain kept its deadline (the file's own, not a new 10 minutes).
        s2 = state_of(state)
        self.assertEqual(s2["backends"]["b2"]["drain_deadline_unix_ms"], deadline)
        # Slow start or not, nothing moved: b3 is at 100 in VPP all along.
        self.assertEqual(vt.weights(sim.socket_path, web.vip)[a["b3"]], 100)
        # A reload keeps the runtime state, and so does the file.
        written = len(d2.records("config-reload"))
        d2.reload()
        self.wait(lambda: len(d2.records("config-reload")) > written, 10, "the reload")
        self.assertEqual(d2.state("b0"), "disabled")
        self.assertRegex(self.ok(d2, "show", "frontends", "web"),
                         r"(?m)^\s+b1 weight 20 \(runtime; config 100\) effective 20$")
        time.sleep(0.5)  # a write after the reload is coalesced within 100 ms
        s3 = state_of(state)
        self.assertEqual(s3["backends"]["b0"]["admin"], "disabled")
        self.assertEqual(s3["weights"][0]["weight"], 20)
        # And the new instance does program VPP: an enable reaches it.
        self.ok(d2, "set", "backend", "b0", "enable")
        self.wait_weights(sim, web.vip, {a["b0"]: 100, a["b1"]: 20, a["b2"]: 0, a["b3"]: 100})
        self.wait(lambda: "admin" not in (state_of(state) or {}).get("backends", {})
                  .get("b0", {"admin": 1}), 10, "the enable in the state file")

    def test_corrupt_state_file_is_ignored_with_a_warning(self):
        a = {n: self.backend(n, i + 1) for i, n in enumerate(["b0", "b1", "b2", "b3"])}
        web, text = self.config(a, min_delay="0s", max_delay="0s")
        state = os.path.join(self.tmp, "state.json")
        with open(state, "w") as f:
            f.write('{"format": "maglevd-state", "version": 1, "backends": {"b0": {"admin": "dis')
        sim = self.start_sim()
        d = self.start_with_state(text, sim, state)
        # Started, nothing of the broken file applied.
        self.wait_weights(sim, web.vip, {x: 100 for x in a.values()}, timeout=15)
        warns = d.records("state-file-ignored")
        self.assertEqual(len(warns), 1, self.context())
        self.assertEqual(warns[0]["level"], "warn")
        self.assertIn("not valid JSON", warns[0]["error"])
        # The next change replaces it with a good file.
        self.ok(d, "set", "backend", "b3", "disable")
        self.wait(lambda: (state_of(state) or {}).get("backends", {}).get("b3", {})
                  .get("admin") == "disabled", 10, "a good state file")
        # A foreign one (another version) too.
        self.assertEqual(d.stop(), 0)
        with open(state, "w") as f:
            json.dump({"format": "maglevd-state", "version": 99, "backends": {}}, f)
        d2 = self.start_with_state(text, sim, state, name="maglevd2")
        self.wait(lambda: d2.records("state-file-ignored"), 10, "the warning")
        self.assertIn("version 99", d2.records("state-file-ignored")[0]["error"])
        self.wait(lambda: d2.state("b3") == "up", 10, "b3 probed again (the file was ignored)")


class RouteHook(StateCase):
    NET = "127.0.52"

    def test_notify_command_and_servable_file_follow_the_servable_state(self):
        a = {"b0": self.backend("b0", 1)}
        web = vt.Frontend("192.0.2.80", [("main", {"b0": None})])
        log = os.path.join(self.tmp, "notify.log")
        script = os.path.join(self.tmp, "notify.sh")
        with open(script, "w") as f:
            f.write('#!/bin/sh\necho "$1 $2 $3 $MAGLEV_VIP_PORT" >> ' + log + "\n")
        os.chmod(script, stat.S_IRWXU)
        servable = os.path.join(self.tmp, "servable")
        # A warmup that releases web once b0 has been probed (the default
        # behaviour, only quicker): its first report is then "servable".
        text = vt.config({"b0": (a["b0"], "hc")}, {"web": web},
                         {"hc": vt.http_check(self.port, rise=1, fall=1)},
                         min_delay="0s", max_delay="10s")
        text = text.replace("  healthchecks:\n", f"  routes:\n    notify-command: [{script}]\n"
                            f"    servable-file: {servable}\n  healthchecks:\n")
        sim = self.start_sim()
        d = self.start_daemon(text, sim)
        self.wait_weights(sim, web.vip, {a["b0"]: 100})
        self.wait(lambda: read(log) == "web 192.0.2.80 servable 80\n", 10, "servable")
        self.wait(lambda: read(servable) == "192.0.2.80\n", 10, "the servable file")
        self.assertEqual(vt.metric(d, "maglev_frontend_servable", frontend="web"), 1)
        self.servers["b0"].set_mode("503")
        self.wait(lambda: read(log) == "web 192.0.2.80 servable 80\n"
                  "web 192.0.2.80 not-servable 80\n", 10, "not servable")
        self.wait(lambda: read(servable) == "", 10, "the VIP out of the file")
        self.assertEqual(vt.metric(d, "maglev_frontend_servable", frontend="web"), 0)
        self.assertRegex(self.ok(d, "show", "frontends", "web"), r"servable\s+false")
        self.servers["b0"].set_mode("200")
        self.wait(lambda: read(log) == "web 192.0.2.80 servable 80\n"
                  "web 192.0.2.80 not-servable 80\n"
                  "web 192.0.2.80 servable 80\n", 10, "servable again")
        self.wait(lambda: read(servable) == "192.0.2.80\n", 10, "the VIP back in the file")
        self.assertEqual(d.records("route-notify-failed"), [])

    def test_nothing_is_withdrawn_during_warmup(self):
        a = {"b0": self.backend("b0", 1)}
        web = vt.Frontend("192.0.2.80", [("main", {"b0": None})])
        log = os.path.join(self.tmp, "notify.log")
        script = os.path.join(self.tmp, "notify.sh")
        with open(script, "w") as f:
            f.write('#!/bin/sh\necho "$1 $3" >> ' + log + "\n")
        os.chmod(script, stat.S_IRWXU)
        servable = os.path.join(self.tmp, "servable")
        text = vt.config({"b0": (a["b0"], "hc")}, {"web": web},
                         {"hc": vt.http_check(self.port, rise=1, fall=1)},
                         min_delay="3s", max_delay="6s")
        text = text.replace("  healthchecks:\n", f"  routes:\n    notify-command: [{script}]\n"
                            f"    servable-file: {servable}\n  healthchecks:\n")
        sim = self.start_sim()
        d = self.start_daemon(text, sim)
        self.wait(lambda: read(log) == "web servable\n", 15, "servable")
        self.wait(lambda: read(servable) == "192.0.2.80\n", 10, "the servable file")
        # A clean shutdown withdraws nothing.
        self.assertEqual(d.stop(), 0)
        self.assertEqual(read(log), "web servable\n")
        self.assertEqual(read(servable), "192.0.2.80\n")
        # The backend dies while maglevd is down; the new one sees it at its
        # first probe, but reports it only once the warmup releases web.
        self.servers["b0"].set_mode("503")
        d2 = self.start_daemon(text, sim, name="maglevd2")
        self.wait(lambda: any(r.get("to") == "down" for r in d2.transitions("b0")), 10,
                  "b0 down in the new maglevd")
        self.assertFalse(d2.records("warmup-release"))
        self.assertEqual(read(log), "web servable\n")
        self.assertEqual(read(servable), "192.0.2.80\n")
        self.wait(lambda: read(log) == "web servable\nweb not-servable\n", 10,
                  "withdrawn once released")
        self.wait(lambda: read(servable) == "", 10, "the VIP out of the file")
        self.assertTrue(d2.records("warmup-release"))

    def test_a_hung_command_is_killed_at_its_timeout(self):
        a = {"b0": self.backend("b0", 1)}
        web = vt.Frontend("192.0.2.80", [("main", {"b0": None})])
        log = os.path.join(self.tmp, "notify.log")
        script = os.path.join(self.tmp, "hang.sh")
        with open(script, "w") as f:
            f.write('#!/bin/sh\necho "$3" >> ' + log + "\nexec sleep 60\n")
        os.chmod(script, stat.S_IRWXU)
        # A warmup that releases web once b0 has been probed (the default
        # behaviour, only quicker): its first report is then "servable".
        text = vt.config({"b0": (a["b0"], "hc")}, {"web": web},
                         {"hc": vt.http_check(self.port, rise=1, fall=1)},
                         min_delay="0s", max_delay="10s")
        text = text.replace("  healthchecks:\n", f"  routes:\n    notify-command: [{script}]\n"
                            "    notify-timeout: 500ms\n  healthchecks:\n")
        sim = self.start_sim()
        d = self.start_daemon(text, sim)
        self.wait(lambda: d.records("route-notify-timeout"), 10, "the timeout")
        # maglevd carries on: the next change runs the command again.
        self.servers["b0"].set_mode("503")
        self.wait(lambda: read(log) == "servable\nnot-servable\n", 10, "the next run")
        self.wait(lambda: len(d.records("route-notify-timeout")) == 2, 10, "its timeout")
        self.ok(d, "show", "frontends", "web")
        self.assertEqual(d.stop(), 0)


if __name__ == "__main__":
    unittest.main()
