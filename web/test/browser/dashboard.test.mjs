// SPDX-License-Identifier: Apache-2.0
// maglevd-frontend in a real browser (issue #11, item 5): Debian's Chromium
// driven by playwright-core, against the real maglevd-frontend in front of
// two real maglevds, each with its own maglev-vppsim, probing real HTTP
// backends on 127.0.3.x. Run by CTest (label integration): `node --test`.
import assert from "node:assert/strict";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import {
  freePort, getJson, HttpBackend, launchBrowser, missing, Proc, screenshot, sleep, sseConnect,
  startFrontend, startMaglevd, startVppsim, tmpdir, waitFor, BIN_DIR,
} from "./lib.mjs";

const ADMIN = { username: "operator", password: "s3cret:pw" };
const BACKENDS = { web0: "127.0.3.1", web1: "127.0.3.2", web2: "127.0.3.3", spare0: "127.0.3.4" };

function config(port) {
  return `maglev:
  healthchecker:
    transition-history: 10
  vpp:
    lb:
      ipv4-src-address: 192.0.2.1
      sync-interval: 5s
      new-flows-table-length: 1024
      startup-min-delay: 0s
      startup-max-delay: 0s
  healthchecks:
    hz:
      type: http
      port: ${port}
      interval: 300ms
      fast-interval: 150ms
      down-interval: 500ms
      timeout: 250ms
      rise: 2
      fall: 2
      http: { path: /healthz, response-code: 200 }
  backends:
${Object.entries(BACKENDS).map(([n, a]) => `    ${n}: { address: ${a}, healthcheck: hz }`).join("\n")}
  frontends:
    web:
      description: "public web"
      address: 192.0.2.80
      protocol: tcp
      port: 80
      pools:
        - name: primary
          backends: { web0: {}, web1: { weight: 50 }, web2: {} }
        - name: fallback
          backends: { spare0: {} }
    api:
      description: "API"
      address: 192.0.2.81
      protocol: tcp
      port: 443
      pools:
        - name: main
          backends: { web1: {}, web2: {} }
`;
}

const skip = missing();
const env = {};

// A TCP proxy in front of the frontend whose connections the test can cut.
async function proxy(targetPort) {
  const conns = new Set();
  const heads = []; // the head of every request that came through
  const server = net.createServer((c) => {
    const up = net.connect(targetPort, "127.0.0.1");
    let sent = "";
    c.on("data", (d) => {
      sent += d.toString("latin1");
      let end;
      while ((end = sent.indexOf("\r\n\r\n")) >= 0) {
        heads.push(sent.slice(0, end + 2));
        sent = sent.slice(end + 4);
      }
    });
    conns.add(c);
    conns.add(up);
    c.pipe(up).pipe(c);
    const drop = () => { c.destroy(); up.destroy(); conns.delete(c); conns.delete(up); };
    c.on("error", drop); up.on("error", drop); c.on("close", drop); up.on("close", drop);
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: server.address().port,
    heads,
    cut: () => { for (const s of conns) s.destroy(); conns.clear(); },
    close: () => new Promise((r) => { for (const s of conns) s.destroy(); server.close(r); }),
  };
}

const card = (m, fe) => `[data-testid=fe-card][data-maglevd="${m}"][data-frontend="${fe}"]`;
const row = (m, fe, be) => `${card(m, fe)} [data-testid=be-row][data-backend="${be}"]`;

describe("maglevd-frontend in Chromium", { skip: skip.length ? `missing: ${skip.join(", ")}` : false }, () => {
  before(async () => {
    env.dir = tmpdir("maglev-frontend-test-");
    env.port = await freePort();
    env.backends = {};
    for (const [n, a] of Object.entries(BACKENDS)) env.backends[n] = await new HttpBackend(a, env.port).start();
    env.sim1 = await startVppsim(env.dir, "r1");
    env.sim2 = await startVppsim(env.dir, "r2");
    env.m1 = await startMaglevd(env.dir, "r1", config(env.port), env.sim1.socket);
    env.m2 = await startMaglevd(env.dir, "r2", config(env.port), env.sim2.socket);
    env.fe = await startFrontend(`r1=127.0.0.1:${env.m1.grpcPort},r2=127.0.0.1:${env.m2.grpcPort}`,
                                 { env: { MAGLEV_FRONTEND_USER: ADMIN.username, MAGLEV_FRONTEND_PASSWORD: ADMIN.password } });
    env.browser = await launchBrowser();
    // Every backend up on both routers before the tests start.
    await waitFor(async () => {
      const { body } = await getJson(`${env.fe.url}/view/api/state`);
      return body.maglevds.every((m) => m.status.connected &&
        Object.values(m.backends).length === 4 && Object.values(m.backends).every((b) => b.state === "up") &&
        Object.values(m.frontends).every((f) => f.vip && f.vip.fingerprint));
    }, { timeout: 20000, what: "both routers up with every backend up and VIPs programmed" });
  });

  after(async () => {
    if (env.browser) await env.browser.close();
    // A clean exit (0) after SIGTERM: under ASan this is also where a leak
    // or a late error would show.
    if (env.fe) {
      const code = await env.fe.stop();
      assert.equal(code, 0, `maglevd-frontend exited ${code}:\n${env.fe.text().slice(-4000)}`);
    }
    for (const p of [env.m1, env.m2, env.sim1, env.sim2]) if (p) await p.stop();
    for (const b of Object.values(env.backends || {})) await b.kill().catch(() => {});
    if (env.dir) fs.rmSync(env.dir, { recursive: true, force: true });
  });

  it("renders every frontend of every router, with no problems and agreeing routers", async () => {
    const page = await env.browser.ctx.newPage();
    const t0 = Date.now();
    await page.goto(`${env.fe.url}/view/`);
    await page.waitForSelector("[data-testid=app][data-live=true]");
    await page.waitForSelector("[data-testid=no-problems]");
    for (const f of ["web", "api"]) {
      await page.waitForSelector(`[data-testid=consistency-row][data-frontend="${f}"][data-agree=true]`);
    }
    const firstRender = Date.now() - t0;
    assert.equal(await page.locator("[data-testid=router-card][data-connected=true]").count(), 2);
    await screenshot(page, "frontend-all-routers.png");
    for (const m of ["r1", "r2"]) {
      await page.goto(`${env.fe.url}/view/#/m/${m}`);
      for (const f of ["web", "api"]) {
        await page.waitForSelector(`${card(m, f)}[data-health=up]`);
      }
      // Every pool backend has its row, with VPP's buckets and a last check.
      assert.equal(await page.locator(`${card(m, "web")} [data-testid=be-row]`).count(), 4);
      assert.equal(await page.locator(`${card(m, "api")} [data-testid=be-row]`).count(), 2);
      await waitFor(async () => (await page.locator(`${row(m, "web", "web0")} [data-testid=last-check]`).textContent()).includes("L7OK"),
                    { what: "web0's last check" });
      assert.equal(await page.locator(`${card(m, "web")} [data-testid=buckets]`).count(), 1);
    }
    await screenshot(page, "frontend-router.png");
    console.log(`first render of the all-routers view: ${firstRender} ms`);
    await page.close();
  });

  it("turns a backend killed at the server red within 2 s, without a reload", async () => {
    const page = await env.browser.ctx.newPage();
    await page.goto(`${env.fe.url}/view/#/m/r1`);
    await page.waitForSelector(`${row("r1", "web", "web2")}[data-state=up]`);
    let navigations = 0;
    page.on("framenavigated", () => navigations++);
    const t0 = Date.now();
    await env.backends.web2.kill();
    await page.waitForSelector(`${row("r1", "web", "web2")}[data-state=down]`, { timeout: 5000 });
    const elapsed = Date.now() - t0;
    console.log(`web2 shown down ${elapsed} ms after its server was killed`);
    assert.ok(elapsed < 2000, `took ${elapsed} ms`);
    await page.waitForSelector(`${card("r1", "web")}[data-health=degraded]`);
    assert.equal(navigations, 0, "the page was not reloaded");
    await env.backends.web2.revive();
    await page.waitForSelector(`${row("r1", "web", "web2")}[data-state=up]`, { timeout: 10000 });
    await page.waitForSelector(`${card("r1", "web")}[data-health=up]`);
    await page.close();
  });

  it("refuses /admin without credentials", async () => {
    const none = await getJson(`${env.fe.url}/admin/`);
    assert.equal(none.status, 401);
    assert.match(none.headers.get("www-authenticate"), /^Basic realm=/);
    const auth = (u, p) => ({ Authorization: "Basic " + Buffer.from(`${u}:${p}`).toString("base64") });
    assert.equal((await getJson(`${env.fe.url}/admin/`, { headers: auth(ADMIN.username, "wrong") })).status, 401);
    const post = await getJson(`${env.fe.url}/admin/api/maglevd/r1/backend/web0/disable`,
                               { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" });
    assert.equal(post.status, 401);
    assert.equal(post.body.error, "authentication required");
    assert.equal((await getJson(`${env.fe.url}/admin/`, { headers: auth(ADMIN.username, ADMIN.password) })).status, 200);
    // In the browser: no credentials, no page.
    const page = await env.browser.ctx.newPage();
    // Chromium either shows the 401 or, headless with nobody to ask for a
    // password, fails the navigation for want of credentials.
    try {
      const resp = await page.goto(`${env.fe.url}/admin/`);
      assert.equal(resp.status(), 401);
    } catch (e) {
      assert.match(String(e.message), /ERR_INVALID_AUTH_CREDENTIALS/);
    }
    assert.equal(await page.locator("[data-testid=app]").count(), 0);
    await page.close();
    // Without MAGLEV_FRONTEND_USER/PASSWORD the admin surface does not exist.
    const plain = await startFrontend(`r1=127.0.0.1:${env.m1.grpcPort}`);
    try {
      const off = await getJson(`${plain.url}/admin/`, { headers: auth(ADMIN.username, ADMIN.password) });
      assert.equal(off.status, 404);
      assert.match(off.body.error, /admin surface is off/);
    } finally {
      assert.equal(await plain.stop(), 0, plain.text().slice(-4000));
    }
  });

  it("disables a backend from /admin, the view follows, and the routers' disagreement appears", async () => {
    // The browser context is shared; this page alone sends the credentials.
    const admin = await env.browser.ctx.newPage();
    await admin.setExtraHTTPHeaders({ Authorization: "Basic " + Buffer.from(`${ADMIN.username}:${ADMIN.password}`).toString("base64") });
    const dialogs = [];
    admin.on("dialog", (d) => { dialogs.push(d.message()); d.accept(); });
    const view = await env.browser.ctx.newPage();
    await view.goto(`${env.fe.url}/view/#/m/r2`);
    await view.waitForSelector(`${row("r2", "web", "web0")}[data-state=up]`);
    await admin.goto(`${env.fe.url}/admin/#/m/r2`);
    await admin.waitForSelector(`${row("r2", "web", "web0")}[data-state=up]`);
    await admin.click(`${row("r2", "web", "web0")} button[data-action=disable]`);
    await admin.waitForSelector(`${row("r2", "web", "web0")}[data-state=disabled]`, { timeout: 5000 });
    assert.equal(dialogs.length, 1, "disable asks for confirmation");
    assert.match(dialogs[0], /Disable backend web0 on r2/);
    await admin.waitForSelector("[data-testid=toast]");
    // The read-only view follows, and the effective weight drops to 0.
    await view.waitForSelector(`${row("r2", "web", "web0")}[data-state=disabled][data-effective="0"]`, { timeout: 5000 });
    // The admin's event log shows the transition.
    await admin.waitForSelector(`[data-testid=log-line][data-msg=backend-transition]`, { timeout: 5000 });
    await screenshot(admin, "frontend-admin.png");
    // r1 still has web0: the all-routers view names the disagreement.
    await view.goto(`${env.fe.url}/view/`);
    await view.waitForSelector(`[data-testid=consistency-row][data-frontend=web][data-agree=false]`, { timeout: 5000 });
    const reason = await view.locator(`[data-testid=consistency-row][data-frontend=web] [data-testid=backend-disagreement][data-backend=web0]`).textContent();
    assert.match(reason, /state: up on r1, disabled on r2/);
    assert.match(reason, /effective weight: 100 on r1, 0 on r2/);
    await view.waitForSelector(`[data-testid=consistency-row][data-frontend=api][data-agree=true]`);
    await screenshot(view, "frontend-disagreement.png");
    // Weight 0 asks for confirmation too; then enable again and they agree.
    await admin.fill(`${row("r2", "web", "web1")} [data-testid=weight-input]`, "0");
    await admin.click(`${row("r2", "web", "web1")} button[data-action=weight]`);
    await admin.waitForSelector(`${row("r2", "web", "web1")}[data-effective="0"]`, { timeout: 5000 });
    assert.equal(dialogs.length, 2);
    await admin.fill(`${row("r2", "web", "web1")} [data-testid=weight-input]`, "50");
    await admin.click(`${row("r2", "web", "web1")} button[data-action=weight]`);
    await admin.click(`${row("r2", "web", "web0")} button[data-action=enable]`);
    // Enabled again, web0 needs its probes to pass before r2's table matches
    // r1's again: generous, as the probes share two cores with the browser.
    await view.waitForSelector(`[data-testid=consistency-row][data-frontend=web][data-agree=true]`, { timeout: 30000 });
    await admin.close();
    await view.close();
  });

  it("resumes an SSE stream cut mid-stream from Last-Event-ID without losing an event", async () => {
    // Protocol level: every id is <epoch>-<seq> with seq + 1 each time; cut the
    // socket, reconnect with the last id seen, and the sequence goes on.
    const { body: snap } = await getJson(`${env.fe.url}/view/api/state`);
    const [epoch, start] = snap.event_id.split("-");
    const seen = [];
    let retry = null;
    const first = sseConnect(env.fe.port, `/view/api/events?lastEventId=${snap.event_id}`, {}, (f) => {
      if (f.retry) retry = f.retry;
      if (f.id) seen.push(f);
    });
    await waitFor(() => seen.length >= 20, { what: "20 events" });
    first.socket.destroy();
    await first.done;
    assert.match(first.socket.head, /Content-Type: text\/event-stream/);
    assert.match(first.socket.head, /X-Accel-Buffering: no/);
    assert.doesNotMatch(first.socket.head, /Content-Encoding/);
    assert.ok(retry > 0, "retry: is sent");
    const last = seen[seen.length - 1].id;
    await sleep(500); // events go on meanwhile
    const cutAt = seen.length;
    const second = sseConnect(env.fe.port, "/view/api/events", { "Last-Event-ID": last }, (f) => { if (f.id) seen.push(f); });
    await waitFor(() => seen.length >= cutAt + 20, { what: "20 more events" });
    second.socket.destroy();
    let expect = Number(start) + 1;
    for (const f of seen) {
      assert.equal(f.id, `${epoch}-${expect}`, `event after ${expect - 1}`);
      assert.notEqual(f.event, "resync");
      expect++;
    }
    // A stale or foreign id gets a resync instead.
    const stale = [];
    const third = sseConnect(env.fe.port, "/view/api/events", { "Last-Event-ID": "1-1" }, (f) => stale.push(f));
    await waitFor(() => stale.some((f) => f.event === "resync"), { what: "a resync event" });
    third.socket.destroy();

    // Browser level: through a proxy that cuts every connection; the page's
    // EventSource comes back with Last-Event-ID, and no resync (no second
    // snapshot) is needed.
    const px = await proxy(env.fe.port);
    const page = await env.browser.ctx.newPage();
    const requests = [];
    page.on("request", (r) => requests.push({ url: r.url() }));
    await page.goto(`http://127.0.0.1:${px.port}/view/#/m/r1`);
    await page.waitForSelector("[data-testid=app][data-live=true]");
    await sleep(300);
    px.cut();
    await page.waitForSelector("[data-testid=app][data-live=false]", { timeout: 5000 });
    await page.waitForSelector("[data-testid=app][data-live=true]", { timeout: 10000 });
    const streams = requests.filter((r) => r.url.includes("/view/api/events"));
    assert.equal(streams.length, 2, JSON.stringify(streams));
    // What the browser sent on the wire when it came back:
    const resumed = px.heads.filter((h) => h.startsWith("GET /view/api/events"));
    assert.equal(resumed.length, 2);
    assert.match(resumed[1], new RegExp(`\r\nLast-Event-ID: ${epoch}-\\d+\r\n`, "i"));
    // Still following: a change after the cut shows up.
    await env.backends.spare0.kill();
    await page.waitForSelector(`${row("r1", "web", "spare0")}[data-state=down]`, { timeout: 5000 });
    await env.backends.spare0.revive();
    // The router's view asks for its own state first, then the full snapshot
    // once; a resync would have fetched the full one again.
    const full = requests.filter((r) => /\/view\/api\/state$/.test(r.url.split("?")[0]));
    assert.equal(full.length, 1, "no resync was needed");
    const own = requests.filter((r) => r.url.split("?")[0].endsWith("/view/api/state/r1"));
    assert.equal(own.length, 1, "the router's own state first");
    await page.close();
    await px.close();
  });

  it("shows a stopped maglevd as disconnected and recovers when it is back", async () => {
    const page = await env.browser.ctx.newPage();
    await page.goto(`${env.fe.url}/view/#/m/r2`);
    await page.waitForSelector(`[data-testid=maglevd-tab][data-maglevd=r2][data-connected=true]`);
    await page.waitForSelector(`${row("r2", "web", "web0")}[data-state=up]`);
    await env.m2.stop();
    await page.waitForSelector(`[data-testid=maglevd-tab][data-maglevd=r2][data-connected=false]`, { timeout: 5000 });
    await page.waitForSelector(`[data-testid=disconnected-banner]`);
    // Its last known state stays on screen.
    await page.waitForSelector(`${row("r2", "web", "web0")}[data-state=up]`, { timeout: 2000 });
    assert.equal(await page.locator(`${card("r2", "web")}`).count(), 1);
    await page.goto(`${env.fe.url}/view/`);
    await page.waitForSelector(`[data-testid=problem]:has-text("maglevd disconnected")`);
    await screenshot(page, "frontend-disconnected.png");
    env.m2 = await startMaglevd(env.dir, "r2", config(env.port), env.sim2.socket, env.m2.grpcPort);
    await page.waitForSelector(`[data-testid=maglevd-tab][data-maglevd=r2][data-connected=true]`, { timeout: 15000 });
    await page.waitForSelector(`[data-testid=router-card][data-maglevd=r2][data-connected=true]`);
    await page.goto(`${env.fe.url}/view/#/m/r2`);
    await page.waitForSelector(`${row("r2", "web", "web0")}[data-state=up]`, { timeout: 15000 });
    assert.equal(await page.locator(`[data-testid=disconnected-banner]`).count(), 0);
    await page.close();
  });

  it("is not held up by a maglevd that accepts connections and never answers", async () => {
    // A black hole: TCP accepted, nothing ever said.
    const held = new Set();
    const hole = net.createServer((c) => { held.add(c); c.on("error", () => {}); });
    await new Promise((r) => hole.listen(0, "127.0.0.1", r));
    const fe = await startFrontend(`r1=127.0.0.1:${env.m1.grpcPort},stuck=127.0.0.1:${hole.address().port}`);
    try {
      await waitFor(async () => {
        const { body } = await getJson(`${fe.url}/view/api/state`);
        return Object.keys(body.maglevds[0].frontends).length === 2;
      }, { what: "r1's frontends through the frontend" });
      // Answers stay immediate while the stuck one times out.
      for (let i = 0; i < 10; i++) {
        const t0 = Date.now();
        const r = await getJson(`${fe.url}/view/api/maglevds`);
        assert.equal(r.status, 200);
        assert.ok(Date.now() - t0 < 500, `took ${Date.now() - t0} ms`);
        const stuck = r.body.maglevds.find((m) => m.name === "stuck");
        assert.equal(stuck.connected, false);
        await sleep(100);
      }
      await waitFor(async () => {
        const { body } = await getJson(`${fe.url}/view/api/maglevds`);
        return /timed out|unavailable/.test(body.maglevds.find((m) => m.name === "stuck").error);
      }, { timeout: 10000, what: "the stuck maglevd's error" });
      const page = await env.browser.ctx.newPage();
      await page.goto(`${fe.url}/view/`);
      await page.waitForSelector(`[data-testid=router-card][data-maglevd=stuck][data-connected=false]`);
      await page.waitForSelector(`[data-testid=router-card][data-maglevd=r1][data-connected=true]`);
      await page.close();
    } finally {
      const code = await fe.stop();
      for (const c of held) c.destroy();
      await new Promise((r) => hole.close(r));
      assert.equal(code, 0, fe.text().slice(-4000));
    }
  });

  it("answers bad requests with 4xx JSON and survives garbage", async () => {
    const u = env.fe.url;
    const auth = { Authorization: "Basic " + Buffer.from(`${ADMIN.username}:${ADMIN.password}`).toString("base64") };
    const json = { ...auth, "Content-Type": "application/json" };
    const cases = [
      [`${u}/nope`, {}, 404],
      [`${u}/view/api/nope`, {}, 404],
      [`${u}/view/api/state/nope`, {}, 404],
      [`${u}/view/nope.js`, {}, 404],
      [`${u}/view/api/state/%zz`, {}, 400],
      [`${u}/view/api/state`, { method: "POST" }, 405],
      [`${u}/admin/api/maglevd/nope/sync`, { method: "POST", headers: json, body: "{}" }, 404],
      [`${u}/admin/api/maglevd/r1/backend/nope/disable`, { method: "POST", headers: json, body: "{}" }, 404],
      [`${u}/admin/api/maglevd/r1/backend/web0/explode`, { method: "POST", headers: json, body: "{}" }, 404],
      [`${u}/admin/api/maglevd/r1/backend/web0/disable`, { method: "POST", headers: auth, body: "{}" }, 415],
      [`${u}/admin/api/maglevd/r1/backend/web0/disable`, { method: "POST", headers: { ...json, Origin: "http://evil.example" }, body: "{}" }, 403],
      [`${u}/admin/api/maglevd/r1/backend/web0/disable`, { method: "GET", headers: json }, 405],
      [`${u}/admin/api/maglevd/r1/frontend/web/pool/primary/backend/web0/weight`, { method: "POST", headers: json, body: "{\"weight\": 101}" }, 400],
      [`${u}/admin/api/maglevd/r1/frontend/web/pool/primary/backend/web0/weight`, { method: "POST", headers: json, body: "{\"weight\": \"x\"}" }, 400],
      [`${u}/admin/api/maglevd/r1/frontend/web/pool/primary/backend/web0/weight`, { method: "POST", headers: json, body: "not json" }, 400],
      [`${u}/admin/api/maglevd/r1/frontend/web/pool/nope/backend/web0/weight`, { method: "POST", headers: json, body: "{\"weight\": 5}" }, 404],
      [`${u}/admin/api/maglevd/r1/frontend/web/pool/primary/backend/web0/weight`, { method: "POST", headers: json, body: "x".repeat(70000) }, 413],
    ];
    for (const [url, init, status] of cases) {
      const r = await getJson(url, init);
      assert.equal(r.status, status, `${init.method || "GET"} ${url}: ${r.text}`);
      assert.equal(typeof r.body?.error, "string", `${url} has a JSON error`);
    }
    // Raw garbage, a huge header, a half request: none of it hurts.
    const raw = async (bytes) => new Promise((resolve) => {
      const s = net.connect(env.fe.port, "127.0.0.1", () => s.end(bytes));
      let out = "";
      s.on("data", (d) => (out += d));
      s.on("close", () => resolve(out));
      s.on("error", () => resolve(out));
    });
    assert.match(await raw("this is not HTTP\r\n\r\n"), /^HTTP\/1\.1 400/);
    assert.match(await raw(`GET / HTTP/1.1\r\nX: ${"a".repeat(20000)}\r\n\r\n`), /^HTTP\/1\.1 (400|413|431)/);
    await raw("GET /view/api/state HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc");
    await raw("\x00\x01\x02\xff".repeat(1000));
    const h = await getJson(`${u}/healthz`);
    assert.equal(h.status, 200);
    assert.equal(h.body.status, "ok");
    assert.ok(env.fe.running());
  });

  it("exits 2 on bad usage and 3 when the address is taken", async () => {
    const run = async (args) => {
      const p = new Proc([path.join(BIN_DIR, "maglevd-frontend"), ...args]);
      await p.exited;
      return { code: p.code, text: p.text() };
    };
    for (const args of [["--bogus"], ["--server", "127.0.0.1:1", "--listen", "127.0.0.1:0"],
                        ["--server", "127.0.0.1:1", "--listen", "::1:80"], ["--server", "nope"],
                        ["--server", "127.0.0.1:1", "--log-level", "loud"]]) {
      const r = await run(args);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.text}`);
      assert.equal(r.text.trim().split("\n").length, 1, r.text);
    }
    const taken = await run(["--server", "127.0.0.1:1", "--listen", `127.0.0.1:${env.fe.port}`]);
    assert.equal(taken.code, 3, taken.text);
    assert.match(taken.text, new RegExp(`127\\.0\\.0\\.1:${env.fe.port}`));
    const v = await run(["--version"]);
    assert.equal(v.code, 0);
    assert.match(v.text, /^maglevd-frontend \d/);
  });
});
