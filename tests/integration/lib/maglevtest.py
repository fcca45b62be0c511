"""Shared helpers for the Python integration tests: run the real binaries,
real servers on loopback or in network namespaces the test creates, scrape
metrics, wait for conditions with bounded polling.

Environment (set by CTest): MAGLEV_BIN_DIR (built programs),
MAGLEV_SOURCE_DIR, MAGLEV_SHARED_DIR.
"""

import contextlib
import http.server
import json
import os
import re
import shutil
import signal
import socket
import socketserver
import subprocess
import tempfile
import threading
import time

BIN_DIR = os.environ.get("MAGLEV_BIN_DIR", os.path.join(os.getcwd(), "bin"))
SOURCE_DIR = os.environ.get("MAGLEV_SOURCE_DIR", os.getcwd())
SHARED_DIR = os.environ.get("MAGLEV_SHARED_DIR", os.path.join(SOURCE_DIR, "..", "shared"))


def free_port(host="127.0.0.1"):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(fam, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_for(pred, timeout=15.0, interval=0.05, what="condition"):
    """Polls pred() until it returns a truthy value; bounded by timeout."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def wait_port(host, port, timeout=15.0):
    def ok():
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return True
        except OSError:
            return False

    wait_for(ok, timeout, what=f"{host}:{port} to accept")


# ---------------------------------------------------------------- servers


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # keep test output clean
        pass

    def do_GET(self):
        srv = self.server.owner
        with srv.lock:
            srv.requests += 1
            number = srv.requests
            srv.last_headers = dict(self.headers)
            mode = srv.mode
        if srv.script is not None:
            # Outside the lock: the script may block (e.g. ask the prober for
            # its state) while the prober waits for this very answer.
            mode = srv.script(number)
        if mode == "garbage":
            self.wfile.write(b"this is not HTTP at all\r\n\r\n")
            self.close_connection = True
            return
        if mode == "close":
            self.close_connection = True
            return
        if mode == "hang":
            time.sleep(srv.hang_seconds)
            self.close_connection = True
            return
        code = int(mode)
        body = srv.body
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True


class _ThreadingServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        # Probers close early (e.g. without reading the body): not an error.
        pass

    def server_bind(self):
        # HTTPServer.server_bind also looks the address up in DNS (getfqdn),
        # up to ~100 ms per server here, for a name nothing uses.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


class HttpBackend:
    """A real HTTP server whose behaviour can be switched while it runs:
    mode is a status code ("200", "503"), "garbage", "close" or "hang".
    With script, script(n) is called for the n-th request (1-based) before
    it is answered and returns the mode for that request instead."""

    def __init__(self, host="127.0.0.1", port=0, mode="200", body=b"ok\n", tls_context=None,
                 script=None):
        self.lock = threading.Lock()
        self.requests = 0
        self.script = script
        self.last_headers = {}
        self.mode = mode
        self.body = body
        self.hang_seconds = 5
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        _ThreadingServer.address_family = fam
        self.httpd = _ThreadingServer((host, port), _Handler, bind_and_activate=True)
        self.httpd.owner = self
        if tls_context is not None:
            self.httpd.socket = tls_context.wrap_socket(self.httpd.socket, server_side=True)
        self.host = host
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def set_mode(self, mode):
        with self.lock:
            self.mode = mode

    def count(self):
        with self.lock:
            return self.requests

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def make_self_signed(tmpdir, cn="backend.test", ip=None):
    """Generates a self-signed certificate with the openssl CLI; returns
    (certfile, keyfile)."""
    cert = os.path.join(tmpdir, "cert.pem")
    key = os.path.join(tmpdir, "key.pem")
    san = f"DNS:{cn}" + (f",IP:{ip}" if ip else "")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", f"/CN={cn}", "-addext", f"subjectAltName={san}",
         "-keyout", key, "-out", cert],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return cert, key


# ---------------------------------------------------------------- daemons


class Process:
    """A child process whose stderr JSON-lines log is collected."""

    def __init__(self, argv, env=None):
        self.argv = argv
        self.lines = []
        self.lock = threading.Lock()
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=env, text=True, bufsize=1)
        self._readers = [
            threading.Thread(target=self._read, args=(self.proc.stderr,), daemon=True),
            threading.Thread(target=self._read, args=(self.proc.stdout,), daemon=True),
        ]
        for r in self._readers:
            r.start()

    def _read(self, stream):
        for line in stream:
            with self.lock:
                self.lines.append(line.rstrip("\n"))

    def records(self, msg=None):
        out = []
        with self.lock:
            lines = list(self.lines)
        for line in lines:
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if msg is None or rec.get("msg") == msg:
                out.append(rec)
        return out

    def text(self):
        with self.lock:
            return "\n".join(self.lines)

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=10):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for r in self._readers:
            r.join(timeout=2)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream:
                stream.close()
        return self.proc.returncode


class Maglevd(Process):
    """The real maglevd on a config written to a temp dir."""

    def __init__(self, config_text, vpp_socket="", metrics=True, extra_args=(), tmpdir=None):
        self.tmpdir = tmpdir or tempfile.mkdtemp(prefix="maglevd-test-")
        self.config_path = os.path.join(self.tmpdir, "maglev.yaml")
        self.write_config(config_text)
        self.grpc_port = free_port()
        self.metrics_port = free_port() if metrics else None
        argv = [os.path.join(BIN_DIR, "maglevd"), "--config", self.config_path,
                "--grpc-addr", f"127.0.0.1:{self.grpc_port}",
                "--metrics-addr", f"127.0.0.1:{self.metrics_port}" if metrics else "",
                "--vpp-api-addr", vpp_socket, *extra_args]
        super().__init__(argv)
        if metrics:
            wait_port("127.0.0.1", self.metrics_port)

    @property
    def grpc_addr(self):
        return f"127.0.0.1:{self.grpc_port}"

    def write_config(self, text):
        tmp = self.config_path + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, self.config_path)

    def reload(self, text=None):
        if text is not None:
            self.write_config(text)
        self.signal(signal.SIGHUP)

    def metrics(self):
        return scrape(f"http://127.0.0.1:{self.metrics_port}/metrics")

    def state(self, backend):
        m = self.metrics()
        for (name, labels), value in m.items():
            if name == "maglev_backend_state" and labels.get("backend") == backend and value == 1:
                return labels["state"]
        return None

    def wait_state(self, backend, state, timeout=15.0):
        wait_for(lambda: self.state(backend) == state, timeout,
                 what=f"backend {backend} to be {state} (log:\n{self.text()[-3000:]})")

    def probes(self, backend, code):
        total = 0
        for (name, labels), value in self.metrics().items():
            if (name == "maglev_probes_total" and labels.get("backend") == backend
                    and labels.get("code") == code):
                total += value
        return total

    def transitions(self, backend=None):
        return [r for r in self.records("backend-transition")
                if backend is None or r.get("backend") == backend]


def scrape(url):
    """Minimal Prometheus text parser for assertions: {(name, labels): value}."""
    import urllib.request
    with urllib.request.urlopen(url, timeout=5) as resp:
        text = resp.read().decode()
    out = {}
    line_re = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)$')
    label_re = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = line_re.match(line)
        if not m:
            continue
        labels = dict(label_re.findall(m.group(3) or ""))
        out[(m.group(1), frozenset(labels.items()))] = float(m.group(4))
    return {(n, _Labels(l)): v for (n, l), v in out.items()}


class _Labels(dict):
    def __hash__(self):
        return hash(frozenset(self.items()))


# ---------------------------------------------------------------- netns


def have_netns():
    if os.geteuid() != 0 or shutil.which("ip") is None:
        return False
    name = f"mgprobe{os.getpid()}"
    r = subprocess.run(["ip", "netns", "add", name], capture_output=True)
    if r.returncode != 0:
        return False
    subprocess.run(["ip", "netns", "del", name], capture_output=True)
    return True


@contextlib.contextmanager
def netns_pair(prefix="mg"):
    """Two fresh namespaces A and B joined by a veth pair, addresses
    192.0.2.1/24 (A) and 192.0.2.2/24 (B) plus 2001:db8::1/64 and ::2; both
    removed on exit. Yields (ns_a, ns_b, veth_a, veth_b)."""
    tag = f"{prefix}{os.getpid() % 100000}"
    a, b = f"{tag}a", f"{tag}b"
    va, vb = f"{tag}va", f"{tag}vb"

    def ip(*args):
        subprocess.run(["ip", *args], check=True, capture_output=True)

    try:
        ip("netns", "add", a)
        ip("netns", "add", b)
        ip("link", "add", va, "type", "veth", "peer", "name", vb)
        ip("link", "set", va, "netns", a)
        ip("link", "set", vb, "netns", b)
        for ns, dev, v4, v6 in ((a, va, "192.0.2.1/24", "2001:db8::1/64"),
                                (b, vb, "192.0.2.2/24", "2001:db8::2/64")):
            ip("-n", ns, "link", "set", "lo", "up")
            ip("-n", ns, "addr", "add", v4, "dev", dev)
            ip("-n", ns, "-6", "addr", "add", v6, "dev", dev, "nodad")
            ip("-n", ns, "link", "set", dev, "up")
        yield a, b, va, vb
    finally:
        subprocess.run(["ip", "netns", "del", a], capture_output=True)
        subprocess.run(["ip", "netns", "del", b], capture_output=True)
