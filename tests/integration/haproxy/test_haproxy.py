# SPDX-License-Identifier: Apache-2.0
"""maglevd's health counter against a running HAProxy (issue #13).

Debian's haproxy and maglevd run side by side. Every case (a pass/fail
pattern with a rise/fall pair) has two scripted HTTP backends, one checked by
HAProxy and one by maglevd, both answering their k-th request with the k-th
letter of the pattern ('+' -> 200, '-' -> 503). The test asserts that after
every probe both checkers are in the same state with the same counter
(HAProxy's srv_check_health from `show servers state`, maglevd's
BackendInfo.counter from gRPC GetBackend), hence change state after the same
probes.

Probes are mapped to states by the backend's own request count, never by
wall-clock waits: when request k+1 arrives, and before it is answered, the
backend asks its checker for the state and counter. That is exactly the state
after probe k, for both checkers:

- Each checker has at most one probe per server in flight and sends the next
  one only after it has fully processed the previous response. HAProxy 2.6
  (src/check.c, process_chk_conn) updates check->health when the response is
  evaluated, applies the state change synchronously (check_notify_* ->
  srv_set_running/stopped -> srv_update_status -> srv_lb_commit_status sets
  cur_state), and only then re-arms the check task `inter` later. maglevd
  (Checker::OnProbeResult) records the result in the state machine before
  ScheduleNext arms the timer for the next probe, and StartProbe refuses to
  start while a probe is in flight.
- Probe k+1 cannot complete while its backend holds the answer, so nothing
  can change the counter between the arrival of request k+1 and the query.
  The timeouts are far longer than a query takes, so probe k+1 is answered
  as scripted rather than timing out.
- Both queries are served by the checker's own event loop (HAProxy's CLI
  with nbthread 1; maglevd's GetBackend runs on the checker's loop), which
  has finished the work of probe k before it sent request k+1.

A probe that did not get the scripted answer (a timeout on a loaded machine,
say) would shift the sequence; the result code each checker reports for
probe k (L7OK for '+', L7STS for '-') is checked too, so that shows as such
and not as a disagreement about the counter.
"""

import dataclasses
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import maglevtest as mt  # noqa: E402

# Equal inter/fastinter/downinter (HAProxy) and interval/fast-interval/
# down-interval (maglevd): which interval applies never matters here.
INTERVAL_MS = 200
# Per-probe timeout, far above what a query to the checker takes (a few ms).
TIMEOUT_S = 3
# Whole run, all cases in parallel: about 25 probes x INTERVAL_MS each.
DEADLINE_S = 45

RISE_FALL = [(1, 1), (2, 3), (3, 2), (1, 3), (4, 2)]


def patterns(rise, fall):
    """The pass/fail patterns run for one rise/fall pair, by name."""
    r, f = rise, fall
    # Fixed seed: the same pattern every run (on one Python version at least).
    mixed = random.Random(100 * rise + fall)
    return {
        # Up at the first probe, then alternating: stays up unless fall == 1.
        "flap-while-up": "+" + "-+" * 6,
        # Down at the first probe, then alternating: stays down unless rise == 1.
        "flap-while-down": "-" + "+-" * 6,
        # Down; recovery with exactly `rise` passes and a single failure
        # right after it; again, but now that failure is the first of
        # `fall`; recovery and a single failure once more.
        "fail-after-recovery": "-" + ("+" * r + "-") * 2 + "-" * (f - 1) + "+" * r + "-",
        # Runs of four: as long as the largest rise, longer than every fall.
        "slow-oscillation": "++++----++++----++",
        # One short of each threshold (with a reset), then exactly at it.
        "thresholds": ("-" + "+" * (r - 1) + "-" + "+" * r + "-" * (f - 1) + "+" + "-" * f
                       + "+" * r),
        "mixed": "".join(mixed.choice("+-") for _ in range(20)),
    }


# HAProxy 2.6's enum healthcheck_status (include/haproxy/check-t.h), for the
# codes a plain HTTP check can report; names as HAProxy prints them.
HAPROXY_CHECK_STATUS = {0: "UNK", 1: "INI", 2: "START", 5: "SOCKERR", 6: "L4OK", 7: "L4TOUT",
                        8: "L4CON", 12: "L7TOUT", 13: "L7RSP", 15: "L7OK", 16: "L7OKC",
                        17: "L7STS"}
# enum srv_state: 0 STOPPED is the only down state; 2 RUNNING is up (no
# slowstart, no disable-on-404 here, so 1 STARTING and 3 STOPPING never occur).
HAPROXY_OP_STATE = {0: "down", 1: "starting", 2: "up", 3: "stopping"}

EXPECTED_CODE = {"+": "L7OK", "-": "L7STS"}


@dataclasses.dataclass
class Obs:
    """A checker's view of its server, taken when a request arrived."""
    state: str = "?"
    counter: int = -1
    code: str = "?"
    error: str = ""

    def __str__(self):
        if self.error:
            return f"error: {self.error}"
        return f"{self.state:<7} {self.counter:>2} {self.code}"


class Side:
    """One checker's half of a case: its scripted backend and what it saw.
    obs[k] is the state after probe k, taken when request k+1 arrived."""

    def __init__(self, case, observe):
        self.case = case
        self.observe = observe  # () -> Obs
        self.obs = {}
        self.arrivals = []  # monotonic arrival time of each request, for the summary
        self.done = threading.Event()
        self.backend = None

    def on_request(self, number):
        pattern = self.case.pattern
        if number <= len(pattern) + 1:
            self.arrivals.append(time.monotonic())
            try:
                self.obs[number - 1] = self.observe()
            except Exception as e:  # noqa: BLE001 - shown in the table; the probe goes on
                self.obs[number - 1] = Obs(error=f"{type(e).__name__}: {e}")
            if number == len(pattern) + 1:
                self.done.set()
        if number > len(pattern):
            return "200"  # the case is over; the probes that follow do not matter
        return "200" if pattern[number - 1] == "+" else "503"


@dataclasses.dataclass
class Case:
    index: int
    rise: int
    fall: int
    kind: str
    pattern: str
    haproxy: Side = None
    maglevd: Side = None

    @property
    def name(self):
        return f"r{self.rise}f{self.fall}-{self.kind}"

    @property
    def haproxy_addr(self):
        return f"127.0.2.{self.index + 1}"

    @property
    def maglevd_addr(self):
        return f"127.0.1.{self.index + 1}"


def stop_all(backends):
    # In parallel: each HttpBackend.stop() waits up to half a second for its
    # serve_forever loop to notice.
    threads = [threading.Thread(target=b.stop) for b in backends]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)


def haproxy_binary():
    for path in (shutil.which("haproxy"), "/usr/sbin/haproxy"):
        if path and os.access(path, os.X_OK):
            return path
    return None


class HaproxyCli:
    """Queries HAProxy's stats socket: one connection per command, as
    HAProxy's non-interactive CLI mode expects."""

    def __init__(self, path, backend):
        self.path = path
        self.backend = backend

    def command(self, line):
        for attempt in range(50):  # the socket may not accept yet at start
            try:
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                    s.settimeout(5)
                    s.connect(self.path)
                    s.sendall(line.encode() + b"\n")
                    chunks = []
                    for _ in range(1000):  # bounded: a state dump is a few KiB
                        chunk = s.recv(65536)
                        if not chunk:
                            break
                        chunks.append(chunk)
                    return b"".join(chunks).decode()
            # BlockingIOError: connect() on a Unix socket with a timeout
            # (non-blocking underneath) says EAGAIN while HAProxy's one
            # thread has not yet accepted the connections before ours.
            except (FileNotFoundError, ConnectionRefusedError, BlockingIOError):
                if attempt == 49:
                    raise
                time.sleep(0.02)
        raise AssertionError("unreachable")

    def server(self, name):
        # `show servers state` columns: be_id be_name srv_id srv_name srv_addr
        # srv_op_state srv_admin_state srv_uweight srv_iweight
        # srv_time_since_last_change srv_check_status srv_check_result
        # srv_check_health ...
        for line in self.command(f"show servers state {self.backend}").splitlines():
            f = line.split()
            if len(f) > 12 and not line.startswith("#") and f[3] == name:
                op, status, health = int(f[5]), int(f[10]), int(f[12])
                return Obs(HAPROXY_OP_STATE.get(op, f"op{op}"), health,
                           HAPROXY_CHECK_STATUS.get(status, f"status{status}"))
        raise LookupError(f"server {name} not in `show servers state {self.backend}`")


def generate_stubs(gen_dir):
    """maglev_pb2 / maglev_pb2_grpc from our proto, as the api test does."""
    proto_dir = os.path.join(mt.SOURCE_DIR, "proto")
    subprocess.run(["/usr/bin/protoc", "-I", proto_dir, f"--python_out={gen_dir}",
                    f"--grpc_out={gen_dir}", "--plugin=protoc-gen-grpc=/usr/bin/grpc_python_plugin",
                    os.path.join(proto_dir, "maglev.proto")],
                   check=True, capture_output=True, timeout=60)
    sys.path.insert(0, gen_dir)


def haproxy_config(cases, port, sock):
    # Listens on nothing but the stats socket. One thread: the CLI and all
    # checks share one event loop, which makes the ordering argument above
    # trivial (it holds with more threads too: the state is written under the
    # server lock before the next check is even scheduled).
    lines = ["global",
             f"    stats socket {sock} level admin",
             "    nbthread 1",
             "    maxconn 200",
             "    spread-checks 0",
             "defaults",
             "    mode http",
             # With `timeout check` set, HAProxy allows min(inter, timeout
             # connect) to connect and then `timeout check` for the response.
             f"    timeout connect {TIMEOUT_S}s",
             f"    timeout check {TIMEOUT_S}s",
             "    timeout client 10s",
             "    timeout server 10s",
             "backend cases",
             "    option httpchk GET /"]
    for c in cases:
        lines.append(f"    server {c.name} {c.haproxy_addr}:{port} check inter {INTERVAL_MS} "
                     f"fastinter {INTERVAL_MS} downinter {INTERVAL_MS} "
                     f"rise {c.rise} fall {c.fall}")
    return "\n".join(lines) + "\n"


def maglevd_config(cases, port):
    lines = ["maglev:", "  vpp:", "    lb:", "      ipv4-src-address: 192.0.2.1",
             "  healthchecks:"]
    for rise, fall in RISE_FALL:
        lines.append(f"    r{rise}f{fall}: {{ type: http, port: {port}, "
                     f"interval: {INTERVAL_MS}ms, fast-interval: {INTERVAL_MS}ms, "
                     f"down-interval: {INTERVAL_MS}ms, timeout: {TIMEOUT_S}s, "
                     f"rise: {rise}, fall: {fall} }}")
    lines.append("  backends:")
    for c in cases:
        lines.append(f"    {c.name}: {{ address: {c.maglevd_addr}, "
                     f"healthcheck: r{c.rise}f{c.fall} }}")
    # No dataplane: the VIP (a documentation address) is never bound or used.
    lines += ["  frontends:", "    differential:", "      address: 192.0.2.80",
              "      port: 80", "      pools:", "        - name: all", "          backends:"]
    for c in cases:
        lines.append(f"            {c.name}: {{}}")
    return "\n".join(lines) + "\n"


def difference(h, m):
    """'state', 'counter' or '' for two observations after the same probe."""
    if not h or not m or h.error or m.error:
        return ""
    if h.state != m.state:
        return "state"
    return "counter" if h.counter != m.counter else ""


def table(case):
    """Both sequences side by side, one row per probe; row 0 is before the first."""
    rows = [f"{case.name}: rise {case.rise} fall {case.fall}, pattern {case.pattern}",
            "  probe resp  haproxy state/health/check   maglevd state/counter/code"]
    for k in range(len(case.pattern) + 1):
        h, m = case.haproxy.obs.get(k), case.maglevd.obs.get(k)
        resp = case.pattern[k - 1] if k else "."
        diff = difference(h, m) if k else ""
        mark = f"   <-- {diff} differs" if diff else ""
        rows.append(f"  {k:>5}   {resp}   {str(h or 'not seen'):<28} {str(m or 'not seen')}{mark}")
    return "\n".join(rows)


def check_case(case):
    """(summary, other problems) of a case; both empty when it passes.
    The summary names the first probe after which the two disagree, and the
    first after which their states do; other problems are those that make
    the comparison itself doubtful (premise, lost sync, failed queries)."""
    other = []
    h0, m0 = case.haproxy.obs.get(0), case.maglevd.obs.get(0)
    # The premise that makes the two comparable from the first probe on.
    if h0 and not h0.error and (h0.state, h0.counter) != ("up", case.rise):
        other.append(f"before the first probe HAProxy was {h0.state}/{h0.counter}, "
                     f"expected up/{case.rise} (up with health = rise)")
    if m0 and not m0.error and (m0.state, m0.counter) != ("unknown", case.rise - 1):
        other.append(f"before the first probe maglevd was {m0.state}/{m0.counter}, "
                     f"expected unknown/{case.rise - 1}")
    first = first_state = None
    for k in range(1, len(case.pattern) + 1):
        resp = case.pattern[k - 1]
        h, m = case.haproxy.obs.get(k), case.maglevd.obs.get(k)
        where = f"probe {k} ('{resp}')"
        if h is None or m is None:
            missing = " and ".join(n for n, o in (("HAProxy", h), ("maglevd", m)) if o is None)
            other.append(f"{where}: request {k + 1} did not reach the backend of {missing} "
                         f"within {DEADLINE_S}s")
            break
        if h.error or m.error:
            other.append(f"{where}: query failed: HAProxy {h}, maglevd {m}")
            continue
        for who, o in (("HAProxy", h), ("maglevd", m)):
            if o.code != EXPECTED_CODE[resp]:
                other.append(f"{where}: {who} recorded {o.code}, not the scripted "
                             f"{EXPECTED_CODE[resp]}: the probes are out of step from here")
        diff = difference(h, m)
        text = f"{where}: HAProxy {h.state}/{h.counter}, maglevd {m.state}/{m.counter}"
        if diff and first is None:
            first = text
        if diff == "state" and first_state is None:
            first_state = text
    summary = []
    if first:
        summary.append(f"first difference after {first}")
        summary.append(f"first state difference after {first_state}" if first_state
                       else "states agree after every probe, counters do not")
    return "; ".join(summary), other


def transitions(side, n):
    """Probes after which the state changed (from the state after probe 1)."""
    return [k for k in range(2, n + 1)
            if side.obs.get(k) and side.obs.get(k - 1)
            and side.obs[k].state != side.obs[k - 1].state]


@unittest.skipUnless(haproxy_binary(), "haproxy is not installed (scripts/install-deps.sh "
                     "installs Debian's haproxy); the differential test needs it")
class HaproxyDifferential(unittest.TestCase):
    def setUp(self):
        if not os.access(os.path.join(mt.BIN_DIR, "maglevd"), os.X_OK):
            self.skipTest(f"maglevd is not built in {mt.BIN_DIR}")
        self.tmp = tempfile.mkdtemp(prefix="maglev-haproxy-")
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)
        generate_stubs(self.tmp)

    def start_backends(self, cases):
        """Two backends per case on one shared port (each on its own
        address); a few tries in case the port is taken on some address."""
        for _ in range(5):
            port = mt.free_port(cases[0].maglevd_addr)
            started = []
            try:
                for c in cases:
                    for side, addr in ((c.haproxy, c.haproxy_addr), (c.maglevd, c.maglevd_addr)):
                        side.backend = mt.HttpBackend(addr, port, script=side.on_request)
                        started.append(side.backend)
                return port
            except OSError:
                for b in started:
                    b.stop()
        self.fail("no port free on all the backend addresses")

    def test_state_and_counter_match_haproxy_after_every_probe(self):
        import grpc
        import maglev_pb2 as pb
        import maglev_pb2_grpc as rpc

        cases = []
        for rise, fall in RISE_FALL:
            for kind, pattern in patterns(rise, fall).items():
                cases.append(Case(len(cases), rise, fall, kind, pattern))

        cli = HaproxyCli(os.path.join(self.tmp, "haproxy.sock"), "cases")
        stub_ready = threading.Event()
        stub = {}

        def maglevd_observer(name):
            def observe():
                # The channel is made once maglevd runs; the first probe
                # cannot come earlier than that, the wait only orders it.
                if not stub_ready.wait(10):
                    raise TimeoutError("no gRPC channel to maglevd")
                b = stub["stub"].GetBackend(pb.GetBackendRequest(name=name), timeout=5,
                                            wait_for_ready=True)
                return Obs(b.state, b.counter, b.last_code or "-")
            return observe

        for c in cases:
            c.haproxy = Side(c, lambda name=c.name: cli.server(name))
            c.maglevd = Side(c, maglevd_observer(c.name))

        port = self.start_backends(cases)
        backends = [s.backend for c in cases for s in (c.haproxy, c.maglevd)]
        self.addCleanup(stop_all, backends)

        cfg = os.path.join(self.tmp, "haproxy.cfg")
        with open(cfg, "w") as f:
            f.write(haproxy_config(cases, port, cli.path))
        started = time.monotonic()
        haproxy = mt.Process([haproxy_binary(), "-db", "-f", cfg])
        self.addCleanup(haproxy.stop)
        maglevd = mt.Maglevd(maglevd_config(cases, port), metrics=False, tmpdir=self.tmp)
        self.addCleanup(maglevd.stop)
        channel = grpc.insecure_channel(maglevd.grpc_addr)
        self.addCleanup(channel.close)
        stub["stub"] = rpc.MaglevStub(channel)
        stub_ready.set()

        # Each case ends when request N+1 has reached both of its backends.
        deadline = started + DEADLINE_S
        for c in cases:
            for side in (c.haproxy, c.maglevd):
                if not side.done.wait(max(0.0, deadline - time.monotonic())):
                    break
            for name, p in (("haproxy", haproxy), ("maglevd", maglevd)):
                self.assertIsNone(p.proc.poll(), f"{name} exited early:\n{p.text()[-3000:]}")
        elapsed = time.monotonic() - started
        maglevd.stop()
        haproxy.stop()

        results = [(c, *check_case(c)) for c in cases]
        failures = [(c, summary, other) for c, summary, other in results if summary or other]
        if failures:
            lines = [f"maglevd and HAProxy disagree in {len(failures)} of {len(cases)} cases:"]
            lines += [f"  {c.name}: {summary or other[0]}" for c, summary, other in failures]
            for c, summary, other in failures:
                lines += ["", table(c)] + [f"  {p}" for p in other]
            if any(other for _, _, other in failures):
                lines += ["", "haproxy log (tail):", haproxy.text()[-2000:],
                          "maglevd log (tail):", maglevd.text()[-2000:]]
            self.fail("\n".join(lines))

        # Not vacuous: HAProxy changed state both ways, and counter values
        # strictly between 0 and the maximum were compared too.
        ups = downs = 0
        for c in cases:
            for k in transitions(c.haproxy, len(c.pattern)):
                if c.haproxy.obs[k].state == "up":
                    ups += 1
                else:
                    downs += 1
        between = [o for c in cases for k, o in c.haproxy.obs.items()
                   if k and 0 < o.counter < c.rise + c.fall - 1]
        self.assertGreater(ups, 0, "no case made HAProxy come up")
        self.assertGreater(downs, 0, "no case made HAProxy go down")
        self.assertTrue(between, "no intermediate counter value was compared")

        def mean_gap_ms(sides):
            gaps = [b - a for s in sides for a, b in zip(s.arrivals, s.arrivals[1:])]
            return 1000 * sum(gaps) / len(gaps)

        print(f"\n{len(cases)} cases, {sum(len(c.pattern) for c in cases)} probes per checker, "
              f"state and counter equal after every probe; HAProxy went up {ups} and down "
              f"{downs} times after the first probe, {len(between)} intermediate counters; "
              f"{elapsed:.1f}s; mean gap between requests: haproxy "
              f"{mean_gap_ms(c.haproxy for c in cases):.0f} ms, maglevd "
              f"{mean_gap_ms(c.maglevd for c in cases):.0f} ms (interval {INTERVAL_MS} ms)",
              file=sys.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
