// SPDX-License-Identifier: Apache-2.0
// Helpers of the browser tests: the real binaries (maglev-vppsim, maglevd,
// maglevd-frontend) as child processes, real HTTP backends on 127.0.0.0/8,
// Debian's Chromium through playwright-core, and bounded waits.
//
// Environment (set by CTest): MAGLEV_BIN_DIR, MAGLEV_SOURCE_DIR,
// MAGLEV_BUILD_DIR; MAGLEV_UPDATE_SCREENSHOTS=1 writes the screenshots into
// docs/screenshots/ (otherwise into the build tree).
import { spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";

const here = path.dirname(new URL(import.meta.url).pathname);
export const SOURCE_DIR = process.env.MAGLEV_SOURCE_DIR || path.resolve(here, "../../..");
export const BUILD_DIR = process.env.MAGLEV_BUILD_DIR || path.join(SOURCE_DIR, "build");
export const BIN_DIR = process.env.MAGLEV_BIN_DIR || path.join(BUILD_DIR, "bin");
export const CHROMIUM = process.env.MAGLEV_CHROMIUM || "/usr/bin/chromium";
export const SCREENSHOT_DIR = process.env.MAGLEV_UPDATE_SCREENSHOTS === "1"
  ? path.join(SOURCE_DIR, "docs", "screenshots")
  : path.join(BUILD_DIR, "screenshots");

export function missing() {
  const out = [];
  for (const b of ["maglevd", "maglev-vppsim", "maglevd-frontend"]) {
    if (!fs.existsSync(path.join(BIN_DIR, b))) out.push(path.join(BIN_DIR, b));
  }
  if (!fs.existsSync(CHROMIUM)) out.push(CHROMIUM);
  return out;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Polls pred() (sync or async) until truthy; bounded.
export async function waitFor(pred, { timeout = 15000, interval = 50, what = "condition" } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  while (Date.now() < deadline) {
    try {
      last = await pred();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await sleep(interval);
  }
  throw new Error(`timed out after ${timeout} ms waiting for ${what} (last: ${last})`);
}

export async function freePort(host = "127.0.0.1") {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on("error", reject);
    s.listen(0, host, () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export function tmpdir(prefix) {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

const children = new Set();
process.on("exit", () => {
  for (const c of children) {
    try {
      c.kill("SIGKILL");
    } catch (_) {
      /* gone */
    }
  }
});

// A child process whose output lines (JSON log records, mostly) are kept.
export class Proc {
  constructor(argv, { env = {}, name = path.basename(argv[0]) } = {}) {
    this.name = name;
    this.lines = [];
    this.child = spawn(argv[0], argv.slice(1), { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    children.add(this.child);
    this.exited = new Promise((resolve) => this.child.on("exit", (code, sig) => {
      children.delete(this.child);
      this.code = code;
      this.signal = sig;
      resolve(code);
    }));
    for (const stream of [this.child.stdout, this.child.stderr]) {
      let buf = "";
      stream.setEncoding("utf8");
      stream.on("data", (d) => {
        buf += d;
        let nl;
        while ((nl = buf.indexOf("\n")) >= 0) {
          this.lines.push(buf.slice(0, nl));
          buf = buf.slice(nl + 1);
        }
      });
    }
  }
  records(msg) {
    const out = [];
    for (const l of this.lines) {
      try {
        const r = JSON.parse(l);
        if (!msg || r.msg === msg) out.push(r);
      } catch (_) {
        /* not JSON */
      }
    }
    return out;
  }
  text() {
    return this.lines.join("\n");
  }
  running() {
    return this.code === undefined && this.signal === undefined;
  }
  async stop(timeout = 10000) {
    if (!this.running()) return this.code;
    this.child.kill("SIGTERM");
    const t = setTimeout(() => this.child.kill("SIGKILL"), timeout);
    await this.exited;
    clearTimeout(t);
    return this.code;
  }
}

export async function startVppsim(dir, name) {
  const sock = path.join(dir, `${name}-vpp.sock`);
  // Its own stats socket: both simulators live in one directory.
  const p = new Proc([path.join(BIN_DIR, "maglev-vppsim"), "--socket", sock, "--stats-socket", `${sock}.stats`],
                     { name: `vppsim-${name}` });
  await waitFor(() => fs.existsSync(sock) || !p.running(), { what: `${name}'s maglev-vppsim socket` });
  if (!p.running()) throw new Error(`maglev-vppsim exited: ${p.text()}`);
  p.socket = sock;
  return p;
}

export async function startMaglevd(dir, name, config, vppSocket, grpcPort) {
  const cfg = path.join(dir, `${name}.yaml`);
  fs.writeFileSync(cfg, config);
  const port = grpcPort || (await freePort());
  const p = new Proc([path.join(BIN_DIR, "maglevd"), "--config", cfg, "--grpc-addr", `127.0.0.1:${port}`,
                      "--metrics-addr", "", "--vpp-api-addr", vppSocket], { name: `maglevd-${name}` });
  await waitFor(() => p.records("grpc-listen").length || !p.running(), { what: `${name} to serve gRPC` });
  if (!p.running()) throw new Error(`maglevd ${name} exited: ${p.text()}`);
  p.grpcPort = port;
  p.config = cfg;
  return p;
}

export async function startFrontend(servers, { env = {}, args = [] } = {}) {
  const port = await freePort();
  const p = new Proc([path.join(BIN_DIR, "maglevd-frontend"), "--server", servers, "--listen", `127.0.0.1:${port}`, ...args],
                     { env, name: "maglevd-frontend" });
  await waitFor(() => p.records("http-listen").length || !p.running(), { what: "maglevd-frontend to listen" });
  if (!p.running()) throw new Error(`maglevd-frontend exited: ${p.text()}`);
  p.port = port;
  p.url = `http://127.0.0.1:${port}`;
  return p;
}

// A real HTTP backend: /healthz answers "ok" (or `status`); kill() closes the
// listener and every connection, revive() listens again on the same address.
export class HttpBackend {
  constructor(host, port) {
    this.host = host;
    this.port = port;
    this.status = 200;
    this.sockets = new Set();
  }
  async start() {
    this.server = http.createServer((req, res) => {
      res.writeHead(this.status, { "Content-Type": "text/plain", Connection: "close" });
      res.end(this.status === 200 ? "ok\n" : "failing\n");
    });
    this.server.on("connection", (s) => {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
    });
    await new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.port, this.host, resolve);
    });
    return this;
  }
  async kill() {
    const closed = new Promise((r) => this.server.close(r));
    for (const s of this.sockets) s.destroy();
    await closed;
  }
  async revive() {
    await this.start();
  }
}

export async function launchBrowser() {
  const { chromium } = await import("playwright-core");
  const dir = tmpdir("maglev-chromium-");
  const ctx = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1400, height: 900 },
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"],
  });
  const close = async () => {
    await ctx.close();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  return { ctx, close };
}

export async function screenshot(page, name) {
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, name), fullPage: true });
}

export async function getJson(url, init) {
  const r = await fetch(url, init);
  const text = await r.text();
  let body = null;
  try {
    body = JSON.parse(text);
  } catch (_) {
    /* not JSON */
  }
  return { status: r.status, headers: r.headers, body, text };
}

// Reads an SSE stream over a raw socket: `onFrame({id, event, data})` per
// complete frame. Returns { socket, done } ; destroy the socket to cut it.
export function sseConnect(port, pathAndQuery, headers = {}, onFrame) {
  const socket = net.connect(port, "127.0.0.1");
  let buf = "";
  let headDone = false;
  const done = new Promise((resolve) => socket.on("close", resolve));
  socket.setEncoding("utf8");
  socket.on("connect", () => {
    const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("");
    socket.write(`GET ${pathAndQuery} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAccept: text/event-stream\r\n${extra}\r\n`);
  });
  socket.on("error", () => {});
  socket.on("data", (d) => {
    buf += d;
    if (!headDone) {
      const end = buf.indexOf("\r\n\r\n");
      if (end < 0) return;
      socket.head = buf.slice(0, end);
      buf = buf.slice(end + 4);
      headDone = true;
    }
    let sep;
    while ((sep = buf.indexOf("\n\n")) >= 0) {
      const block = buf.slice(0, sep);
      buf = buf.slice(sep + 2);
      const f = { id: null, event: "message", data: "", comment: false };
      for (const line of block.split("\n")) {
        if (line.startsWith(":")) f.comment = true;
        else if (line.startsWith("id: ")) f.id = line.slice(4);
        else if (line.startsWith("event: ")) f.event = line.slice(7);
        else if (line.startsWith("data: ")) f.data += line.slice(6);
        else if (line.startsWith("retry: ")) f.retry = Number(line.slice(7));
      }
      onFrame(f);
    }
  });
  return { socket, done };
}
