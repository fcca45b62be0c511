// SPDX-License-Identifier: Apache-2.0
// The dashboard's model: the state a tab holds, the reducers that apply the
// server's snapshot and its Server-Sent Events to it, and the pure functions
// the views are drawn from (health of a frontend, ages, timelines, bucket
// shares, the comparison across routers). No DOM, no clock: `now` is passed
// in, so everything here is tested by vitest on plain objects.
//
// Reducers mutate in place (they run inside solid's `produce` in the app and
// on plain objects in tests) and say whether the tab must resync.

export interface Transition {
  from: string;
  to: string;
  at_ns: number;
  code: string;
  detail: string;
}

export interface PoolBackend {
  name: string;
  weight: number;
  effective_weight: number;
  state: string;
  enabled: boolean;
  vpp_weight: number;
  vpp_differs: boolean;
  vpp_buckets: number | null;
}

export interface VipAs {
  address: string;
  weight: number;
  buckets: number;
  flags: number;
}

export interface Vip {
  encap?: string;
  flow_table_length?: number;
  fingerprint?: string;
  ases?: VipAs[];
  unknown?: boolean;
}

export interface Frontend {
  name: string;
  address: string;
  protocol: string;
  port: number;
  description: string;
  src_ip_sticky: boolean;
  flush_on_down: boolean;
  state: string;
  active_pool: string;
  dataplane: string;
  dataplane_detail: string;
  dataplane_pending: string[];
  pools: { name: string; backends: PoolBackend[] }[];
  vip: Vip | null;
}

export interface Backend {
  name: string;
  address: string;
  state: string;
  enabled: boolean;
  healthcheck: string;
  counter: number;
  rise: number;
  fall: number;
  last_code: string;
  last_detail: string;
  frontends: string[];
  transitions: Transition[];
}

export interface Probe {
  in_flight: boolean;
  streak: number;
  ok?: boolean;
  code?: string;
  detail?: string;
  elapsed?: string;
  at_ns?: number;
}

export interface MaglevdStatus {
  name: string;
  address: string;
  connected: boolean;
  error: string;
  since_ns: number;
  last_refresh_ns: number;
  version: string;
  start_time_ns: number;
  config_path: string;
}

export interface VppStatus {
  ok: boolean;
  error: string;
  connected: boolean;
  version: string;
  build_date: string;
  pid: number;
  boottime_ns: number;
  connecttime_ns: number;
  lb_api: string;
  vips: number;
  last_sync: { at_ns: number; kind: string; calls: string; failed: string };
  lb_conf?: Record<string, unknown>;
}

export interface Maglevd {
  name: string;
  status: MaglevdStatus;
  vpp: VppStatus;
  frontends: Record<string, Frontend>;
  backends: Record<string, Backend>;
  healthchecks: Record<string, Record<string, unknown>>;
  probes: Record<string, Probe>;
  // ms (client clock) of the last VPP API activity seen (lb-call, lb-sync)
  vpp_activity_ms: number;
}

export interface LogEntry {
  id: string;
  maglevd: string;
  at_ns: number;
  level: string;
  msg: string;
  attrs: Record<string, string>;
}

export interface State {
  loaded: boolean;
  epoch: string;
  seq: number;
  order: string[];
  maglevds: Record<string, Maglevd>;
  log: LogEntry[];
  // "maglevd/kind/name" -> ms of the last change (drives the flash)
  changed: Record<string, number>;
  // Bumped by every change: views that summarise everything depend on it
  // alone (and read the raw object) instead of on every field.
  rev: number;
}

export const LOG_LIMIT = 500;

export function emptyState(): State {
  return { loaded: false, epoch: "", seq: 0, order: [], maglevds: {}, log: [], changed: {}, rev: 0 };
}

export function parseId(id: string): { epoch: string; seq: number } | null {
  const m = /^(\d+)-(\d+)$/.exec(id || "");
  if (!m) return null;
  return { epoch: m[1], seq: Number(m[2]) };
}

interface SnapshotMaglevd {
  name: string;
  status: MaglevdStatus;
  vpp: VppStatus;
  frontends: Record<string, Frontend>;
  backends: Record<string, Backend>;
  healthchecks: Record<string, Record<string, unknown>>;
  probes: Record<string, Probe>;
}

export interface Snapshot {
  event_id: string;
  maglevds: SnapshotMaglevd[];
}

export function toMaglevd(m: SnapshotMaglevd): Maglevd {
  return {
    name: m.name,
    status: m.status,
    vpp: m.vpp,
    frontends: m.frontends || {},
    backends: m.backends || {},
    healthchecks: m.healthchecks || {},
    probes: m.probes || {},
    vpp_activity_ms: 0,
  };
}

// Replaces everything the snapshot covers; keeps the event log.
// `keep`: a maglevd already loaded that the caller merges in itself (with
// solid's reconcile, so that its cards are updated in place, not rebuilt).
export function loadSnapshot(s: State, snap: Snapshot, keep = ""): void {
  const id = parseId(snap.event_id);
  s.epoch = id ? id.epoch : "";
  s.seq = id ? id.seq : 0;
  s.order = snap.maglevds.map((m) => m.name);
  const next: Record<string, Maglevd> = {};
  for (const m of snap.maglevds) next[m.name] = toMaglevd(m);
  for (const k of Object.keys(s.maglevds)) if (!(k in next)) delete s.maglevds[k];
  for (const k of Object.keys(next)) if (k !== keep || !(k in s.maglevds)) s.maglevds[k] = next[k];
  s.loaded = true;
  s.rev++;
}

export type Applied = "applied" | "ignored" | "resync";

function mark(s: State, key: string, now: number): void {
  s.changed[key] = now;
}

// Applies one SSE event. `id` is the event's id, `now` the client's ms clock.
export function applyEvent(s: State, type: string, data: any, id: string, now: number): Applied {
  if (type === "resync") return "resync";
  const parsed = parseId(id);
  if (!parsed) return "ignored";
  if (s.epoch && parsed.epoch !== s.epoch) return "resync"; // another server process
  if (parsed.seq <= s.seq) return "ignored"; // already in the snapshot
  if (parsed.seq > s.seq + 1 && s.loaded && s.seq > 0) {
    // A gap: the server never skips ids on one stream, so something was lost.
    return "resync";
  }
  s.seq = parsed.seq;
  s.rev++;
  const m = data && s.maglevds[data.maglevd];
  if (!m) return "applied";
  switch (type) {
    case "maglevd":
      m.status = data.status;
      break;
    case "vpp":
      m.vpp = data.vpp;
      break;
    case "frontend": {
      const old = m.frontends[data.name];
      m.frontends[data.name] = data.frontend;
      if (old && (old.state !== data.frontend.state || old.active_pool !== data.frontend.active_pool)) {
        mark(s, `${m.name}/frontend/${data.name}`, now);
      }
      if (old) {
        for (const pool of data.frontend.pools as Frontend["pools"]) {
          const oldPool = old.pools.find((p) => p.name === pool.name);
          for (const b of pool.backends) {
            const ob = oldPool && oldPool.backends.find((x) => x.name === b.name);
            if (ob && (ob.effective_weight !== b.effective_weight || ob.weight !== b.weight ||
                       ob.state !== b.state || ob.vpp_weight !== b.vpp_weight)) {
              mark(s, `${m.name}/pool/${data.name}/${pool.name}/${b.name}`, now);
            }
          }
        }
      }
      break;
    }
    case "frontend-removed":
      delete m.frontends[data.name];
      break;
    case "backend": {
      const old = m.backends[data.name];
      m.backends[data.name] = data.backend;
      if (old && old.state !== data.backend.state) mark(s, `${m.name}/backend/${data.name}`, now);
      break;
    }
    case "backend-removed":
      delete m.backends[data.name];
      delete m.probes[data.name];
      break;
    case "healthcheck":
      m.healthchecks[data.name] = data.healthcheck;
      break;
    case "healthcheck-removed":
      delete m.healthchecks[data.name];
      break;
    case "probe": {
      const p = m.probes[data.backend] || (m.probes[data.backend] = { in_flight: false, streak: 0 });
      if (data.phase === "start") {
        p.in_flight = true;
      } else {
        p.in_flight = false;
        p.ok = data.ok;
        p.code = data.code;
        p.detail = data.detail;
        p.elapsed = data.elapsed;
        p.at_ns = data.at_ns;
        p.streak = data.streak;
      }
      break;
    }
    case "log": {
      s.log.push({ id, maglevd: m.name, at_ns: data.at_ns, level: data.level, msg: data.msg,
                   attrs: data.attrs || {} });
      if (s.log.length > LOG_LIMIT) s.log.splice(0, s.log.length - LOG_LIMIT);
      if (data.msg === "lb-call" || data.msg === "lb-sync") m.vpp_activity_ms = now;
      break;
    }
    default:
      break;
  }
  return "applied";
}

// ---------------------------------------------------------------- derived

export type Health = "up" | "degraded" | "down" | "unknown";

// The state shown on a frontend card. Never "up" when nothing carries
// traffic, whatever maglevd's own word for it.
export function frontendHealth(fe: Frontend): { health: Health; reasons: string[] } {
  const reasons: string[] = [];
  const all = fe.pools.flatMap((p) => p.backends);
  const carrying = all.filter((b) => b.effective_weight > 0).length;
  if (fe.state === "unknown" && carrying === 0) {
    return { health: "unknown", reasons: ["no backend has been checked yet"] };
  }
  if (carrying === 0) {
    reasons.push(fe.pools.length === 0 ? "no pools" : "no backend carries traffic");
    return { health: "down", reasons };
  }
  const first = fe.pools[0];
  if (first && fe.active_pool && fe.active_pool !== first.name) {
    reasons.push(`failed over to pool ${fe.active_pool}`);
  }
  const active = fe.pools.find((p) => p.name === fe.active_pool) || first;
  if (active) {
    for (const b of active.backends) {
      if (b.state === "down" || b.state === "unknown") reasons.push(`${b.name} is ${b.state}`);
    }
  }
  if (fe.dataplane === "out-of-sync") reasons.push("VPP differs from the desired state");
  return { health: reasons.length ? "degraded" : "up", reasons };
}

// 42s, 10m30s, 1h12m, 1d16h.
export function formatAge(seconds: number): string {
  if (!isFinite(seconds) || seconds < 0) seconds = 0;
  const s = Math.floor(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
  return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600)}h`;
}

export function lastChangeNs(b: Backend): number {
  return b.transitions.length ? b.transitions[0].at_ns : 0;
}

export interface Segment {
  start: number; // fraction of the window, 0..1
  end: number;
  state: string;
}

// The backend's states over [now - window, now], oldest first.
export function timeline(b: Backend, nowMs: number, windowMs = 3600_000): Segment[] {
  const from = nowMs - windowMs;
  const ts = [...b.transitions].sort((x, y) => x.at_ns - y.at_ns);
  // Before the oldest record: its `from`, unless that is maglevd's start
  // (unknown), where nothing is known ("none").
  let state = ts.length ? (ts[0].from === "unknown" ? "none" : ts[0].from) : b.state;
  const points: { at: number; state: string }[] = [];
  for (const t of ts) {
    const at = t.at_ns / 1e6;
    if (at <= from) state = t.to;
    else if (at <= nowMs) points.push({ at, state: t.to });
  }
  const segs: Segment[] = [];
  let start = from;
  for (const p of points) {
    if (p.at > start) segs.push({ start: (start - from) / windowMs, end: (p.at - from) / windowMs, state });
    state = p.state;
    start = p.at;
  }
  segs.push({ start: (start - from) / windowMs, end: 1, state });
  return segs.filter((x) => x.end > x.start);
}

export interface Share {
  name: string;
  address: string;
  buckets: number;
  share: number;
}

// address -> backend name, built once per maglevd (not once per frontend).
export function addressIndex(backends: Record<string, Backend>): Record<string, string> {
  const byAddress: Record<string, string> = {};
  for (const b of Object.values(backends)) byAddress[b.address] = b.name;
  return byAddress;
}

// Each backend's share of the VIP's Maglev buckets, as VPP reports them.
export function bucketShares(fe: Frontend, byAddress: Record<string, string>): Share[] {
  const ases = fe.vip && fe.vip.ases ? fe.vip.ases : [];
  const total = ases.reduce((n, a) => n + a.buckets, 0);
  return ases
    .filter((a) => a.buckets > 0)
    .map((a) => ({ name: byAddress[a.address] || a.address, address: a.address, buckets: a.buckets,
                   share: total ? a.buckets / total : 0 }))
    .sort((x, y) => y.buckets - x.buckets || x.name.localeCompare(y.name));
}

// ---------------------------------------------------------------- across routers

export interface Disagreement {
  frontend: string;
  reasons: string[];
  backends: Record<string, string[]>; // backend -> reasons
}

function describe(values: Record<string, unknown>): string {
  return Object.entries(values).map(([r, v]) => `${v} on ${r}`).join(", ");
}

function allSame(values: unknown[]): boolean {
  return values.every((v) => v === values[0]);
}

// Routers behind one ECMP group must hash a flow alike: for every VIP the
// same ASes, weights and table on each. Compares the connected routers and
// returns, per frontend, why they disagree (empty reasons: they agree).
export function compareRouters(s: State): Record<string, Disagreement> {
  const routers = s.order.filter((n) => s.maglevds[n] && s.maglevds[n].status.connected);
  const out: Record<string, Disagreement> = {};
  if (routers.length < 2) return out;
  const names = new Set<string>();
  for (const r of routers) for (const f of Object.keys(s.maglevds[r].frontends)) names.add(f);
  for (const name of [...names].sort()) {
    const d: Disagreement = { frontend: name, reasons: [], backends: {} };
    out[name] = d;
    const have = routers.filter((r) => s.maglevds[r].frontends[name]);
    const missing = routers.filter((r) => !s.maglevds[r].frontends[name]);
    if (missing.length) d.reasons.push(`not configured on ${missing.join(", ")}`);
    if (have.length < 2) continue;
    const fes: Record<string, Frontend> = {};
    for (const r of have) fes[r] = s.maglevds[r].frontends[name];
    const vipOf = (r: string) => fes[r].vip;
    const known = have.filter((r) => !(vipOf(r) && vipOf(r)!.unknown));
    const noVip = known.filter((r) => !vipOf(r));
    if (noVip.length && noVip.length < known.length) d.reasons.push(`VIP missing in VPP on ${noVip.join(", ")}`);
    const withVip = known.filter((r) => vipOf(r));
    if (withVip.length >= 2) {
      const fps: Record<string, string> = {};
      for (const r of withVip) fps[r] = vipOf(r)!.fingerprint || "";
      if (!allSame(Object.values(fps))) {
        const lens: Record<string, unknown> = {};
        for (const r of withVip) lens[r] = vipOf(r)!.flow_table_length;
        if (!allSame(Object.values(lens))) d.reasons.push(`table length: ${describe(lens)}`);
        d.reasons.push(`programmed tables differ (${describe(fps)})`);
      }
    }
    const backendNames = new Set<string>();
    for (const r of have) for (const p of fes[r].pools) for (const b of p.backends) backendNames.add(b.name);
    for (const bn of [...backendNames].sort()) {
      const find = (r: string) => {
        for (const p of fes[r].pools) for (const b of p.backends) if (b.name === bn) return b;
        return undefined;
      };
      const rs: string[] = [];
      const absent = have.filter((r) => !find(r));
      if (absent.length) rs.push(`not in this frontend on ${absent.join(", ")}`);
      const present = have.filter((r) => find(r));
      if (present.length >= 2) {
        const pick = (f: (b: PoolBackend) => unknown) => {
          const v: Record<string, unknown> = {};
          for (const r of present) v[r] = f(find(r)!);
          return v;
        };
        const checks: [string, Record<string, unknown>][] = [
          ["state", pick((b) => b.state)],
          ["effective weight", pick((b) => b.effective_weight)],
          ["VPP weight", pick((b) => (b.vpp_weight < 0 ? "none" : b.vpp_weight))],
          ["buckets", pick((b) => (b.vpp_buckets == null ? "none" : b.vpp_buckets))],
        ];
        for (const [what, v] of checks) if (!allSame(Object.values(v))) rs.push(`${what}: ${describe(v)}`);
      }
      if (rs.length) d.backends[bn] = rs;
    }
    if (Object.keys(d.backends).length && !d.reasons.length) d.reasons.push("backends differ");
  }
  return out;
}

// ---------------------------------------------------------------- landing

export interface Problem {
  severity: "error" | "warn";
  maglevd: string;
  what: string;
  detail: string;
}

// Everything wrong, worst first: what the landing view leads with.
export function problems(s: State): Problem[] {
  const out: Problem[] = [];
  for (const name of s.order) {
    const m = s.maglevds[name];
    if (!m) continue;
    if (!m.status.connected) {
      out.push({ severity: "error", maglevd: name, what: "maglevd disconnected", detail: m.status.error });
      continue;
    }
    if (m.vpp && m.vpp.ok && !m.vpp.connected) {
      out.push({ severity: "error", maglevd: name, what: "VPP disconnected", detail: "" });
    }
    for (const fe of Object.values(m.frontends)) {
      const h = frontendHealth(fe);
      if (h.health === "down") out.push({ severity: "error", maglevd: name, what: `frontend ${fe.name} down`, detail: h.reasons.join("; ") });
      else if (h.health === "degraded") out.push({ severity: "warn", maglevd: name, what: `frontend ${fe.name} degraded`, detail: h.reasons.join("; ") });
    }
    for (const b of Object.values(m.backends)) {
      if (b.state === "down") {
        const p = m.probes[b.name];
        const detail = p && p.code ? `${p.code} ${p.detail || ""}` : `${b.last_code} ${b.last_detail}`;
        out.push({ severity: "error", maglevd: name, what: `backend ${b.name} down`, detail: detail.trim() });
      }
    }
  }
  const cmp = compareRouters(s);
  for (const d of Object.values(cmp)) {
    if (d.reasons.length) out.push({ severity: "warn", maglevd: "*", what: `routers disagree on ${d.frontend}`, detail: d.reasons.join("; ") });
  }
  return out.sort((a, b) => (a.severity === b.severity ? 0 : a.severity === "error" ? -1 : 1));
}

// Sort order of cards: problems first, then by name.
export function healthRank(h: Health): number {
  return { down: 0, degraded: 1, unknown: 2, up: 3 }[h];
}
