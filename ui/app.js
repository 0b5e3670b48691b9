// The window: renders the view the app sends (no secrets are ever in it) and calls its commands.
"use strict";

const { invoke } = window.__TAURI__.core;
const { listen } = window.__TAURI__.event;

const CLIENTS = {
  "amazon-q": "Amazon Q", "claude-code": "Claude Code", "claude-desktop": "Claude Desktop", cline: "Cline",
  codex: "Codex", "copilot-cli": "Copilot CLI", cursor: "Cursor", "gemini-cli": "Gemini CLI", kiro: "Kiro",
  "roo-code": "Roo Code", vscode: "VS Code", windsurf: "Windsurf", zed: "Zed",
};
const STATE_TEXT = { valid: "Valid", expiring: "Expiring", expired: "Expired", missing: "Never logged in" };

let view = null;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

function timeLeft(expiresAt, now) {
  if (!expiresAt) return "—";
  const ms = Date.parse(expiresAt) - now;
  if (ms <= 0) return "expired";
  const mins = Math.floor(ms / 60000);
  const h = Math.floor(mins / 60);
  const m = mins % 60;
  if (h > 0) return `in ${h} h ${String(m).padStart(2, "0")} min`;
  if (mins > 0) return `in ${mins} min`;
  return `in ${Math.floor(ms / 1000)} s`;
}

function localTime(expiresAt) {
  const d = new Date(Date.parse(expiresAt) + view.localOffsetMinutes * 60000);
  return `${String(d.getUTCHours()).padStart(2, "0")}:${String(d.getUTCMinutes()).padStart(2, "0")}`;
}

function renderSessions() {
  const tbody = document.querySelector("#sessions tbody");
  tbody.replaceChildren();
  const servers = view.inventory.servers;
  for (const s of view.sessions) {
    const busy = view.refreshing.includes(s.key);
    const label = s.ssoSession || s.startUrl || s.key;
    const state = s.token.state;
    const expires = el("td", { "data-label": "Expires", class: "countdown", "data-expires": s.token.expiresAt || "" });
    const serverList = el("ul");
    for (const i of s.servers) {
      const srv = servers[i];
      // A disabled server is dimmed; one that may use several profiles names them all.
      const extra = [];
      if (srv.profiles && srv.profiles.length > 1) extra.push(`profiles ${srv.profiles.join(", ")}`);
      if (srv.enabled === false) extra.push("disabled");
      serverList.append(el("li", srv.enabled === false ? { class: "muted", "data-disabled": "" } : {},
        `${srv.name} (${CLIENTS[srv.client] || srv.client}, ${srv.scope}${extra.map((x) => `, ${x}`).join("")}) `,
        el("button", { class: "link", title: srv.configPath, onclick: () => act(invoke("open_config", { index: i })) }, "open config")));
    }
    const actions = el("div", { class: "actions" },
      el("button", {
        "data-action": "refresh", "data-session": s.key, ...(busy ? { disabled: "" } : {}),
        "aria-label": `Refresh ${label}`, onclick: () => refresh(s.key),
      }, busy ? "Refreshing…" : "Refresh"),
      el("button", {
        class: "link", "data-action": "fresh", "data-session": s.key, ...(busy ? { disabled: "" } : {}),
        "aria-label": `Start a fresh session for ${label}`, onclick: () => askFresh(s.key),
      }, "fresh session…"));
    if (s.startUrl && s.startUrl.startsWith("https://")) {
      actions.append(el("button", { class: "link", onclick: () => act(invoke("open_portal", { key: s.key })) }, "access portal"));
    }
    tbody.append(el("tr", { "data-session": s.key, "data-state": state },
      el("th", { scope: "row", "data-label": "Session" }, label, s.ssoSession ? "" : el("span", { class: "muted" }, " (legacy)")),
      el("td", { "data-label": "State" }, el("span", { class: `state state-${state}` }, STATE_TEXT[state] || state),
        ...signInNeeded(s.token)),
      expires,
      el("td", { "data-label": "Profiles" }, s.profiles.join(", ")),
      el("td", { "data-label": "MCP servers" }, s.servers.length ? serverList : el("span", { class: "muted" }, "none")),
      el("td", {}, actions)));
  }
  document.getElementById("no-sessions").hidden = view.sessions.length > 0;
  tick();
}

// When a browser sign-in will be needed, for a session that keep-alive renews hourly.
function signInNeeded(token) {
  if (!token.refreshable || !token.sessionEndsAt) return [];
  const at = token.sessionEndsAt;
  const text = Date.parse(at) <= Date.now()
    ? "sign-in needed now"
    : `sign-in needed ${token.sessionEndsAtEstimated ? "≈ " : ""}${localTime(at)}`;
  return [el("br"), el("span", { class: "sign-in muted", "data-ends": at }, text)];
}

// The fresh-session confirmation: says what will happen before anything is done.
function askFresh(key) {
  const s = view && view.sessions.find((x) => x.key === key);
  if (!s) return;
  const label = s.ssoSession || s.startUrl || s.key;
  document.getElementById("fresh-text").textContent =
    `This signs you out of the SSO session ${label} on the server, then opens the sign-in again. ` +
    "The current session ends now; the new one lasts its full length. MCP servers using " +
    `${s.profiles.join(", ")} fail until you have signed in.`;
  const box = document.getElementById("fresh-confirm");
  box.dataset.session = key;
  box.hidden = false;
  document.getElementById("fresh-go").focus();
}

document.getElementById("fresh-go").addEventListener("click", async () => {
  const box = document.getElementById("fresh-confirm");
  box.hidden = true;
  await act(invoke("fresh_session", { key: box.dataset.session }));
  await load();
});
document.getElementById("fresh-cancel").addEventListener("click", () => {
  document.getElementById("fresh-confirm").hidden = true;
});

function route() {
  const hash = location.hash.slice(1);
  if (hash === "settings") document.querySelector("#settings input").focus();
  else if (hash.startsWith("fresh=")) askFresh(decodeURIComponent(hash.slice("fresh=".length)));
  // Cleared, so that the same menu item sets it again and is heard again.
  if (hash) history.replaceState(null, "", location.pathname + location.search);
}

function renderOther() {
  const list = document.getElementById("other");
  list.replaceChildren();
  const inSession = new Set(view.sessions.flatMap((s) => s.servers));
  const others = view.inventory.servers.map((s, i) => [s, i]).filter(([, i]) => !inSession.has(i));
  const shown = others.filter(([s]) => view.settings.showNonAws || s.profile || s.profileUnresolved);
  for (const [s, i] of shown) {
    let why = "no AWS profile";
    if (s.profileUnresolved) why = `profile set by the client at launch: ${s.profileUnresolved}`;
    else if (s.profile) why = `profile ${s.profile} does not use SSO`;
    if (s.enabled === false) why += " (disabled)";
    list.append(el("li", s.enabled === false ? { class: "muted", "data-disabled": "" } : {}, `${s.name} (${CLIENTS[s.client] || s.client}) — ${why} `,
      el("button", { class: "link", title: s.configPath, onclick: () => act(invoke("open_config", { index: i })) }, "open config")));
  }
  document.getElementById("other-section").hidden = shown.length === 0;
}

function renderDiagnostics() {
  const list = document.getElementById("diagnostics");
  list.replaceChildren();
  for (const d of view.inventory.diagnostics) {
    list.append(el("li", {}, el("code", {}, d.line ? `${d.path}:${d.line}` : d.path), ` — ${d.message}`));
  }
  document.getElementById("diagnostics-section").hidden = view.inventory.diagnostics.length === 0;
}

function renderPrompts() {
  const box = document.getElementById("prompts");
  box.replaceChildren();
  for (const [key, p] of Object.entries(view.prompts)) {
    const s = view.sessions.find((x) => x.key === key);
    box.append(el("p", {}, `To finish signing in to ${s ? (s.ssoSession || s.startUrl) : "AWS"}, open `,
      el("a", { href: p.url, target: "_blank", rel: "noreferrer" }, p.url),
      // The PKCE flow's link carries everything; the device flow's needs its code.
      ...(p.code ? [" and enter the code ", el("span", { class: "code" }, p.code)] : []), "."));
  }
  box.hidden = Object.keys(view.prompts).length === 0;
}

function renderSettings() {
  const form = document.getElementById("settings-form");
  if (form.contains(document.activeElement)) return; // do not overwrite what the user is typing
  const s = view.settings;
  form.expiringThresholdMinutes.value = s.expiringThresholdMinutes;
  for (const k of ["notifyBeforeExpiry", "notifyAtExpiry", "notifyRefreshResult", "loginWithoutBrowser", "startAtLogin", "showNonAws"]) {
    form[k].checked = !!s[k];
  }
  form.keepAlive.checked = s.keepAlive !== false;
  form.projectRoots.value = (s.projectRoots || []).join("\n");
}

function tick() {
  const now = Date.now();
  for (const cell of document.querySelectorAll(".countdown")) {
    const at = cell.dataset.expires;
    cell.textContent = at ? `${timeLeft(at, now)} (${localTime(at)})` : "—";
  }
  const counts = {};
  for (const s of view ? view.sessions : []) counts[s.token.state] = (counts[s.token.state] || 0) + 1;
  const parts = Object.entries(counts).map(([k, n]) => `${n} ${STATE_TEXT[k].toLowerCase()}`);
  document.getElementById("summary").textContent =
    view && view.sessions.length ? `${view.sessions.length} session(s): ${parts.join(", ")}` : "";
}

async function load() {
  view = await invoke("get_view");
  renderSessions();
  renderOther();
  renderDiagnostics();
  renderPrompts();
  renderSettings();
}

async function act(promise) {
  try {
    await promise;
  } catch (e) {
    document.getElementById("summary").textContent = String(e);
  }
}

async function refresh(key) {
  await act(invoke("refresh_session", { key }));
  await load();
}

document.getElementById("settings-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const form = ev.target;
  const settings = {
    ...view.settings,
    expiringThresholdMinutes: Number(form.expiringThresholdMinutes.value),
    notifyBeforeExpiry: form.notifyBeforeExpiry.checked,
    notifyAtExpiry: form.notifyAtExpiry.checked,
    notifyRefreshResult: form.notifyRefreshResult.checked,
    keepAlive: form.keepAlive.checked,
    loginWithoutBrowser: form.loginWithoutBrowser.checked,
    startAtLogin: form.startAtLogin.checked,
    showNonAws: form.showNonAws.checked,
    projectRoots: form.projectRoots.value.split("\n").map((l) => l.trim()).filter(Boolean),
  };
  const status = document.getElementById("settings-status");
  try {
    await invoke("save_settings", { settings });
    status.textContent = "Saved.";
    document.activeElement.blur();
    await load();
  } catch (e) {
    status.textContent = `Not saved: ${e}`;
  }
});

listen("inventory-changed", () => load());
setInterval(tick, 1000);
window.addEventListener("hashchange", route);
load().then(route);
