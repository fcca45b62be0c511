"""Wire-compatibility check of maglevd's gRPC API against the ORIGINAL contract.

Run by api_integration_test with Debian's python3-grpcio/python3-protobuf:
    python_client.py GEN_DIR ADDRESS
GEN_DIR holds maglev_pb2.py / maglev_pb2_grpc.py generated at test time from
the seed's maglev.proto (not ours), so every message decodes exactly as an
old client would decode it. The daemon runs the test config of
api_integration_test (frontends `failover` and `web`, no dataplane).
Exits 0 and prints "python-client: ok" when every check passes.
"""

import sys
import threading

sys.path.insert(0, sys.argv[1])
ADDRESS = sys.argv[2]

import grpc  # noqa: E402
import maglev_pb2 as pb  # noqa: E402
import maglev_pb2_grpc as rpc  # noqa: E402

TIMEOUT = 20


def check(cond, what):
    if not cond:
        print("python-client: FAILED: " + what, file=sys.stderr)
        sys.exit(1)


def expect_code(fn, req, code, what):
    try:
        fn(req, timeout=TIMEOUT)
    except grpc.RpcError as e:
        check(e.code() == code, "%s: got %s (%s), want %s" % (what, e.code(), e.details(), code))
        return e
    check(False, what + ": call succeeded, want " + str(code))


def main():
    channel = grpc.insecure_channel(ADDRESS)
    grpc.channel_ready_future(channel).result(timeout=TIMEOUT)
    stub = rpc.MaglevStub(channel)

    # Frontends: sorted names, full info with configured and effective weights.
    names = list(stub.ListFrontends(pb.ListFrontendsRequest(), timeout=TIMEOUT).frontend_names)
    check(names == sorted(names) and "failover" in names and "web" in names, "frontends %r" % names)
    fe = stub.GetFrontend(pb.GetFrontendRequest(name="failover"), timeout=TIMEOUT)
    check(fe.name == "failover" and fe.address == "192.0.2.90" and fe.protocol == "tcp", "fe")
    check(fe.port == 8080 and fe.description == "failover test", "fe port/description")
    pools = {p.name: {b.name: (b.weight, b.effective_weight) for b in p.backends} for p in fe.pools}
    check([p.name for p in fe.pools] == ["primary", "fallback"], "pool order")
    check(pools["primary"]["static-primary"] == (80, 80), "primary weights %r" % pools)
    check(pools["fallback"]["static-fallback"] == (30, 0), "fallback weights %r" % pools)
    expect_code(stub.GetFrontend, pb.GetFrontendRequest(name="nope"), grpc.StatusCode.NOT_FOUND,
                "GetFrontend unknown")
    expect_code(stub.GetFrontend, pb.GetFrontendRequest(), grpc.StatusCode.INVALID_ARGUMENT,
                "GetFrontend empty")

    # Backends.
    bnames = list(stub.ListBackends(pb.ListBackendsRequest(), timeout=TIMEOUT).backend_names)
    check(bnames == sorted(bnames) and "static-primary" in bnames, "backends %r" % bnames)
    be = stub.GetBackend(pb.GetBackendRequest(name="static-primary"), timeout=TIMEOUT)
    check(be.name == "static-primary" and be.address == "127.0.0.61", "backend fields")
    check(be.state == "up" and be.enabled and be.healthcheck == "", "backend state %s" % be.state)
    check(len(be.transitions) >= 1 and be.transitions[0].to == "up", "transitions")
    check(be.transitions[0].at_unix_ns > 0, "transition time")
    expect_code(stub.GetBackend, pb.GetBackendRequest(name="ghost"), grpc.StatusCode.NOT_FOUND,
                "GetBackend unknown")

    # Health checks.
    hcs = list(stub.ListHealthChecks(pb.ListHealthChecksRequest(), timeout=TIMEOUT).names)
    check(hcs == sorted(hcs) and "tcp-check" in hcs, "healthchecks %r" % hcs)
    hc = stub.GetHealthCheck(pb.GetHealthCheckRequest(name="tcp-check"), timeout=TIMEOUT)
    check(hc.type == "tcp" and hc.port == 1 and hc.rise == 2 and hc.fall == 3, "hc fields")
    check(hc.interval_ns == 1000000000 and hc.timeout_ns == 200000000, "hc durations")
    check(hc.HasField("tcp") and not hc.tcp.ssl, "hc tcp params")
    expect_code(stub.GetHealthCheck, pb.GetHealthCheckRequest(name="nope"),
                grpc.StatusCode.NOT_FOUND, "GetHealthCheck unknown")

    # Event stream: subscribe, then cause a transition.
    events = []
    ready = threading.Event()
    done = threading.Event()
    stream = stub.WatchEvents(pb.WatchRequest(), timeout=TIMEOUT)

    def reader():
        try:
            stream.initial_metadata()
            ready.set()
            for ev in stream:
                events.append(ev)
                if ev.WhichOneof("event") == "backend" and ev.backend.transition.to == "paused":
                    break
        except grpc.RpcError:
            pass
        finally:
            ready.set()
            done.set()

    t = threading.Thread(target=reader)
    t.start()
    ready.wait(TIMEOUT)

    # Operator actions and their errors.
    b = stub.PauseBackend(pb.BackendRequest(name="static-fallback"), timeout=TIMEOUT)
    check(b.state == "paused", "pause -> %s" % b.state)
    done.wait(TIMEOUT)
    stream.cancel()
    t.join(TIMEOUT)
    kinds = {ev.WhichOneof("event") for ev in events}
    check("backend" in kinds, "watch saw kinds %r" % kinds)
    bev = [ev for ev in events if ev.WhichOneof("event") == "backend"][-1]
    check(bev.backend.backend_name == "static-fallback" and bev.backend.transition.to == "paused",
          "backend event")
    logs = [ev.log for ev in events if ev.WhichOneof("event") == "log"]
    check(any(l.msg == "backend-transition" and l.level == "info" for l in logs),
          "log events %r" % [l.msg for l in logs])
    check(all(isinstance(a.key, str) for l in logs for a in l.attrs), "log attrs")

    b = stub.ResumeBackend(pb.BackendRequest(name="static-fallback"), timeout=TIMEOUT)
    check(b.state in ("unknown", "up"), "resume -> %s" % b.state)
    b = stub.DisableBackend(pb.BackendRequest(name="static-primary"), timeout=TIMEOUT)
    check(b.state == "disabled" and not b.enabled, "disable")
    expect_code(stub.PauseBackend, pb.BackendRequest(name="static-primary"),
                grpc.StatusCode.FAILED_PRECONDITION, "pause of disabled")
    expect_code(stub.ResumeBackend, pb.BackendRequest(name="static-primary"),
                grpc.StatusCode.FAILED_PRECONDITION, "resume of disabled")
    fe = stub.GetFrontend(pb.GetFrontendRequest(name="failover"), timeout=TIMEOUT)
    pools = {p.name: {b.name: (b.weight, b.effective_weight) for b in p.backends} for p in fe.pools}
    check(pools["primary"]["static-primary"] == (80, 0), "failover primary %r" % pools)
    check(pools["fallback"]["static-fallback"] == (30, 30), "failover fallback %r" % pools)
    b = stub.EnableBackend(pb.BackendRequest(name="static-primary"), timeout=TIMEOUT)
    check(b.enabled, "enable")
    expect_code(stub.EnableBackend, pb.BackendRequest(name="ghost"), grpc.StatusCode.NOT_FOUND,
                "enable unknown")

    # Runtime weight.
    fe = stub.SetFrontendPoolBackendWeight(
        pb.SetWeightRequest(frontend="failover", pool="fallback", backend="static-fallback",
                            weight=55), timeout=TIMEOUT)
    w = {b.name: b.weight for p in fe.pools for b in p.backends}
    check(w["static-fallback"] == 55, "set weight %r" % w)
    expect_code(stub.SetFrontendPoolBackendWeight,
                pb.SetWeightRequest(frontend="failover", pool="fallback",
                                    backend="static-fallback", weight=101),
                grpc.StatusCode.INVALID_ARGUMENT, "weight 101")
    expect_code(stub.SetFrontendPoolBackendWeight,
                pb.SetWeightRequest(frontend="failover", pool="nope", backend="static-fallback",
                                    weight=5),
                grpc.StatusCode.NOT_FOUND, "unknown pool")

    # Config.
    r = stub.CheckConfig(pb.CheckConfigRequest(), timeout=TIMEOUT)
    check(r.ok and r.parse_error == "" and r.semantic_error == "", "check config %r" % r)
    r = stub.ReloadConfig(pb.ReloadConfigRequest(), timeout=TIMEOUT)
    check(r.ok and r.reload_error == "", "reload config %r" % r)

    # VPP: disabled in this daemon.
    for fn, req in ((stub.GetVPPInfo, pb.GetVPPInfoRequest()),
                    (stub.GetVPPLBState, pb.GetVPPLBStateRequest()),
                    (stub.SyncVPPLBState, pb.SyncVPPLBStateRequest()),
                    (stub.SyncVPPLBState, pb.SyncVPPLBStateRequest(frontend_name="web"))):
        expect_code(fn, req, grpc.StatusCode.UNAVAILABLE, "vpp rpc")

    print("python-client: ok")


if __name__ == "__main__":
    main()
