"""/metrics scraped from the real maglevd and parsed with an independent
parser (Debian's python3-prometheus-client); values checked against what
the API (maglevc) reports."""

import os
import re
import shutil
import subprocess
import sys
import unittest
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import maglevtest as mt  # noqa: E402

CONFIG = """
maglev:
  vpp:
    lb:
      ipv4-src-address: 192.0.2.1
  healthchecks:
    hc:
      type: http
      port: {port}
      interval: 200ms
      fast-interval: 100ms
      timeout: 300ms
      rise: 2
      fall: 2
  backends:
    good: {{ address: 127.0.40.1, healthcheck: hc }}
    bad: {{ address: 127.0.40.2, healthcheck: hc }}
    static: {{ address: 127.0.40.3 }}
  frontends:
    web:
      address: 192.0.2.80
      port: 80
      pools:
        - name: primary
          backends: {{ good: {{ weight: 70 }}, bad: {{}} }}
        - name: fallback
          backends: {{ static: {{}} }}
"""


class Metrics(unittest.TestCase):
    def test_scrape_parses_and_matches_the_api(self):
        port = mt.free_port("127.0.40.1")
        good = mt.HttpBackend("127.0.40.1", port)
        bad = mt.HttpBackend("127.0.40.2", port, mode="503")
        d = mt.Maglevd(CONFIG.format(port=port))
        try:
            d.wait_state("good", "up")
            d.wait_state("bad", "down")
            mt.wait_port("127.0.0.1", d.grpc_port)
            with urllib.request.urlopen(f"http://127.0.0.1:{d.metrics_port}/metrics",
                                        timeout=5) as resp:
                ctype = resp.headers["Content-Type"]
                text = resp.read().decode()
            self.assertTrue(ctype.startswith("text/plain; version=0.0.4"), ctype)
            families = {f.name: f for f in text_string_to_metric_families(text)}
            # HELP/TYPE for every family, names in the maglev_ namespace, units in names.
            for name, fam in families.items():
                self.assertTrue(name.startswith("maglev_"), name)
                self.assertTrue(fam.documentation, name)
            self.assertEqual(families["maglev_probe_duration_seconds"].type, "histogram")
            self.assertEqual(families["maglev_probes"].type, "counter")  # _total stripped
            self.assertEqual(families["maglev_backend_state"].type, "gauge")

            def sample(family, suffix="", **labels):
                for s in families[family].samples:
                    if s.name == family + suffix and all(s.labels.get(k) == v
                                                         for k, v in labels.items()):
                        return s.value
                raise AssertionError(f"no sample {family}{suffix} {labels}")

            self.assertEqual(sample("maglev_backend_state", backend="good", state="up"), 1)
            self.assertEqual(sample("maglev_backend_state", backend="good", state="down"), 0)
            self.assertEqual(sample("maglev_backend_state", backend="bad", state="down"), 1)
            self.assertEqual(sample("maglev_backend_enabled", backend="bad"), 1)
            self.assertGreater(sample("maglev_probes", "_total", backend="bad", code="L7STS",
                                      result="fail"), 0)
            self.assertGreater(sample("maglev_probe_duration_seconds", "_count", type="http"), 0)
            self.assertEqual(sample("maglev_backend_transitions", "_total", backend="good",
                                    **{"from": "unknown", "to": "up"}), 1)

            # Weights against the API: `show frontends web` lines.
            out = subprocess.run([os.path.join(mt.BIN_DIR, "maglevc"), "--server", d.grpc_addr,
                                  "show", "frontends", "web"], capture_output=True, text=True,
                                 timeout=30, check=True).stdout
            rows = re.findall(r"^\s+(\S+) weight (\d+) effective (\d+)", out, re.M)
            self.assertEqual(len(rows), 3, out)
            for backend, cfg, eff in rows:
                self.assertEqual(sample("maglev_backend_configured_weight", backend=backend),
                                 int(cfg), backend)
                self.assertEqual(sample("maglev_backend_effective_weight", backend=backend),
                                 int(eff), backend)
            self.assertEqual(sample("maglev_backend_effective_weight", backend="good"), 70)
            self.assertEqual(sample("maglev_frontend_state", frontend="web", state="up"), 1)
            # Starting is not a transition.
            self.assertFalse([s for s in families["maglev_backend_transitions"].samples
                              if s.labels.get("from") == "unknown"
                              and s.labels.get("to") == "unknown"])
            # The VPP connection state is exported even with the dataplane off,
            # so that an alert on it fires for a maglevd started without VPP.
            self.assertEqual(sample("maglev_vpp_connected"), 0)
            self.assertEqual(sample("maglev_vpp_dataplane_enabled"), 0)
            # The log writer keeps up with a quiet daemon: exported, nothing lost.
            self.assertEqual(sample("maglev_log_dropped", "_total"), 0)

            # An unknown path is a 404, not a crash.
            with self.assertRaises(urllib.error.HTTPError):
                urllib.request.urlopen(f"http://127.0.0.1:{d.metrics_port}/nope", timeout=5)
            # Prometheus' own linter accepts the exposition.
            promtool = shutil.which("promtool")
            if promtool is None:
                self.skipTest("promtool not installed (Debian package prometheus; "
                              "scripts/install-deps.sh installs it)")
            check = subprocess.run([promtool, "check", "metrics"], input=text,
                                   capture_output=True, text=True, timeout=30)
            self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        finally:
            d.stop()
            good.stop()
            bad.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
