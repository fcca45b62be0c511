# SPDX-License-Identifier: Apache-2.0
"""maglevd fails safe on an operator's mistakes (issue #13 §2): a wrong flag,
an address that does not parse or is taken, an empty environment variable,
an unreachable VPP. Each case runs the real binaries and checks the exit code,
that the error is one line naming what is wrong, and that nothing started."""

import os
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import maglevtest as mt  # noqa: E402

MAGLEVD = os.path.join(mt.BIN_DIR, "maglevd")
MAGLEVC = os.path.join(mt.BIN_DIR, "maglevc")
VPPSIM = os.path.join(mt.BIN_DIR, "maglev-vppsim")

# One static backend (no probes needed) and one probed backend whose request
# count shows whether maglevd started probing.
CONFIG = """
maglev:
  vpp:
    lb:
      ipv4-src-address: 192.0.2.1
      startup-min-delay: 0s
      startup-max-delay: 0s
  healthchecks:
    hc: {{ type: http, port: {port}, interval: 100ms, timeout: 300ms, rise: 1, fall: 1 }}
  backends:
    probed: {{ address: 127.0.50.1, healthcheck: hc }}
  frontends:
    web:
      address: 192.0.2.80
      port: 80
      pools:
        - name: main
          backends: {{ probed: {{}} }}
"""


def env_without_maglev(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAGLEV_")}
    env.update(extra)
    return env


class FailSafe(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="maglev-failsafe-")
        self.port = mt.free_port("127.0.50.1")
        self.backend = mt.HttpBackend("127.0.50.1", self.port)
        self.config = os.path.join(self.tmp, "maglev.yaml")
        with open(self.config, "w") as f:
            f.write(CONFIG.format(port=self.port))

    def tearDown(self):
        self.backend.stop()

    def run_maglevd(self, *args, env=None, timeout=20):
        argv = [MAGLEVD, "--config", self.config, *args]
        t0 = time.monotonic()
        r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                           env=env or env_without_maglev())
        return r, time.monotonic() - t0

    def assert_one_line(self, text, *needles):
        lines = [l for l in text.splitlines() if l.strip()]
        self.assertEqual(len(lines), 1, text)
        for n in needles:
            self.assertIn(n, lines[0])

    def test_unparsable_addresses_are_usage_errors(self):
        cases = {
            "127.0.0.1": 'missing ":PORT"',  # gRPC would pick port 443 by itself
            "127.0.0.1:99999": "port out of range 1-65535",  # gRPC: a random port
            "[::1": "unclosed '['",
            "999.1.1.1:9090": "is not an IP address",
            "localhost:http": "is not a number",
        }
        for flag in ("--grpc-addr", "--metrics-addr"):
            for value, why in cases.items():
                other = "--metrics-addr" if flag == "--grpc-addr" else "--grpc-addr"
                r, secs = self.run_maglevd(flag, value, other, f"127.0.0.1:{mt.free_port()}",
                                           "--vpp-api-addr", "")
                self.assertEqual(r.returncode, 2, (flag, value, r.stderr))
                self.assert_one_line(r.stderr, "maglevd:", flag, f'"{value}"', why)
                self.assertLess(secs, 5, (flag, value))  # nothing waited for
        # An empty --grpc-addr cannot mean "off": the API is how it is operated.
        r, _ = self.run_maglevd("--grpc-addr", "", "--vpp-api-addr", "")
        self.assertEqual(r.returncode, 2)
        self.assert_one_line(r.stderr, "--grpc-addr", "must not be empty")
        self.assertEqual(self.backend.count(), 0)  # nothing was probed

    def test_a_taken_port_exits_3_before_anything_starts(self):
        holder = socket.socket()
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        taken = f"127.0.0.1:{holder.getsockname()[1]}"
        try:
            for flag, other in (("--grpc-addr", "--metrics-addr"),
                                ("--metrics-addr", "--grpc-addr")):
                r, secs = self.run_maglevd(flag, taken, other, f"127.0.0.1:{mt.free_port()}",
                                           "--vpp-api-addr", "")
                self.assertEqual(r.returncode, 3, (flag, r.stderr))
                errors = [l for l in r.stderr.splitlines() if '"level":"error"' in l]
                self.assert_one_line("\n".join(errors), taken, "Address already in use")
                self.assertNotIn("SIGSEGV", r.stderr)
                self.assertLess(secs, 5)
            # An address of no interface of this host.
            r, _ = self.run_maglevd("--grpc-addr", "192.0.2.77:9", "--metrics-addr", "",
                                    "--vpp-api-addr", "")
            self.assertEqual(r.returncode, 3, r.stderr)
            self.assertIn("Cannot assign requested address", r.stderr)
            self.assertEqual(self.backend.count(), 0)  # never probed
        finally:
            holder.close()

    def test_a_second_maglevd_on_the_same_grpc_address_fails(self):
        port = mt.free_port()
        first = mt.Process([MAGLEVD, "--config", self.config, "--grpc-addr",
                            f"127.0.0.1:{port}", "--metrics-addr", "", "--vpp-api-addr", ""],
                           env=env_without_maglev())
        try:
            mt.wait_for(lambda: first.records("grpc-listen"), what="first maglevd listening")
            r, _ = self.run_maglevd("--grpc-addr", f"127.0.0.1:{port}", "--metrics-addr", "",
                                    "--vpp-api-addr", "")
            self.assertEqual(r.returncode, 3, r.stderr)
            self.assertIn(f"127.0.0.1:{port}: Address already in use", r.stderr)
            # The first one still answers every call (the port is not shared).
            for _ in range(5):
                out = subprocess.run([MAGLEVC, "--server", f"127.0.0.1:{port}", "show",
                                      "version"], capture_output=True, text=True, timeout=30)
                self.assertEqual(out.returncode, 0, out.stderr)
        finally:
            first.stop()

    def test_colon_port_means_every_address_and_warns_about_plaintext(self):
        port = mt.free_port()
        d = mt.Process([MAGLEVD, "--config", self.config, "--grpc-addr", f":{port}",
                        "--metrics-addr", "", "--vpp-api-addr", ""], env=env_without_maglev())
        try:
            mt.wait_for(lambda: d.records("grpc-listen"), what="maglevd listening")
            self.assertEqual(d.records("grpc-listen")[0]["address"], f"[::]:{port}")
            warn = d.records("grpc-plaintext")
            self.assertEqual(len(warn), 1, d.text())
            self.assertEqual(warn[0]["level"], "warn")
            for target in (f"127.0.0.1:{port}", f"[::1]:{port}"):
                out = subprocess.run([MAGLEVC, "--server", target, "show", "version"],
                                     capture_output=True, text=True, timeout=30)
                self.assertEqual(out.returncode, 0, (target, out.stderr))
        finally:
            d.stop()
        # On loopback, plaintext is the expected default: no warning.
        d = mt.Maglevd(CONFIG.format(port=self.port), metrics=False)
        try:
            mt.wait_for(lambda: d.records("grpc-listen"), what="maglevd listening")
            self.assertEqual(d.records("grpc-plaintext"), [])
        finally:
            d.stop()

    def test_empty_environment_values_mean_off(self):
        # Were MAGLEV_VPP_API_ADDR= ignored, maglevd would program the VPP at
        # the default /run/vpp/api.sock; were MAGLEV_METRICS_ADDR= ignored, it
        # would listen on 127.0.0.1:9091.
        env = env_without_maglev(MAGLEV_VPP_API_ADDR="", MAGLEV_METRICS_ADDR="",
                                 MAGLEV_GRPC_ADDR=f"127.0.0.1:{mt.free_port()}")
        d = mt.Process([MAGLEVD, "--config", self.config], env=env)
        try:
            mt.wait_for(lambda: d.records("grpc-listen"), what="maglevd listening")
            mt.wait_for(lambda: d.records("vpp-disabled"), what="vpp-disabled")
            self.assertEqual(d.records("metrics-listen"), [])
            start = d.records("maglevd-start")[0]
            self.assertEqual(start["vpp_api_addr"], "")
            self.assertEqual(start["metrics_addr"], "")
        finally:
            d.stop()
        # And a flag still wins over the environment.
        port = mt.free_port()
        env["MAGLEV_METRICS_ADDR"] = f"127.0.0.1:{mt.free_port()}"
        d = mt.Process([MAGLEVD, "--config", self.config, "--metrics-addr",
                        f"127.0.0.1:{port}"], env=env)
        try:
            mt.wait_for(lambda: d.records("metrics-listen"), what="metrics listening")
            self.assertEqual(d.records("metrics-listen")[0]["port"], port)
        finally:
            d.stop()

    def test_unreachable_vpp_is_a_warning_when_it_starts_and_when_it_changes(self):
        sock = os.path.join(self.tmp, "api.sock")
        d = mt.Process([MAGLEVD, "--config", self.config, "--grpc-addr",
                        f"127.0.0.1:{mt.free_port()}", "--metrics-addr", "", "--vpp-api-addr",
                        sock], env=env_without_maglev())
        try:
            mt.wait_for(lambda: d.records("vpp-unreachable"), what="vpp-unreachable")
            first = d.records("vpp-unreachable")
            self.assertEqual(first[0]["level"], "warn")
            self.assertIn("No such file or directory", first[0]["error"])
            # Retries go on quietly: several attempts, still one warning.
            time.sleep(1.5)
            self.assertEqual(len(d.records("vpp-unreachable")), 1, d.text())
            # A socket nobody accepts on: refused, a new reason, a new warning.
            refuser = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            refuser.bind(sock)
            mt.wait_for(lambda: len(d.records("vpp-unreachable")) == 2,
                        what="a second vpp-unreachable")
            self.assertIn("Connection refused", d.records("vpp-unreachable")[1]["error"])
            refuser.close()
            os.unlink(sock)
            # VPP (the simulator) comes: connected, and programmed.
            sim = mt.Process([VPPSIM, "--socket", sock], env=env_without_maglev())
            try:
                mt.wait_for(lambda: d.records("vpp-connect"), what="vpp-connect")
            finally:
                sim.stop()
        finally:
            d.stop()

    def test_bad_flag_values_exit_2_with_one_line_for_every_binary(self):
        cases = [
            ([MAGLEVD, "--log-level", "verbose"], "maglevd:", "--log-level"),
            ([MAGLEVD, "--no-such-flag"], "maglevd:", "--no-such-flag"),
            ([MAGLEVD, "--reflection", "maybe"], "maglevd:", "--reflection"),
            ([MAGLEVC, "--color", "purple"], "maglevc:", "--color"),
            ([MAGLEVC, "--no-such-flag"], "maglevc:", "--no-such-flag"),
            ([VPPSIM, "--no-such-flag"], "maglev-vppsim:", "--no-such-flag"),
            ([VPPSIM, "--lb-first-msg-id", "x"], "maglev-vppsim:", "--lb-first-msg-id"),
        ]
        for argv, prog, needle in cases:
            r = subprocess.run(argv, capture_output=True, text=True, timeout=20,
                               env=env_without_maglev())
            self.assertEqual(r.returncode, 2, (argv, r.stderr))
            self.assert_one_line(r.stderr, prog, needle)
        # --help is not an error.
        for binary in (MAGLEVD, MAGLEVC, VPPSIM):
            r = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=20)
            self.assertEqual(r.returncode, 0, binary)
            self.assertIn("--", r.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)
