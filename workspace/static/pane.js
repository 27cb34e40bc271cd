// The assistant pane, as Slack's AI apps show it beside a conversation: a thread of the person's DM with Maple,
// with the title, the "is thinking…" status and the suggested prompts Maple set through assistant.threads.*, the
// thread's messages (feedback buttons included) and a composer for follow-ups. Opening it starts a new thread
// (Maple gets assistant_thread_started with the channel on screen); viewing another channel while it is open sends
// assistant_thread_context_changed. Shares the page's state and helpers (ui, api, messageNode…) from app.js.
"use strict";

const Pane = {
  thread: null,  // { channel, thread_ts } of the open pane thread
  data: null,

  viewed() {
    return ui.view.kind === "channel" && ui.view.id !== ui.boot.dm ? ui.view.id : null;
  },

  async open() {
    closeThread();
    const res = await api("/ui/pane/open", { viewing: this.viewed() });
    if (!res.ok) { toast((res.data && res.data.error) || "Could not open the assistant"); return; }
    this.thread = { channel: res.data.channel, thread_ts: res.data.thread_ts };
    this.data = null;
    $("assistant-pane").hidden = false;
    $("nav-assistant").classList.add("active");
    this.render();
    await this.refresh();
    $("pane-input").focus();
  },

  close() {
    this.thread = null;
    this.data = null;
    $("assistant-pane").hidden = true;
    $("nav-assistant").classList.remove("active");
  },

  async viewing(channel) {  // the person now views another channel
    if (!this.thread || channel === ui.boot.dm) return;
    await api("/ui/pane/context", { thread_ts: this.thread.thread_ts, viewing: channel });
  },

  async refresh() {
    if (!this.thread) return;
    const asked = this.thread.thread_ts;
    const res = await api(`/ui/pane?thread_ts=${encodeURIComponent(asked)}`);
    if (!this.thread || this.thread.thread_ts !== asked || !res.ok) return;
    this.data = res.data;
    this.render();
  },

  async send(text) {
    if (!this.thread || !text) return;
    const res = await api("/ui/send", { channel: this.thread.channel, text, thread_ts: this.thread.thread_ts });
    mapleAnswered(res);
    await this.refresh();
  },

  onChange(change) {
    if (!this.thread) return;
    const here = change.channel === this.thread.channel;
    if ((change.kind === "message" || change.kind === "ephemeral") && here) schedule("pane", () => this.refresh());
    else if (change.kind === "pane" && here && change.thread_ts === this.thread.thread_ts) {
      schedule("pane", () => this.refresh());
    }
  },

  render() {
    const pane = (this.data && this.data.pane) || {};
    $("pane-title").textContent = pane.title || "New chat";
    const status = $("pane-status");
    status.hidden = !pane.status;
    status.textContent = pane.status ? `Maple ${pane.status}` : "";
    const messages = this.data ? [...this.data.messages, ...this.data.ephemerals].sort(byTs) : [];
    const box = $("pane-messages");
    box.replaceChildren(...messages.map((m) => messageNode(m, { inThread: true })));
    box.scrollTop = box.scrollHeight;
    this.renderPrompts(pane, messages);
  },

  // Suggested prompts stay until the person writes in the thread, as in Slack.
  renderPrompts(pane, messages) {
    const box = $("pane-prompts");
    const prompts = pane.prompts || [];
    const wrote = messages.some((m) => m.user === ui.me && m.subtype !== "ephemeral");
    box.hidden = wrote || !prompts.length;
    const title = document.createElement("div");
    title.className = "pane-prompts-title";
    title.textContent = pane.prompts_title || "Suggested prompts";
    const buttons = prompts.map((p) => {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "pane-prompt";
      b.dataset.testid = "pane-prompt";
      b.title = p.message;
      const name = document.createElement("strong");
      name.textContent = p.title;
      const said = document.createElement("span");
      said.textContent = p.message;
      b.append(name, said);
      b.addEventListener("click", async () => { b.disabled = true; await this.send(p.message); });
      return b;
    });
    box.replaceChildren(title, ...buttons);
  },
};

document.addEventListener("DOMContentLoaded", () => {
  $("nav-assistant").addEventListener("click", () => Pane.open());
  $("pane-close").addEventListener("click", () => Pane.close());
  $("pane-new").addEventListener("click", () => Pane.open());
  const form = $("pane-composer");
  const input = $("pane-input");
  const submit = async (ev) => {
    ev.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    await Pane.send(text);
  };
  form.addEventListener("submit", submit);
  input.addEventListener("keydown", (ev) => { if (ev.key === "Enter" && !ev.shiftKey) submit(ev); });
});
window.Pane = Pane;  // app.js calls it when present
