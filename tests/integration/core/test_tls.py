# SPDX-License-Identifier: Apache-2.0
"""gRPC over TLS and mutual TLS between maglevd and maglevc, with
certificates this test makes (issue #11 §6): the right CA works end to end,
a wrong CA is refused, a missing client certificate is refused when maglevd
requires one, plaintext against a TLS server is refused."""

import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import maglevtest as mt  # noqa: E402

MAGLEVC = os.path.join(mt.BIN_DIR, "maglevc")

CONFIG = """
maglev:
  vpp:
    lb: { ipv4-src-address: 192.0.2.1 }
  backends:
    s0: { address: 127.0.60.1 }
  frontends:
    web:
      address: 192.0.2.80
      port: 80
      pools:
        - name: main
          backends: { s0: {} }
"""


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def make_ca(d, name):
    key, cert = os.path.join(d, name + ".key"), os.path.join(d, name + ".pem")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
            f"/CN={name}", "-keyout", key, "-out", cert)
    return cert, key


def make_leaf(d, name, ca, san, usage):
    key, csr, cert = (os.path.join(d, name + ext) for ext in (".key", ".csr", ".pem"))
    ext = os.path.join(d, name + ".ext")
    with open(ext, "w") as f:
        f.write(f"subjectAltName={san}\nextendedKeyUsage={usage}\n")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}", "-keyout", key,
            "-out", csr)
    openssl("x509", "-req", "-in", csr, "-CA", ca[0], "-CAkey", ca[1], "-CAcreateserial",
            "-days", "2", "-extfile", ext, "-out", cert)
    return cert, key


class Tls(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="maglev-tls-")
        cls.ca = make_ca(cls.dir, "ca")
        cls.other_ca = make_ca(cls.dir, "other-ca")
        cls.server = make_leaf(cls.dir, "server", cls.ca, "IP:127.0.0.1,DNS:maglevd.test",
                               "serverAuth")
        cls.client = make_leaf(cls.dir, "client", cls.ca, "DNS:operator", "clientAuth")
        cls.stranger = make_leaf(cls.dir, "stranger", cls.other_ca, "DNS:stranger",
                                 "clientAuth")

    def maglevc(self, d, *tls_args):
        return subprocess.run([MAGLEVC, "--server", d.grpc_addr, *tls_args, "show",
                               "frontends"], capture_output=True, text=True, timeout=30)

    def test_tls_and_mutual_tls(self):
        # TLS without client certificates.
        d = mt.Maglevd(CONFIG, metrics=False, extra_args=(
            "--grpc-tls-cert", self.server[0], "--grpc-tls-key", self.server[1]))
        try:
            mt.wait_for(lambda: d.records("grpc-listen"), what="grpc-listen")
            self.assertTrue(d.records("grpc-listen")[0]["tls"])
            ok = self.maglevc(d, "--tls-ca", self.ca[0])
            self.assertEqual(ok.returncode, 0, ok.stderr)
            self.assertIn("web", ok.stdout)
            # The certificate's DNS name instead of the address.
            ok = self.maglevc(d, "--tls-ca", self.ca[0], "--tls-server-name", "maglevd.test")
            self.assertEqual(ok.returncode, 0, ok.stderr)
            wrong = self.maglevc(d, "--tls-ca", self.other_ca[0])
            self.assertEqual(wrong.returncode, 1)
            self.assertIn("cannot reach maglevd", wrong.stderr)
            plain = self.maglevc(d)
            self.assertEqual(plain.returncode, 1, plain.stdout)
        finally:
            d.stop()

        # Mutual TLS: a client certificate signed by the client CA is required.
        d = mt.Maglevd(CONFIG, metrics=False, extra_args=(
            "--grpc-tls-cert", self.server[0], "--grpc-tls-key", self.server[1],
            "--grpc-client-ca", self.ca[0]))
        try:
            mt.wait_for(lambda: d.records("grpc-listen"), what="grpc-listen")
            self.assertTrue(d.records("grpc-listen")[0]["client_certificates"])
            ok = self.maglevc(d, "--tls-ca", self.ca[0], "--tls-cert", self.client[0],
                              "--tls-key", self.client[1])
            self.assertEqual(ok.returncode, 0, ok.stderr)
            self.assertIn("web", ok.stdout)
            none = self.maglevc(d, "--tls-ca", self.ca[0])
            self.assertEqual(none.returncode, 1, none.stdout)
            stranger = self.maglevc(d, "--tls-ca", self.ca[0], "--tls-cert", self.stranger[0],
                                    "--tls-key", self.stranger[1])
            self.assertEqual(stranger.returncode, 1, stranger.stdout)
        finally:
            d.stop()

    def test_tls_flag_mistakes_are_usage_errors(self):
        maglevd = os.path.join(mt.BIN_DIR, "maglevd")
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
            f.write(CONFIG)
        cases = [
            (["--grpc-tls-cert", self.server[0]], "--grpc-tls-cert and --grpc-tls-key go together"),
            (["--grpc-client-ca", self.ca[0]], "--grpc-client-ca needs --grpc-tls-cert"),
        ]
        for args, message in cases:
            r = subprocess.run([maglevd, "--config", f.name, "--grpc-addr",
                                f"127.0.0.1:{mt.free_port()}", "--metrics-addr", "",
                                "--vpp-api-addr", "", *args],
                               capture_output=True, text=True, timeout=20)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn(message, r.stderr)
        # An unreadable certificate: the listener cannot be set up.
        r = subprocess.run([maglevd, "--config", f.name, "--grpc-addr",
                            f"127.0.0.1:{mt.free_port()}", "--metrics-addr", "",
                            "--vpp-api-addr", "", "--grpc-tls-cert", "/nonexistent.pem",
                            "--grpc-tls-key", self.server[1]],
                           capture_output=True, text=True, timeout=20)
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn('certificate \\"/nonexistent.pem\\": cannot be read', r.stderr)
        r = subprocess.run([MAGLEVC, "--tls-ca", "/nonexistent.pem", "show", "version"],
                           capture_output=True, text=True, timeout=20)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn('CA "/nonexistent.pem": cannot be read', r.stderr)
        os.unlink(f.name)


if __name__ == "__main__":
    unittest.main(verbosity=2)
