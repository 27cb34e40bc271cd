// The local workspace page: one person at a time, a channel list, messages rendered from Block Kit, threads,
// ephemeral messages, modals and the App Home. Live updates arrive by server-sent events.
"use strict";

const $ = (id) => document.getElementById(id);
const ui = {
  me: null, boot: null, users: {}, channels: {}, view: { kind: "channel", id: "C0GENERAL" }, thread: null,
  data: { messages: [], ephemerals: [] }, events: null, modalId: null, read: {}, scrolledIn: null, opener: null,
};

// This start's token, delivered only inside the page; every request to the workspace carries it.
const TOKEN = document.querySelector('meta[name="workspace-token"]').content;

async function api(path, body) {
  const headers = { "X-Workspace-Token": TOKEN };
  const init = body === undefined ? { headers } : {
    method: "POST", headers: { ...headers, "Content-Type": "application/json" },
    body: JSON.stringify({ user: ui.me, ...body }),
  };
  const sep = path.includes("?") ? "&" : "?";
  const res = await fetch(body === undefined ? `${path}${sep}user=${encodeURIComponent(ui.me)}` : path, init);
  let data = null;
  try { data = await res.json(); } catch (_e) { data = null; }
  if (res.status === 403 && data && data.error === "invalid_workspace_token") {
    data.error = "The workspace was restarted: reload the page.";  // a new start minted a new token
    toast(data.error);
  }
  return { ok: res.ok, status: res.status, data };
}

function toast(message) {
  const t = $("toast");
  t.textContent = message;
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.hidden = true; }, 6000);
}

function mapleAnswered(res) {
  const status = res.data && res.data.status;
  if (!res.ok) toast((res.data && res.data.error) || `Request failed (${res.status})`);
  else if (status && status !== 200) toast(`Maple answered HTTP ${status}`);
}

function ctx() {
  return { users: ui.users, channels: ui.channels };
}

async function switchPerson(user) {
  delete document.body.dataset.person;
  ui.me = user;
  localStorage.setItem("maple.person", user);
  closeThread();
  if (window.Pane) Pane.close();
  await loadBoot();
  const visible = ui.boot.channels.some((c) => c.id === ui.view.id) || ui.view.id === ui.boot.dm;
  if (ui.view.kind === "home") await openHome();
  else await openChannel(visible ? ui.view.id : (ui.boot.channels[0] || { id: ui.boot.dm }).id);
  connect();
  await refreshModal();
  document.body.dataset.person = ui.me;
}

// channels and messages ----------------------------------------------------------------------------------------
async function openChannel(id) {
  ui.view = { kind: "channel", id };
  if (ui.thread && ui.thread.channel !== id) closeThread();
  if (window.Pane) Pane.viewing(id);  // an open assistant pane learns which channel is on screen
  $("home").hidden = true;
  $("messages").hidden = false;
  $("composer").hidden = false;
  const isDm = id === ui.boot.dm;
  const name = ui.channels[id] || id;
  const title = $("channel-title");
  if (isDm) title.replaceChildren("Maple");
  else title.replaceChildren(isPrivate(id) ? Icons.lock() : "# ", name);
  $("composer-input").placeholder = isDm ? "Message Maple"
    : `Message ${isPrivate(id) ? "" : "#"}${name} — try /maple …`;
  $("messages").setAttribute("aria-label", isDm ? "Messages with Maple" : `Messages in ${name}`);
  renderSidebar();
  await refreshChannel();
}

async function refreshChannel() {
  if (ui.view.kind !== "channel") return;
  const asked = ui.me + " " + ui.view.id;
  const res = await api(`/ui/channel/${encodeURIComponent(ui.view.id)}`);
  if (asked !== ui.me + " " + ui.view.id) return;  // the person or channel changed meanwhile
  if (!res.ok) {
    ui.data = { messages: [], ephemerals: [] };
  } else {
    ui.data = res.data;
  }
  renderMessages();
  if (ui.thread) renderThread();
}

function topLevel(m) {
  return !m.thread_ts || m.thread_ts === m.ts;
}

function byTs(a, b) {
  return parseFloat(a.ts) - parseFloat(b.ts);
}

// A conversation opens at its newest message and stays there as messages arrive, unless the person has
// scrolled up to read older ones.
function renderMessages() {
  const box = $("messages");
  const shown = ui.me + " " + ui.view.id;
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
  const items = [...ui.data.messages.filter(topLevel), ...ui.data.ephemerals.filter((e) => !e.thread_ts)].sort(byTs);
  box.replaceChildren(...items.map((m) => messageNode(m, { inThread: false })));
  if (!items.length) {
    const empty = document.createElement("p");
    empty.className = "empty";
    empty.textContent = "No messages yet.";
    box.appendChild(empty);
  }
  if (atBottom || ui.scrolledIn !== shown) box.scrollTop = box.scrollHeight;
  ui.scrolledIn = shown;
  markRead(ui.view.id, ui.data.messages);
}

// Seen: everything up to the newest message of the conversation on screen.
async function markRead(channel, messages) {
  const newest = messages.length ? messages[messages.length - 1].ts : null;
  const unread = (ui.boot.unread || {})[channel] || 0;
  if (!newest || (ui.read[channel] === newest && !unread)) return;
  ui.read[channel] = newest;
  const res = await api("/ui/read", { channel, ts: newest });
  if (res.ok && ui.boot.unread) {
    ui.boot.unread[channel] = res.data.unread;
    renderSidebar();
  }
}

function time(ts) {
  return new Date(parseFloat(ts) * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function messageNode(m, { inThread }) {
  const ephemeral = m.subtype === "ephemeral";
  const node = document.createElement("div");
  node.className = "message" + (ephemeral ? " ephemeral" : "") + (m.streaming ? " streaming" : "");
  node.dataset.testid = ephemeral ? "ephemeral" : "message";
  if (m.streaming) node.dataset.streaming = "true";  // chat.startStream: it grows until chat.stopStream
  node.dataset.ts = m.ts;
  node.dataset.user = m.user || "";
  const user = ui.users[m.user] || { name: m.user, real_name: m.user };
  const avatar = document.createElement("div");
  avatar.className = "avatar" + (m.bot_id || m.user === ui.boot.bot ? " bot" : "");
  avatar.textContent = (user.real_name || user.name || "?").slice(0, 1).toUpperCase();
  const body = document.createElement("div");
  body.className = "message-body";
  const meta = document.createElement("div");
  meta.className = "meta";
  const author = document.createElement("span");
  author.className = "author";
  author.dataset.testid = "message-author";
  author.textContent = user.real_name || user.name;
  meta.appendChild(author);
  if (m.bot_id || m.app_id || m.user === ui.boot.bot) meta.appendChild(badge("APP", "badge"));
  meta.appendChild(badge(time(m.ts), "time"));
  const isApp = Boolean(m.bot_id || m.app_id || m.user === ui.boot.bot);
  if (m.edited && !isApp) meta.appendChild(badge("(edited)", "time"));  // Slack marks only people's edits
  body.appendChild(meta);
  if (ephemeral) body.appendChild(badge("Only visible to you", "only-you"));
  const content = document.createElement("div");
  content.className = "content";
  content.dataset.testid = "message-content";
  const actionCtx = { ...ctx(), onAction: (el, blockId, b) => clickMessage(m, el, b) };
  content.appendChild(m.blocks && m.blocks.length ? Blocks.render(m.blocks, actionCtx) : Mrkdwn.render(m.text, ctx()));
  body.appendChild(content);
  body.appendChild(messageFooter(m, { inThread, ephemeral }));
  node.append(avatar, body);
  return node;
}

function badge(text, cls) {
  const s = document.createElement("span");
  s.className = cls;
  s.textContent = text;
  return s;
}

function messageFooter(m, { inThread, ephemeral }) {
  const footer = document.createElement("div");
  footer.className = "footer";
  if (ephemeral) {
    const d = document.createElement("button");
    d.type = "button";
    d.className = "link";
    d.dataset.testid = "dismiss";
    d.textContent = "Dismiss";
    d.addEventListener("click", async () => { await api("/ui/dismiss", { ts: m.ts }); await refreshChannel(); });
    footer.appendChild(d);
  } else if (!inThread) {
    const t = document.createElement("button");
    t.type = "button";
    t.className = "link thread-link";
    t.dataset.testid = "thread-link";
    t.textContent = m.reply_count ? `${m.reply_count} ${m.reply_count === 1 ? "reply" : "replies"}` : "Reply in thread";
    t.addEventListener("click", () => openThread(m.ts));
    footer.appendChild(t);
  }
  return footer;
}

async function clickMessage(m, element, button) {
  button.disabled = true;
  try {
    const body = { ts: m.ts, action_id: element.action_id };
    if (element.type === "feedback_button") body.value = element.value;  // which of the feedback buttons
    mapleAnswered(await api("/ui/click", body));
  } finally {
    button.disabled = false;
  }
}

async function send(text, threadTs) {
  const body = { channel: ui.view.id, text };
  if (threadTs) body.thread_ts = threadTs;
  const res = await api("/ui/send", body);
  mapleAnswered(res);
  await refreshChannel();
}

// threads ---------------------------------------------------------------------------------------------------------
function openThread(ts) {
  if (window.Pane) Pane.close();  // the thread and the assistant share the right-hand column
  ui.thread = { channel: ui.view.id, ts };
  $("thread-panel").hidden = false;
  renderThread();
  $("thread-input").focus();
}

function closeThread() {
  ui.thread = null;
  $("thread-panel").hidden = true;
}

function renderThread() {
  const { ts } = ui.thread;
  const items = [
    ...ui.data.messages.filter((m) => m.ts === ts || m.thread_ts === ts),
    ...ui.data.ephemerals.filter((e) => e.thread_ts === ts),
  ].sort(byTs);
  const box = $("thread-messages");
  box.replaceChildren(...items.map((m) => messageNode(m, { inThread: true })));
  box.scrollTop = box.scrollHeight;
}

// App Home ----------------------------------------------------------------------------------------------------
async function openHome() {
  ui.view = { kind: "home", id: "home" };
  closeThread();
  $("messages").hidden = true;
  $("composer").hidden = true;
  $("home").hidden = false;
  $("channel-title").textContent = "Maple · Home";
  renderSidebar();
  await api("/ui/home_opened", {});
  await refreshHome();
}

async function refreshHome() {
  if (ui.view.kind !== "home") return;
  const asked = ui.me;
  const res = await api("/ui/home");
  if (asked !== ui.me || ui.view.kind !== "home") return;
  const view = res.data && res.data.view;
  const box = $("home");
  if (!view) {
    const p = document.createElement("p");
    p.className = "empty";
    p.textContent = "Maple has not published a Home tab for you yet.";
    box.replaceChildren(p);
    return;
  }
  const onAction = async (el, _blockId, b) => {
    b.disabled = true;
    mapleAnswered(await api("/ui/click", { view_id: view.id, action_id: el.action_id }));
    b.disabled = false;
  };
  box.replaceChildren(Blocks.render(view.blocks, { ...ctx(), onAction }));
}

// live updates ------------------------------------------------------------------------------------------------
function connect() {
  if (ui.events) ui.events.close();
  const status = $("connection");
  const source = new EventSource(`/ui/events?user=${encodeURIComponent(ui.me)}&token=${encodeURIComponent(TOKEN)}`);
  ui.events = source;
  source.addEventListener("ready", () => { status.textContent = "live"; status.className = "connection live"; });
  source.onerror = () => {  // closed for good (a restart minted a new token) or retrying by itself
    status.textContent = source.readyState === EventSource.CLOSED ? "disconnected: reload the page" : "reconnecting…";
    status.className = "connection";
  };
  source.onmessage = (ev) => onChange(JSON.parse(ev.data));
}

const pending = new Set();
function schedule(kind, fn) {
  if (pending.has(kind)) return;
  pending.add(kind);
  setTimeout(async () => { pending.delete(kind); await fn(); }, 30);
}

function onChange(change) {
  const here = !change.channel || change.channel === ui.view.id;
  if (change.kind === "message" && !here && change.new && !change.reply && change.user !== ui.me) {
    schedule("boot", loadBoot);  // news elsewhere: the sidebar's unread counts
  }
  if (window.Pane) Pane.onChange(change);  // the assistant pane (pane.js)
  if ((change.kind === "message" || change.kind === "ephemeral") && here) schedule("channel", refreshChannel);
  else if (change.kind === "modal") schedule("modal", refreshModal);
  else if (change.kind === "home") schedule("home", refreshHome);
  else if (change.kind === "channels") schedule("boot", loadBoot);
}

// End, Home, Page Up and Page Down scroll the conversation on screen (or the thread, when it has the focus)
// wherever the focus is, except while typing.
const SCROLL_KEYS = { End: (b) => b.scrollHeight, Home: () => 0, PageDown: (b) => b.scrollTop + b.clientHeight * 0.9,
                      PageUp: (b) => b.scrollTop - b.clientHeight * 0.9 };

function scrollKeys(ev) {
  const to = SCROLL_KEYS[ev.key];
  const target = ev.target;
  if (!to || ui.modalId || ev.altKey || ev.ctrlKey || ev.metaKey
      || (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName)))) return;
  const inThread = target && target.closest && target.closest("#thread-panel");
  const box = inThread ? $("thread-messages") : (ui.view.kind === "home" ? $("home") : $("messages"));
  ev.preventDefault();
  box.scrollTop = to(box);
}

// wiring ---------------------------------------------------------------------------------------------------------
function composer(form, input, threadTs) {
  const submit = async (ev) => {
    ev.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    await send(text, threadTs());
  };
  form.addEventListener("submit", submit);
  input.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !ev.shiftKey) submit(ev);
  });
}

async function main() {
  const params = new URLSearchParams(location.search);
  ui.me = params.get("user") || localStorage.getItem("maple.person") || "U0REQUEST";
  await loadBoot().catch(async () => { ui.me = "U0REQUEST"; await loadBoot(); });
  $("person").addEventListener("change", (ev) => switchPerson(ev.target.value));
  $("nav-home").addEventListener("click", openHome);
  $("nav-dm").addEventListener("click", () => openChannel(ui.boot.dm));
  $("thread-close").addEventListener("click", closeThread);
  composer($("composer"), $("composer-input"), () => null);
  composer($("thread-composer"), $("thread-input"), () => ui.thread && ui.thread.ts);
  document.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape" && ui.modalId) {
      ev.preventDefault();
      closeModal($("modal-root").querySelector(".modal").dataset.viewId);
    } else {
      scrollKeys(ev);
    }
  });
  const first = params.get("channel") || (ui.boot.channels[0] || { id: ui.boot.dm }).id;
  await openChannel(first);
  connect();
  await refreshModal();
  document.body.dataset.person = ui.me;
}

// A failed request (the workspace stopped, the network dropped) is shown, never thrown at the page.
window.addEventListener("unhandledrejection", (ev) => {
  ev.preventDefault();
  toast("The workspace is unreachable: " + ((ev.reason && ev.reason.message) || ev.reason));
});

document.addEventListener("DOMContentLoaded", main);
