# SPDX-License-Identifier: Apache-2.0
"""maglevd-frontend over TLS and mutual TLS to maglevd (issue #11 §6), with
certificates this test makes: a good client pair against a maglevd that
requires client certificates works end to end (state and an admin action),
a wrong CA is refused, no client certificate is refused, plaintext against
a TLS maglevd is refused; the frontend says why and keeps serving."""

import base64
import json
import os
import subprocess
import sys
import tempfile
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import maglevtest as mt  # noqa: E402

FRONTEND = os.path.join(mt.BIN_DIR, "maglevd-frontend")

CONFIG = """
maglev:
  vpp:
    lb: { ipv4-src-address: 192.0.2.1 }
  backends:
    s0: { address: 127.0.61.1 }
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


def get(url, headers=None, data=None):
    req = urllib.request.Request(url, headers=headers or {}, data=data,
                                 method="POST" if data is not None else "GET")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


class Frontend(mt.Process):
    def __init__(self, server, *tls_args):
        self.port = mt.free_port()
        env = dict(os.environ, MAGLEV_FRONTEND_USER="op", MAGLEV_FRONTEND_PASSWORD="pw")
        super().__init__([FRONTEND, "--server", f"r1={server}", "--listen",
                          f"127.0.0.1:{self.port}", *tls_args], env=env)
        mt.wait_for(lambda: self.records("http-listen") or self.proc.poll() is not None,
                    10, what="maglevd-frontend to listen")
        if self.proc.poll() is not None:
            raise AssertionError(f"maglevd-frontend exited: {self.text()}")
        self.url = f"http://127.0.0.1:{self.port}"

    def status(self):
        return get(self.url + "/view/api/maglevds")[1]["maglevds"][0]


class FrontendTls(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="maglev-frontend-tls-")
        cls.ca = make_ca(cls.dir, "ca")
        cls.other_ca = make_ca(cls.dir, "other-ca")
        cls.server = make_leaf(cls.dir, "server", cls.ca, "IP:127.0.0.1,DNS:maglevd.test",
                               "serverAuth")
        cls.client = make_leaf(cls.dir, "client", cls.ca, "DNS:dashboard", "clientAuth")
        cls.stranger = make_leaf(cls.dir, "stranger", cls.other_ca, "DNS:stranger",
                                 "clientAuth")
        cls.maglevd = mt.Maglevd(CONFIG, metrics=False, extra_args=(
            "--grpc-tls-cert", cls.server[0], "--grpc-tls-key", cls.server[1],
            "--grpc-client-ca", cls.ca[0]))
        mt.wait_for(lambda: cls.maglevd.records("grpc-listen"), what="grpc-listen")

    @classmethod
    def tearDownClass(cls):
        cls.maglevd.stop()

    def run_frontend(self, *tls_args):
        f = Frontend(self.maglevd.grpc_addr, *tls_args)

        def stop():
            code = f.stop()
            self.assertEqual(code, 0, f"maglevd-frontend exited {code}:\n{f.text()[-4000:]}")
        self.addCleanup(stop)
        return f

    def assert_refused(self, f):
        # Tried (the status carries the reason) and never connected.
        mt.wait_for(lambda: f.status()["error"] not in ("", "not connected yet"), 15,
                    what="a connection error")
        st = f.status()
        self.assertFalse(st["connected"], st)
        self.assertEqual(get(f.url + "/healthz")[0], 200)  # it keeps serving
        return st["error"]

    def test_good_pair_works_end_to_end(self):
        f = self.run_frontend("--tls-ca", self.ca[0], "--tls-cert", self.client[0],
                              "--tls-key", self.client[1])
        mt.wait_for(lambda: f.status()["connected"], 15, what="the TLS connection")
        mt.wait_for(lambda: "web" in get(f.url + "/view/api/state")[1]["maglevds"][0]
                    ["frontends"], 15, what="the frontend web over TLS")
        auth = {"Authorization": "Basic " + base64.b64encode(b"op:pw").decode(),
                "Content-Type": "application/json"}
        code, body = get(f.url + "/admin/api/maglevd/r1/backend/s0/disable", auth, b"{}")
        self.assertEqual(code, 200, body)
        self.assertEqual(body["state"], "disabled")
        code, body = get(f.url + "/admin/api/maglevd/r1/backend/s0/enable", auth, b"{}")
        self.assertEqual(code, 200, body)
        self.assertTrue(f.records("maglevd-connect"))

    def test_wrong_ca_is_refused(self):
        f = self.run_frontend("--tls-ca", self.other_ca[0], "--tls-cert", self.client[0],
                              "--tls-key", self.client[1])
        self.assert_refused(f)

    def test_client_certificate_of_another_ca_is_refused(self):
        f = self.run_frontend("--tls-ca", self.ca[0], "--tls-cert", self.stranger[0],
                              "--tls-key", self.stranger[1])
        self.assert_refused(f)

    def test_no_client_certificate_is_refused(self):
        f = self.run_frontend("--tls-ca", self.ca[0])
        self.assert_refused(f)

    def test_plaintext_is_refused(self):
        f = self.run_frontend()
        self.assert_refused(f)

    def test_unreadable_files_are_usage_errors(self):
        r = subprocess.run([FRONTEND, "--server", self.maglevd.grpc_addr, "--tls-ca",
                            os.path.join(self.dir, "nope.pem")], capture_output=True,
                           text=True, timeout=10)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        r = subprocess.run([FRONTEND, "--server", self.maglevd.grpc_addr, "--tls-ca",
                            self.ca[0], "--tls-cert", self.client[0]],
                           capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 2, r.stderr)


if __name__ == "__main__":
    unittest.main()
