// End-to-end test of Strait's dashboard in headless Chromium, driven by playwright-core.
//
//   node tests/e2e/dashboard.mjs <dashboard url> '<expectations as JSON>'
//
// Expectations: { topic, partitions, first: [records per partition], then: [...], group,
// screenshots: dir }. The script checks what the page shows for the live flow, prints
// READY-FOR-MORE once `first` is on screen (the Rust test then produces more records), waits
// for `then`, checks the red state with a stalled and a failed flow (the /status answer is
// altered in the browser), and saves screenshots. Exit code 0 = every check passed.
import { chromium } from "playwright-core";
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [url, spec] = process.argv.slice(2);
if (!url || !spec) {
  console.error("usage: node dashboard.mjs <url> '<expectations json>'");
  process.exit(2);
}
const want = JSON.parse(spec);
const executablePath = process.env.STRAIT_CHROMIUM || "/usr/bin/chromium";
const TIMEOUT = 60_000;

function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
  console.log(`ok - ${what}`);
}

const profile = mkdtempSync(join(tmpdir(), "strait-e2e-chromium-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath,
  headless: true,
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
  viewport: { width: 1400, height: 1000 },
});
let failed = false;
try {
  const page = context.pages()[0] || (await context.newPage());
  page.on("pageerror", (e) => { console.error(`page error: ${e.message}`); failed = true; });
  await page.goto(url);
  check((await page.title()) === "Strait", "the page is Strait's dashboard");

  const flow = page.locator('[data-testid=flow][data-flow="source->target"]');
  await flow.waitFor({ timeout: TIMEOUT });
  await page.waitForFunction(() => {
    const f = document.querySelector('[data-testid=flow][data-flow="source->target"]');
    return f && f.dataset.state === "RUNNING" && document.getElementById("overall").textContent === "READY";
  }, null, { timeout: TIMEOUT });
  check(true, "the flow shows RUNNING and the process READY");
  check(await page.locator("#banner").isHidden(), "no red banner while healthy");

  // Per-partition progress, records and lag, as replicated.
  async function waitForRecords(counts, what) {
    await page.waitForFunction(({ topic, counts }) => {
      const rows = [...document.querySelectorAll(`[data-testid=partition-row][data-topic="${topic}"]`)];
      if (rows.length !== counts.length) return false;
      return rows.every((r) => {
        const p = Number(r.dataset.partition);
        const n = (s) => Number(r.querySelector(`[data-testid=${s}]`).textContent.replace(/,/g, ""));
        const [next, end] = r.querySelector("[data-testid=progress]").textContent.split("/").map((x) => Number(x.trim().replace(/,/g, "")));
        return n("records") === counts[p] && n("lag") === 0 && next === end;
      });
    }, { topic: want.topic, counts }, { timeout: TIMEOUT });
    check(true, what);
  }
  await waitForRecords(want.first, `partitions of ${want.topic} show ${want.first} records, lag 0`);
  const topicRow = page.locator(`[data-testid=topic-row][data-topic="${want.topic}"]`);
  check((await topicRow.count()) === 1, "one row for the topic");
  check((await topicRow.locator("[data-testid=topic-lag]").textContent()) === "0", "topic lag 0");
  check((await page.locator('[data-connector="MirrorSourceConnector"] .pill').textContent()) === "RUNNING",
    "MirrorSourceConnector RUNNING");
  check((await flow.locator("[data-testid=stat-heartbeat]").count()) === 1, "heartbeat latency shown");
  check((await flow.locator("[data-testid=throughput] polyline").count()) === 1, "throughput sparkline from /metrics");

  // Live: more records arrive and the page follows without a reload.
  const updated = await page.locator("#updated").textContent();
  console.log("READY-FOR-MORE");
  await waitForRecords(want.then, `the page follows to ${want.then} records without a reload`);
  check((await page.locator("#updated").textContent()) !== updated, "the update time moved");
  const peak = await page.locator("[data-testid=throughput] title").textContent();
  check(/peak [1-9]/.test(peak), `throughput seen in the sparkline (${peak})`);

  // Consumer groups with their sync state.
  const group = page.locator(`[data-testid=group-row][data-group="${want.group}"]`);
  await group.waitFor({ timeout: TIMEOUT });
  const sync = (await group.locator(".pill").textContent()).trim();
  check(sync.length > 0, `group ${want.group} shows sync state ${sync}`);

  mkdirSync(want.screenshots, { recursive: true });
  await page.screenshot({ path: join(want.screenshots, "dashboard.png"), fullPage: true });

  // The red state: the real /status answer, altered in the browser to a stalled partition,
  // then to a failed flow.
  const real = await (await page.request.get(new URL("/status", url).toString())).json();
  async function showAltered(alter) {
    const s = JSON.parse(JSON.stringify(real));
    alter(s.flows[0]);
    s.ready = { ok: false, reasons: s.flows[0].ready.reasons };
    await page.unroute("**/status");
    await page.route("**/status", (route) => route.fulfill({ json: s }));
  }
  await showAltered((f) => {
    const p = f.partitions.find((x) => x.remote_topic === want.topic);
    p.stalled = true; p.lag_records = 7; p.lag_seconds = 95;
    f.stuck = true;
    f.ready = { ok: false, reasons: [`flow source->target: 1 partition(s) stalled: ${p.topic}-${p.partition}`] };
  });
  await page.waitForFunction(() =>
    document.querySelector('[data-testid=flow][data-flow="source->target"]').dataset.state === "STUCK",
    null, { timeout: TIMEOUT });
  check(await page.locator("#banner").isVisible(), "a red banner when stuck");
  check((await page.locator("#banner").textContent()).includes("is stuck"), "the banner says the flow is stuck");
  check((await page.locator("#overall").textContent()) === "STUCK", "the process shows STUCK");
  const red = await page.locator("#banner").evaluate((e) => getComputedStyle(e).backgroundColor);
  check(red === "rgb(207, 34, 46)", `the banner is red (${red})`);
  check(await flow.evaluate((e) => e.classList.contains("bad")), "the flow card is marked bad");
  check((await page.locator("tr.partition.stalled").count()) >= 1, "the stalled partition is highlighted");
  await page.screenshot({ path: join(want.screenshots, "dashboard-stuck.png"), fullPage: true });

  await showAltered((f) => {
    f.state = "FAILED";
    f.error = { message: "writing to the target failed: broker said no", at_ms: Date.now() };
    f.connectors[0].state = "FAILED";
    f.ready = { ok: false, reasons: ["flow source->target failed: writing to the target failed: broker said no"] };
  });
  await page.waitForFunction(() =>
    document.querySelector('[data-testid=flow][data-flow="source->target"]').dataset.state === "FAILED",
    null, { timeout: TIMEOUT });
  check((await page.locator("#banner").textContent()).includes("failed: writing to the target failed"),
    "the banner shows why the flow failed");
  check((await page.locator("#overall").textContent()) === "FAILING", "the process shows FAILING");
  check((await page.locator('[data-connector="MirrorSourceConnector"] .pill').textContent()) === "FAILED",
    "the connector shows FAILED");
  await page.screenshot({ path: join(want.screenshots, "dashboard-failed.png"), fullPage: true });

  // Back to the real answers: green again.
  await page.unroute("**/status");
  await page.waitForFunction(() =>
    document.querySelector('[data-testid=flow][data-flow="source->target"]').dataset.state === "RUNNING",
    null, { timeout: TIMEOUT });
  check(await page.locator("#banner").isHidden(), "the banner goes away once healthy again");
} catch (e) {
  console.error(e.stack || String(e));
  failed = true;
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
