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
const SVG = "http://www.w3.org/2000/svg";
// The same marks as the tray icons: the state reads without colour too.
const STATE_MARK = {
  valid: ["M5 10.5l3.2 3.2L15 6.8"],
  expiring: ["M10 5.5V10l3 2", "circle"],
  expired: ["M6.5 6.5l7 7M13.5 6.5l-7 7"],
  missing: ["M7.5 7.8a2.6 2.6 0 1 1 3.6 2.4c-.8.4-1.1.9-1.1 1.8M10 14.6v.2"],
};

let view = null;
const expanded = new Set(); // session keys whose profiles and servers are shown
const copied = new Map(); // session key -> what its prompt's copy buttons last said
const pasting = new Map(); // session key -> the sign-in code typed so far (kept across renders)

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

function plural(n, one, many = `${one}s`) {
  return `${n} ${n === 1 ? one : many}`;
}

// Long names (start URLs, paths) may wrap after / . _ : but never inside a word.
function breakable(text) {
  const frag = document.createDocumentFragment();
  for (const part of String(text).split(/(?<=[/._:])/)) {
    if (frag.childNodes.length) frag.append(el("wbr"));
    frag.append(part);
  }
  return frag;
}

function stateIcon(state) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 20 20");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("class", `mark-${state}`);
  const disc = document.createElementNS(SVG, "circle");
  for (const [k, v] of [["cx", 10], ["cy", 10], ["r", 9.5], ["fill", "currentColor"]]) disc.setAttribute(k, v);
  svg.append(disc);
  for (const d of STATE_MARK[state] || STATE_MARK.missing) {
    const shape = document.createElementNS(SVG, d === "circle" ? "circle" : "path");
    if (d === "circle") for (const [k, v] of [["cx", 10], ["cy", 10], ["r", 6]]) shape.setAttribute(k, v);
    else shape.setAttribute("d", d);
    for (const [k, v] of [["fill", "none"], ["stroke", "#fff"], ["stroke-width", 2], ["stroke-linecap", "round"]]) {
      shape.setAttribute(k, v);
    }
    svg.append(shape);
  }
  return svg;
}

function duration(ms) {
  const mins = Math.floor(ms / 60000);
  const h = Math.floor(mins / 60);
  if (h >= 24) return `${Math.floor(h / 24)} d ${h % 24} h`;
  if (h > 0) return `${h} h ${String(mins % 60).padStart(2, "0")} min`;
  if (mins > 0) return `${mins} min`;
  return `${Math.max(0, Math.floor(ms / 1000))} s`;
}

function localTime(at) {
  const d = new Date(Date.parse(at) + view.localOffsetMinutes * 60000);
  return `${String(d.getUTCHours()).padStart(2, "0")}:${String(d.getUTCMinutes()).padStart(2, "0")}`;
}

function labelOf(s) {
  return s.ssoSession || s.startUrl || s.key;
}

function renderSessions() {
  const list = document.getElementById("sessions");
  list.replaceChildren();
  const servers = view.inventory.servers;
  view.sessions.forEach((s, n) => {
    const busy = view.refreshing.includes(s.key);
    const label = labelOf(s);
    const state = s.token.state;
    const open = expanded.has(s.key);
    const actionText = busy ? "Refreshing…" : s.signIn ? "Sign in" : "Refresh";
    const line = el("div", { class: "line" },
      el("span", { class: "name" }, breakable(label)),
      el("span", { class: `state state-${state}` }, stateIcon(state), STATE_TEXT[state] || state),
      el("span", { class: "when" },
        el("span", { class: "countdown", "data-expires": s.token.expiresAt || "", "data-state": state }),
        el("span", { class: "clock" })),
      el("button", {
        type: "button", class: `action${s.attention === "none" && !busy ? " quiet" : ""}`,
        "data-action": "refresh", "data-session": s.key, ...(busy ? { disabled: "" } : {}),
        "aria-label": `${actionText.replace("…", "")} ${label}`, onclick: () => refresh(s.key),
      }, actionText));

    const detailsId = `details-${n}`;
    const toggle = el("button", {
      type: "button", class: "link toggle", "aria-expanded": String(open), "aria-controls": detailsId,
      onclick: () => {
        if (expanded.has(s.key)) expanded.delete(s.key); else expanded.add(s.key);
        renderSessions();
        document.querySelector(`.session[data-session="${CSS.escape(s.key)}"] .toggle`).focus();
      },
    }, `${plural(s.profiles.length, "profile")} · ${plural(s.servers.length, "server")}`);
    const sub = el("div", { class: "sub" }, ...signInNeeded(s), toggle);
    if (s.loginSession) sub.append(el("span", { class: "legacy" }, "console sign-in (aws login)"));
    else if (!s.ssoSession) sub.append(el("span", { class: "legacy" }, "legacy profile"));

    const details = el("div", { class: "details", id: detailsId, ...(open ? {} : { hidden: "" }) },
      el("h3", {}, "Profiles"),
      el("ul", { class: "profiles" }, ...s.profiles.map((p) => el("li", {}, breakable(p)))),
      el("h3", {}, "MCP servers"),
      s.servers.length
        ? el("ul", { class: "servers" }, ...s.servers.map((i) => serverItem(servers[i], i)))
        : el("p", { class: "muted" }, "No MCP server uses these profiles."));
    const more = el("div", { class: "actions" });
    // A fresh session signs out of IAM Identity Center first; a console sign-in has no such step.
    if (!s.loginSession) {
      more.append(el("button", {
        type: "button", class: "link", "data-action": "fresh", "data-session": s.key, ...(busy ? { disabled: "" } : {}),
        "aria-label": `Start a fresh session for ${label}`, onclick: () => askFresh(s.key),
      }, "Start a fresh session…"));
    }
    if (s.startUrl && s.startUrl.startsWith("https://")) {
      more.append(el("button", {
        type: "button", class: "link", "data-action": "portal",
        onclick: () => act(invoke("open_portal", { key: s.key })),
      }, "Open the access portal"));
    }
    details.append(more);

    list.append(el("li", { class: "session", "data-session": s.key, "data-state": state, "data-attention": s.attention },
      line, sub, details));
  });
  document.getElementById("no-sessions").hidden = view.sessions.length > 0;
  tick();
}

function serverItem(srv, i) {
  // A disabled server is dimmed; one that may use several profiles names them all.
  const meta = [CLIENTS[srv.client] || srv.client, srv.scope];
  if (srv.profiles && srv.profiles.length > 1) meta.push(`profiles ${srv.profiles.join(", ")}`);
  if (srv.enabled === false) meta.push("disabled");
  return el("li", { class: "server", ...(srv.enabled === false ? { "data-disabled": "" } : {}) },
    el("span", { class: "server-name" }, srv.name), " ",
    el("span", { class: "server-meta" }, `(${meta.join(", ")})`), " ",
    el("button", {
      type: "button", class: "link", "data-action": "open-config", title: srv.configPath,
      "aria-label": `Open the config file of ${srv.name}: ${srv.configPath}`,
      onclick: () => act(invoke("open_config", { index: i })),
    }, "open config"));
}

// When a browser sign-in will be needed: the estimated end of the sign-in session for a session
// that renews itself, or now.
function signInNeeded(s) {
  const token = s.token;
  if (!token.sessionEndsAt || !token.refreshable) return [];
  const at = token.sessionEndsAt;
  const due = s.attention === "signIn";
  return [el("span", { class: "sign-in", "data-ends": at, ...(due ? { "data-due": "" } : {}) },
    Date.parse(at) <= Date.now()
      ? "Sign-in needed now"
      : `Sign-in needed ${token.sessionEndsAtEstimated ? "≈ " : "at "}${localTime(at)}`)];
}

// The fresh-session confirmation: says what will happen before anything is done.
function askFresh(key) {
  const s = view && view.sessions.find((x) => x.key === key);
  if (!s) return;
  showView("sessions");
  document.getElementById("fresh-text").textContent =
    `This signs you out of the SSO session ${labelOf(s)} on the server, then opens the sign-in again. ` +
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

// Tabs: Sessions and Settings. Arrow keys move between them, as for any tab list.
function showView(name) {
  for (const tab of document.querySelectorAll('[role="tab"]')) {
    const on = tab.id === `tab-${name}`;
    tab.setAttribute("aria-selected", String(on));
    tab.tabIndex = on ? 0 : -1;
    document.getElementById(tab.getAttribute("aria-controls")).hidden = !on;
  }
}
for (const tab of document.querySelectorAll('[role="tab"]')) {
  tab.addEventListener("click", () => showView(tab.id.slice("tab-".length)));
  tab.addEventListener("keydown", (ev) => {
    if (ev.key !== "ArrowLeft" && ev.key !== "ArrowRight") return;
    const next = tab.id === "tab-sessions" ? "settings" : "sessions";
    showView(next);
    document.getElementById(`tab-${next}`).focus();
  });
}

function route() {
  const hash = location.hash.slice(1);
  if (hash === "settings") {
    showView("settings");
    document.querySelector("#settings-form input").focus();
  } else if (hash.startsWith("fresh=")) askFresh(decodeURIComponent(hash.slice("fresh=".length)));
  // Cleared, so that the same menu item sets it again and is heard again.
  if (hash) history.replaceState(null, "", location.pathname + location.search);
}

function renderProblems() {
  const other = document.getElementById("other");
  other.replaceChildren();
  const inSession = new Set(view.sessions.flatMap((s) => s.servers));
  const others = view.inventory.servers.map((s, i) => [s, i]).filter(([, i]) => !inSession.has(i));
  const shown = others.filter(([s]) => view.settings.showNonAws || s.profile || s.profileUnresolved);
  for (const [s, i] of shown) {
    let why = "no AWS profile";
    if (s.profileUnresolved) why = `profile set by the client at launch: ${s.profileUnresolved}`;
    else if (s.profile) {
      const p = view.inventory.profiles.find((x) => x.name === s.profile);
      why = p && p.kind === "not_in_config" ? `profile ${s.profile} is not in the AWS config`
        : `profile ${s.profile} does not use SSO`;
    }
    if (s.enabled === false) why += " (disabled)";
    other.append(el("li", s.enabled === false ? { class: "muted", "data-disabled": "" } : {},
      `${s.name} (${CLIENTS[s.client] || s.client}) — ${why} `,
      el("button", {
        type: "button", class: "link", "data-action": "open-config", title: s.configPath,
        "aria-label": `Open the config file of ${s.name}: ${s.configPath}`,
        onclick: () => act(invoke("open_config", { index: i })),
      }, "open config")));
  }
  document.getElementById("other-section").hidden = shown.length === 0;

  const diags = document.getElementById("diagnostics");
  diags.replaceChildren();
  for (const d of view.inventory.diagnostics) {
    diags.append(el("li", {}, el("code", {}, breakable(d.line ? `${d.path}:${d.line}` : d.path)), ` — ${d.message}`));
  }
  document.getElementById("diagnostics-section").hidden = view.inventory.diagnostics.length === 0;
  const count = shown.length + view.inventory.diagnostics.length;
  document.getElementById("problems-count").textContent = `(${count})`;
  document.getElementById("problems").hidden = count === 0;
}

// The sign-in link and code of a login without a browser, each with a copy button.
function renderPrompts() {
  const box = document.getElementById("prompts");
  if (box.contains(document.activeElement)) box.dataset.refocus = document.activeElement.dataset.copy || "";
  box.replaceChildren();
  for (const [key, p] of Object.entries(view.prompts)) {
    const s = view.sessions.find((x) => x.key === key);
    // Kept across renders: the view is rebuilt whenever the inventory changes.
    const status = el("span", { class: "copy-status", role: "status", "aria-live": "polite" }, copied.get(key) || "");
    const copyButton = (what, text, label) => el("button", {
      type: "button", class: "secondary", "data-copy": what, "data-session": key,
      onclick: async () => {
        copied.set(key, (await copyText(text)) ? `${label} copied.` : "Could not copy.");
        status.textContent = copied.get(key);
      },
    }, `Copy ${what}`);
    const prompt = el("div", { class: "prompt", "data-session": key },
      el("p", {}, `To finish signing in to ${s ? labelOf(s) : "AWS"}, open this link`,
        // The PKCE flow's link carries everything; the device flow's needs its code; a console
        // sign-in without a browser here ends with a code to paste back.
        p.needsCode ? " (on any device), sign in, then paste below the code the page shows:"
          : p.code ? " and enter the code:" : ":"),
      el("div", { class: "copy-row" },
        el("a", { class: "prompt-url", href: p.url, target: "_blank", rel: "noreferrer" }, p.url),
        copyButton("link", p.url, "Link")));
    if (p.code) {
      prompt.append(el("div", { class: "copy-row" }, el("span", { class: "code" }, p.code),
        copyButton("code", p.code, "Code")));
    }
    if (p.needsCode) {
      const input = el("input", {
        type: "text", name: "sign-in-code", "data-copy": "paste", autocomplete: "off", spellcheck: "false",
        "aria-label": "Code from the browser", value: pasting.get(key) || "",
        oninput: (e) => pasting.set(key, e.target.value),
      });
      prompt.append(el("form", {
        class: "copy-row paste-code", "data-session": key,
        onsubmit: async (e) => {
          e.preventDefault();
          const ok = await act(invoke("submit_sign_in_code", { key, code: input.value }));
          if (ok) pasting.delete(key);
        },
      }, input, el("button", { type: "submit" }, "Send code")));
    }
    prompt.append(status);
    box.append(prompt);
  }
  for (const key of [...copied.keys()]) if (!(key in view.prompts)) copied.delete(key);
  for (const key of [...pasting.keys()]) if (!(key in view.prompts)) pasting.delete(key);
  box.hidden = Object.keys(view.prompts).length === 0;
  const again = box.dataset.refocus && box.querySelector(`[data-copy="${box.dataset.refocus}"]`);
  if (again) again.focus();
  delete box.dataset.refocus;
}

async function copyText(text) {
  const back = document.activeElement;
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch (_) {
    // Not a secure context or no permission: the selection route.
    const area = el("textarea", { class: "visually-hidden", readonly: "", "aria-hidden": "true" });
    area.value = text;
    document.body.append(area);
    area.select();
    let ok = false;
    try { ok = document.execCommand("copy"); } catch (_) { ok = false; }
    area.remove();
    if (back && back.focus) back.focus();
    return ok;
  }
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

// Updates the countdowns; `now` (ms) is for tests. Widths are fixed, so nothing moves.
function tick(now = Date.now()) {
  for (const cd of document.querySelectorAll(".countdown")) {
    const at = cd.dataset.expires;
    const clock = cd.nextElementSibling;
    if (!at) {
      cd.textContent = "";
      clock.textContent = "";
      continue;
    }
    const ms = Date.parse(at) - now;
    cd.textContent = ms > 0 ? `${duration(ms)} left` : `${duration(-ms)} ago`;
    clock.textContent = ms > 0 ? `until ${localTime(at)}` : `at ${localTime(at)}`;
  }
}

function renderSummary() {
  const summary = document.getElementById("summary");
  summary.textContent = view.headline;
  const worst = view.sessions.length ? view.sessions[0].attention : "none";
  summary.dataset.attention = worst;
}

let lastView = "";

async function load() {
  const next = await invoke("get_view");
  // Rebuilds often change nothing shown: keep the page (and its focus) as it is then.
  const text = JSON.stringify(next);
  if (text === lastView) return;
  lastView = text;
  view = next;
  renderSummary();
  renderSessions();
  renderProblems();
  renderPrompts();
  renderSettings();
}

// Runs a command; a failure is shown in the summary line. Returns whether it succeeded.
async function act(promise) {
  try {
    await promise;
    return true;
  } catch (e) {
    document.getElementById("summary").textContent = String(e);
    return false;
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
setInterval(() => tick(), 1000);
window.addEventListener("hashchange", route);
load().then(route);
