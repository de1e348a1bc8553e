//! The status page: plain HTML, a stylesheet and a script, each served from its own route so
//! the page runs under a `script-src 'self'; style-src 'self'` content security policy (no
//! inline script, no inline style attribute: the script sets positions through the CSSOM).
//!
//! It holds no token: it asks for one, keeps it in the tab's sessionStorage, and sends it as a
//! bearer token like any other client. It reads `GET /v1/environments` and, per environment,
//! `GET /v1/environments/{env}/overview`. Everything it shows from the API goes into the page as
//! text nodes (never as HTML), and every instant is shown in one format in the environment's
//! own zone — `Fri 4 Dec 14:54 CET`, with the zone's abbreviations from the API, the same as the
//! command line and the digest.

/// The page.
pub const PAGE: &str = r##"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>lightsout</title>
<link rel="stylesheet" href="/page.css">
<script src="/page.js" defer></script>
</head>
<body>
<header>
  <h1>lightsout</h1>
  <p id="who" hidden><span id="you"></span> <button id="logout" type="button">Forget token</button></p>
</header>
<form id="login" hidden>
  <label for="token">API token</label>
  <div class="row"><input id="token" type="password" autocomplete="off" required> <button type="submit">Use token</button></div>
  <small>Kept only in this tab (sessionStorage) and sent as a bearer token.</small>
</form>
<p id="msg" role="status" aria-live="polite"></p>
<main id="envs"></main>
<noscript>The status page needs JavaScript; the API works without it (see the README).</noscript>
</body>
</html>
"##;

/// The page's stylesheet.
pub const STYLE: &str = r##":root { --ink: #1d2433; --muted: #5a6478; --line: #e3e6ec; --awake: #17803d; --waking: #b76e00; --asleep: #5a6478; --bad: #b3261e; --woken: #e7a23a; --held: #8a94a8; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto; max-width: 68rem; padding: 1rem; color: var(--ink); }
header { display: flex; flex-wrap: wrap; align-items: baseline; justify-content: space-between; gap: .5rem; }
h1 { font-size: 1.4rem; margin: 0; }
h2 { font-size: 1.25rem; margin: 0; }
h3 { font-size: .8rem; margin: 0 0 .5rem; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
small, .muted { color: var(--muted); }
button { font: inherit; padding: .35rem .7rem; border: 1px solid #c5cad5; border-radius: 6px; background: #fff; cursor: pointer; min-height: 2.2rem; }
button:hover { background: #f2f4f8; }
button:disabled { opacity: .5; cursor: default; }
form { margin: 1rem 0; }
form .row { display: flex; gap: .5rem; margin: .3rem 0; }
input { font: inherit; padding: .35rem .5rem; flex: 1; min-width: 0; max-width: 24rem; }
#msg { min-height: 1.4rem; margin: .5rem 0; }
.err { color: var(--bad); }
.env { border: 1px solid var(--line); border-radius: 10px; padding: 1rem; margin: 0 0 1.25rem; }
.head { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem 1rem; }
.state { font-weight: 600; padding: .1rem .6rem; border-radius: 999px; border: 1px solid currentColor; }
.state.awake { color: var(--awake); } .state.asleep { color: var(--asleep); }
.state.waking, .state.going { color: var(--waking); } .state.unknown { color: var(--bad); }
.why { margin: .4rem 0 0; }
.actions { display: flex; flex-wrap: wrap; gap: .4rem; margin: .75rem 0 0; }
.panels { display: grid; grid-template-columns: 1fr 1fr; gap: 1rem 1.5rem; margin-top: 1rem; }
.panel { min-width: 0; }
@media (max-width: 760px) { .panels { grid-template-columns: 1fr; } body { padding: .75rem; } }
ul.plain { list-style: none; margin: 0; padding: 0; }
ul.plain > li { padding: .4rem 0; border-bottom: 1px solid var(--line); }
ul.plain > li:last-child { border-bottom: 0; }
.res { display: flex; flex-wrap: wrap; justify-content: space-between; gap: .1rem .75rem; }
.res .name { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: .85rem; overflow-wrap: anywhere; }
.res .st.awake { color: var(--awake); } .res .st.asleep { color: var(--asleep); } .res .st.moving { color: var(--waking); } .res .st.left { color: var(--muted); } .res .st.bad { color: var(--bad); }
details { margin-top: .5rem; } summary { cursor: pointer; color: var(--muted); font-size: .9rem; }
progress { width: 100%; height: .5rem; }
.week { display: grid; grid-template-columns: 5.2rem 1fr; gap: .3rem .5rem; align-items: center; }
.week .dlabel { font-size: .85rem; white-space: nowrap; }
.week .dlabel.today { font-weight: 600; }
.bar { position: relative; height: 1.1rem; border-radius: 4px; background: #f2f4f8 repeating-linear-gradient(to right, transparent 0 calc(25% - 1px), #d5d9e2 calc(25% - 1px) 25%); overflow: hidden; }
.seg { position: absolute; top: 0; bottom: 0; }
.seg.awake { background: var(--awake); opacity: .75; }
.seg.woken { background: var(--woken); top: 25%; bottom: 25%; }
.seg.held { background: var(--held); top: 25%; bottom: 25%; }
.nowmark { position: absolute; top: -2px; bottom: -2px; width: 2px; background: var(--bad); }
.hours { display: flex; justify-content: space-between; font-size: .7rem; color: var(--muted); grid-column: 2; }
.legend { display: flex; flex-wrap: wrap; gap: .25rem 1rem; font-size: .8rem; color: var(--muted); margin: .5rem 0 0; }
.key { display: inline-block; width: .8rem; height: .8rem; border-radius: 2px; vertical-align: -1px; margin-right: .25rem; }
.key.awake { background: var(--awake); opacity: .75; } .key.woken { background: var(--woken); } .key.held { background: var(--held); } .key.now { background: var(--bad); width: 2px; }
.money { font-size: 1.35rem; font-weight: 600; }
dl.figures { display: grid; grid-template-columns: auto 1fr; gap: .25rem .75rem; margin: .5rem 0 0; }
dl.figures dt { color: var(--muted); }
dl.figures dd { margin: 0; }
"##;

/// The page's script.
pub const SCRIPT: &str = r##""use strict";
const $ = (s) => document.querySelector(s);
const KEY = "lightsout-token";
const token = () => sessionStorage.getItem(KEY);
let timer = null;

// Builds an element; strings become text nodes, so nothing from the API is ever read as HTML.
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.className = v; else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// One format for every instant, in the environment's zone: `Fri 4 Dec 14:54 CET`.
const formats = new Map();
function fmt(t, env) {
  if (!t) return "";
  const tz = env.timezone || "UTC";
  if (!formats.has(tz)) {
    formats.set(tz, new Intl.DateTimeFormat("en-GB", { timeZone: tz, weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZoneName: "longOffset" }));
  }
  const p = Object.fromEntries(formats.get(tz).formatToParts(new Date(t)).map((x) => [x.type, x.value]));
  const offset = (p.timeZoneName || "").replace("GMT", "") || "+00:00";
  const zone = (env.zone_names || {})[offset] || "UTC" + offset;
  return `${p.weekday} ${p.day} ${p.month} ${p.hour}:${p.minute} ${zone}`;
}
// A local date (`2026-12-04`) as `Fri 4 Dec`.
function day(d) {
  return new Intl.DateTimeFormat("en-GB", { timeZone: "UTC", weekday: "short", day: "numeric", month: "short" }).format(new Date(d + "T00:00:00Z"));
}
function span(secs) {
  const m = Math.round(secs / 60);
  if (m < 60) return `${m} min`;
  const hrs = Math.floor(m / 60), rest = m % 60;
  if (hrs < 48) return rest ? `${hrs} h ${rest} min` : `${hrs} h`;
  return `${Math.floor(hrs / 24)} d ${hrs % 24} h`;
}
// `4h`, `90m`, `1h30m` in minutes.
function minutes(text) {
  const m = /^(?:(\d+)h)?(?:(\d+)m)?$/.exec(String(text || "").trim());
  return m ? (Number(m[1] || 0) * 60 + Number(m[2] || 0)) : 0;
}

async function api(method, path, body) {
  const opts = { method, headers: { "Authorization": "Bearer " + token() } };
  if (body) { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body); }
  const r = await fetch(path, opts);
  const data = await r.json().catch(() => ({}));
  if (r.status === 401) { sessionStorage.removeItem(KEY); show(); }
  if (!r.ok) throw new Error(data.error || ("HTTP " + r.status));
  return data;
}
function say(text, error) { $("#msg").textContent = text; $("#msg").className = error ? "err" : ""; }

const STATE_CLASS = { "awake": "awake", "asleep": "asleep", "waking": "waking", "going to sleep": "going", "unknown": "unknown" };

// One resource: what it is now, and what the last pass did about it.
function resourceLine(r, e) {
  const p = r.progress;
  const v = r.verdict && r.verdict.verdict;
  const done = r.outcome && r.outcome.outcome;
  let label = "not found", figure = "", cls = "left", bar = null;
  if (p && (p.kind === "tasks" || p.kind === "instances")) {
    // Tasks of a service, or instances in service of an Auto Scaling group.
    const unit = p.kind === "tasks" ? "task" : "instance";
    figure = `${p.running}/${p.desired} ${unit}s`;
    if (p.desired === 0 && p.recorded !== null && p.recorded !== undefined) { label = "asleep"; figure = `${p.recorded} ${unit}${p.recorded === 1 ? "" : "s"} when awake`; cls = "asleep"; }
    else if (p.running < p.desired) { label = "starting"; cls = "moving"; bar = h("progress", { max: p.desired, value: p.running, "aria-label": `${unit}s running` }); }
    else if (p.running > p.desired) { label = "stopping"; cls = "moving"; }
    else if (p.desired === 0) { label = `no ${unit}s`; cls = "asleep"; }
    else { label = "running"; cls = "awake"; }
  } else if (p && p.kind === "status") {
    label = p.asleep ? "asleep" : p.status;
    figure = p.asleep ? p.status : "";
    // available (databases, Redshift), running (EC2), serving the app (a front door); stopped
    // or paused when asleep.
    cls = p.asleep || p.status === "stopped" || p.status === "paused" ? "asleep" : (p.status === "available" || p.status === "running" || p.status === "serving the app" ? "awake" : "moving");
  }
  // The pass observed before it acted: what it set in motion shows here until the next look.
  if (v === "act" && (!done || done === "done")) { label = e.awake ? "starting" : "going to sleep"; cls = "moving"; }
  else if (v === "act") { label = done.replace("_", " "); cls = "bad"; }
  else if (v === "wait") { label = "waiting"; cls = "moving"; }
  else if (v === "refuse") { label = "not touched"; cls = "left"; }
  else if (v === "skip") { label = "left alone"; cls = "left"; }
  else if (v === "blocked") { label = "needs a person"; cls = "bad"; }
  if (v === "act" && p && p.kind === "status") figure = "";
  if (label !== "starting") bar = null;
  const trouble = done && done !== "done" ? `${done.replace("_", " ")}: ${r.outcome.detail || ""}` : "";
  // Its own reason, without the environment's state (shown once above).
  const reason = r.detail || r.reason;
  return h("li", { "data-resource": r.resource },
    h("div", { class: "res" }, h("span", { class: "name" }, r.resource), h("span", { class: "st " + cls }, figure ? `${label} · ${figure}` : label)),
    bar,
    (v !== "in_sync" || trouble) ? h("small", { class: trouble ? "err" : "" }, trouble || reason) : null);
}

function weekPanel(e) {
  const w = e.week, now = Date.parse(e.now);
  const grid = h("div", { class: "week" });
  grid.append(h("span"), h("div", { class: "hours", "aria-hidden": "true" }, ["00", "06", "12", "18", "24"].map((x) => h("span", {}, x))));
  for (const d of w.days) {
    const from = Date.parse(d.from), to = Date.parse(d.to), len = to - from;
    const bar = h("div", { class: "bar", role: "img" });
    const said = [];
    const place = (el, a, b) => { el.style.left = ((a - from) / len * 100) + "%"; el.style.width = ((b - a) / len * 100) + "%"; bar.append(el); };
    for (const s of w.awake) {
      const a = Math.max(Date.parse(s.from), from), b = Math.min(Date.parse(s.to), to);
      if (b > a) { place(h("span", { class: "seg awake", title: `awake ${fmt(s.from, e)} – ${fmt(s.to, e)}` }), a, b); said.push(`awake ${fmt(new Date(a), e)} to ${fmt(new Date(b), e)}`); }
    }
    if (w.override) {
      const a = Math.max(Date.parse(w.override.from), from), b = Math.min(Date.parse(w.override.to), to);
      const woken = w.override.hold === "awake";
      if (b > a) { place(h("span", { class: "seg " + (woken ? "woken" : "held"), title: `${woken ? "woken" : "held asleep"} by ${w.override.by} until ${fmt(w.override.to, e)}` }), a, b); said.push(`${woken ? "woken" : "held asleep"} by ${w.override.by}`); }
    }
    const today = now >= from && now < to;
    if (today) { const m = h("span", { class: "nowmark", title: "now " + fmt(e.now, e) }); m.style.left = ((now - from) / len * 100) + "%"; bar.append(m); }
    bar.setAttribute("aria-label", `${day(d.date)}: ${said.length ? said.join("; ") : "asleep all day"}`);
    grid.append(h("span", { class: "dlabel" + (today ? " today" : "") }, day(d.date)), bar);
  }
  return h("section", { class: "panel", "aria-label": "This week" },
    h("h3", {}, "This week"),
    grid,
    h("p", { class: "legend" },
      h("span", {}, h("span", { class: "key awake" }), "awake by schedule"),
      h("span", {}, h("span", { class: "key woken" }), "woken"),
      h("span", {}, h("span", { class: "key held" }), "held asleep"),
      h("span", {}, h("span", { class: "key now" }), "now")),
    h("p", {}, e.next_change ? `Next change: ${e.awake ? "asleep" : "awake"} from ${fmt(e.next_change, e)}` : "No change scheduled."));
}

function historyPanel(e) {
  const items = e.history.map((x) => {
    if (x.kind === "wake_request") {
      const end = x.ended_early ? `, ended early ${fmt(x.ended_early, e)}` : "";
      return h("li", {}, h("strong", {}, `Woken by ${x.by}`), ` for ${x.asked}`, h("br"),
        h("small", {}, `${fmt(x.at, e)} until ${fmt(x.until, e)}${end}${x.kept ? " (a longer wake was already in force)" : ""}${x.reason ? " · " + x.reason : ""}`));
    }
    if (x.kind === "sleep_request") {
      return h("li", {}, h("strong", {}, `Put to sleep by ${x.by}`), h("br"),
        h("small", {}, `${fmt(x.at, e)}${x.until ? " · held asleep until " + fmt(x.until, e) : " · back on the schedule"}${x.reason ? " · " + x.reason : ""}`));
    }
    const woke = x.effect === "wake";
    const lasted = x.lasted_secs === null || x.lasted_secs === undefined ? (woke ? "still awake" : "still asleep") : `${woke ? "awake" : "asleep"} for ${span(x.lasted_secs)}`;
    return h("li", {}, h("strong", {}, woke ? "Woke up" : "Went to sleep"), ` · ${lasted}`, h("br"),
      h("small", { class: x.failed ? "err" : "" }, `${fmt(x.at, e)} · by ${x.by} · ${x.resources} resource${x.resources === 1 ? "" : "s"}${x.failed ? `, ${x.failed} failed` : ""}`));
  });
  return h("section", { class: "panel", "aria-label": "Recent wakes and sleeps" },
    h("h3", {}, "Recent wakes and sleeps"),
    items.length ? h("ul", { class: "plain" }, items) : h("p", { class: "muted" }, "Nothing in the last 7 days."));
}

function spendPanel(e) {
  const s = e.spend || {};
  const body = [];
  if (s.missing) {
    body.push(h("p", { class: "muted" }, s.missing));
  } else {
    if (s.month_to_date) {
      body.push(h("p", {}, h("span", { class: "money" }, s.month_to_date), s.budget ? ` of ${s.budget} this month` : " this month"));
      if (s.budget && s.spent_pct !== null) {
        body.push(h("progress", { max: 100, value: Math.min(100, s.spent_pct), "aria-label": "budget spent" }));
        body.push(h("small", {}, `${Math.round(s.spent_pct)}% of the budget at ${Math.round(s.month_pct)}% of the month`));
      }
    } else {
      body.push(h("p", { class: "muted" }, `No spend figures: ${s.spend_missing || "unknown"}`));
    }
    const dl = h("dl", { class: "figures" });
    const row = (k, v) => { if (v) dl.append(h("dt", {}, k), h("dd", {}, v)); };
    row("Sleeping saved", `${s.saved_month} this month, ${s.saved_day} on ${day(s.day)}`);
    row("Projected", s.projection ? `${s.projection}${s.over_by ? ` (over budget by ${s.over_by})` : ""}` : null);
    row("Kept costing", s.always_on_day !== "$0.00" ? `${s.always_on_day} while asleep on ${day(s.day)} (cannot be stopped)` : null);
    row("Budget", s.budget ? null : s.budget_source);
    body.push(dl);
    body.push(h("small", {}, `From the daily digest for ${day(s.day)}, made ${fmt(s.made_at, e)}.`));
  }
  return h("section", { class: "panel", "aria-label": "Spend" }, h("h3", {}, "Spend and savings"), body);
}

function envSection(e) {
  const state = e.state;
  const ov = e.override;
  const head = h("div", { class: "head" },
    h("h2", {}, e.name),
    h("span", { class: "state " + (STATE_CLASS[state] || "unknown"), "data-state": state }, state));
  const why = h("p", { class: "why" },
    `${e.awake ? "Awake" : "Asleep"}${e.next_change ? " until " + fmt(e.next_change, e) : ""} · ${e.reason}`);
  const notes = [];
  if (ov) notes.push(h("p", { class: "override" }, `${ov.hold === "asleep" ? "Held asleep" : "Woken"} by ${ov.by} until ${fmt(ov.until, e)}`, ov.reason ? h("small", {}, " · " + ov.reason) : null));
  if (e.progress) notes.push(h("p", { class: "why" }, e.progress));
  if (e.idle) notes.push(h("p", { class: "why" }, "Idle: " + e.idle.sentence));
  if (state === "unknown" && e.unknown) notes.push(h("p", { class: "err" }, `${e.unknown.reason}${e.unknown.since ? " (since " + fmt(e.unknown.since, e) + ")" : ""}`));
  const max = minutes(e.max_wake);
  const hours = [1, 2, 4].filter((x) => x * 60 <= max);
  const buttons = hours.map((x) => h("button", { type: "button", "data-act": "wake", "data-for": x + "h" }, `Wake ${x}h`));
  if (!hours.length && max) buttons.push(h("button", { type: "button", "data-act": "wake", "data-for": e.max_wake }, `Wake ${e.max_wake}`));
  buttons.push(h("button", { type: "button", "data-act": "sleep" }, "Sleep now"));
  // What lightsout manages first; what it leaves alone (production, replicas, members) folded.
  const resources = (e.resources || []);
  const left = (r) => ["skip", "refuse"].includes(r.verdict && r.verdict.verdict);
  const managed = resources.filter((r) => !left(r)), others = resources.filter(left);
  return h("article", { class: "env", "data-env": e.name },
    head, why, notes,
    h("p", {}, h("small", {}, `Times in ${e.timezone}.`)),
    h("div", { class: "actions" }, buttons),
    h("div", { class: "panels" },
      h("section", { class: "panel", "aria-label": "Resources" }, h("h3", {}, "Resources"),
        managed.length ? h("ul", { class: "plain" }, managed.map((r) => resourceLine(r, e))) : h("p", { class: "muted" }, e.observed_at ? "No resources to manage." : "Not observed yet."),
        others.length ? h("details", {}, h("summary", {}, `${others.length} left alone (production, replicas, cluster members)`),
          h("ul", { class: "plain" }, others.map((r) => resourceLine(r, e)))) : null),
      weekPanel(e), historyPanel(e), spendPanel(e)));
}

const views = new Map();
function render() {
  const main = $("#envs");
  main.replaceChildren(...[...views.values()].map(envSection));
}

async function load() {
  clearTimeout(timer);
  let moving = false;
  try {
    const d = await api("GET", "/v1/environments");
    $("#you").textContent = "Signed in as " + d.you;
    const all = await Promise.all(d.environments.map((e) => api("GET", `/v1/environments/${encodeURIComponent(e.name)}/overview`)));
    views.clear();
    for (const e of all) { views.set(e.name, e); moving ||= e.state === "waking" || e.state === "going to sleep"; }
    render();
  } catch (e) { say(e.message, true); }
  // Look again soon while something is changing.
  if (token()) timer = setTimeout(load, moving ? 3000 : 15000);
}

async function act(name, what, length) {
  const e = views.get(name);
  try {
    const d = what === "wake"
      ? await api("POST", `/v1/environments/${encodeURIComponent(name)}/wake`, { for: length, reason: "from the status page" })
      : await api("POST", `/v1/environments/${encodeURIComponent(name)}/sleep`, { reason: "from the status page" });
    // The answer says what the environment shows from now on: show it at once.
    if (e) { e.state = d.state; e.awake = what === "wake"; e.override = d.override; render(); }
    say(what === "wake"
      ? `${name}: ${d.state}, awake until ${fmt(d.override.until, e || {})}${d.expected_ready ? "; ready about " + fmt(d.expected_ready, e || {}) : ""}`
      : `${name}: ${d.state}${d.override ? ", held asleep until " + fmt(d.override.until, e || {}) : ""}`);
    setTimeout(load, 700);
  } catch (err) { say(err.message, true); }
}

function show() {
  const have = !!token();
  $("#login").hidden = have; $("#who").hidden = !have; $("#envs").hidden = !have;
  if (have) load(); else { clearTimeout(timer); views.clear(); $("#envs").replaceChildren(); }
}

document.addEventListener("DOMContentLoaded", () => {
  $("#login").addEventListener("submit", (ev) => {
    ev.preventDefault();
    sessionStorage.setItem(KEY, $("#token").value.trim());
    $("#token").value = "";
    say("");
    show();
  });
  $("#logout").addEventListener("click", () => { sessionStorage.removeItem(KEY); say(""); show(); });
  $("#envs").addEventListener("click", (ev) => {
    const b = ev.target.closest("button[data-act]"); if (!b) return;
    act(b.closest("[data-env]").dataset.env, b.dataset.act, b.dataset.for);
  });
  show();
});
"##;
