// SPDX-License-Identifier: Apache-2.0
// The views: a tab per maglevd plus "all routers" (problems first, and where
// the routers disagree), frontend cards with their pools and backends, the
// VPP panel, and in /admin/ the actions and a live event log.
import { createEffect, createMemo, createSignal, For, JSX, on, onCleanup, Show, splitProps } from "solid-js";
import { createStore, unwrap } from "solid-js/store";
import {
  addressIndex, Backend, bucketShares, compareRouters, emptyState, Frontend, frontendHealth, formatAge,
  healthRank, lastChangeNs, LogEntry, Maglevd, PoolBackend, problems, State, timeline,
} from "./model";
import { adminPost, startStream } from "./stream";

const STATE_COLORS: Record<string, string> = {
  up: "#2e9d4f", down: "#d33a2c", unknown: "#9a9a9a", paused: "#d9a400", disabled: "#5a6b7b",
  removed: "#444", degraded: "#e58a00", none: "#eceff2",
};

function Flash(props: { key: string; changed: Record<string, number>; children: JSX.Element; class?: string; tag?: "tr" | "div" } & Record<string, unknown>) {
  let el: HTMLElement | undefined;
  createEffect(on(() => props.changed[props.key], (v) => {
    if (!v || !el) return;
    el.classList.remove("flash");
    void el.offsetWidth;
    el.classList.add("flash");
  }, { defer: true }));
  // splitProps keeps the rest reactive (destructuring would read it once).
  const [local, rest] = splitProps(props, ["key", "changed", "children", "tag"]);
  return local.tag === "tr"
    ? <tr ref={(e) => (el = e)} {...(rest as any)}>{props.children}</tr>
    : <div ref={(e) => (el = e)} {...(rest as any)}>{props.children}</div>;
}

function Badge(props: { state: string; testid?: string }) {
  return (
    <span class="badge" data-testid={props.testid} data-state={props.state}
          style={{ background: STATE_COLORS[props.state] || "#777" }}>{props.state}</span>
  );
}

function Age(props: { ns: number; now: number }) {
  return <span class="age">{props.ns ? formatAge((props.now - props.ns / 1e6) / 1000) : "–"}</span>;
}

function Timeline(props: { backend: Backend; now: number }) {
  const segs = createMemo(() => timeline(props.backend, props.now));
  return (
    <svg class="timeline" viewBox="0 0 120 10" preserveAspectRatio="none" data-testid="timeline">
      <title>state over the last hour</title>
      <For each={segs()}>
        {(s) => <rect x={s.start * 120} width={Math.max(0.5, (s.end - s.start) * 120)} y="0" height="10"
                      fill={STATE_COLORS[s.state] || "#777"} />}
      </For>
    </svg>
  );
}

function Buckets(props: { fe: Frontend; byAddress: Record<string, string> }) {
  const shares = createMemo(() => {
    let start = 0;
    return bucketShares(props.fe, props.byAddress).map((s, i) => {
      const out = { ...s, start, hue: (200 + i * 47) % 360 };
      start += s.share;
      return out;
    });
  });
  return (
    <Show when={shares().length} fallback={<div class="muted small">no Maglev buckets in VPP</div>}>
      <div class="buckets" data-testid="buckets">
        <svg viewBox="0 0 300 14" preserveAspectRatio="none">
          <For each={shares()}>
            {(s) => <rect x={s.start * 300} width={s.share * 300} height="14" fill={`hsl(${s.hue} 55% 55%)`}>
              <title>{`${s.name}: ${s.buckets} buckets (${(s.share * 100).toFixed(1)}%)`}</title></rect>}
          </For>
        </svg>
        <div class="legend small">
          <For each={shares()}>
            {(s) => <span><i style={{ background: `hsl(${s.hue} 55% 55%)` }} />{s.name} {(s.share * 100).toFixed(1)}%</span>}
          </For>
        </div>
      </div>
    </Show>
  );
}

// Long lists (a router may have thousands of frontends) are put on screen in
// slices: the first `first` at once, then `step` more per frame, so the first
// screen appears at once and the page stays responsive while the rest follow.
function progressive<T>(list: () => T[], first = 40, step = 60): () => T[] {
  const [limit, setLimit] = createSignal(first);
  let timer: number | undefined;
  createEffect(() => {
    const n = list().length;
    if (limit() < n && timer === undefined) {
      timer = window.setTimeout(() => { timer = undefined; setLimit(limit() + step); }, 16);
    }
  });
  onCleanup(() => clearTimeout(timer));
  return () => list().slice(0, limit());
}

interface Ctx {
  state: State;
  // state.rev, at most every 250 ms: what summaries of everything follow
  slowRev: () => number;
  now: () => number;
  admin: boolean;
  notify: (msg: string, ok: boolean) => void;
}

async function act(ctx: Ctx, path: string, body: unknown, what: string, confirmText?: string) {
  if (confirmText && !window.confirm(confirmText)) return;
  const r = await adminPost(path, body);
  ctx.notify(r.ok ? `${what}: done` : `${what}: ${r.data.error || "HTTP " + r.status}`, r.ok);
}

function BackendActions(props: { ctx: Ctx; m: string; fe: string; pool: string; pb: PoolBackend }) {
  const [w, setW] = createSignal(String(props.pb.weight));
  const base = () => `maglevd/${encodeURIComponent(props.m)}/backend/${encodeURIComponent(props.pb.name)}`;
  const run = (a: string) =>
    act(props.ctx, `${base()}/${a}`, {}, `${a} ${props.pb.name}`,
        a === "disable" ? `Disable backend ${props.pb.name} on ${props.m}? Its flows are flushed.` : undefined);
  const setWeight = () => {
    const v = Number(w());
    if (!Number.isInteger(v) || v < 0 || v > 100) {
      props.ctx.notify("weight must be 0..100", false);
      return;
    }
    act(props.ctx,
        `maglevd/${encodeURIComponent(props.m)}/frontend/${encodeURIComponent(props.fe)}/pool/${encodeURIComponent(props.pool)}/backend/${encodeURIComponent(props.pb.name)}/weight`,
        { weight: v }, `weight ${props.pb.name} ${v}`,
        v === 0 ? `Set ${props.pb.name}'s weight in ${props.fe}/${props.pool} to 0? It stops taking new flows.` : undefined);
  };
  return (
    <td class="actions">
      <Show when={props.pb.state !== "paused"} fallback={<button data-action="resume" onClick={() => run("resume")}>resume</button>}>
        <button data-action="pause" disabled={!props.pb.enabled} onClick={() => run("pause")}>pause</button>
      </Show>
      <Show when={props.pb.enabled} fallback={<button data-action="enable" onClick={() => run("enable")}>enable</button>}>
        <button data-action="disable" onClick={() => run("disable")}>disable</button>
      </Show>
      <input type="number" min="0" max="100" value={w()} onInput={(e) => setW(e.currentTarget.value)} data-testid="weight-input" />
      <button data-action="weight" onClick={setWeight}>set</button>
    </td>
  );
}

function BackendRow(props: { ctx: Ctx; m: Maglevd; fe: Frontend; pool: string; pb: PoolBackend }) {
  const be = () => props.m.backends[props.pb.name];
  const probe = () => props.m.probes[props.pb.name];
  const key = () => `${props.m.name}/pool/${props.fe.name}/${props.pool}/${props.pb.name}`;
  const streak = () => {
    const p = probe();
    if (!p || !p.streak) return "–";
    return p.streak > 0 ? `✓${p.streak}` : `✗${-p.streak}`;
  };
  const last = () => {
    const p = probe();
    if (p && p.code) return `${p.code} ${p.detail || ""}`;
    const b = be();
    return b && b.last_code ? `${b.last_code} ${b.last_detail}` : "–";
  };
  return (
    <Flash tag="tr" key={key()} changed={props.ctx.state.changed} data-testid="be-row"
           data-backend={props.pb.name} data-state={props.pb.state} data-effective={props.pb.effective_weight}>
      <td><span class="beat" classList={{ lit: !!(probe() && probe()!.in_flight) }} data-testid="heartbeat"
                title="lit while a probe is in flight" /></td>
      <td class="name">{props.pb.name}<div class="muted small">{be() ? be()!.address : ""}</div></td>
      <td><Badge state={props.pb.state} testid="be-state" /></td>
      <td class="num">{props.pb.weight}</td>
      <td class="num" data-testid="effective">{props.pb.effective_weight}</td>
      <td class="num" classList={{ differs: props.pb.vpp_differs }}>{props.pb.vpp_weight < 0 ? "–" : props.pb.vpp_weight}</td>
      <td class="num">{props.pb.vpp_buckets == null ? "–" : props.pb.vpp_buckets}</td>
      <td class="check" data-testid="last-check">{last()}<span class="muted small">{probe() && probe()!.elapsed ? ` ${probe()!.elapsed}` : ""}</span></td>
      <td class="num" data-testid="streak">{streak()}</td>
      <td class="num">{be() ? be()!.transitions.length : 0}</td>
      <td class="num"><Age ns={be() ? lastChangeNs(be()!) : 0} now={props.ctx.now()} /></td>
      <td><Show when={be()}><Timeline backend={be()!} now={props.ctx.now()} /></Show></td>
      <Show when={props.ctx.admin}>
        <BackendActions ctx={props.ctx} m={props.m.name} fe={props.fe.name} pool={props.pool} pb={props.pb} />
      </Show>
    </Flash>
  );
}

function FrontendCard(props: { ctx: Ctx; m: Maglevd; fe: Frontend; byAddress: Record<string, string> }) {
  const h = createMemo(() => frontendHealth(props.fe));
  return (
    <Flash key={`${props.m.name}/frontend/${props.fe.name}`} changed={props.ctx.state.changed} class="card"
           data-testid="fe-card" data-maglevd={props.m.name} data-frontend={props.fe.name} data-health={h().health}>
      <div class="card-head">
        <span class="fe-name">{props.fe.name}</span>
        <Badge state={h().health} testid="fe-health" />
        <span class="vip">{props.fe.address}:{props.fe.port}/{props.fe.protocol}</span>
        <span class="muted">active pool <b>{props.fe.active_pool || "none"}</b></span>
        <Show when={props.fe.dataplane}>
          <span class="dp" classList={{ bad: props.fe.dataplane !== "in-sync" }}>VPP {props.fe.dataplane}</span>
        </Show>
        <span class="muted small">{props.fe.description}</span>
      </div>
      <Show when={h().reasons.length}>
        <div class="reasons">{h().reasons.join(" · ")}</div>
      </Show>
      <Buckets fe={props.fe} byAddress={props.byAddress} />
      <For each={props.fe.pools}>
        {(pool) => (
          <div class="pool">
            <div class="pool-name" classList={{ active: pool.name === props.fe.active_pool }}>
              pool {pool.name}{pool.name === props.fe.active_pool ? " (active)" : ""}
            </div>
            <table class="backends">
              <colgroup><col class="c-beat" /><col class="c-name" /><col class="c-state" /><col class="c-n" /><col class="c-n" /><col class="c-n" /><col class="c-n" /><col class="c-check" /><col class="c-n" /><col class="c-n" /><col class="c-n" /><col class="c-tl" /><Show when={props.ctx.admin}><col class="c-act" /></Show></colgroup>
              <thead><tr><th /><th>backend</th><th>state</th><th>weight</th><th>effective</th><th>VPP</th>
                <th>buckets</th><th>last check</th><th>streak</th><th>trans.</th><th>since</th><th>last hour</th>
                <Show when={props.ctx.admin}><th>actions</th></Show></tr></thead>
              <tbody>
                <For each={pool.backends}>
                  {(pb) => <BackendRow ctx={props.ctx} m={props.m} fe={props.fe} pool={pool.name} pb={pb} />}
                </For>
              </tbody>
            </table>
          </div>
        )}
      </For>
    </Flash>
  );
}

function VppPanel(props: { ctx: Ctx; m: Maglevd }) {
  let dot: HTMLSpanElement | undefined;
  createEffect(on(() => props.m.vpp_activity_ms, (v) => {
    if (!v || !dot) return;
    dot.classList.remove("pulse");
    void dot.offsetWidth;
    dot.classList.add("pulse");
  }, { defer: true }));
  const v = () => props.m.vpp;
  return (
    <div class="panel vpp" data-testid="vpp-panel" data-connected={String(!!(v() && v().connected))}>
      <span class="beat" ref={dot} title="VPP API activity" />
      <b>VPP</b>
      <Show when={v() && v().ok} fallback={<span class="muted">{v() ? v().error || "dataplane disabled" : ""}</span>}>
        <Badge state={v().connected ? "up" : "down"} />
        <span>{v().version}</span>
        <span class="muted">{v().lb_api}</span>
        <Show when={v().boottime_ns}><span>booted <Age ns={v().boottime_ns} now={props.ctx.now()} /> ago</span></Show>
        <Show when={v().connecttime_ns}><span>connected <Age ns={v().connecttime_ns} now={props.ctx.now()} /> ago</span></Show>
        <span>{v().vips} VIPs</span>
        <span>last sync <Show when={v().last_sync.at_ns} fallback="–">
          <Age ns={v().last_sync.at_ns} now={props.ctx.now()} /> ago ({v().last_sync.kind}, {v().last_sync.calls} calls)</Show></span>
      </Show>
      <Show when={props.ctx.admin}>
        <span class="spacer" />
        <button data-action="sync" onClick={() => act(props.ctx, `maglevd/${encodeURIComponent(props.m.name)}/sync`, {}, "sync VPP")}>sync VPP</button>
        <button data-action="reload" onClick={() => act(props.ctx, `maglevd/${encodeURIComponent(props.m.name)}/config/reload`, {}, "config reload", `Reload the configuration of ${props.m.name}?`)}>reload config</button>
      </Show>
    </div>
  );
}

function RouterView(props: { ctx: Ctx; name: string }) {
  const m = () => props.ctx.state.maglevds[props.name];
  const byAddress = createMemo(() => {
    if (!props.ctx.slowRev()) return {};
    const mm = unwrap(props.ctx.state).maglevds[props.name];
    return mm ? addressIndex(mm.backends) : {};
  });
  const cards = createMemo(() => {
    if (!props.ctx.slowRev()) return [];
    const mm = unwrap(props.ctx.state).maglevds[props.name];
    if (!mm) return [];
    return Object.values(mm.frontends)
      .map((fe) => ({ fe, rank: healthRank(frontendHealth(fe).health) }))
      .sort((a, b) => a.rank - b.rank || a.fe.name.localeCompare(b.fe.name))
      .map((x) => x.fe.name);
  });
  const [filter, setFilter] = createSignal("");
  const filtered = createMemo(() => {
    const f = filter().trim().toLowerCase();
    return f ? cards().filter((n) => n.toLowerCase().includes(f)) : cards();
  });
  // Twenty cards fill more than a screen; each costs a few ms to build.
  const shownCards = progressive(filtered, 20, 60);
  return (
    <Show when={m()} fallback={<div class="panel">no maglevd named {props.name}</div>}>
      <Show when={!m().status.connected}>
        <div class="banner" data-testid="disconnected-banner">
          {m().name} is disconnected (since <Age ns={m().status.since_ns} now={props.ctx.now()} />): {m().status.error}.
          What follows is its last known state.
        </div>
      </Show>
      <div classList={{ stale: !m().status.connected }}>
        <VppPanel ctx={props.ctx} m={m()} />
        <div class="filter">
          <input placeholder="filter frontends" value={filter()} onInput={(e) => setFilter(e.currentTarget.value)} data-testid="filter" />
          <span class="muted small"> {filtered().length} of {cards().length} frontends, problems first</span>
        </div>
        <For each={shownCards()}>{(name) => <Show when={m().frontends[name]}><FrontendCard ctx={props.ctx} m={m()} fe={m().frontends[name]} byAddress={byAddress()} /></Show>}</For>
      </div>
    </Show>
  );
}

function AllRouters(props: { ctx: Ctx }) {
  const s = props.ctx.state;
  // Summaries of everything: computed on the raw state when it changed, at
  // most every 250 ms, not on every field they read.
  // (Nothing before the first tick: computing at load and again at the
  // first tick would double the time to the first screen.)
  const raw = () => (props.ctx.slowRev() ? unwrap(s) : emptyState());
  const probs = createMemo(() => problems(raw()));
  const cmp = createMemo(() => compareRouters(raw()));
  const frontends = createMemo(() => {
    const r = raw();
    const names = new Set<string>();
    for (const n of r.order) for (const f of Object.keys(r.maglevds[n]?.frontends || {})) names.add(f);
    // Disagreements first.
    const c = cmp();
    const bad = (f: string) => (c[f] && c[f].reasons.length ? 0 : 1);
    return [...names].sort((a, b) => bad(a) - bad(b) || a.localeCompare(b));
  });
  const shownFrontends = progressive(frontends);
  const counts = createMemo(() => {
    const r = raw();
    const out: Record<string, { frontends: number; up: number; backends: number }> = {};
    for (const n of r.order) {
      const m = r.maglevds[n];
      const bs = Object.values(m.backends);
      out[n] = { frontends: Object.keys(m.frontends).length, up: bs.filter((b) => b.state === "up").length, backends: bs.length };
    }
    return out;
  });
  return (
    <>
      <div class="panel" data-testid="problems">
        <h2>Problems</h2>
        <Show when={probs().length} fallback={<div class="ok" data-testid="no-problems">Nothing is wrong: every router, frontend and backend is fine.</div>}>
          <ul>
            <For each={probs()}>
              {(p) => <li class={p.severity} data-testid="problem"><b>{p.maglevd === "*" ? "all routers" : p.maglevd}</b>: {p.what}
                <span class="muted"> {p.detail}</span></li>}
            </For>
          </ul>
        </Show>
      </div>
      <div class="routers">
        <For each={s.order}>
          {(n) => {
            const m = () => s.maglevds[n];
            return (
              <a class="panel router" href={`#/m/${encodeURIComponent(n)}`} data-testid="router-card" data-maglevd={n}
                 data-connected={String(m().status.connected)}>
                <div><Badge state={m().status.connected ? "up" : "down"} /> <b>{n}</b> <span class="muted">{m().status.address}</span></div>
                <div class="small">maglevd {m().status.version || "?"} · VPP {m().vpp.connected ? "connected" : m().vpp.ok ? "disconnected" : "n/a"}</div>
                <div class="small">{counts()[n]?.frontends ?? 0} frontends · {counts()[n]?.up ?? 0}/{counts()[n]?.backends ?? 0} backends up</div>
              </a>
            );
          }}
        </For>
      </div>
      <div class="panel">
        <h2>Frontends across routers</h2>
        <table data-testid="consistency">
          <thead><tr><th>frontend</th><For each={s.order}>{(n) => <th>{n}</th>}</For><th>ECMP consistency</th></tr></thead>
          <tbody>
            <For each={shownFrontends()}>
              {(f) => {
                const d = () => cmp()[f];
                const agree = () => !d() || d().reasons.length === 0;
                return (
                  <tr data-testid="consistency-row" data-frontend={f} data-agree={String(agree())} classList={{ disagree: !agree() }}>
                    <td class="name">{f}</td>
                    <For each={s.order}>
                      {(n) => {
                        const fe = () => s.maglevds[n]?.frontends[f];
                        return <td><Show when={fe()} fallback={<span class="muted">absent</span>}>
                          <Badge state={frontendHealth(fe()!).health} />{" "}
                          <code class="small" title="fingerprint of the programmed Maglev table">{fe()!.vip?.fingerprint?.slice(0, 8) || "no VIP"}</code>
                        </Show></td>;
                      }}
                    </For>
                    <td data-testid="consistency-reason">
                      <Show when={!agree()} fallback={<span class={d() ? "ok" : "muted"}>{d() ? "same on every router" : "needs two connected routers"}</span>}>
                        <div>{d().reasons.join("; ")}</div>
                        <For each={Object.entries(d().backends)}>
                          {([b, rs]) => <div class="small" data-testid="backend-disagreement" data-backend={b}>{b}: {rs.join("; ")}</div>}
                        </For>
                      </Show>
                    </td>
                  </tr>
                );
              }}
            </For>
          </tbody>
        </table>
      </div>
    </>
  );
}

function EventLog(props: { ctx: Ctx }) {
  const [paused, setPaused] = createSignal(false);
  const [frozen, setFrozen] = createSignal<LogEntry[]>([]);
  const [level, setLevel] = createSignal("info");
  const rank: Record<string, number> = { debug: 0, info: 1, warn: 2, error: 3 };
  const shown = createMemo(() => {
    const src = paused() ? frozen() : props.ctx.state.log;
    return src.filter((e) => (rank[e.level] ?? 1) >= rank[level()]).slice(-200).reverse();
  });
  return (
    <div class="panel log" data-testid="event-log">
      <h2>Events</h2>
      <button data-action="pause-log" onClick={() => { if (!paused()) setFrozen([...props.ctx.state.log]); setPaused(!paused()); }}>
        {paused() ? "resume" : "pause"}</button>
      <select value={level()} onChange={(e) => setLevel(e.currentTarget.value)}>
        <option value="debug">debug</option><option value="info">info</option><option value="warn">warn</option><option value="error">error</option>
      </select>
      <Show when={paused()}><span class="muted"> paused</span></Show>
      <div class="log-lines">
        <For each={shown()}>
          {(e) => <div class={`log-line ${e.level}`} data-testid="log-line" data-msg={e.msg}>
            <span class="muted">{new Date(e.at_ns / 1e6).toISOString().slice(11, 23)}</span> <b>{e.maglevd}</b> {e.level} <b>{e.msg}</b>{" "}
            {Object.entries(e.attrs).map(([k, v]) => `${k}=${v}`).join(" ")}
          </div>}
        </For>
      </div>
    </div>
  );
}

export function App() {
  const [state, setState] = createStore<State>(emptyState());
  const [now, setNow] = createSignal(Date.now());
  const [live, setLive] = createSignal(false);
  const [route, setRoute] = createSignal(window.location.hash);
  const [toast, setToast] = createSignal<{ msg: string; ok: boolean } | null>(null);
  const [slowRev, setSlowRev] = createSignal(0);
  let revTimer: number | undefined;
  createEffect(on(() => state.rev, (rev) => {
    if (revTimer !== undefined) return;
    const delay = state.loaded && slowRev() === 0 ? 0 : 250;
    revTimer = window.setTimeout(() => { revTimer = undefined; setSlowRev(state.rev || rev); }, delay);
  }));
  const admin = /\/admin\//.test(window.location.pathname);
  const tick = setInterval(() => setNow(Date.now()), 1000);
  const onHash = () => setRoute(window.location.hash);
  window.addEventListener("hashchange", onHash);
  const stream = startStream(setState, setLive);
  onCleanup(() => { clearInterval(tick); window.removeEventListener("hashchange", onHash); stream.close(); });
  let toastTimer: number | undefined;
  const ctx: Ctx = {
    state, slowRev, now, admin,
    notify: (msg, ok) => { setToast({ msg, ok }); clearTimeout(toastTimer); toastTimer = window.setTimeout(() => setToast(null), 4000); },
  };
  const current = () => {
    const m = /^#\/m\/(.+)$/.exec(route());
    return m ? decodeURIComponent(m[1]) : "";
  };
  return (
    <div class="app" data-testid="app" data-loaded={String(state.loaded)} data-live={String(live())}>
      <header>
        <span class="title">maglevd-frontend{admin ? " · admin" : ""}</span>
        <nav>
          <a href="#/" classList={{ sel: current() === "" }} data-testid="tab-all">All routers</a>
          <For each={state.order}>
            {(n) => <a href={`#/m/${encodeURIComponent(n)}`} classList={{ sel: current() === n }} data-testid="maglevd-tab"
                       data-maglevd={n} data-connected={String(!!state.maglevds[n]?.status.connected)}>
              <span class="dot" classList={{ on: !!state.maglevds[n]?.status.connected }} />{n}</a>}
          </For>
        </nav>
        <span class="spacer" />
        <span class="live" classList={{ on: live() }} data-testid="live">{live() ? "live" : "reconnecting…"}</span>
        <Show when={!admin}><a class="small" href="../admin/">admin</a></Show>
        <Show when={admin}><a class="small" href="../view/">view</a></Show>
      </header>
      <main>
        <Show when={state.loaded} fallback={<div class="panel">loading…</div>}>
          <Show when={current()} fallback={<AllRouters ctx={ctx} />}>
            <RouterView ctx={ctx} name={current()} />
          </Show>
          <Show when={admin}><EventLog ctx={ctx} /></Show>
        </Show>
      </main>
      <Show when={toast()}>
        <div class="toast" classList={{ bad: !toast()!.ok }} data-testid="toast">{toast()!.msg}</div>
      </Show>
    </div>
  );
}
