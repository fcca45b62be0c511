// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from "vitest";
import {
  addressIndex, applyEvent, Backend, bucketShares, compareRouters, emptyState, formatAge, Frontend,
  frontendHealth, LOG_LIMIT, loadSnapshot, parseId, problems, Snapshot, State, timeline,
} from "./model";

const E = "1700000000000";

function pb(name: string, state = "up", eff = 100, extra: Partial<Frontend["pools"][0]["backends"][0]> = {}) {
  return { name, weight: 100, effective_weight: eff, state, enabled: state !== "disabled",
           vpp_weight: eff, vpp_differs: false, vpp_buckets: eff ? 512 : 0, ...extra };
}

function fe(name: string, pools: Frontend["pools"], extra: Partial<Frontend> = {}): Frontend {
  return { name, address: "192.0.2.80", protocol: "tcp", port: 80, description: "", src_ip_sticky: false,
           flush_on_down: true, state: "up", active_pool: pools[0]?.name ?? "", dataplane: "in-sync",
           dataplane_detail: "", dataplane_pending: [], pools,
           vip: { encap: "gre4", flow_table_length: 1024, fingerprint: "aaaa", ases: [] }, ...extra };
}

function be(name: string, address: string, state = "up", transitions: Backend["transitions"] = []): Backend {
  return { name, address, state, enabled: true, healthcheck: "hc", counter: 4, rise: 2, fall: 3,
           last_code: "L7OK", last_detail: "HTTP 200", frontends: ["web"], transitions };
}

function maglevd(name: string, frontends: Record<string, Frontend>, connected = true) {
  return {
    name,
    status: { name, address: "127.0.0.1:9090", connected, error: connected ? "" : "unavailable", since_ns: 0,
              last_refresh_ns: 0, version: "0.1.0", start_time_ns: 0, config_path: "" },
    vpp: { ok: true, error: "", connected: true, version: "sim", build_date: "", pid: 1, boottime_ns: 0,
           connecttime_ns: 0, lb_api: "lb 1.2.0", vips: 1, last_sync: { at_ns: 0, kind: "", calls: "", failed: "" } },
    frontends,
    backends: { web0: be("web0", "127.0.1.1"), web1: be("web1", "127.0.1.2") },
    healthchecks: {},
    probes: {},
  };
}

function snapshot(seq: number, ms = [maglevd("r1", { web: fe("web", [{ name: "p", backends: [pb("web0"), pb("web1")] }]) })]): Snapshot {
  return { event_id: `${E}-${seq}`, maglevds: ms };
}

function loaded(seq = 10, snap?: Snapshot): State {
  const s = emptyState();
  loadSnapshot(s, snap ?? snapshot(seq));
  return s;
}

describe("ids", () => {
  it("parses epoch-seq and rejects anything else", () => {
    expect(parseId(`${E}-42`)).toEqual({ epoch: E, seq: 42 });
    expect(parseId("42")).toBeNull();
    expect(parseId("a-1")).toBeNull();
    expect(parseId("")).toBeNull();
  });
});

describe("loadSnapshot", () => {
  it("takes the event id and every maglevd, in order", () => {
    const s = loaded(10, snapshot(10, [maglevd("r2", {}), maglevd("r1", {})]));
    expect(s.loaded).toBe(true);
    expect(s.seq).toBe(10);
    expect(s.epoch).toBe(E);
    expect(s.order).toEqual(["r2", "r1"]);
  });
  it("drops maglevds the new snapshot no longer has, keeps the log", () => {
    const s = loaded(10, snapshot(10, [maglevd("r1", {}), maglevd("r2", {})]));
    s.log.push({ id: "x", maglevd: "r1", at_ns: 1, level: "info", msg: "m", attrs: {} });
    loadSnapshot(s, snapshot(20, [maglevd("r1", {})]));
    expect(Object.keys(s.maglevds)).toEqual(["r1"]);
    expect(s.log.length).toBe(1);
  });
  it("leaves the maglevd to keep to its caller and adds the others", () => {
    const s = loaded(10, snapshot(10, [maglevd("r2", {})]));
    const r2 = s.maglevds["r2"];
    loadSnapshot(s, snapshot(20, [maglevd("r1", {}), maglevd("r2", {})]), "r2");
    expect(s.maglevds["r2"]).toBe(r2);
    expect(Object.keys(s.maglevds).sort()).toEqual(["r1", "r2"]);
    expect(s.order).toEqual(["r1", "r2"]);
    expect(s.seq).toBe(20);
  });
});

describe("applyEvent", () => {
  it("ignores events the snapshot already contains", () => {
    const s = loaded(10);
    expect(applyEvent(s, "backend", { maglevd: "r1", name: "web0", backend: be("web0", "x", "down") }, `${E}-10`, 0)).toBe("ignored");
    expect(s.maglevds.r1.backends.web0.state).toBe("up");
  });
  it("applies the next event and advances", () => {
    const s = loaded(10);
    expect(applyEvent(s, "backend", { maglevd: "r1", name: "web0", backend: be("web0", "127.0.1.1", "down") }, `${E}-11`, 5)).toBe("applied");
    expect(s.maglevds.r1.backends.web0.state).toBe("down");
    expect(s.seq).toBe(11);
    expect(s.rev).toBe(2);
    expect(s.changed["r1/backend/web0"]).toBe(5);
  });
  it("asks for a resync on a gap, another epoch, or a resync event", () => {
    expect(applyEvent(loaded(10), "log", { maglevd: "r1" }, `${E}-12`, 0)).toBe("resync");
    expect(applyEvent(loaded(10), "log", { maglevd: "r1" }, `1-11`, 0)).toBe("resync");
    expect(applyEvent(loaded(10), "resync", {}, `${E}-30`, 0)).toBe("resync");
  });
  it("replaces a frontend and flashes the pool backends that changed", () => {
    const s = loaded(10);
    const next = fe("web", [{ name: "p", backends: [pb("web0", "down", 0), pb("web1")] }]);
    applyEvent(s, "frontend", { maglevd: "r1", name: "web", frontend: next }, `${E}-11`, 7);
    expect(s.maglevds.r1.frontends.web.pools[0].backends[0].effective_weight).toBe(0);
    expect(s.changed["r1/pool/web/p/web0"]).toBe(7);
    expect(s.changed["r1/pool/web/p/web1"]).toBeUndefined();
  });
  it("removes frontends, backends and health checks", () => {
    const s = loaded(10);
    s.maglevds.r1.healthchecks.hc = {};
    s.maglevds.r1.probes.web0 = { in_flight: true, streak: 1 };
    applyEvent(s, "frontend-removed", { maglevd: "r1", name: "web" }, `${E}-11`, 0);
    applyEvent(s, "backend-removed", { maglevd: "r1", name: "web0" }, `${E}-12`, 0);
    applyEvent(s, "healthcheck-removed", { maglevd: "r1", name: "hc" }, `${E}-13`, 0);
    expect(s.maglevds.r1.frontends.web).toBeUndefined();
    expect(s.maglevds.r1.backends.web0).toBeUndefined();
    expect(s.maglevds.r1.probes.web0).toBeUndefined();
    expect(s.maglevds.r1.healthchecks.hc).toBeUndefined();
  });
  it("lights the probe heartbeat from start to done and keeps the result", () => {
    const s = loaded(10);
    applyEvent(s, "probe", { maglevd: "r1", backend: "web0", phase: "start", at_ns: 1 }, `${E}-11`, 0);
    expect(s.maglevds.r1.probes.web0.in_flight).toBe(true);
    applyEvent(s, "probe", { maglevd: "r1", backend: "web0", phase: "done", ok: false, code: "L7STS",
                             detail: "HTTP 503", elapsed: "2ms", at_ns: 2, streak: -3 }, `${E}-12`, 0);
    expect(s.maglevds.r1.probes.web0).toEqual({ in_flight: false, streak: -3, ok: false, code: "L7STS",
                                                detail: "HTTP 503", elapsed: "2ms", at_ns: 2 });
  });
  it("keeps a bounded log and marks VPP activity", () => {
    const s = loaded(0);
    for (let i = 1; i <= LOG_LIMIT + 10; i++) {
      applyEvent(s, "log", { maglevd: "r1", at_ns: i, level: "debug", msg: i % 2 ? "lb-call" : "x", attrs: {} }, `${E}-${i}`, i);
    }
    expect(s.log.length).toBe(LOG_LIMIT);
    expect(s.log[0].at_ns).toBe(11);
    expect(s.maglevds.r1.vpp_activity_ms).toBe(LOG_LIMIT + 9);
  });
  it("updates status and VPP panels", () => {
    const s = loaded(10);
    const st = { ...s.maglevds.r1.status, connected: false, error: "unavailable" };
    applyEvent(s, "maglevd", { maglevd: "r1", status: st }, `${E}-11`, 0);
    expect(s.maglevds.r1.status.connected).toBe(false);
    applyEvent(s, "vpp", { maglevd: "r1", vpp: { ...s.maglevds.r1.vpp, connected: false } }, `${E}-12`, 0);
    expect(s.maglevds.r1.vpp.connected).toBe(false);
  });
  it("ignores events for a maglevd it does not know, but counts them", () => {
    const s = loaded(10);
    expect(applyEvent(s, "backend", { maglevd: "nope", name: "x", backend: {} }, `${E}-11`, 0)).toBe("applied");
    expect(s.seq).toBe(11);
  });
});

describe("frontendHealth", () => {
  it("is up when the first pool is whole", () => {
    expect(frontendHealth(fe("w", [{ name: "p", backends: [pb("a"), pb("b")] }])).health).toBe("up");
  });
  it("is never up when nothing carries traffic, whatever maglevd says", () => {
    const f = fe("w", [{ name: "p", backends: [pb("a", "up", 0)] }], { state: "up" });
    expect(frontendHealth(f)).toEqual({ health: "down", reasons: ["no backend carries traffic"] });
  });
  it("is degraded after a failover or with a backend down in the active pool", () => {
    const failover = fe("w", [{ name: "p", backends: [pb("a", "down", 0)] }, { name: "f", backends: [pb("s")] }], { active_pool: "f" });
    expect(frontendHealth(failover).health).toBe("degraded");
    expect(frontendHealth(failover).reasons).toContain("failed over to pool f");
    const partly = fe("w", [{ name: "p", backends: [pb("a"), pb("b", "down", 0)] }]);
    expect(frontendHealth(partly)).toEqual({ health: "degraded", reasons: ["b is down"] });
  });
  it("does not count an operator's disable as degradation", () => {
    const f = fe("w", [{ name: "p", backends: [pb("a"), pb("b", "disabled", 0)] }]);
    expect(frontendHealth(f).health).toBe("up");
  });
  it("is degraded when VPP is out of sync, unknown before any check", () => {
    expect(frontendHealth(fe("w", [{ name: "p", backends: [pb("a")] }], { dataplane: "out-of-sync" })).health).toBe("degraded");
    expect(frontendHealth(fe("w", [{ name: "p", backends: [pb("a", "unknown", 0)] }], { state: "unknown" })).health).toBe("unknown");
  });
});

describe("formatAge", () => {
  it("reads like an operator would say it", () => {
    expect(formatAge(0)).toBe("0s");
    expect(formatAge(42.9)).toBe("42s");
    expect(formatAge(630)).toBe("10m30s");
    expect(formatAge(65)).toBe("1m05s");
    expect(formatAge(3600 + 12 * 60 + 5)).toBe("1h12m");
    expect(formatAge(86400 + 16 * 3600 + 100)).toBe("1d16h");
    expect(formatAge(-5)).toBe("0s");
  });
});

describe("timeline", () => {
  const now = 10_000_000;
  const ns = (ms: number) => ms * 1e6;
  it("is one segment of the current state without history", () => {
    expect(timeline(be("a", "x", "up"), now)).toEqual([{ start: 0, end: 1, state: "up" }]);
  });
  it("splits the hour at each transition, with no data before maglevd's start", () => {
    const t = [
      { from: "up", to: "down", at_ns: ns(now - 900_000), code: "L4CON", detail: "" },
      { from: "unknown", to: "up", at_ns: ns(now - 1_800_000), code: "L7OK", detail: "" },
    ];
    const segs = timeline(be("a", "x", "down", t), now);
    expect(segs.map((s) => s.state)).toEqual(["none", "up", "down"]);
    expect(segs[1].start).toBeCloseTo(0.5);
    expect(segs[2].start).toBeCloseTo(0.75);
    expect(segs[2].end).toBe(1);
  });
  it("starts the window in the state of the last transition before it", () => {
    const t = [{ from: "up", to: "down", at_ns: ns(now - 7_200_000), code: "", detail: "" }];
    expect(timeline(be("a", "x", "down", t), now)).toEqual([{ start: 0, end: 1, state: "down" }]);
  });
});

describe("bucketShares", () => {
  it("names ASes by backend and sorts by share", () => {
    const f = fe("w", [], { vip: { fingerprint: "f", ases: [
      { address: "127.0.1.1", weight: 100, buckets: 300, flags: 1 },
      { address: "127.0.1.2", weight: 100, buckets: 700, flags: 1 },
      { address: "127.0.1.9", weight: 0, buckets: 0, flags: 0 },
    ] } });
    const s = bucketShares(f, addressIndex({ web0: be("web0", "127.0.1.1"), web1: be("web1", "127.0.1.2") }));
    expect(s).toEqual([
      { name: "web1", address: "127.0.1.2", buckets: 700, share: 0.7 },
      { name: "web0", address: "127.0.1.1", buckets: 300, share: 0.3 },
    ]);
  });
  it("is empty without a VIP", () => {
    expect(bucketShares(fe("w", [], { vip: null }), {})).toEqual([]);
  });
  it("falls back to the address for an AS that is no backend", () => {
    const f = fe("w", [], { vip: { ases: [{ address: "10.9.9.9", weight: 1, buckets: 4, flags: 0 }] } });
    expect(bucketShares(f, {})[0].name).toBe("10.9.9.9");
  });
});

describe("compareRouters", () => {
  const two = (a: Frontend, b: Frontend | null, connected = true) => {
    const s = emptyState();
    loadSnapshot(s, snapshot(1, [maglevd("r1", { web: a }), maglevd("r2", b ? { web: b } : {}, connected)]));
    return s;
  };
  const pools = (b1 = pb("web1")) => [{ name: "p", backends: [pb("web0"), b1] }];
  it("finds nothing when every router programs the same table", () => {
    expect(compareRouters(two(fe("web", pools()), fe("web", pools())))).toEqual({ web: { frontend: "web", reasons: [], backends: {} } });
  });
  it("names the backend and the field when one router disabled it", () => {
    const off = fe("web", pools(pb("web1", "disabled", 0)), { vip: { flow_table_length: 1024, fingerprint: "bbbb", ases: [] } });
    const d = compareRouters(two(fe("web", pools()), off)).web;
    expect(d.reasons).toContain("programmed tables differ (aaaa on r1, bbbb on r2)");
    expect(d.backends.web1).toEqual([
      "state: up on r1, disabled on r2",
      "effective weight: 100 on r1, 0 on r2",
      "VPP weight: 100 on r1, 0 on r2",
      "buckets: 512 on r1, 0 on r2",
    ]);
    expect(d.backends.web0).toBeUndefined();
  });
  it("reports a VIP missing in VPP, a frontend missing from a config, a table length", () => {
    expect(compareRouters(two(fe("web", pools()), fe("web", pools(), { vip: null }))).web.reasons)
      .toEqual(["VIP missing in VPP on r2"]);
    expect(compareRouters(two(fe("web", pools()), null)).web.reasons).toEqual(["not configured on r2"]);
    const long = fe("web", pools(), { vip: { flow_table_length: 4096, fingerprint: "cccc", ases: [] } });
    expect(compareRouters(two(fe("web", pools()), long)).web.reasons[0]).toBe("table length: 1024 on r1, 4096 on r2");
  });
  it("leaves out disconnected routers and needs two", () => {
    expect(compareRouters(two(fe("web", pools()), null, false))).toEqual({});
  });
  it("does not call unreadable VPP state a missing VIP", () => {
    expect(compareRouters(two(fe("web", pools()), fe("web", pools(), { vip: { unknown: true } }))).web.reasons).toEqual([]);
  });
});

describe("problems", () => {
  it("leads with errors: disconnected routers, dead frontends and backends", () => {
    const s = emptyState();
    const m1 = maglevd("r1", { web: fe("web", [{ name: "p", backends: [pb("web0", "down", 0)] }]) });
    m1.backends.web0.state = "down";
    loadSnapshot(s, snapshot(1, [m1, maglevd("r2", {}, false)]));
    const p = problems(s);
    expect(p.map((x) => `${x.severity} ${x.maglevd} ${x.what}`)).toEqual([
      "error r1 frontend web down",
      "error r1 backend web0 down",
      "error r2 maglevd disconnected",
    ]);
  });
  it("is empty when all is well", () => {
    expect(problems(loaded(1))).toEqual([]);
  });
});
