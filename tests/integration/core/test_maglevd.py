"""Integration tests: the real maglevd probing real servers on loopback and
in network namespaces the test creates (spec §2-§4, §8)."""

import os
import signal
import ssl
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import maglevtest as mt  # noqa: E402


def config(backends, checks, frontend_backends=None, extra=""):
    """A config with one frontend using every backend in one pool."""
    names = frontend_backends or list(backends)
    lines = ["maglev:", "  vpp:", "    lb:", "      ipv4-src-address: 192.0.2.1",
             "      ipv6-src-address: 2001:db8::1", "  healthchecks:"]
    for name, body in checks.items():
        lines.append(f"    {name}:")
        lines += ["      " + l for l in textwrap.dedent(body).strip().splitlines()]
    lines.append("  backends:")
    for name, (addr, hc) in backends.items():
        hc_part = f", healthcheck: {hc}" if hc else ""
        lines.append(f"    {name}: {{ address: {addr}{hc_part} }}")
    lines += ["  frontends:", "    web:", "      address: 192.0.2.80", "      port: 80",
              "      pools:", "        - name: main", "          backends:"]
    lines += [f"            {n}: {{}}" for n in names]
    return "\n".join(lines) + "\n" + extra


def http_check(port, extra=""):
    return f"""
        type: http
        port: {port}
        interval: 200ms
        fast-interval: 100ms
        down-interval: 200ms
        timeout: 300ms
        rise: 2
        fall: 2
        http:
          path: /healthz
          {extra}
    """


class CheckFlag(unittest.TestCase):
    def run_check(self, text):
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
            f.write(text)
        try:
            return subprocess.run([os.path.join(mt.BIN_DIR, "maglevd"), "--check", "--config",
                                   f.name], capture_output=True, text=True, timeout=30)
        finally:
            os.unlink(f.name)

    def test_exit_codes(self):
        good = config({"a": ("127.0.0.1", "hc")}, {"hc": http_check(8080)})
        r = self.run_check(good)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("ok", r.stdout)
        r = self.run_check("maglev:\n  bogus-key: 1\n")
        self.assertEqual(r.returncode, 1)
        self.assertIn("line 2", r.stderr)
        bad = good.replace("healthcheck: hc", "healthcheck: nope")
        r = self.run_check(bad)
        self.assertEqual(r.returncode, 2)
        self.assertIn('unknown healthcheck "nope"', r.stderr)
        self.assertIn("backends.a", r.stderr)


class HttpProbes(unittest.TestCase):
    def setUp(self):
        self.servers = []
        self.daemon = None

    def tearDown(self):
        if self.daemon:
            self.daemon.stop()
        for s in self.servers:
            s.stop()

    def start(self, n, extra=""):
        port = mt.free_port("127.0.0.1")
        backends = {}
        for i in range(n):
            host = f"127.0.10.{i + 1}"
            self.servers.append(mt.HttpBackend(host, port))
            backends[f"b{i}"] = (host, "hc")
        self.daemon = mt.Maglevd(config(backends, {"hc": http_check(port, extra)}))
        return self.servers

    def test_status_garbage_silence_and_hang(self):
        ok, s503, garbage, close, hang = self.start(5)
        s503.set_mode("503")
        garbage.set_mode("garbage")
        close.set_mode("close")
        hang.set_mode("hang")
        hang.hang_seconds = 2
        self.daemon.wait_state("b0", "up")
        for name in ("b1", "b2", "b3", "b4"):
            self.daemon.wait_state(name, "down")
        codes = {}
        for rec in self.daemon.transitions():
            if rec["to"] == "down":
                codes[rec["backend"]] = (rec["code"], rec["detail"])
        self.assertEqual(codes["b1"], ("L7STS", "HTTP 503"))
        self.assertEqual(codes["b2"][0], "L7RSP")
        self.assertEqual(codes["b3"][0], "L7RSP")
        self.assertEqual(codes["b4"][0], "L7TOUT")
        # The healthy backend was never disturbed by the misbehaving ones.
        self.assertEqual([r["to"] for r in self.daemon.transitions("b0")], ["up"])
        # The probe sent our Host and User-Agent.
        self.assertTrue(ok.last_headers.get("User-Agent", "").startswith("maglevd/"))
        self.assertEqual(ok.last_headers.get("Host"), f"127.0.10.1:{ok.port}")

    def test_recovery_and_stopped_listener(self):
        (srv,) = self.start(1)
        self.daemon.wait_state("b0", "up")
        srv.set_mode("503")
        self.daemon.wait_state("b0", "down")
        srv.set_mode("200")
        self.daemon.wait_state("b0", "up")
        srv.stop()
        self.servers.remove(srv)
        self.daemon.wait_state("b0", "down")
        last = self.daemon.transitions("b0")[-1]
        # The probe in flight when the listener went away may see a reset
        # (L7RSP); every later probe is refused (L4CON).
        self.assertIn(last["code"], ("L4CON", "L7RSP"))
        self.assertEqual(last["from"], "up")
        mt.wait_for(lambda: self.daemon.probes("b0", "L4CON") >= 2, what="L4CON probes")
        for key in ("backend", "from", "to", "code", "detail", "time", "level"):
            self.assertIn(key, last)

    def test_body_regexp(self):
        ok, bad = self.start(2, extra='response-regexp: "^ok"')
        bad.body = b"not ready\n"
        self.daemon.wait_state("b0", "up")
        self.daemon.wait_state("b1", "down")
        self.assertEqual(self.daemon.transitions("b1")[-1]["code"], "L7RSP")

    def test_reload_good_and_bad(self):
        (srv,) = self.start(1)
        self.daemon.wait_state("b0", "up")
        good = open(self.daemon.config_path).read()
        # A broken file changes nothing and is logged with its error.
        self.daemon.reload("maglev:\n  frontends: [\n")
        mt.wait_for(lambda: self.daemon.records("config-reload-failed"), what="reload failure log")
        self.assertEqual(self.daemon.state("b0"), "up")
        # A good file adds a backend; b0 keeps its state without a restart.
        extra = mt.HttpBackend("127.0.10.9", srv.port)
        self.servers.append(extra)
        text = good.replace("  frontends:", "    b9: { address: 127.0.10.9, healthcheck: hc }\n"
                            "  frontends:").replace("            b0: {}",
                                                    "            b0: {}\n            b9: {}")
        self.daemon.reload(text)
        self.daemon.wait_state("b9", "up")
        self.assertEqual([r["to"] for r in self.daemon.transitions("b0")], ["up"])

    def test_sigterm_is_graceful(self):
        self.start(1)
        self.daemon.wait_state("b0", "up")
        rc = self.daemon.stop()
        self.assertEqual(rc, 0)
        self.assertTrue(self.daemon.records("maglevd-stopped"))
        self.daemon = None


class OperatorActions(unittest.TestCase):
    """Pause/resume/disable/enable through the real maglevc against the real
    maglevd, observed at the backend itself (its request count)."""

    def maglevc(self, *args, check=True):
        r = subprocess.run([os.path.join(mt.BIN_DIR, "maglevc"), "--server",
                            self.daemon.grpc_addr, *args], capture_output=True, text=True,
                           timeout=30)
        if check:
            self.assertEqual(r.returncode, 0, r.stderr)
        return r

    def test_pause_stops_probes_and_resume_restarts_them(self):
        port = mt.free_port("127.0.30.1")
        srv = mt.HttpBackend("127.0.30.1", port)
        self.daemon = mt.Maglevd(config({"b0": ("127.0.30.1", "hc")}, {"hc": http_check(port)}))
        try:
            mt.wait_port("127.0.0.1", self.daemon.grpc_port)
            self.daemon.wait_state("b0", "up")
            self.maglevc("set", "backend", "b0", "pause")
            self.daemon.wait_state("b0", "paused")
            time.sleep(0.5)  # a probe in flight at pause time may still land
            before = srv.count()
            time.sleep(1.5)  # ~7 intervals of 200 ms
            self.assertEqual(srv.count(), before, "probes continued while paused")
            self.maglevc("set", "backend", "b0", "resume")
            mt.wait_for(lambda: srv.count() >= before + 3, what="probes after resume")
            self.daemon.wait_state("b0", "up")
            # Disabled: no probes either, and pause is refused.
            self.maglevc("set", "backend", "b0", "disable")
            time.sleep(0.5)
            before = srv.count()
            r = self.maglevc("set", "backend", "b0", "pause", check=False)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("disabled", r.stderr)
            time.sleep(1.5)
            self.assertEqual(srv.count(), before, "probes continued while disabled")
            self.maglevc("set", "backend", "b0", "enable")
            self.daemon.wait_state("b0", "up")
            self.assertGreater(srv.count(), before)
            tos = [r["to"] for r in self.daemon.transitions("b0")]
            self.assertEqual(tos, ["up", "paused", "unknown", "up", "disabled",
                                   "unknown", "up"])
        finally:
            self.daemon.stop()
            srv.stop()


class TlsProbes(unittest.TestCase):
    def test_self_signed(self):
        tmp = tempfile.mkdtemp(prefix="maglev-tls-")
        cert, key = mt.make_self_signed(tmp, cn="backend.test", ip="127.0.20.1")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        seen_sni = []
        ctx.sni_callback = lambda sslobj, name, c: seen_sni.append(name)
        port = mt.free_port("127.0.20.1")
        # One TLS server per backend: one frontend cannot hold one address twice.
        servers = [mt.HttpBackend(f"127.0.20.{i}", port, tls_context=ctx) for i in (1, 2, 3)]
        checks = {
            "verify": f"""
                type: https
                port: {port}
                interval: 200ms
                timeout: 500ms
                rise: 1
                fall: 1
                http:
                  path: /
                  server-name: backend.test
            """,
            "skip": f"""
                type: https
                port: {port}
                interval: 200ms
                timeout: 500ms
                rise: 1
                fall: 1
                http:
                  path: /
                  server-name: backend.test
                  insecure-skip-verify: true
            """,
            "tcptls": f"""
                type: tcp
                port: {port}
                interval: 200ms
                timeout: 500ms
                rise: 1
                fall: 1
                tcp:
                  ssl: true
                  insecure-skip-verify: true
            """,
        }
        d = mt.Maglevd(config({"strict": ("127.0.20.1", "verify"), "lax": ("127.0.20.2", "skip"),
                               "raw": ("127.0.20.3", "tcptls")}, checks))
        try:
            d.wait_state("strict", "down")
            d.wait_state("lax", "up")
            d.wait_state("raw", "up")
            rec = d.transitions("strict")[-1]
            self.assertEqual(rec["code"], "L6RSP")
            self.assertIn("verif", rec["detail"])
            # The https probe completed HTTP over TLS and sent the SNI.
            self.assertGreater(servers[1].count(), 0)
            self.assertIn("backend.test", seen_sni)
        finally:
            d.stop()
            for srv in servers:
                srv.stop()


@unittest.skipUnless(mt.have_netns(), "needs root and `ip netns` (CAP_SYS_ADMIN, CAP_NET_RAW)")
class NamespaceProbes(unittest.TestCase):
    def test_icmp_link_down_and_up(self):
        with mt.netns_pair("mgi") as (ns_a, ns_b, va, vb):
            checks = {"ping": """
                type: icmp
                interval: 200ms
                timeout: 300ms
                rise: 1
                fall: 2
            """}
            text = config({"v4": ("192.0.2.2", "ping"), "v6": ("2001:db8::2", "ping")}, checks,
                          frontend_backends=["v4"])
            text = text.replace("  healthchecks:", f"  healthchecker:\n    netns: {ns_a}\n"
                                "  healthchecks:")
            text += ("    web6:\n      address: 2001:db8::80\n      port: 80\n      pools:\n"
                     "        - name: main\n          backends:\n            v6: {}\n")
            d = mt.Maglevd(text)
            try:
                d.wait_state("v4", "up")
                d.wait_state("v6", "up")
                subprocess.run(["ip", "-n", ns_b, "link", "set", vb, "down"], check=True)
                d.wait_state("v4", "down")
                d.wait_state("v6", "down")
                self.assertEqual(d.transitions("v4")[-1]["code"], "L3TOUT")
                subprocess.run(["ip", "-n", ns_b, "link", "set", vb, "up"], check=True)
                d.wait_state("v4", "up")
            finally:
                d.stop()

    def test_http_inside_namespace(self):
        with mt.netns_pair("mgh") as (ns_a, ns_b, va, vb):
            server = subprocess.Popen(
                ["ip", "netns", "exec", ns_b, sys.executable, "-m", "http.server", "8080",
                 "--bind", "192.0.2.2"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                check = http_check(8080).replace("/healthz", "/")
                text = config({"web0": ("192.0.2.2", "hc")}, {"hc": check})
                text = text.replace("  healthchecks:", f"  healthchecker:\n    netns: {ns_a}\n"
                                    "  healthchecks:")
                d = mt.Maglevd(text)
                try:
                    d.wait_state("web0", "up")
                    server.terminate()
                    server.wait()
                    d.wait_state("web0", "down")
                finally:
                    d.stop()
            finally:
                if server.poll() is None:
                    server.kill()


if __name__ == "__main__":
    unittest.main(verbosity=2)
