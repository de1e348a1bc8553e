//! The status page: plain HTML and a little JavaScript. It holds no token: it asks for one and
//! keeps it in the tab's sessionStorage, and sends it as a bearer token like any other client.

/// The page.
pub const PAGE: &str = r##"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>lightsout</title>
<style>
  body { font: 15px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 62rem; padding: 0 1rem; color: #1d2433; }
  h1 { font-size: 1.4rem; margin: 0 0 1rem; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: .5rem .6rem; border-bottom: 1px solid #e3e6ec; vertical-align: top; }
  th { font-weight: 600; color: #5a6478; font-size: .85rem; }
  .state { font-weight: 600; }
  .awake { color: #17803d; } .asleep { color: #5a6478; } .waking, .going { color: #b76e00; }
  button { margin: 0 .25rem .25rem 0; padding: .3rem .6rem; border: 1px solid #c5cad5; border-radius: 4px; background: #fff; cursor: pointer; }
  button:hover { background: #f2f4f8; }
  #msg { margin: 1rem 0; min-height: 1.4rem; }
  .err { color: #b3261e; }
  form { margin: 1rem 0; }
  input { padding: .3rem .5rem; width: 22rem; }
  small { color: #5a6478; }
</style>
</head>
<body>
<h1>lightsout</h1>
<form id="login" hidden>
  <label>API token <input id="token" type="password" autocomplete="off"></label>
  <button type="submit">Use token</button>
  <div><small>Kept only in this tab (sessionStorage); sent as a bearer token.</small></div>
</form>
<div id="msg"></div>
<table id="envs" hidden>
  <thead><tr><th>Environment</th><th>State</th><th>Why / next change</th><th>Override</th><th></th></tr></thead>
  <tbody></tbody>
</table>
<p><small id="who"></small> <button id="logout" hidden>Forget token</button></p>
<script>
const $ = (s) => document.querySelector(s);
const token = () => sessionStorage.getItem("lightsout-token");
function esc(s) { return String(s ?? "").replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c])); }
function local(t) { return t ? new Date(t).toLocaleString() : ""; }
async function api(method, path, body) {
  const opts = { method, headers: { "Authorization": "Bearer " + token() } };
  if (body) { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body); }
  const r = await fetch(path, opts);
  const data = await r.json().catch(() => ({}));
  if (r.status === 401) { sessionStorage.removeItem("lightsout-token"); show(); }
  if (!r.ok) throw new Error(data.error || ("HTTP " + r.status));
  return data;
}
function say(text, error) { $("#msg").textContent = text; $("#msg").className = error ? "err" : ""; }
async function act(env, what, hours) {
  try {
    const d = what === "wake"
      ? await api("POST", `/v1/environments/${encodeURIComponent(env)}/wake`, { for: hours + "h", reason: "from the status page" })
      : await api("POST", `/v1/environments/${encodeURIComponent(env)}/sleep`, { reason: "from the status page" });
    say(what === "wake" ? `${env}: awake until ${local(d.override.until)}; ready about ${local(d.expected_ready)}` : `${env}: going to sleep`);
    setTimeout(load, 1500);
  } catch (e) { say(e.message, true); }
}
async function load() {
  try {
    const d = await api("GET", "/v1/environments");
    $("#who").textContent = "Signed in as " + d.you;
    const rows = d.environments.map((e) => {
      const ov = e.override ? `${e.override.hold === "asleep" ? "asleep: " : ""}${esc(e.override.by)} until ${esc(local(e.override.until))}<br><small>${esc(e.override.reason)}</small>` : "";
      const cls = e.state.split(" ")[0];
      const unknown = e.state === "unknown" && e.unknown
        ? `<br><small class="err">${esc(e.unknown.reason)}${e.unknown.since ? " (since " + esc(local(e.unknown.since)) + ")" : ""}</small>` : "";
      return `<tr data-env="${esc(e.name)}"><td>${esc(e.name)}</td><td class="state ${esc(cls)}">${esc(e.state)}${unknown}</td>` +
        `<td>${esc(e.why)}</td><td>${ov}</td><td>` +
        [1, 2, 4].map((h) => `<button data-act="wake" data-hours="${h}">Wake ${h}h</button>`).join("") +
        `<button data-act="sleep">Sleep now</button></td></tr>`;
    });
    $("#envs tbody").innerHTML = rows.join("");
    $("#envs").hidden = false;
  } catch (e) { say(e.message, true); }
}
function show() {
  const have = !!token();
  $("#login").hidden = have; $("#envs").hidden = !have; $("#logout").hidden = !have;
  if (have) load();
}
$("#login").addEventListener("submit", (ev) => {
  ev.preventDefault();
  sessionStorage.setItem("lightsout-token", $("#token").value.trim());
  $("#token").value = "";
  show();
});
$("#logout").addEventListener("click", () => { sessionStorage.removeItem("lightsout-token"); $("#who").textContent = ""; show(); });
$("#envs").addEventListener("click", (ev) => {
  const b = ev.target.closest("button"); if (!b) return;
  act(b.closest("tr").dataset.env, b.dataset.act, b.dataset.hours);
});
show();
setInterval(() => { if (token()) load(); }, 15000);
</script>
</body>
</html>
"##;
