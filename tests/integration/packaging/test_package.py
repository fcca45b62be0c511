"""Integration test of the Debian package (spec §8 "Packaging").

Builds the package with scripts/build-deb.sh from the build tree under test
(MAGLEV_BUILD_DIR; the three programs are built there if needed) into a
temporary directory, or takes an existing package from MAGLEV_DEB, then
inspects it: control fields and Depends, the file list with owners and modes,
conffiles, maintainer scripts, man pages, the systemd unit (with
`systemd-analyze verify` when it is installed), and runs the packaged maglevd:
`--check` on the packaged default configuration and the Type=notify readiness
protocol the unit relies on.

Environment: MAGLEV_SOURCE_DIR, MAGLEV_BUILD_DIR (set by CTest), MAGLEV_DEB
(optional: a .deb to inspect instead of building one).
"""

import gzip
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import maglevtest as mt  # noqa: E402

SOURCE_DIR = os.environ.get("MAGLEV_SOURCE_DIR",
                            os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..",
                                                         "..")))
BUILD_DIR = os.environ.get("MAGLEV_BUILD_DIR", os.path.join(SOURCE_DIR, "build"))

BINARIES = {"/usr/sbin/maglevd", "/usr/bin/maglevc", "/usr/bin/maglev-vppsim",
            "/usr/sbin/maglevd-frontend"}
CONFFILES = {"/etc/vpp-maglev/maglev.yaml", "/etc/default/maglevd",
             "/etc/default/maglevd-frontend"}
UNIT = "/lib/systemd/system/maglevd.service"
FRONTEND_UNIT = "/lib/systemd/system/maglevd-frontend.service"
MAN_PAGES = {"/usr/share/man/man8/maglevd.8.gz": ("MAGLEVD", "8"),
             "/usr/share/man/man1/maglevc.1.gz": ("MAGLEVC", "1"),
             "/usr/share/man/man1/maglev-vppsim.1.gz": ("MAGLEV-VPPSIM", "1"),
             "/usr/share/man/man8/maglevd-frontend.8.gz": ("MAGLEVD-FRONTEND", "8")}
DOCS = {"/usr/share/doc/vpp-maglev/README.md", "/usr/share/doc/vpp-maglev/copyright",
        "/usr/share/doc/vpp-maglev/changelog.Debian.gz"}
EXAMPLES = "/usr/share/vpp-maglev/examples"


def run(cmd, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 120)
    return subprocess.run(cmd, **kw)


def project_version():
    with open(os.path.join(SOURCE_DIR, "CMakeLists.txt")) as f:
        m = re.search(r"^project\(vpp-maglev\s+VERSION\s+([0-9][0-9.]*)", f.read(), re.M)
    assert m, "no project(vpp-maglev VERSION ...) in the top-level CMakeLists.txt"
    return m.group(1)


def parse_unit(text):
    """{(section, key): [values]} of a systemd unit file."""
    entries, section = {}, None
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        key, _, value = line.partition("=")
        entries.setdefault((section, key.strip()), []).append(value.strip())
    return entries


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DebianPackage(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="maglev-deb-test-")
        # The extracted package and configs must be usable by the unprivileged
        # user of test_unit_capabilities_suffice_for_netns_icmp_probes.
        os.chmod(cls.tmp, 0o755)
        deb = os.environ.get("MAGLEV_DEB")
        if deb:
            if not os.path.isfile(deb):
                raise AssertionError(f"MAGLEV_DEB={deb} does not exist")
            cls.deb = os.path.abspath(deb)
        else:
            script = os.path.join(SOURCE_DIR, "scripts", "build-deb.sh")
            r = run([script, "--build-dir", BUILD_DIR, "--output-dir", cls.tmp], timeout=1500)
            if r.returncode != 0:
                raise AssertionError(f"build-deb.sh failed ({r.returncode}):\n{r.stdout}\n"
                                     f"{r.stderr}")
            cls.deb = r.stdout.strip().splitlines()[-1]
        cls.root = os.path.join(cls.tmp, "extracted")
        r = run(["dpkg-deb", "-R", cls.deb, cls.root])
        if r.returncode != 0:
            raise AssertionError(f"dpkg-deb -R failed: {r.stderr}")
        cls.listing = cls.list_contents()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def list_contents(cls):
        """{absolute path: (mode string, owner/group)} from `dpkg-deb -c`."""
        r = run(["dpkg-deb", "-c", cls.deb])
        assert r.returncode == 0, r.stderr
        entries = {}
        for line in r.stdout.splitlines():
            parts = line.split(None, 5)
            name = parts[5].split(" -> ")[0]
            path = "/" + name.lstrip("./").rstrip("/")
            entries[path] = (parts[0], parts[1])
        return entries

    def field(self, name):
        r = run(["dpkg-deb", "-f", self.deb, name])
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout.strip()

    def path(self, packaged):
        return os.path.join(self.root, packaged.lstrip("/"))

    # ------------------------------------------------------------ control

    def test_file_name_and_control_fields(self):
        version = project_version()
        arch = run(["dpkg", "--print-architecture"]).stdout.strip()
        self.assertEqual(self.field("Package"), "vpp-maglev")
        self.assertEqual(self.field("Version"), version)
        self.assertEqual(self.field("Architecture"), arch)
        self.assertEqual(self.field("Maintainer"),
                         "vpp-maglev developers <vpp-maglev@example.invalid>")
        self.assertTrue(self.field("Description").startswith("health-checking control plane"))
        self.assertEqual(os.path.basename(self.deb), f"vpp-maglev_{version}_{arch}.deb")
        r = run(["dpkg-deb", "-I", self.deb])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("Package: vpp-maglev", r.stdout)

    def test_depends_covers_every_shared_library(self):
        depends = self.field("Depends")
        self.assertTrue(depends)
        names = {re.split(r"[\s(:]", alt.strip())[0]
                 for dep in depends.split(",") for alt in dep.split("|")}
        self.assertIn("libc6", names)
        self.assertIn("adduser", names)  # postinst creates the maglev user
        for binary in sorted(BINARIES):
            # The libraries the binary names itself (NEEDED), resolved by ldd;
            # their own dependencies are their packages' business.
            r = run(["readelf", "-d", self.path(binary)])
            self.assertEqual(r.returncode, 0, f"readelf {binary}: {r.stderr}")
            needed = set(re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", r.stdout))
            self.assertIn("libc.so.6", needed, binary)
            r = run(["ldd", self.path(binary)])
            self.assertEqual(r.returncode, 0, f"ldd {binary}: {r.stderr}")
            resolved = {}
            for line in r.stdout.splitlines():
                m = re.match(r"\s*(\S+) => (/\S+)", line)
                if m:
                    resolved[m.group(1)] = m.group(2)
            self.assertEqual(needed - set(resolved), set(), f"{binary}: unresolved libraries")
            for soname in sorted(needed):
                path = resolved[soname]
                owner = run(["dpkg", "-S", os.path.realpath(path)])
                if owner.returncode != 0:
                    owner = run(["dpkg", "-S", path])
                self.assertEqual(owner.returncode, 0,
                                 f"{binary} needs {path}, which no package owns")
                pkg = owner.stdout.split(":")[0].strip()
                self.assertIn(pkg, names, f"{binary} needs {soname} from {pkg}, "
                                          f"missing in Depends: {depends}")

    # ------------------------------------------------------------ contents

    def test_every_file_is_present_with_sane_modes(self):
        expected = (BINARIES | CONFFILES | {UNIT, FRONTEND_UNIT} | set(MAN_PAGES) | DOCS |
                    {EXAMPLES + "/maglev.yaml"})
        for path in sorted(expected):
            self.assertIn(path, self.listing, f"{path} is not in the package")
        for path, (mode, owner) in self.listing.items():
            self.assertEqual(owner, "root/root", f"{path} owned by {owner}")
            if mode.startswith("d"):
                self.assertEqual(mode, "drwxr-xr-x", f"directory {path}")
            elif path in BINARIES:
                self.assertEqual(mode, "-rwxr-xr-x", path)
            else:
                self.assertEqual(mode, "-rw-r--r--", f"{path} has mode {mode}")
        # Binaries are stripped ELF executables that run.
        for path in sorted(BINARIES):
            with open(self.path(path), "rb") as f:
                self.assertEqual(f.read(4), b"\x7fELF", path)
        r = run([self.path("/usr/sbin/maglevd"), "--version"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip(), f"maglevd {project_version()}")

    def test_default_config_is_the_example_and_a_conffile(self):
        with open(os.path.join(self.root, "DEBIAN", "conffiles")) as f:
            conffiles = {line.strip() for line in f if line.strip()}
        self.assertEqual(conffiles, CONFFILES)
        # Debian policy: everything shipped under /etc is a conffile.
        under_etc = {p for p, (mode, _) in self.listing.items()
                     if p.startswith("/etc/") and not mode.startswith("d")}
        self.assertEqual(under_etc, conffiles)
        with open(os.path.join(SOURCE_DIR, "examples", "maglev.yaml"), "rb") as f:
            example = f.read()
        with open(self.path("/etc/vpp-maglev/maglev.yaml"), "rb") as f:
            self.assertEqual(f.read(), example)
        with open(self.path(EXAMPLES + "/maglev.yaml"), "rb") as f:
            self.assertEqual(f.read(), example)

    def test_packaged_check_accepts_packaged_config(self):
        maglevd = self.path("/usr/sbin/maglevd")
        config = self.path("/etc/vpp-maglev/maglev.yaml")
        r = run([maglevd, "--check", "--config", config])
        self.assertEqual(r.returncode, 0, f"{r.stdout}{r.stderr}")
        self.assertIn("configuration ok", r.stdout)
        # ... and is a real check: a broken copy is refused.
        broken = os.path.join(self.tmp, "broken.yaml")
        with open(config) as src, open(broken, "w") as dst:
            dst.write(src.read().replace("healthcheck: ping", "healthcheck: no-such-check", 1))
        r = run([maglevd, "--check", "--config", broken])
        self.assertEqual(r.returncode, 2, f"{r.stdout}{r.stderr}")

    def test_man_pages_are_gzipped_roff(self):
        for path, (title, section) in MAN_PAGES.items():
            with open(self.path(path), "rb") as f:
                raw = f.read()
            self.assertEqual(raw[:2], b"\x1f\x8b", f"{path} is not gzip")
            # gzip -n: no name and no time stamp, so the package is reproducible.
            self.assertEqual(raw[4:8], b"\0\0\0\0", f"{path} has a time stamp")
            text = gzip.decompress(raw).decode()
            self.assertRegex(text, rf'(?m)^\.TH {re.escape(title)} {section}\b', path)
            self.assertIn(".SH NAME", text)

    def test_doc_files(self):
        with open(self.path("/usr/share/doc/vpp-maglev/changelog.Debian.gz"), "rb") as f:
            changelog = gzip.decompress(f.read()).decode()
        self.assertTrue(changelog.startswith(f"vpp-maglev ({project_version()})"), changelog)
        with open(self.path("/usr/share/doc/vpp-maglev/copyright")) as f:
            text = f.read()
        # Machine-readable (DEP-5): a header paragraph, a Files paragraph and
        # a stand-alone License paragraph for every license it names.
        paragraphs = [dict(re.findall(r"(?m)^([A-Za-z-]+):[ \t]*(.*)$", p))
                      for p in text.strip().split("\n\n")]
        self.assertTrue(paragraphs[0]["Format"].startswith(
            "https://www.debian.org/doc/packaging-manuals/copyright-format/1.0"))
        self.assertEqual(paragraphs[0]["Upstream-Name"], "vpp-maglev")
        files = [p for p in paragraphs if "Files" in p]
        self.assertEqual([(p["Files"], p["License"]) for p in files], [("*", "Apache-2.0")])
        self.assertTrue(any(p.get("License") == "Apache-2.0" and "Files" not in p
                            for p in paragraphs[1:]))
        self.assertIn("/usr/share/common-licenses/Apache-2.0", text)

    def test_maintainer_scripts(self):
        for name in ("postinst", "prerm", "postrm"):
            path = os.path.join(self.root, "DEBIAN", name)
            mode = stat.S_IMODE(os.stat(path).st_mode)
            self.assertEqual(mode, 0o755, f"{name} mode {oct(mode)}")
            with open(path) as f:
                text = f.read()
            self.assertTrue(text.startswith("#!/bin/sh\n"), name)
            self.assertIn("\nset -e\n", text, name)
            r = run(["sh", "-n", path])
            self.assertEqual(r.returncode, 0, f"{name}: {r.stderr}")
        with open(os.path.join(self.root, "DEBIAN", "postinst")) as f:
            postinst = f.read()
        self.assertRegex(postinst, r"adduser [^\n]*--system")

    def test_md5sums_match(self):
        r = run(["md5sum", "--check", "--quiet", os.path.join(self.root, "DEBIAN", "md5sums")],
                cwd=self.root)
        self.assertEqual(r.returncode, 0, f"{r.stdout}{r.stderr}")
        with open(os.path.join(self.root, "DEBIAN", "md5sums")) as f:
            summed = {"/" + line.split(None, 1)[1].strip() for line in f}
        files = {p for p, (mode, _) in self.listing.items() if mode.startswith("-")}
        self.assertEqual(summed, files)

    # ------------------------------------------------------------ systemd unit

    def unit(self):
        with open(self.path(UNIT)) as f:
            return parse_unit(f.read())

    def test_unit_settings(self):
        u = self.unit()
        s = lambda key: u.get(("Service", key), [])  # noqa: E731
        self.assertEqual(s("Type"), ["notify"])
        self.assertEqual(s("User"), ["maglev"])
        self.assertEqual(s("Restart"), ["on-failure"])
        self.assertTrue(any(v.startswith("/usr/sbin/maglevd ") and "--check" in v.split()
                            for v in s("ExecStartPre")), s("ExecStartPre"))
        self.assertTrue(s("ExecStart") and s("ExecStart")[0].startswith("/usr/sbin/maglevd "))
        self.assertIn("/bin/kill -HUP $MAINPID", s("ExecReload"))
        for key in ("AmbientCapabilities", "CapabilityBoundingSet"):
            caps = {c for v in s(key) for c in v.split()}
            self.assertEqual(caps, {"CAP_NET_RAW", "CAP_SYS_ADMIN"}, key)
        self.assertEqual(s("NoNewPrivileges"), ["yes"])
        self.assertEqual(s("ProtectSystem"), ["strict"])
        # netns probing needs the host's network and user namespaces.
        self.assertNotIn("yes", s("PrivateNetwork") + s("PrivateUsers"))
        self.assertEqual(u.get(("Install", "WantedBy")), ["multi-user.target"])

    def test_frontend_unit_and_binary(self):
        with open(self.path(FRONTEND_UNIT)) as f:
            text = f.read()
        u = parse_unit(text)
        s = lambda key: u.get(("Service", key), [])  # noqa: E731
        self.assertEqual(s("ExecStart"), ["/usr/sbin/maglevd-frontend"])
        self.assertEqual(s("User"), ["maglev"])
        self.assertIn("-/etc/default/maglevd-frontend", s("EnvironmentFile"))
        self.assertEqual(s("CapabilityBoundingSet"), [""])  # no privileges at all
        self.assertEqual(s("NoNewPrivileges"), ["yes"])
        self.assertEqual(u.get(("Install", "WantedBy")), ["multi-user.target"])
        r = run([self.path("/usr/sbin/maglevd-frontend"), "--version"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip(), f"maglevd-frontend {project_version()}")
        analyze = shutil.which("systemd-analyze")
        if analyze:
            text = text.replace("/usr/sbin/maglevd-frontend",
                                self.root + "/usr/sbin/maglevd-frontend")
            unit_dir = os.path.join(self.tmp, "frontend-unit")
            os.makedirs(unit_dir, exist_ok=True)
            unit = os.path.join(unit_dir, "maglevd-frontend.service")
            with open(unit, "w") as f:
                f.write(text)
            env = dict(os.environ, MANPATH=self.path("/usr/share/man"),
                       SYSTEMD_LOG_LEVEL="notice")
            man = ["--man=yes"] if shutil.which("man") else ["--man=no"]
            r = run([analyze, "verify", *man, unit], env=env)
            self.assertEqual(r.returncode, 0, f"systemd-analyze verify:\n{r.stdout}{r.stderr}")
            self.assertNotIn("maglevd-frontend.service:", r.stdout + r.stderr)

    def test_unit_passes_systemd_analyze_verify(self):
        analyze = shutil.which("systemd-analyze")
        if not analyze:
            self.skipTest("systemd-analyze is not installed (package systemd)")
        # Verify a copy whose absolute paths point into the extracted package,
        # so the commands it names are the packaged ones; the man pages in
        # Documentation= are looked up in the package too.
        with open(self.path(UNIT)) as f:
            text = f.read()
        text = re.sub(r"(?m)^(Exec\w+=[-@:+!]*)(/usr/sbin/)", rf"\g<1>{self.root}\g<2>", text)
        self.assertIn(self.root, text, "the unit's commands were not rewritten")
        unit_dir = os.path.join(self.tmp, "unit")
        os.makedirs(unit_dir, exist_ok=True)
        unit = os.path.join(unit_dir, "maglevd.service")
        with open(unit, "w") as f:
            f.write(text)
        env = dict(os.environ, MANPATH=self.path("/usr/share/man"), SYSTEMD_LOG_LEVEL="notice")
        man = ["--man=yes"] if shutil.which("man") else ["--man=no"]
        r = run([analyze, "verify", *man, unit], env=env)
        self.assertEqual(r.returncode, 0, f"systemd-analyze verify:\n{r.stdout}{r.stderr}")
        self.assertNotIn("maglevd.service:", r.stdout + r.stderr)
        # The check is not vacuous: a unit naming a missing program fails.
        with open(unit, "w") as f:
            f.write(text.replace(self.root + "/usr/sbin/maglevd", "/nonexistent/maglevd"))
        r = run([analyze, "verify", "--man=no", unit], env=env)
        self.assertNotEqual(r.returncode, 0)

    def test_unit_is_hardened(self):
        analyze = shutil.which("systemd-analyze")
        if not analyze:
            self.skipTest("systemd-analyze is not installed (package systemd)")
        r = run([analyze, "security", "--offline=yes", "--no-pager", self.path(UNIT)])
        m = re.search(r"Overall exposure level for maglevd\.service: ([0-9.]+)", r.stdout)
        if r.returncode != 0 and not m:
            self.skipTest(f"this systemd-analyze cannot rate a unit file offline: {r.stderr}")
        self.assertTrue(m, r.stdout + r.stderr)
        # 0 is a perfect sandbox, 10 none. The two capabilities and the host
        # network that maglevd needs cost about 2; a sandbox setting lost in an
        # edit shows up here.
        self.assertLessEqual(float(m.group(1)), 3.0, r.stdout)

    def test_packaged_maglevd_signals_readiness(self):
        """Type=notify: the packaged maglevd sends READY=1 to $NOTIFY_SOCKET,
        and STOPPING=1 then exits 0 on SIGTERM (the unit's contract)."""
        config = os.path.join(self.tmp, "loopback.yaml")
        with open(config, "w") as f:
            f.write("maglev:\n"
                    "  vpp:\n    lb:\n      ipv4-src-address: 192.0.2.1\n"
                    "  backends:\n    local0: { address: 127.0.0.1 }\n"
                    "  frontends:\n    web:\n      address: 192.0.2.80\n      port: 80\n"
                    "      pools:\n        - name: main\n          backends:\n"
                    "            local0: {}\n")
        notify_path = os.path.join(self.tmp, "notify.sock")
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.bind(notify_path)
            sock.settimeout(30)
            env = dict(os.environ, NOTIFY_SOCKET=notify_path)
            proc = subprocess.Popen(
                [self.path("/usr/sbin/maglevd"), "--config", config, "--vpp-api-addr", "",
                 "--grpc-addr", f"127.0.0.1:{free_port()}",
                 "--metrics-addr", f"127.0.0.1:{free_port()}"],
                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            try:
                try:
                    message = sock.recv(4096).decode()
                except socket.timeout:
                    self.fail("no readiness notification within 30 s")
                self.assertIn("READY=1", message.split("\n"))
                self.assertIsNone(proc.poll(), "maglevd exited after READY=1")
                proc.send_signal(signal.SIGTERM)
                message = sock.recv(4096).decode()
                self.assertIn("STOPPING=1", message.split("\n"))
                _, stderr = proc.communicate(timeout=30)
                self.assertEqual(proc.returncode, 0, stderr)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()

    def run_as_service_user(self, caps, config_text):
        """The packaged maglevd as an unprivileged user holding exactly `caps`
        (ambient and bounding set) with no_new_privs, as the unit runs it."""
        config = os.path.join(self.tmp, f"privileges-{len(caps)}.yaml")
        with open(config, "w") as f:
            f.write(config_text)
        names = ",".join("+" + c[len("CAP_"):].lower() for c in sorted(caps))
        setpriv = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                   f"--inh-caps=-all,{names}", f"--ambient-caps=-all,{names}",
                   f"--bounding-set=-all,{names}", "--no-new-privs", "--"]
        metrics_port = mt.free_port()
        proc = mt.Process(setpriv + [
            self.path("/usr/sbin/maglevd"), "--config", config, "--vpp-api-addr", "",
            "--grpc-addr", f"127.0.0.1:{mt.free_port()}",
            "--metrics-addr", f"127.0.0.1:{metrics_port}"])

        def listening():
            if proc.proc.poll() is not None:
                raise AssertionError(f"maglevd exited ({proc.proc.returncode}): {proc.text()}")
            with socket.socket() as s:
                return s.connect_ex(("127.0.0.1", metrics_port)) == 0

        mt.wait_for(listening, 15, what=f"maglevd's metrics listener: {proc.text()[-2000:]}")
        return proc, f"http://127.0.0.1:{metrics_port}/metrics"

    def test_unit_capabilities_suffice_for_netns_icmp_probes(self):
        """The unit's two capabilities are enough for an icmp probe inside
        healthchecker.netns as a non-root user, and CAP_SYS_ADMIN is needed."""
        if os.geteuid() != 0 or not shutil.which("setpriv") or not mt.have_netns():
            self.skipTest("needs root, setpriv and `ip netns` to emulate the unit's privileges")
        caps = {c for v in self.unit().get(("Service", "AmbientCapabilities"), [])
                for c in v.split()}
        self.assertEqual(caps, {"CAP_NET_RAW", "CAP_SYS_ADMIN"})
        ns = f"mgpkg{os.getpid() % 100000}"
        subprocess.run(["ip", "netns", "add", ns], check=True, capture_output=True)
        try:
            subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True,
                           capture_output=True)
            text = ("maglev:\n"
                    f"  healthchecker:\n    netns: {ns}\n"
                    "  vpp:\n    lb:\n      ipv4-src-address: 192.0.2.1\n"
                    "  healthchecks:\n    ping:\n      type: icmp\n      interval: 200ms\n"
                    "      timeout: 500ms\n      rise: 1\n      fall: 1\n"
                    "  backends:\n    lo0: { address: 127.0.0.1, healthcheck: ping }\n"
                    "  frontends:\n    web:\n      address: 192.0.2.80\n      port: 80\n"
                    "      pools:\n        - name: main\n          backends:\n"
                    "            lo0: {}\n")

            def state(url):
                for (name, labels), value in mt.scrape(url).items():
                    if (name == "maglev_backend_state" and labels.get("backend") == "lo0"
                            and value == 1):
                        return labels["state"]
                return None

            proc, url = self.run_as_service_user(caps, text)
            try:
                mt.wait_for(lambda: state(url) == "up", 20,
                            what=f"lo0 up with the unit's capabilities:\n{proc.text()[-2000:]}")
            finally:
                self.assertEqual(proc.stop(), 0, proc.text()[-2000:])
            # Control: without CAP_SYS_ADMIN the probe cannot enter the namespace.
            proc, url = self.run_as_service_user(caps - {"CAP_SYS_ADMIN"}, text)
            try:
                mt.wait_for(lambda: state(url) == "down", 20,
                            what=f"lo0 down without CAP_SYS_ADMIN:\n{proc.text()[-2000:]}")
                self.assertIn("setns", proc.text())
            finally:
                proc.stop()
        finally:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)

    # ------------------------------------------------------------ lintian

    def test_lintian_finds_no_errors(self):
        lintian = shutil.which("lintian")
        if not lintian:
            self.skipTest("lintian is not installed (optional)")
        r = run([lintian, "--no-tag-display-limit", self.deb], timeout=300)
        errors = [line for line in r.stdout.splitlines() if line.startswith("E:")]
        self.assertEqual(errors, [], r.stdout)


if __name__ == "__main__":
    unittest.main()
