// Strait dashboard: polls /status and /metrics and redraws. No framework, no build step.
"use strict";

const POLL_MS = 2000;
const HISTORY = 60; // sparkline points
const collapsed = new Set(); // "flow|topic" keys the user folded
const history = new Map(); // flow name -> [{t, records}] from /metrics

// ---- small helpers ----

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k === "onclick") e.addEventListener("click", v);
    else e.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function num(n, digits = 0) {
  if (n === null || n === undefined || Number.isNaN(n)) return "–";
  return Number(n).toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

function bytes(n) {
  if (n === null || n === undefined) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${num(n, i ? 1 : 0)} ${units[i]}`;
}

function seconds(s) {
  if (s === null || s === undefined) return "–";
  if (s < 60) return `${num(s, s < 10 ? 1 : 0)} s`;
  if (s < 3600) return `${num(s / 60, 1)} min`;
  return `${num(s / 3600, 1)} h`;
}

function pill(text, kind) {
  return el("span", { class: `pill ${kind}`, "data-testid": "pill" }, text);
}

function stat(key, label, value) {
  return el("div", { class: "stat", "data-testid": `stat-${key}` }, el("b", {}, value), el("span", {}, label));
}

// ---- /metrics ----

function parseMetrics(text) {
  const out = [];
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m) continue;
    const labels = {};
    for (const l of (m[2] || "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

function recordMetrics(text, now) {
  const totals = new Map();
  for (const s of parseMetrics(text)) {
    if (s.name !== "strait_source_records_total") continue;
    const flow = `${s.labels.source}->${s.labels.target}`;
    totals.set(flow, (totals.get(flow) || 0) + s.value);
  }
  for (const [flow, records] of totals) {
    const h = history.get(flow) || [];
    h.push({ t: now, records });
    while (h.length > HISTORY + 1) h.shift();
    history.set(flow, h);
  }
}

function sparkline(flow) {
  const h = history.get(flow) || [];
  const rates = [];
  for (let i = 1; i < h.length; i++) {
    const dt = (h[i].t - h[i - 1].t) / 1000;
    rates.push(dt > 0 ? Math.max(0, h[i].records - h[i - 1].records) / dt : 0);
  }
  const max = Math.max(1, ...rates);
  const pts = rates.map((r, i) => `${(i / Math.max(1, HISTORY - 1)) * 100},${38 - (r / max) * 36}`).join(" ");
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("class", "spark");
  svg.setAttribute("viewBox", "0 0 100 40");
  svg.setAttribute("preserveAspectRatio", "none");
  svg.setAttribute("data-testid", "throughput");
  const line = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
  line.setAttribute("points", pts);
  svg.append(line);
  const title = document.createElementNS("http://www.w3.org/2000/svg", "title");
  title.textContent = `records/s from /metrics, peak ${num(max, 1)}`;
  svg.append(title);
  return svg;
}

// ---- drawing ----

function flowKind(f) {
  if (f.state === "FAILED" || f.stuck) return "bad";
  if (f.state === "RUNNING") return "ok";
  return "warn";
}

function flowLabel(f) {
  if (f.state === "RUNNING" && f.stuck) return "STUCK";
  return f.state;
}

function byTopic(partitions) {
  const topics = new Map();
  for (const p of partitions) {
    const t = topics.get(p.remote_topic) || { remote: p.remote_topic, source: p.topic, parts: [] };
    t.parts.push(p);
    topics.set(p.remote_topic, t);
  }
  return [...topics.values()].sort((a, b) => a.remote.localeCompare(b.remote));
}

function sum(list, f) {
  return list.reduce((a, x) => a + (f(x) || 0), 0);
}

function maxOf(list, f) {
  const v = list.map(f).filter((x) => x !== null && x !== undefined);
  return v.length ? Math.max(...v) : null;
}

function topicsTable(f) {
  const rows = [];
  for (const t of byTopic(f.partitions)) {
    const key = `${f.name}|${t.remote}`;
    const open = !collapsed.has(key);
    const lag = sum(t.parts, (p) => p.lag_records);
    const stalled = t.parts.some((p) => p.stalled || p.blocked);
    rows.push(el("tr", {
      class: `topic${lag > 0 ? " lagging" : ""}${stalled ? " stalled" : ""}`,
      "data-testid": "topic-row", "data-topic": t.remote,
      onclick: () => { open ? collapsed.add(key) : collapsed.delete(key); draw(lastStatus); },
    },
      el("td", {}, `${open ? "▾" : "▸"} ${t.remote}`),
      el("td", { class: "num" }, t.parts.length),
      el("td", { class: "num" }, num(sum(t.parts, (p) => p.records))),
      el("td", { class: "num", "data-testid": "topic-rate" }, num(sum(t.parts, (p) => p.record_rate), 1)),
      el("td", { class: "num" }, bytes(sum(t.parts, (p) => p.byte_rate)) + "/s"),
      el("td", { class: "num lag", "data-testid": "topic-lag" }, num(lag)),
      el("td", { class: "num lag" }, seconds(maxOf(t.parts, (p) => p.lag_seconds))),
      el("td", { class: "num" }, ""),
    ));
    if (!open) continue;
    for (const p of t.parts.sort((a, b) => a.partition - b.partition)) {
      const lat = p.replication_latency_ms.window;
      rows.push(el("tr", {
        class: `partition${p.lag_records > 0 ? " lagging" : ""}${p.stalled || p.blocked ? " stalled" : ""}`,
        "data-testid": "partition-row", "data-topic": t.remote, "data-partition": p.partition,
      },
        el("td", { title: p.blocked ? p.blocked.reason : "" }, `partition ${p.partition}`,
          p.blocked ? ` (blocked at offset ${p.blocked.offset}, ${p.blocked.retrying ? "retrying" : `${p.blocked.attempts} retries`})`
            : p.stalled ? " (stalled)" : ""),
        el("td", { class: "num", "data-testid": "progress", title: "next offset / end offset" },
          `${num(p.next_offset)} / ${num(p.end_offset)}`),
        el("td", { class: "num", "data-testid": "records" }, num(p.records)),
        el("td", { class: "num" }, num(p.record_rate, 1)),
        el("td", { class: "num" }, bytes(p.byte_rate) + "/s"),
        el("td", { class: "num lag", "data-testid": "lag" }, num(p.lag_records)),
        el("td", { class: "num lag" }, seconds(p.lag_seconds)),
        el("td", { class: "num" }, lat ? `${num(lat.avg)} ms` : "–"),
      ));
    }
  }
  if (!rows.length) return el("p", { class: "muted" }, "No partitions assigned to this process.");
  return el("table", { "data-testid": "topics" },
    el("thead", {}, el("tr", {},
      el("th", {}, "Topic (target)"), el("th", { class: "num" }, "Partitions / progress"),
      el("th", { class: "num" }, "Records"), el("th", { class: "num" }, "Records/s"),
      el("th", { class: "num" }, "Bytes/s"), el("th", { class: "num" }, "Lag"),
      el("th", { class: "num" }, "Lag time"), el("th", { class: "num" }, "Latency avg"))),
    el("tbody", {}, rows));
}

function syncState(g) {
  return (g.sync && g.sync.state) || "unknown";
}

function groupsTable(f) {
  const c = f.checkpointer;
  if (!c) return null;
  const groups = Object.entries(c.groups || {});
  const head = el("p", { class: "muted" },
    `Checkpointer ${c.active ? "active in this process" : "standing by"} · ${num(c.checkpoints_emitted)} checkpoints written`,
    c.last_error ? ` · last error: ${c.last_error}` : "");
  if (!groups.length) return [el("h3", {}, "Consumer groups"), head];
  return [el("h3", {}, "Consumer groups"), head, el("table", { "data-testid": "groups" },
    el("thead", {}, el("tr", {}, el("th", {}, "Group"), el("th", {}, "Sync"),
      el("th", { class: "num" }, "Partitions"), el("th", { class: "num" }, "Untranslated"), el("th", {}, "Note"))),
    el("tbody", {}, groups.map(([name, g]) => {
      const s = syncState(g);
      const kind = s === "failed" ? "bad" : (s === "synced" || s === "up_to_date") ? "ok" : "warn";
      return el("tr", { "data-testid": "group-row", "data-group": name },
        el("td", {}, name), el("td", {}, pill(s.replace(/_/g, " ").toUpperCase(), kind)),
        el("td", { class: "num" }, g.partitions.length),
        el("td", { class: "num" }, g.partitions.filter((p) => p.translated === null).length),
        el("td", {}, g.error || (g.sync && (g.sync.reason || g.sync.error)) || ""));
    })))];
}

function expiredTable(f) {
  if (!f.expired || !f.expired.length) return null;
  return [el("h3", {}, "Records deleted on the source before they were replicated"),
    el("table", { "data-testid": "expired" },
      el("thead", {}, el("tr", {}, el("th", {}, "Topic (source)"), el("th", { class: "num" }, "Partition"),
        el("th", { class: "num" }, "Records"), el("th", { class: "num" }, "Last range"), el("th", {}, "When"))),
      el("tbody", {}, f.expired.map((e) => el("tr", { class: "stalled" },
        el("td", {}, e.topic), el("td", { class: "num" }, e.partition),
        el("td", { class: "num" }, num(e.records)),
        el("td", { class: "num" }, `${e.last_first_offset}..${e.last_last_offset}`),
        el("td", {}, new Date(e.last_at_ms).toLocaleString())))))];
}

function flowCard(f) {
  const kind = flowKind(f);
  const t = f.totals;
  const hb = f.heartbeat;
  return el("section", {
    class: `flow ${kind === "bad" ? "bad" : kind === "warn" ? "starting" : ""}`,
    "data-testid": "flow", "data-flow": f.name, "data-state": flowLabel(f),
  },
    el("h2", {}, `${f.source} → ${f.target}`, pill(flowLabel(f), kind),
      f.ready.ok ? pill("READY", "ok") : pill("NOT READY", kind === "bad" ? "bad" : "warn")),
    f.ready.ok ? null : el("ul", { class: "reasons", "data-testid": "reasons" }, f.ready.reasons.map((r) => el("li", {}, r))),
    el("div", { class: "stats" },
      stat("partitions", "partitions here", num(t.partitions)),
      stat("rate", "records/s", num(t.record_rate, 1)),
      stat("bytes", "bytes/s", `${bytes(t.byte_rate)}/s`),
      stat("records", "records replicated", num(t.records)),
      stat("lag", "lag (records)", num(t.lag_records)),
      stat("lag-seconds", "max lag time", seconds(t.max_lag_seconds)),
      stat("heartbeat", "heartbeat latency", hb.latency_ms === null ? "–" : `${num(hb.latency_ms)} ms`),
      stat("rebalances", "rebalances", num(f.rebalances)),
      t.blocked_partitions ? stat("blocked", "partitions blocked", num(t.blocked_partitions)) : null,
      t.records_expired ? stat("expired", "records deleted unreplicated", num(t.records_expired)) : null),
    sparkline(f.name),
    el("p", { class: "muted", "data-testid": "clusters" }, f.clusters.map((c) =>
      `${c.role} ${c.alias}: ${c.reachable ? "reachable" : "UNREACHABLE"}${c.last_error ? ` (last error: ${c.last_error.message})` : ""}`).join(" · ")),
    el("h3", {}, "Connectors"),
    el("p", { "data-testid": "connectors" }, f.connectors.map((c) =>
      el("span", { "data-connector": c.name }, `${c.name} `, pill(c.state, c.state === "RUNNING" ? "ok" : c.state === "FAILED" ? "bad" : "warn"), " "))),
    el("h3", {}, "Topics and partitions"),
    topicsTable(f),
    expiredTable(f),
    groupsTable(f));
}

let lastStatus = null;

function draw(s) {
  if (!s) return;
  lastStatus = s;
  document.getElementById("process").textContent =
    `v${s.version} · ${s.worker_id} · up ${seconds(s.uptime_seconds)}`;
  const bad = s.flows.filter((f) => flowKind(f) === "bad");
  const overall = document.getElementById("overall");
  const [text, kind] = s.ready.ok ? ["READY", "ok"]
    : bad.length ? [bad.some((f) => f.state === "FAILED") ? "FAILING" : "STUCK", "bad"]
    : ["NOT READY", "warn"];
  overall.className = `pill ${kind}`;
  overall.textContent = text;
  const banner = document.getElementById("banner");
  if (bad.length) {
    banner.hidden = false;
    banner.textContent = bad.map((f) => f.state === "FAILED"
      ? `Flow ${f.name} failed${f.error ? `: ${f.error.message}` : ""}`
      : `Flow ${f.name} is stuck: ${f.ready.reasons.join("; ")}`).join(" — ");
  } else {
    banner.hidden = true;
  }
  const main = document.getElementById("flows");
  main.replaceChildren(...(s.flows.length ? s.flows.map(flowCard) : [el("p", { class: "muted" }, "No flows.")]));
  document.getElementById("updated").textContent = `updated ${new Date(s.now_ms).toLocaleTimeString()}`;
}

async function poll() {
  try {
    const [status, metrics] = await Promise.all([
      fetch("/status", { cache: "no-store" }).then((r) => r.json()),
      fetch("/metrics", { cache: "no-store" }).then((r) => r.text()),
    ]);
    recordMetrics(metrics, status.now_ms);
    draw(status);
  } catch (e) {
    const banner = document.getElementById("banner");
    banner.hidden = false;
    banner.textContent = `No answer from Strait (${e.message}); retrying.`;
    const overall = document.getElementById("overall");
    overall.className = "pill bad";
    overall.textContent = "UNREACHABLE";
  } finally {
    setTimeout(poll, POLL_MS);
  }
}

poll();
