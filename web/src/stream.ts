// SPDX-License-Identifier: Apache-2.0
// Keeps a tab's State in step with the server: one snapshot, then one
// EventSource for every maglevd (resuming from the snapshot's event id), with
// events applied in batches. A `resync` (or a gap, or another server epoch)
// fetches a new snapshot while events wait in the queue.
import { batch } from "solid-js";
import { produce, reconcile, SetStoreFunction } from "solid-js/store";
import { applyEvent, loadSnapshot, Snapshot, State, toMaglevd } from "./model";

export const EVENT_TYPES = [
  "maglevd", "vpp", "frontend", "frontend-removed", "backend", "backend-removed",
  "healthcheck", "healthcheck-removed", "probe", "log", "resync",
];

export interface Stream {
  live: () => boolean;
}

export function apiBase(): string {
  // Works behind a reverse proxy that mounts the app under a prefix.
  const p = window.location.pathname;
  const m = /^(.*\/)(view|admin)(\/.*)?$/.exec(p);
  return m ? m[1] : "/";
}

export function startStream(setState: SetStoreFunction<State>, setLive: (v: boolean) => void) {
  const base = apiBase();
  let queue: { type: string; data: string; id: string }[] = [];
  let resyncing = false;
  let timer: number | undefined;
  let es: EventSource | null = null;

  // The first snapshot was requested by index.html before this code loaded:
  // the full one, or for a router's own view only that router's state (the
  // first screen then needs a third of the bytes with three routers; the full
  // snapshot follows, and the stream starts from it).
  const prefetched = (window as any).__maglevSnapshot as
    { router: string; response: Promise<Response> } | undefined;
  let early: Promise<Response> | undefined = prefetched && !prefetched.router ? prefetched.response : undefined;
  async function routerSnapshot(): Promise<Snapshot | null> {
    if (!prefetched || !prefetched.router) return null;
    try {
      const r = await prefetched.response;
      if (!r.ok) return null;
      const one = await r.json();
      return { event_id: one.event_id, maglevds: [one.maglevd] };
    } catch (_) {
      return null;
    }
  }
  async function fetchSnapshot(): Promise<Snapshot> {
    for (let attempt = 0; ; attempt++) {
      try {
        const pending = early;
        early = undefined;
        const r = await (pending || fetch(`${base}view/api/state`, { cache: "no-store" }));
        if (r.ok) return (await r.json()) as Snapshot;
      } catch (_) {
        /* retried below */
      }
      await new Promise((res) => setTimeout(res, Math.min(5000, 250 * 2 ** attempt)));
    }
  }

  async function resync() {
    if (resyncing) return;
    resyncing = true;
    const snap = await fetchSnapshot();
    setState(produce((s) => loadSnapshot(s, snap)));
    resyncing = false;
    schedule();
  }

  function flush() {
    timer = undefined;
    if (resyncing || !queue.length) return;
    const items = queue;
    queue = [];
    let need = false;
    const now = Date.now();
    batch(() => {
      setState(produce((s) => {
        for (const it of items) {
          let data: unknown;
          try {
            data = JSON.parse(it.data);
          } catch (_) {
            continue;
          }
          if (need) break;
          if (applyEvent(s, it.type, data, it.id, now) === "resync") need = true;
        }
      }));
    });
    if (need) {
      queue = [];
      void resync();
    }
  }

  function schedule() {
    if (timer === undefined) timer = window.setTimeout(flush, 30);
  }

  function connect(lastId: string) {
    es = new EventSource(`${base}view/api/events?lastEventId=${encodeURIComponent(lastId)}`);
    es.onopen = () => setLive(true);
    es.onerror = () => setLive(false); // the browser reconnects with Last-Event-ID
    for (const type of EVENT_TYPES) {
      es.addEventListener(type, (e) => {
        const me = e as MessageEvent;
        queue.push({ type, data: me.data, id: me.lastEventId });
        schedule();
      });
    }
  }

  (async () => {
    resyncing = true;
    const first = await routerSnapshot();
    const keep = first ? first.maglevds[0].name : "";
    if (first) setState(produce((s) => loadSnapshot(s, first)));
    const snap = await fetchSnapshot();
    batch(() => {
      setState(produce((s) => loadSnapshot(s, snap, keep)));
      const m = keep ? snap.maglevds.find((x) => x.name === keep) : undefined;
      if (m) setState("maglevds", keep, reconcile(toMaglevd(m)));
    });
    resyncing = false;
    connect(snap.event_id);
  })();

  return { close: () => es && es.close() };
}

export async function adminPost(path: string, body: unknown): Promise<{ ok: boolean; status: number; data: any }> {
  const r = await fetch(`${apiBase()}admin/api/${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body ?? {}),
  });
  let data: any = {};
  try {
    data = await r.json();
  } catch (_) {
    /* empty */
  }
  return { ok: r.ok, status: r.status, data };
}
