"""Helpers for the dataplane integration tests (tests/integration/vpp): the
real maglev-vppsim with its debug log of mutating lb calls, the independent
API client maglev-test-lbctl (state behind maglevd's back, dumps as JSON),
maglevc one-shot commands, and a config writer for frontends with pools.

Builds on maglevtest (processes, HTTP backends, metrics, wait_for).
"""

import json
import os
import signal
import subprocess
import tempfile
import textwrap

import maglevtest as mt

# The simulator's debug records of calls that change lb state (docs/vppsim.md).
MUTATING = frozenset({
    "vppsim-lb-conf",
    "vppsim-lb-add-del-vip",
    "vppsim-lb-add-del-vip-v2",
    "vppsim-lb-add-del-as",
    "vppsim-lb-add-del-as-v2",
    "vppsim-lb-as-set-weight",
    "vppsim-lb-flush-vip",
    "vppsim-lb-add-del-intf-nat4",
    "vppsim-lb-add-del-intf-nat6",
})

PROTO = {"tcp": 6, "udp": 17, "any": 255}


def binary(name):
    path = os.path.join(mt.BIN_DIR, name)
    return path if os.access(path, os.X_OK) else None


def missing_binaries(*names):
    return [n for n in names if binary(n) is None]


class Vppsim(mt.Process):
    """maglev-vppsim on a unix socket, logging every mutating call (debug)."""

    def __init__(self, socket_path, legacy=False, gc_interval="60s"):
        self.socket_path = socket_path
        # Its own stats socket: several simulators may share a directory.
        self.stats_path = socket_path + ".stats"
        argv = [os.path.join(mt.BIN_DIR, "maglev-vppsim"), "--socket", socket_path,
                "--stats-socket", self.stats_path,
                "--log-level", "debug", "--gc-interval", gc_interval]
        if legacy:
            argv.append("--legacy-lb-api")
        super().__init__(argv)
        mt.wait_for(lambda: self.records("vppsim-listen") or self.proc.poll() is not None,
                    10, what="vppsim to listen")
        if self.proc.poll() is not None:
            raise AssertionError(f"maglev-vppsim exited: {self.text()}")

    def flush(self):
        """Barrier: returns once every line the simulator logged before the
        call has been read (our reader thread may lag behind the process)."""
        def lbctl_disconnects():
            return sum(1 for r in self.records("vppsim-client-disconnect")
                       if r.get("name") == "maglev-test-lbctl")

        before = lbctl_disconnects()
        lbctl(self.socket_path, "cli", "vppsim time")
        mt.wait_for(lambda: lbctl_disconnects() > before, 10, what="the simulator's log barrier")

    def mark(self):
        """A position in the log; pass it as `since` to look only after it.
        Everything logged before the call is before the mark."""
        self.flush()
        with self.lock:
            return len(self.lines)

    def records_since(self, since=0, msg=None):
        with self.lock:
            lines = list(self.lines[since:])
        out = []
        for line in lines:
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if msg is None or rec.get("msg") == msg:
                out.append(rec)
        return out

    def calls(self, since=0, flush=True):
        """Mutating lb calls logged after `since`, in order; with `flush`,
        every call the simulator has executed so far is included (use
        flush=False in polling loops)."""
        if flush:
            self.flush()
        return [r for r in self.records_since(since) if r.get("msg") in MUTATING]

    def kill(self):
        """SIGKILL: no clean-up, the socket file stays behind (stale)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        self.stop()


def lbctl(socket_path, *args, check=True):
    """Runs maglev-test-lbctl; returns its JSON answer."""
    r = subprocess.run([os.path.join(mt.BIN_DIR, "maglev-test-lbctl"), socket_path,
                        *[str(a) for a in args]], capture_output=True, text=True, timeout=30)
    try:
        out = json.loads(r.stdout)
    except ValueError:
        raise AssertionError(f"lbctl {args}: rc={r.returncode} out={r.stdout!r} "
                             f"err={r.stderr!r}")
    if check and not out.get("ok"):
        raise AssertionError(f"lbctl {args}: {out}")
    return out


def vip_arg(address, protocol="tcp", port=80):
    return f"{address},{protocol},{port}"


def vip_id(address, protocol="tcp", port=80):
    """The key used by dump(): ("192.0.2.80/32", 6, 80)."""
    plen = 128 if ":" in address else 32
    return (f"{address}/{plen}", PROTO[protocol], port)


def dump(socket_path):
    """{vip_id: {"encap", "flow_table_length_low16", "ases": {addr: as}}}
    with only the active ASes of live VIPs; the raw answer as "_raw"."""
    raw = lbctl(socket_path, "dump")
    out = {}
    for v in raw["vips"]:
        out[(v["vip"], v["protocol"], v["port"])] = {
            "encap": v["encap"],
            "flow_table_length_low16": v["flow_table_length_low16"],
            "ases": {a["address"]: a for a in v["ases"] if a["active"]},
            "removed": sorted(a["address"] for a in v["ases"] if not a["active"]),
        }
    return out, raw


def weights(socket_path, vip):
    """{as address: weight} of the active ASes of `vip` (None: VIP absent)."""
    d, _ = dump(socket_path)
    if vip not in d:
        return None
    return {a: x.get("weight", 100) for a, x in d[vip]["ases"].items()}


def maglevc(grpc_addr, *args, timeout=60):
    return subprocess.run([os.path.join(mt.BIN_DIR, "maglevc"), "--server", grpc_addr,
                           "--color", "false", *args], capture_output=True, text=True,
                          timeout=timeout)


def metric(daemon, name, **labels):
    """Sum of the samples of `name` whose labels include `labels`."""
    total = 0.0
    for (n, l), v in daemon.metrics().items():
        if n == name and all(l.get(k) == str(x) for k, x in labels.items()):
            total += v
    return total


# ------------------------------------------------------------------- config


def http_check(port, interval="200ms", fast="200ms", down="200ms", timeout="300ms", rise=2,
               fall=3):
    return textwrap.dedent(f"""\
        type: http
        port: {port}
        interval: {interval}
        fast-interval: {fast}
        down-interval: {down}
        timeout: {timeout}
        rise: {rise}
        fall: {fall}
        http:
          path: /healthz
    """)


class Frontend:
    """One frontend: pools is a list of (pool name, {backend: weight|None})."""

    def __init__(self, address, pools, port=80, protocol="tcp", src_ip_sticky=None,
                 flush_on_down=None):
        self.address = address
        self.pools = pools
        self.port = port
        self.protocol = protocol
        self.src_ip_sticky = src_ip_sticky
        self.flush_on_down = flush_on_down

    @property
    def vip(self):
        return vip_id(self.address, self.protocol, self.port if self.protocol != "any" else 0)


def config(backends, frontends, checks, sync_interval="30s", min_delay="0s", max_delay="0s",
           table_length=None):
    """backends: {name: (address, check name or None)}; frontends: {name:
    Frontend}; checks: {name: body text}."""
    lines = ["maglev:", "  vpp:", "    lb:", "      ipv4-src-address: 192.0.2.1",
             "      ipv6-src-address: 2001:db8::1", f"      sync-interval: {sync_interval}",
             f"      startup-min-delay: {min_delay}", f"      startup-max-delay: {max_delay}"]
    if table_length is not None:
        lines.append(f"      new-flows-table-length: {table_length}")
    lines.append("  healthchecks:")
    for name, body in checks.items():
        lines.append(f"    {name}:")
        lines += ["      " + l for l in body.strip().splitlines()]
    lines.append("  backends:")
    for name, (addr, hc) in backends.items():
        hc_part = f", healthcheck: {hc}" if hc else ""
        lines.append(f"    {name}: {{ address: {addr}{hc_part} }}")
    lines.append("  frontends:")
    for name, fe in frontends.items():
        lines += [f"    {name}:", f"      address: {fe.address}",
                  f"      protocol: {fe.protocol}"]
        if fe.protocol != "any":
            lines.append(f"      port: {fe.port}")
        if fe.src_ip_sticky is not None:
            lines.append(f"      src-ip-sticky: {'true' if fe.src_ip_sticky else 'false'}")
        if fe.flush_on_down is not None:
            lines.append(f"      flush-on-down: {'true' if fe.flush_on_down else 'false'}")
        lines.append("      pools:")
        for pool, members in fe.pools:
            lines += [f"        - name: {pool}", "          backends:"]
            for b, w in members.items():
                lines.append(f"            {b}: {{}}" if w is None else
                             f"            {b}: {{ weight: {w} }}")
    return "\n".join(lines) + "\n"


def new_tmpdir(prefix="maglev-vpp-"):
    return tempfile.mkdtemp(prefix=prefix)
