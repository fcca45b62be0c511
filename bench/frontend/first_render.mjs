// SPDX-License-Identifier: Apache-2.0
// First render of maglevd-frontend's pages in Debian's Chromium
// (docs/benchmarks.md), for the all-routers view and one router's view,
// `runs` times each with a fresh browser profile (nothing cached): the time
// from navigation to the first screen of live data (the first 20 frontends,
// problems first) and to every frontend of the view being in the page.
//
//   node bench/frontend/first_render.mjs http://127.0.0.1:18090 [runs]
// Runs from web/ (playwright-core comes from its node_modules).
import { launchBrowser } from "../../web/test/browser/lib.mjs";

const base = process.argv[2] || "http://127.0.0.1:8080";
const runs = Number(process.argv[3] || 5);
const state = await (await fetch(`${base}/view/api/state`)).json();
const first = state.maglevds[0];
const frontends = Object.keys(first.frontends).length;
const total = state.maglevds.reduce((n, m) => n + Object.keys(m.frontends).length, 0);
console.log(`${state.maglevds.length} maglevds, ${total} frontends in all; state ${(JSON.stringify(state).length / 1e6).toFixed(1)} MB`);

async function measure(url, selector, count) {
  const b = await launchBrowser();
  const page = await b.ctx.newPage();
  const t0 = Date.now();
  await page.goto(url);
  await page.waitForFunction(([sel, n]) => document.querySelectorAll(sel).length >= n, [selector, Math.min(20, count)],
                             { timeout: 60000, polling: 10 });
  const first = Date.now() - t0;
  await page.waitForFunction(([sel, n]) => document.querySelectorAll(sel).length >= n, [selector, count],
                             { timeout: 60000, polling: 10 });
  const ms = Date.now() - t0;
  const nav = await page.evaluate(() => {
    const n = performance.getEntriesByType("navigation")[0];
    const fcp = performance.getEntriesByName("first-contentful-paint")[0];
    return { domContentLoaded: n.domContentLoadedEventEnd, fcp: fcp ? fcp.startTime : null };
  });
  await b.close();
  return { first, ms, ...nav };
}

const views = [
  ["all routers", `${base}/view/`, "[data-testid=consistency-row]", new Set(state.maglevds.flatMap((m) => Object.keys(m.frontends))).size],
  [`router ${first.name}`, `${base}/view/#/m/${encodeURIComponent(first.name)}`, "[data-testid=fe-card]", frontends],
];
for (const [name, url, sel, n] of views) {
  const times = [];
  for (let i = 0; i < runs; i++) times.push(await measure(url, sel, n));
  const stat = (key) => {
    const v = times.map((t) => t[key]).sort((a, b) => a - b);
    return `median ${v[Math.floor(v.length / 2)].toFixed(0)} ms (min ${v[0].toFixed(0)}, max ${v[v.length - 1].toFixed(0)})`;
  };
  console.log(`${name}: first screen of data ${stat("first")}; all ${n} in the page ${stat("ms")}; ` +
              `first contentful paint ${stat("fcp")}`);
}
