// Slack mrkdwn → DOM nodes. Text only ever reaches the page through text nodes (never innerHTML), and Slack's
// escapes (&amp; &lt; &gt;) are decoded at the very end, so escaped text shows as typed and is never markup.
"use strict";

const Mrkdwn = (() => {
  const INLINE = [
    { kind: "code", re: /`([^`\n]+)`/ },
    { kind: "angle", re: /<([^<>\n]+)>/ },
    { kind: "bold", re: /(^|[^\w*])\*(?=\S)([^*\n]*?\S)\*(?![\w*])/ },
    { kind: "italic", re: /(^|[^\w_])_(?=\S)([^_\n]*?\S)_(?![\w_])/ },
    { kind: "strike", re: /(^|[^\w~])~(?=\S)([^~\n]*?\S)~(?![\w~])/ },
  ];
  const TAGS = { bold: "strong", italic: "em", strike: "s" };

  function decode(text) {
    return text.replace(/&(amp|lt|gt);/g, (_m, name) => ({ amp: "&", lt: "<", gt: ">" })[name]);
  }

  // Slack's :emoji: codes become Icons' inline drawings where one exists; any other code stays as typed, as
  // Slack shows a code it does not know. Never a font glyph, so no state turns into an empty box.
  function withEmoji(text, into) {
    const re = /:([a-z0-9_+-]+):/g;
    let last = 0;
    let m;
    while ((m = re.exec(text))) {
      const icon = Icons.emoji(m[1]);
      if (!icon) {
        re.lastIndex = m.index + 1;  // its closing colon may open the next code
        continue;
      }
      if (m.index > last) into.appendChild(document.createTextNode(text.slice(last, m.index)));
      into.appendChild(icon);
      last = m.index + m[0].length;
    }
    if (last < text.length) into.appendChild(document.createTextNode(text.slice(last)));
    return into;
  }

  function textNode(raw) {
    return withEmoji(decode(raw), document.createDocumentFragment());
  }

  function span(cls, text) {
    const el = document.createElement("span");
    el.className = cls;
    el.textContent = text;
    return el;
  }

  function safeHref(url) {
    return /^(https?:|mailto:)/i.test(url) ? url : null;
  }

  // <@U123|name>, <#C123|name>, <!here>, <!subteam^S1|@team>, <url|label>
  function angle(body, ctx) {
    const bar = body.indexOf("|");
    const target = bar >= 0 ? body.slice(0, bar) : body;
    const label = bar >= 0 ? decode(body.slice(bar + 1)) : "";
    if (target.startsWith("@")) {
      const id = target.slice(1);
      const user = ctx.users && ctx.users[id];
      const shown = user ? (user.is_bot ? user.real_name : user.name) : (label || id);
      return span("mention", "@" + shown);
    }
    if (target.startsWith("#")) {
      const id = target.slice(1);
      const name = (ctx.channels && ctx.channels[id]) || label || id;
      return span("mention channel-mention", "#" + name);
    }
    if (target.startsWith("!")) {
      const word = target.slice(1);
      if (word.startsWith("subteam^")) return span("mention", label || "@" + word.slice(8));
      if (word.startsWith("date^")) return document.createTextNode(label || word);
      return span("mention broadcast", "@" + word);
    }
    const url = decode(target);
    const href = safeHref(url);
    if (!href) return document.createTextNode(label || url);
    const a = document.createElement("a");
    a.href = href;
    a.target = "_blank";
    a.rel = "noopener noreferrer";
    a.textContent = label || url;
    return a;
  }

  function earliest(text) {
    let best = null;
    for (const rule of INLINE) {
      const m = rule.re.exec(text);
      if (!m) continue;
      const lead = rule.kind in TAGS ? m[1].length : 0;
      const start = m.index + lead;
      if (!best || start < best.start) best = { rule, m, start, end: m.index + m[0].length };
    }
    return best;
  }

  function inline(text, ctx, into) {
    let rest = text;
    while (rest) {
      const hit = earliest(rest);
      if (!hit) {
        into.appendChild(textNode(rest));
        break;
      }
      if (hit.start > 0) into.appendChild(textNode(rest.slice(0, hit.start)));
      const { kind } = hit.rule;
      if (kind === "code") {
        const code = document.createElement("code");
        code.textContent = decode(hit.m[1]);
        into.appendChild(code);
      } else if (kind === "angle") {
        into.appendChild(angle(hit.m[1], ctx));
      } else {
        const el = document.createElement(TAGS[kind]);
        inline(hit.m[2], ctx, el);
        into.appendChild(el);
      }
      rest = rest.slice(hit.end);
    }
    return into;
  }

  function lines(text, ctx, into) {
    const all = text.split("\n");
    let quote = null;
    all.forEach((line, i) => {
      const q = /^(&gt;|>)\s?/.exec(line);
      if (q) {
        if (!quote) {
          quote = document.createElement("blockquote");
          into.appendChild(quote);
        } else {
          quote.appendChild(document.createElement("br"));
        }
        inline(line.slice(q[0].length), ctx, quote);
        return;
      }
      quote = null;
      inline(line, ctx, into);
      if (i < all.length - 1 && !(all[i + 1] && /^(&gt;|>)/.test(all[i + 1]))) {
        into.appendChild(document.createElement("br"));
      }
    });
  }

  // Render mrkdwn ``text`` into a fresh <div>. ctx: {users: {id: {name}}, channels: {id: name}}.
  function render(text, ctx) {
    const root = document.createElement("div");
    root.className = "mrkdwn";
    const parts = String(text || "").split(/```/);
    parts.forEach((part, i) => {
      if (i % 2 === 1 && i < parts.length - 1) {
        const pre = document.createElement("pre");
        pre.textContent = decode(part.replace(/^\n/, ""));
        root.appendChild(pre);
      } else {
        lines(i % 2 === 1 ? "```" + part : part, ctx || {}, root);
      }
    });
    return root;
  }

  // plain_text (``emoji`` false: codes stay text) as nodes to append to an element.
  function plain(text, useEmoji) {
    const raw = String(text || "");
    const into = document.createDocumentFragment();
    return useEmoji === false ? (into.appendChild(document.createTextNode(raw)), into) : withEmoji(raw, into);
  }

  return { render, plain, decode };
})();
