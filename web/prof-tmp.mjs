import { launchBrowser } from "./test/browser/lib.mjs";
const base = "http://127.0.0.1:18090";
const b = await launchBrowser();
const page = await b.ctx.newPage();
await page.route("**/view/api/events*", (r) => r.abort());
const cdp = await page.context().newCDPSession(page);
await cdp.send("Profiler.enable");
await cdp.send("Profiler.start");
const t0 = Date.now();
await page.goto(`${base}/view/#/m/r1`);
await page.waitForFunction((s) => document.querySelectorAll(s).length >= 1000, "[data-testid=fe-card]", { timeout: 60000, polling: 50 });
console.log("ms", Date.now() - t0);
const { profile } = await cdp.send("Profiler.stop");
const self = new Map();
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const dt = profile.timeDeltas; const samples = profile.samples;
for (let i = 0; i < samples.length; i++) {
  const n = byId.get(samples[i]);
  const key = `${n.callFrame.functionName || "(anon)"} ${n.callFrame.url.split("/").pop()}:${n.callFrame.lineNumber}`;
  self.set(key, (self.get(key) || 0) + (dt[i] || 0));
}
[...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 25).forEach(([k, v]) => console.log((v / 1000).toFixed(0).padStart(7), "ms", k));
await b.close();
