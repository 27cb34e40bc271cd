// Block Kit → DOM: header, section (text, fields, button accessory), context, divider, actions (buttons),
// input (plain_text_input), image, rich_text. Text goes through Mrkdwn (mrkdwn) or textContent (plain_text).
"use strict";

const Blocks = (() => {
  function el(tag, cls, testid) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (testid) node.dataset.testid = testid;
    return node;
  }

  function text(obj, ctx) {
    if (!obj) return el("span");
    if (obj.type === "mrkdwn") return Mrkdwn.render(obj.text, ctx);
    const span = el("span", "plain");
    span.appendChild(Mrkdwn.plain(obj.text, obj.emoji));
    return span;
  }

  function button(element, blockId, ctx) {
    const b = el("button", "bk-button" + (element.style ? " " + element.style : ""), "button-" + element.action_id);
    b.type = "button";
    b.appendChild(Mrkdwn.plain(element.text && element.text.text, element.text && element.text.emoji));
    b.dataset.actionId = element.action_id || "";
    b.dataset.blockId = blockId || "";
    if (ctx.onAction) {
      b.addEventListener("click", () => {
        const ask = element.confirm;  // Slack asks before a button with a confirmation dialog acts
        if (ask && !window.confirm([ask.title && ask.title.text, ask.text && ask.text.text].filter(Boolean).join("\n\n"))) return;
        ctx.onAction(element, blockId, b);
      });
    } else {
      b.disabled = true;
    }
    return b;
  }

  function element(item, blockId, ctx) {
    if (item.type === "button") return button(item, blockId, ctx);
    if (item.type === "image") {
      const span = el("span", "bk-image-alt");
      span.textContent = "[image: " + (item.alt_text || "") + "]";
      return span;
    }
    if (item.type === "mrkdwn" || item.type === "plain_text") return text(item, ctx);
    const span = el("span", "bk-unsupported");
    span.textContent = "[" + item.type + "]";
    return span;
  }

  function section(block, ctx) {
    const node = el("div", "bk-section");
    const main = el("div", "bk-section-main");
    if (block.text) main.appendChild(text(block.text, ctx));
    if (block.fields) {
      const grid = el("div", "bk-fields");
      block.fields.forEach((f) => grid.appendChild(text(f, ctx)));
      main.appendChild(grid);
    }
    node.appendChild(main);
    if (block.accessory) node.appendChild(element(block.accessory, block.block_id, ctx));
    return node;
  }

  function input(block, ctx) {
    const node = el("div", "bk-input");
    const elementDef = block.element || {};
    const id = "in-" + (block.block_id || "") + "-" + (elementDef.action_id || "");
    const label = el("label");
    label.htmlFor = id;
    label.appendChild(Mrkdwn.plain(block.label && block.label.text));
    if (block.optional) {
      const opt = el("span", "optional");
      opt.textContent = " (optional)";
      label.appendChild(opt);
    }
    node.appendChild(label);
    const field = el(elementDef.multiline ? "textarea" : "input", "bk-field", "input-" + block.block_id);
    field.id = id;
    const typed = ((ctx.values || {})[block.block_id] || {})[elementDef.action_id];
    field.value = (typed && typed.value != null ? typed.value : elementDef.initial_value) || "";
    if (elementDef.max_length) field.maxLength = elementDef.max_length;
    if (elementDef.placeholder) field.placeholder = elementDef.placeholder.text || "";
    if (elementDef.multiline) field.rows = 5;
    field.dataset.blockId = block.block_id || "";
    field.dataset.actionId = elementDef.action_id || "";
    field.dataset.optional = block.optional ? "1" : "";
    node.appendChild(field);
    if (block.hint) {
      const hint = el("div", "hint");
      hint.appendChild(Mrkdwn.plain(block.hint.text));
      node.appendChild(hint);
    }
    const error = el("div", "bk-error", "input-error-" + block.block_id);
    error.textContent = (ctx.errors && ctx.errors[block.block_id]) || "";
    error.hidden = !error.textContent;
    node.appendChild(error);
    return node;
  }

  function richText(block, ctx) {
    const parts = [];
    (block.elements || []).forEach((section) => (section.elements || []).forEach((item) => {
      if (item.type === "text") parts.push(item.text);
      else if (item.type === "user") parts.push("<@" + item.user_id + ">");
      else if (item.type === "link") parts.push(item.url);
    }));
    return Mrkdwn.render(parts.join("").replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;"), ctx);
  }

  function block(b, ctx) {
    switch (b.type) {
      case "header": {
        const h = el("div", "bk-header");
        h.appendChild(Mrkdwn.plain(b.text && b.text.text, b.text && b.text.emoji));
        return h;
      }
      case "section":
        return section(b, ctx);
      case "context": {
        const c = el("div", "bk-context");
        (b.elements || []).forEach((item) => c.appendChild(element(item, b.block_id, ctx)));
        return c;
      }
      case "divider":
        return el("hr", "bk-divider");
      case "actions": {
        const a = el("div", "bk-actions");
        (b.elements || []).forEach((item) => a.appendChild(element(item, b.block_id, ctx)));
        return a;
      }
      case "input":
        return input(b, ctx);
      case "image": {
        const i = el("div", "bk-image-alt");
        i.textContent = "[image: " + (b.alt_text || "") + "]";
        return i;
      }
      case "rich_text":
        return richText(b, ctx);
      case "context_actions": {  // feedback buttons (👍 / 👎), each a button carrying its own value
        const a = el("div", "bk-context-actions");
        (b.elements || []).forEach((item) => {
          if (item.type !== "feedback_buttons") { a.appendChild(element(item, b.block_id, ctx)); return; }
          [["positive_button", "good"], ["negative_button", "bad"]].forEach(([side, name]) => {
            const def = item[side] || {};
            const node = button({ type: "feedback_button", action_id: item.action_id, value: def.value,
                                  text: def.text }, b.block_id, ctx);
            node.dataset.testid = "feedback-" + name;
            const drawn = Icons.emoji(name === "good" ? "+1" : "-1");  // 👍 / 👎 without an emoji font
            if (drawn) node.replaceChildren(drawn);
            if (def.accessibility_label) node.setAttribute("aria-label", def.accessibility_label);
            a.appendChild(node);
          });
        });
        return a;
      }
      default: {
        const u = el("div", "bk-unsupported");
        u.textContent = "[unsupported block: " + b.type + "]";
        return u;
      }
    }
  }

  // Render ``blocks`` into a container. ctx: {users, channels, onAction(element, blockId, button), errors}.
  function render(blocks, ctx) {
    const root = el("div", "blocks");
    (blocks || []).forEach((b) => {
      const node = block(b, ctx || {});
      node.dataset.blockType = b.type;
      if (b.block_id) node.dataset.blockId = b.block_id;
      root.appendChild(node);
    });
    return root;
  }

  return { render, text };
})();
