// The sidebar: who the page acts as, the channels with their marks (# or a lock) and unread counts, and Maple's
// Home and Messages. Shares the page's state (ui, api, badge) from app.js.
"use strict";

// sidebar and people -----------------------------------------------------------------------------------------
async function loadBoot() {
  const res = await api("/ui/bootstrap");
  ui.boot = res.data;
  ui.users = {};
  res.data.people.forEach((p) => { ui.users[p.id] = p; });
  ui.channels = { ...res.data.all_channels };
  ui.channels[res.data.dm] = "Maple";
  renderSidebar();
}

function renderPeople() {
  const select = $("person");
  select.replaceChildren();
  ui.boot.people.filter((p) => !p.is_bot).forEach((p) => {
    const o = document.createElement("option");
    o.value = p.id;
    o.textContent = `${p.real_name} (@${p.name})${p.guest ? " · guest" : ""}`;
    o.selected = p.id === ui.me;
    select.appendChild(o);
  });
}

function isPrivate(id) {
  return (ui.boot.private_channels || []).includes(id);
}

// A channel's mark: a lock for a private channel, # for a public one (as Slack's sidebar shows them).
function channelMark(id) {
  const mark = document.createElement("span");
  mark.className = "nav-icon";
  mark.dataset.testid = "channel-mark";
  if (isPrivate(id)) {
    mark.appendChild(Icons.lock());
    mark.setAttribute("role", "img");
    mark.setAttribute("aria-label", "private channel");
  } else {
    mark.textContent = "#";
    mark.setAttribute("aria-hidden", "true");
  }
  return mark;
}

// The name, and how many messages arrived since the person last looked (bold with a count, as in Slack).
function fillNav(button, id, label, mark) {
  const unread = (ui.boot.unread || {})[id] || 0;
  const shown = !(ui.view.kind === "channel" && ui.view.id === id) && unread > 0;
  const name = document.createElement("span");
  name.className = "nav-label";
  name.textContent = label;
  const parts = mark ? [mark, name] : [name];
  if (shown) {
    const count = badge(String(unread), "unread-badge");
    count.dataset.testid = "unread-" + id;
    count.setAttribute("aria-label", `${unread} unread`);
    parts.push(count);
  }
  button.replaceChildren(...parts);
  button.classList.toggle("unread", shown);
  button.classList.toggle("active", ui.view.kind === "channel" && ui.view.id === id);
}

function navButton(c) {
  const li = document.createElement("li");
  const b = document.createElement("button");
  b.type = "button";
  b.className = "nav-item";
  b.dataset.testid = "channel-" + c.id;
  fillNav(b, c.id, c.name, channelMark(c.id));
  b.addEventListener("click", () => openChannel(c.id));
  li.appendChild(b);
  return li;
}

function renderSidebar() {
  renderPeople();
  const list = $("channel-list");
  list.replaceChildren(...ui.boot.channels.map(navButton));
  fillNav($("nav-dm"), ui.boot.dm, "Maple · Messages", null);
  $("nav-home").classList.toggle("active", ui.view.kind === "home");
}
