"""VPP's stats segment end to end (issue 9): the real maglevd reading the
real maglev-vppsim's stats segment while traffic is injected with the
simulator's `test lb packet` CLI command. GetVPPLBCounters (gRPC), `maglevc
show vpp lb counters` and /metrics must equal what the simulator counted;
LookupVPPLBFlow must name the AS each injected new flow really went to; with
the stats segment off or unreachable the counters are UNAVAILABLE while the
API socket keeps working; boot time and in_use_since_ns are filled.
"""

import os
import re
import shutil
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import maglevtest as mt  # noqa: E402
import vpptest as vt  # noqa: E402

SOURCE_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
KINDS = ["existing_session", "first_session", "untracked", "no_server"]
SIM_NAMES = {"packet from existing sessions": 0, "first session packet": 1,
             "untracked packet": 2, "no server configured": 3}


def grpc_stubs(tmpdir):
    """maglev_pb2 / maglev_pb2_grpc generated from proto/maglev.proto, or
    None when python3-grpcio or the protoc plugin is missing."""
    try:
        import grpc  # noqa: F401
    except ImportError:
        return None
    plugin = "/usr/bin/grpc_python_plugin"
    if not os.access(plugin, os.X_OK) or shutil.which("protoc") is None:
        return None
    gen = os.path.join(tmpdir, "py")
    os.makedirs(gen, exist_ok=True)
    subprocess.run(["protoc", "-I", os.path.join(SOURCE_DIR, "proto"), f"--python_out={gen}",
                    f"--grpc_out={gen}", f"--plugin=protoc-gen-grpc={plugin}",
                    os.path.join(SOURCE_DIR, "proto", "maglev.proto")], check=True)
    sys.path.insert(0, gen)
    import maglev_pb2  # noqa: E402
    import maglev_pb2_grpc  # noqa: E402
    return maglev_pb2, maglev_pb2_grpc


def inject(sim, vip, src, sport, dport, count):
    """`test lb packet` through cli_inband: (as address or None, [4 counts])."""
    out = vt.lbctl(sim.socket_path, "cli", "test", "lb", "packet", vip, src, sport, dport, "tcp",
                   "count", count)["output"]
    m = re.search(r" as (\S+)\n", out)
    if not m:
        raise AssertionError(f"unexpected test lb packet answer: {out!r}")
    counts = [0, 0, 0, 0]
    for line in out.splitlines()[1:]:
        name, _, n = line.strip().rpartition(": ")
        counts[SIM_NAMES[name]] += int(n)
    return (None if m.group(1) == "none" else m.group(1)), counts


def base_config(backends, frontends):
    text = vt.config(backends, frontends, {}, min_delay="0s", max_delay="0s")
    return text.replace("      sync-interval: 30s\n",
                        "      sync-interval: 30s\n      stats-interval: 200ms\n")


@unittest.skipIf(vt.missing_binaries("maglevd", "maglevc", "maglev-vppsim",
                                     "maglev-test-lbctl"), "binaries not built")
class Counters(unittest.TestCase):
    def setUp(self):
        self.tmp = vt.new_tmpdir()
        self.stubs = grpc_stubs(self.tmp)
        self.sock = os.path.join(self.tmp, "api.sock")
        self.sim = vt.Vppsim(self.sock)
        self.addCleanup(self.sim.stop)
        self.backends = {"b1": ("127.0.0.11", None), "b2": ("127.0.0.12", None),
                         "b3": ("127.0.0.13", None), "b4": ("127.0.0.14", None)}
        self.frontends = {
            "web": vt.Frontend("192.0.2.80", [("p", {"b1": None, "b2": None, "b3": None})]),
            "idle": vt.Frontend("192.0.2.81", [("p", {"b4": None})], port=443),
        }
        self.d = mt.Maglevd(base_config(self.backends, self.frontends), vpp_socket=self.sock,
                            extra_args=["--vpp-stats-addr", self.sim.stats_path])
        self.addCleanup(self.d.stop)
        mt.wait_for(lambda: vt.weights(self.sock, self.frontends["web"].vip) ==
                    {"127.0.0.11": 100, "127.0.0.12": 100, "127.0.0.13": 100}, 20,
                    what="web programmed")
        mt.wait_for(lambda: vt.weights(self.sock, self.frontends["idle"].vip) ==
                    {"127.0.0.14": 100}, 20, what="idle programmed")

    def stub(self):
        if self.stubs is None:
            self.skipTest("python3-grpcio / grpc_python_plugin not installed")
        import grpc
        pb, rpc = self.stubs
        channel = grpc.insecure_channel(self.d.grpc_addr)
        self.addCleanup(channel.close)
        return pb, rpc.MaglevStub(channel), grpc

    def counters(self, stub, pb, frontend=None):
        req = pb.GetVPPLBCountersRequest()
        if frontend is not None:
            req.frontend_name = frontend
        return stub.GetVPPLBCounters(req, timeout=10)

    def test_counters_lookup_metrics_and_cli(self):
        pb, stub, grpc = self.stub()
        # Every frontend is listed with zeros before any traffic, in
        # /metrics too.
        mt.wait_for(lambda: vt.metric(self.d, "maglev_vpp_stats_up") == 1, 20,
                    what="first stats sample")
        mt.wait_for(lambda: all(f.vip_in_vpp for f in self.counters(stub, pb).frontends), 20,
                    what="both VIPs keyed by pool index")
        c = self.counters(stub, pb)
        self.assertEqual([f.frontend for f in c.frontends], ["idle", "web"])
        for f in c.frontends:
            self.assertGreater(f.vip_index, 0)
            self.assertEqual(f.counters.first_session_packets, 0)
        for fe in ("web", "idle"):
            for k in KINDS:
                self.assertIn(("maglev_vpp_vip_packets_total",
                               mt._Labels(frontend=fe, kind=k)), self.d.metrics())
                self.assertEqual(vt.metric(self.d, "maglev_vpp_vip_packets_total", frontend=fe,
                                           kind=k), 0)

        # Flow for flow, the lookup names the AS the simulator sends the
        # new flow to; each flow then gets 4 packets (1 first + 3 existing).
        expected = [0, 0, 0, 0]
        used = set()
        for i in range(24):
            src, sport = f"10.1.{i // 8}.{i + 1}", 1024 + 37 * i
            look = stub.LookupVPPLBFlow(pb.LookupVPPLBFlowRequest(
                frontend_name="web", src_address=src, src_port=sport), timeout=10)
            got_as, counts = inject(self.sim, "192.0.2.80", src, sport, 80, 4)
            self.assertEqual(look.as_address, got_as, f"flow {src}:{sport}")
            self.assertEqual(look.backend, {"127.0.0.11": "b1", "127.0.0.12": "b2",
                                            "127.0.0.13": "b3"}[got_as])
            self.assertEqual(look.flow_table_length, 1024)
            self.assertEqual(counts, [3, 1, 0, 0])
            used.add(got_as)
            expected = [a + b for a, b in zip(expected, counts)]
        self.assertEqual(len(used), 3, "24 flows over 3 ASes should reach every AS")
        # The same through maglevc.
        src, sport = "10.9.9.9", 4242
        out = vt.maglevc(self.d.grpc_addr, "show", "vpp", "lb", "lookup", "web", src, str(sport))
        self.assertEqual(out.returncode, 0, out.stderr)
        got_as, counts = inject(self.sim, "192.0.2.80", src, sport, 80, 1)
        self.assertRegex(out.stdout, rf"application-server\s+{re.escape(got_as)}\n")
        expected = [a + b for a, b in zip(expected, counts)]

        def web():
            return [f for f in self.counters(stub, pb).frontends if f.frontend == "web"][0]

        def values(v):
            return [v.existing_session_packets, v.first_session_packets, v.untracked_packets,
                    v.no_server_packets]

        mt.wait_for(lambda: values(web().counters) == expected, 20, what="counters scraped")
        w = web()
        self.assertEqual(values(w.counters), [72, 25, 0, 0])
        # /net/route/to of the VIP's route (ip_route_lookup): every packet,
        # 40 bytes each (20 IPv4 + 20 TCP, the simulator's default length).
        self.assertTrue(w.route_known)
        self.assertEqual(w.counters.route_packets, 97)
        self.assertEqual(w.counters.route_bytes, 97 * 40)
        # The previous sample is reported for rates.
        mt.wait_for(lambda: web().HasField("previous"), 20, what="a previous sample")
        c = self.counters(stub, pb, "web")
        self.assertEqual(len(c.frontends), 1)
        self.assertGreater(c.sample_time_ns, c.previous_sample_time_ns)
        self.assertEqual(c.interval_ns, 200 * 1000 * 1000)
        idle = [f for f in self.counters(stub, pb).frontends if f.frontend == "idle"][0]
        self.assertEqual(values(idle.counters), [0, 0, 0, 0])

        for k, n in zip(KINDS, expected):
            mt.wait_for(lambda k=k, n=n: vt.metric(self.d, "maglev_vpp_vip_packets_total",
                                                   frontend="web", kind=k) == n, 10,
                        what=f"metric {k}")
            self.assertEqual(vt.metric(self.d, "maglev_vpp_vip_packets_total", frontend="idle",
                                       kind=k), 0)
        mt.wait_for(lambda: vt.metric(self.d, "maglev_vpp_vip_route_packets_total",
                                      frontend="web") == 97, 10, what="route metric")
        self.assertEqual(vt.metric(self.d, "maglev_vpp_vip_route_bytes_total", frontend="web"),
                         97 * 40)
        self.assertEqual(vt.metric(self.d, "maglev_vpp_vip_route_packets_total",
                                   frontend="idle"), 0)
        out = vt.maglevc(self.d.grpc_addr, "show", "vpp", "lb", "counters")
        self.assertEqual(out.returncode, 0, out.stderr)
        row = [l.split() for l in out.stdout.splitlines() if l.startswith("web ")][0]
        self.assertEqual(row[1], "192.0.2.80/32")
        # FRONTEND VIP(2 words) EXISTING FIRST UNTRACKED NO-SERVER PKT/S ROUTE-PKTS ROUTE-BYTES
        self.assertEqual(row[3:7], [str(n) for n in expected])
        self.assertEqual(row[8:10], ["97", str(97 * 40)])
        self.assertIn("FRONTEND", out.stdout)
        out = vt.maglevc(self.d.grpc_addr, "show", "vpp", "lb", "counters", "nosuch")
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("nosuch", out.stderr)

        # Prometheus' own linter accepts the exposition with the new families.
        promtool = shutil.which("promtool")
        if promtool is not None:
            import urllib.request
            text = urllib.request.urlopen(f"http://127.0.0.1:{self.d.metrics_port}/metrics",
                                          timeout=10).read().decode()
            self.assertIn('maglev_vpp_vip_packets_total{frontend="web",kind="first_session"} 25',
                          text)
            check = subprocess.run([promtool, "check", "metrics"], input=text,
                                   capture_output=True, text=True, timeout=30)
            self.assertEqual(check.returncode, 0, check.stdout + check.stderr)

        # A frontend whose only AS is disabled (weight 0): the simulator
        # counts "no server configured" and the lookup says it is dropped.
        out = vt.maglevc(self.d.grpc_addr, "set", "backend", "b4", "disable")
        self.assertEqual(out.returncode, 0, out.stderr)
        mt.wait_for(lambda: vt.weights(self.sock, self.frontends["idle"].vip) ==
                    {"127.0.0.14": 0}, 20, what="idle at weight 0")
        look = stub.LookupVPPLBFlow(pb.LookupVPPLBFlowRequest(
            frontend_name="idle", src_address="10.2.0.1", src_port=5555), timeout=10)
        got_as, counts = inject(self.sim, "192.0.2.81", "10.2.0.1", 5555, 443, 5)
        self.assertIsNone(got_as)
        self.assertEqual(look.as_address, "")
        # The first packet finds no server; its AS-0 sticky entry makes the
        # later ones count as VPP counts them (docs/dataplane.md, caveats).
        self.assertEqual(sum(counts), 5)
        self.assertGreater(counts[3], 0)
        for k, n in zip(KINDS, counts):
            mt.wait_for(lambda k=k, n=n: vt.metric(self.d, "maglev_vpp_vip_packets_total",
                                                   frontend="idle", kind=k) == n, 20,
                        what=f"idle {k} counted")

        # Bad lookups are refused, nothing else changes.
        with self.assertRaises(grpc.RpcError) as e:
            stub.LookupVPPLBFlow(pb.LookupVPPLBFlowRequest(
                frontend_name="web", src_address="not-an-ip", src_port=1), timeout=10)
        self.assertEqual(e.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        with self.assertRaises(grpc.RpcError) as e:
            stub.LookupVPPLBFlow(pb.LookupVPPLBFlowRequest(
                frontend_name="web", src_address="2001:db8::5", src_port=1), timeout=10)
        self.assertEqual(e.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        out = vt.maglevc(self.d.grpc_addr, "show", "vpp", "lb", "lookup", "web", "10.0.0.1",
                         "70000")
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("invalid port", out.stderr)

    def test_boottime_and_in_use_since(self):
        pb, stub, grpc = self.stub()
        mt.wait_for(lambda: stub.GetVPPInfo(pb.GetVPPInfoRequest(), timeout=10).boottime_ns > 0,
                    20, what="boot time from /sys/boottime")
        info = stub.GetVPPInfo(pb.GetVPPInfoRequest(), timeout=10)
        self.assertLessEqual(info.boottime_ns, time.time_ns())
        self.assertGreater(info.boottime_ns, time.time_ns() - 600 * 10**9)
        out = vt.maglevc(self.d.grpc_addr, "show", "vpp", "info")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertRegex(out.stdout, r"boot-time\s+\d{4}-\d\d-\d\dT\S+ \(up ")

        # b3 leaves web's pool: VPP removes its AS (awaiting GC, the
        # simulator's is 60s), whose in_use_since becomes a unix time.
        before = time.time_ns()
        self.d.reload(base_config(self.backends, {
            "web": vt.Frontend("192.0.2.80", [("p", {"b1": None, "b2": None})]),
            "idle": self.frontends["idle"]}))
        mt.wait_for(lambda: "127.0.0.13" in vt.dump(self.sock)[0][
            self.frontends["web"].vip]["removed"], 20, what="b3 removed")
        state = stub.GetVPPLBState(pb.GetVPPLBStateRequest(), timeout=10)
        web = [v for v in state.vips if v.prefix == "192.0.2.80/32"][0]
        ases = {a.address: a for a in web.application_servers}
        self.assertEqual(ases["127.0.0.13"].flags & 1, 0)
        since = ases["127.0.0.13"].in_use_since_ns
        # VPP counts in whole seconds of its uptime.
        self.assertGreaterEqual(since, info.boottime_ns)
        self.assertGreaterEqual(since, before - 2 * 10**9)
        self.assertLessEqual(since, time.time_ns() + 10**9)
        self.assertEqual(ases["127.0.0.11"].in_use_since_ns, 0)

    def test_recreated_vip_lists_each_as_once(self):
        pb, stub, grpc = self.stub()
        # Delete web's VIP (its ASes wait for GC) and re-create it at once.
        self.d.reload(base_config(self.backends, {"idle": self.frontends["idle"]}))
        mt.wait_for(lambda: self.frontends["web"].vip not in vt.dump(self.sock)[0], 20,
                    what="web deleted")
        self.d.reload(base_config(self.backends, self.frontends))
        mt.wait_for(lambda: vt.weights(self.sock, self.frontends["web"].vip) ==
                    {"127.0.0.11": 100, "127.0.0.12": 100, "127.0.0.13": 100}, 20,
                    what="web re-created")
        state = stub.GetVPPLBState(pb.GetVPPLBStateRequest(), timeout=10)
        web = [v for v in state.vips if v.prefix == "192.0.2.80/32"][0]
        addrs = [a.address for a in web.application_servers]
        self.assertEqual(sorted(addrs), ["127.0.0.11", "127.0.0.12", "127.0.0.13"])
        self.assertTrue(all(a.flags & 1 for a in web.application_servers))
        out = vt.maglevc(self.d.grpc_addr, "show", "vpp", "lb", "state")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout.count("  127.0.0.13 "), 1, out.stdout)
        # The re-created VIP is keyed again and counts from 0.
        mt.wait_for(lambda: [f for f in stub.GetVPPLBCounters(
            pb.GetVPPLBCountersRequest(frontend_name="web"), timeout=10).frontends
            if f.vip_in_vpp], 20, what="web keyed again")
        inject(self.sim, "192.0.2.80", "10.3.0.1", 999, 80, 2)
        mt.wait_for(lambda: stub.GetVPPLBCounters(pb.GetVPPLBCountersRequest(
            frontend_name="web"), timeout=10).frontends[0].counters.first_session_packets == 1,
            20, what="re-created VIP counted")


@unittest.skipIf(vt.missing_binaries("maglevd", "maglevc", "maglev-vppsim",
                                     "maglev-test-lbctl"), "binaries not built")
class LegacyLookup(unittest.TestCase):
    """lb <= 1.1.0 ignores weights in its table: the lookup must too, and
    still name where each injected new flow goes; the counters work the
    same. And an IPv6 VIP (the IPv6 flow hash, UDP)."""

    def test_lookup_matches_the_legacy_table(self):
        tmp = vt.new_tmpdir()
        stubs = grpc_stubs(tmp)
        if stubs is None:
            self.skipTest("python3-grpcio / grpc_python_plugin not installed")
        import grpc
        pb, rpc = stubs
        sock = os.path.join(tmp, "api.sock")
        sim = vt.Vppsim(sock, legacy=True)
        self.addCleanup(sim.stop)
        backends = {"b1": ("127.0.0.21", None), "b2": ("127.0.0.22", None),
                    "b3": ("127.0.0.23", None)}
        fe = vt.Frontend("192.0.2.90", [("p", {"b1": 100, "b2": 30, "b3": 70})], port=8080)
        d = mt.Maglevd(base_config(backends, {"web": fe}), vpp_socket=sock,
                       extra_args=["--vpp-stats-addr", sim.stats_path])
        self.addCleanup(d.stop)
        mt.wait_for(lambda: set((vt.weights(sock, fe.vip) or {}).keys()) ==
                    {"127.0.0.21", "127.0.0.22", "127.0.0.23"}, 20, what="programmed")
        channel = grpc.insecure_channel(d.grpc_addr)
        self.addCleanup(channel.close)
        stub = rpc.MaglevStub(channel)
        seen = set()
        for i in range(20):
            src, sport = f"10.7.0.{i + 1}", 3000 + i
            look = stub.LookupVPPLBFlow(pb.LookupVPPLBFlowRequest(
                frontend_name="web", src_address=src, src_port=sport), timeout=10)
            got_as, counts = inject(sim, "192.0.2.90", src, sport, 8080, 1)
            self.assertEqual(look.as_address, got_as, f"flow {src}:{sport}")
            self.assertEqual(look.dst_port, 8080)
            self.assertEqual(counts, [0, 1, 0, 0])
            seen.add(got_as)
        self.assertGreater(len(seen), 1)
        mt.wait_for(lambda: [f.counters.first_session_packets for f in stub.GetVPPLBCounters(
            pb.GetVPPLBCountersRequest(), timeout=10).frontends] == [20], 20,
            what="legacy counters")

    def test_ipv6_lookup(self):
        tmp = vt.new_tmpdir()
        stubs = grpc_stubs(tmp)
        if stubs is None:
            self.skipTest("python3-grpcio / grpc_python_plugin not installed")
        import grpc
        pb, rpc = stubs
        sock = os.path.join(tmp, "api.sock")
        sim = vt.Vppsim(sock)
        self.addCleanup(sim.stop)
        # No health checks: the backends are assumed up, nothing is probed.
        backends = {f"v{i}": (f"2001:db8:1::{i}", None) for i in range(1, 5)}
        fe = vt.Frontend("2001:db8::80", [("p", {b: None for b in backends})], port=443,
                         protocol="udp")
        d = mt.Maglevd(base_config(backends, {"v6": fe}), vpp_socket=sock,
                       extra_args=["--vpp-stats-addr", sim.stats_path])
        self.addCleanup(d.stop)
        mt.wait_for(lambda: len(vt.weights(sock, fe.vip) or {}) == 4, 20, what="programmed")
        channel = grpc.insecure_channel(d.grpc_addr)
        self.addCleanup(channel.close)
        stub = rpc.MaglevStub(channel)
        seen = set()
        for i in range(16):
            src, sport = f"2001:db8:9::{i + 1:x}", 5000 + 7 * i
            look = stub.LookupVPPLBFlow(pb.LookupVPPLBFlowRequest(
                frontend_name="v6", src_address=src, src_port=sport), timeout=10)
            out = vt.lbctl(sock, "cli", "test", "lb", "packet", "2001:db8::80", src, sport, 443,
                           "udp")["output"]
            got_as = re.search(r" as (\S+)\n", out).group(1)
            self.assertEqual(look.as_address, got_as, f"flow [{src}]:{sport}")
            self.assertEqual(look.protocol, 17)
            seen.add(got_as)
        self.assertGreater(len(seen), 1)
        mt.wait_for(lambda: [(f.counters.first_session_packets, f.counters.route_packets)
                             for f in stub.GetVPPLBCounters(pb.GetVPPLBCountersRequest(),
                                                            timeout=10).frontends] == [(16, 16)],
                    20, what="ipv6 counters")


@unittest.skipIf(vt.missing_binaries("maglevd", "maglevc", "maglev-vppsim",
                                     "maglev-test-lbctl"), "binaries not built")
class StatsOff(unittest.TestCase):
    def setUp(self):
        self.tmp = vt.new_tmpdir()
        self.stubs = grpc_stubs(self.tmp)
        if self.stubs is None:
            self.skipTest("python3-grpcio / grpc_python_plugin not installed")
        self.sock = os.path.join(self.tmp, "api.sock")
        self.sim = vt.Vppsim(self.sock)
        self.addCleanup(self.sim.stop)
        self.cfg = base_config({"b1": ("127.0.0.11", None)},
                               {"web": vt.Frontend("192.0.2.80", [("p", {"b1": None})])})

    def check(self, stats_arg, want_message):
        import grpc
        pb, rpc = self.stubs
        d = mt.Maglevd(self.cfg, vpp_socket=self.sock, extra_args=["--vpp-stats-addr", stats_arg])
        self.addCleanup(d.stop)
        channel = grpc.insecure_channel(d.grpc_addr)
        self.addCleanup(channel.close)
        stub = rpc.MaglevStub(channel)
        mt.wait_for(lambda: vt.weights(self.sock, ("192.0.2.80/32", 6, 80)) == {"127.0.0.11": 100},
                    20, what="programmed without stats")
        with self.assertRaises(grpc.RpcError) as e:
            stub.GetVPPLBCounters(pb.GetVPPLBCountersRequest(), timeout=10)
        self.assertEqual(e.exception.code(), grpc.StatusCode.UNAVAILABLE)
        self.assertIn(want_message, e.exception.details())
        # The API socket side keeps working.
        info = stub.GetVPPInfo(pb.GetVPPInfoRequest(), timeout=10)
        self.assertTrue(info.connected)
        self.assertEqual(info.boottime_ns, 0)
        state = stub.GetVPPLBState(pb.GetVPPLBStateRequest(), timeout=10)
        self.assertEqual([v.prefix for v in state.vips], ["192.0.2.80/32"])
        look = stub.LookupVPPLBFlow(pb.LookupVPPLBFlowRequest(
            frontend_name="web", src_address="10.0.0.1", src_port=1), timeout=10)
        self.assertEqual(look.as_address, "127.0.0.11")
        out = vt.maglevc(d.grpc_addr, "show", "vpp", "lb", "counters")
        self.assertNotEqual(out.returncode, 0)
        self.assertIn(want_message, out.stderr)
        self.assertEqual(vt.metric(d, "maglev_vpp_stats_up"), 0)
        self.assertEqual(vt.metric(d, "maglev_vpp_vip_packets_total", frontend="web",
                                   kind="first_session"), 0)
        out = vt.maglevc(d.grpc_addr, "show", "vpp", "info")
        self.assertIn("boot-time", out.stdout)

    def test_disabled(self):
        self.check("", "disabled")

    def test_unreachable(self):
        self.check(os.path.join(self.tmp, "nothing-here.sock"), "nothing-here.sock")

    def test_stats_without_api_socket(self):
        # The stats segment alone: the boot time is read, the counters say
        # the VIPs are not known (no API socket to key them).
        import grpc
        pb, rpc = self.stubs
        d = mt.Maglevd(self.cfg, vpp_socket="",
                       extra_args=["--vpp-stats-addr", self.sim.stats_path])
        self.addCleanup(d.stop)
        channel = grpc.insecure_channel(d.grpc_addr)
        self.addCleanup(channel.close)
        stub = rpc.MaglevStub(channel)

        def err():
            try:
                stub.GetVPPLBCounters(pb.GetVPPLBCountersRequest(), timeout=10)
                return None
            except grpc.RpcError as e:
                return e
        mt.wait_for(lambda: err() is not None and "API" in err().details(), 20,
                    what="counters unavailable for lack of an API socket")
        self.assertEqual(err().code(), grpc.StatusCode.UNAVAILABLE)
        with self.assertRaises(grpc.RpcError) as e:
            stub.GetVPPInfo(pb.GetVPPInfoRequest(), timeout=10)
        self.assertEqual(e.exception.code(), grpc.StatusCode.UNAVAILABLE)


if __name__ == "__main__":
    unittest.main()
