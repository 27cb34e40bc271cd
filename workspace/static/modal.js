// Modals (views.open / update / push): rendered from Block Kit as accessible dialogs. Shares the page's state
// (ui, api, badge, mapleAnswered) from app.js.
"use strict";

// modals ---------------------------------------------------------------------------------------------------------
async function refreshModal() {
  const asked = ui.me;
  const res = await api("/ui/modal");
  if (asked !== ui.me) return;
  const view = res.data && res.data.view;
  const root = $("modal-root");
  if (!view) {
    if (!root.hidden) hideModal(root);
    return;
  }
  const errors = res.data.errors || {};
  const key = view.id + view.hash + JSON.stringify(errors);
  if (ui.modalId === key) return;
  if (root.hidden) ui.opener = document.activeElement;  // focus goes back there when the modal closes
  ui.modalId = key;
  root.replaceChildren(modalNode(view, errors));
  root.hidden = false;
  $("app").inert = true;  // the page behind a modal can be neither clicked nor reached with Tab
  const wrong = Object.keys(errors).find((k) => k && root.querySelector(`[data-block-id="${CSS.escape(k)}"].bk-field`));
  const first = (wrong && root.querySelector(`[data-block-id="${CSS.escape(wrong)}"].bk-field`))
    || root.querySelector(".bk-field") || root.querySelector("footer button, .modal-body button");
  if (first) first.focus();
}

function hideModal(root) {
  ui.modalId = null;
  root.hidden = true;
  root.replaceChildren();
  $("app").inert = false;
  const back = ui.opener;
  ui.opener = null;
  if (back && back.isConnected) back.focus();
  else $("composer-input").focus();
}

// Tab and Shift+Tab cycle through the modal's own controls, as in any modal dialog.
function trapFocus(ev, box) {
  if (ev.key !== "Tab") return;
  const items = [...box.querySelectorAll("button, input, textarea, select, a[href]")].filter((e) => !e.disabled);
  if (!items.length) return;
  const [first, last] = [items[0], items[items.length - 1]];
  if (ev.shiftKey && document.activeElement === first) { ev.preventDefault(); last.focus(); }
  else if (!ev.shiftKey && document.activeElement === last) { ev.preventDefault(); first.focus(); }
}

function modalNode(view, errors) {
  const box = document.createElement("form");
  box.className = "modal";
  box.dataset.testid = "modal";
  box.dataset.viewId = view.id;
  box.dataset.callbackId = view.callback_id || "";
  box.setAttribute("role", "dialog");
  box.setAttribute("aria-modal", "true");
  box.setAttribute("aria-labelledby", "modal-title-" + view.id);
  box.addEventListener("keydown", (ev) => trapFocus(ev, box));
  const head = document.createElement("header");
  const title = document.createElement("h2");
  title.className = "modal-title";
  title.id = "modal-title-" + view.id;
  title.appendChild(Mrkdwn.plain(view.title && view.title.text, view.title && view.title.emoji));
  title.dataset.testid = "modal-title";
  head.appendChild(title);
  const general = badge(errors[""] || "", "modal-error");
  general.dataset.testid = "modal-error";
  general.hidden = !errors[""];
  const onAction = async (el, _blockId, b) => {
    b.disabled = true;
    mapleAnswered(await api("/ui/click", { view_id: view.id, action_id: el.action_id }));
    b.disabled = false;
  };
  const values = (view.state && view.state.values) || {};
  const body = Blocks.render(view.blocks, { ...ctx(), onAction, errors, values });
  body.classList.add("modal-body");
  const foot = document.createElement("footer");
  const close = modalButton((view.close && view.close.text) || "Cancel", "modal-close", "secondary");
  close.addEventListener("click", () => closeModal(view.id));
  foot.appendChild(close);
  if (view.submit) foot.appendChild(modalButton(view.submit.text, "modal-submit", "primary", "submit"));
  box.addEventListener("submit", (ev) => { ev.preventDefault(); submitModal(view, box); });
  box.append(head, general, body, foot);
  return box;
}

function modalButton(label, testid, cls, type) {
  const b = document.createElement("button");
  b.type = type || "button";
  b.className = "bk-button " + cls;
  b.dataset.testid = testid;
  b.textContent = label;
  return b;
}

async function submitModal(view, form) {
  const values = {};
  let missing = false;
  form.querySelectorAll(".bk-field").forEach((field) => {
    const err = form.querySelector(`[data-testid="input-error-${CSS.escape(field.dataset.blockId)}"]`);
    const empty = !field.value.trim() && !field.dataset.optional;
    if (err) { err.textContent = empty ? "Please fill out this field." : ""; err.hidden = !empty; }
    missing = missing || empty;
    values[field.dataset.blockId] = { [field.dataset.actionId]: field.value };
  });
  if (missing) return;
  const submit = form.querySelector('[data-testid="modal-submit"]');
  submit.disabled = true;
  const res = await api("/ui/submit", { view_id: view.id, values });
  submit.disabled = false;
  mapleAnswered(res);
  ui.modalId = null;
  await refreshModal();
}

async function closeModal(viewId) {
  await api("/ui/close", { view_id: viewId });
  ui.modalId = null;
  await refreshModal();
}
