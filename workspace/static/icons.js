// Inline SVG icons: the private-channel lock and Slack's emoji codes for states (:white_check_mark:, :x:, …).
// Drawn as vector shapes, so a state never depends on an emoji font being installed; built with
// createElementNS (never markup strings).
"use strict";

const Icons = (() => {
  const NS = "http://www.w3.org/2000/svg";
  const GREEN = "#007a5a", RED = "#cd2553", AMBER = "#a85d00", BLUE = "#1264a3", GREY = "#616061";
  // name → [label for assistive technology, [tag, attributes]…] on a 24×24 grid
  const SHAPES = {
    lock: ["private", [
      ["path", { d: "M7 10V7a5 5 0 0 1 10 0v3", fill: "none", stroke: "currentColor", "stroke-width": "2.4" }],
      ["rect", { x: "4", y: "10", width: "16", height: "12", rx: "2.5", fill: "currentColor" }]]],
    white_check_mark: ["check mark", [
      ["rect", { x: "1", y: "1", width: "22", height: "22", rx: "5", fill: GREEN }],
      ["path", { d: "M6 12.5l4 4 8-9", fill: "none", stroke: "#fff", "stroke-width": "3", "stroke-linecap": "round",
                 "stroke-linejoin": "round" }]]],
    heavy_check_mark: ["check mark", [
      ["path", { d: "M4 13l5 5L20 6", fill: "none", stroke: GREEN, "stroke-width": "3.5", "stroke-linecap": "round",
                 "stroke-linejoin": "round" }]]],
    x: ["cross mark", [
      ["path", { d: "M5 5l14 14M19 5L5 19", fill: "none", stroke: RED, "stroke-width": "4", "stroke-linecap": "round" }]]],
    warning: ["warning", [
      ["path", { d: "M12 2L23 21H1z", fill: AMBER, "stroke-linejoin": "round" }],
      ["rect", { x: "10.8", y: "8", width: "2.4", height: "7", rx: "1", fill: "#fff" }],
      ["circle", { cx: "12", cy: "18", r: "1.4", fill: "#fff" }]]],
    hourglass: ["hourglass", [
      ["path", { d: "M5 2h14v3c0 3-3 5-5 7 2 2 5 4 5 7v3H5v-3c0-3 3-5 5-7-2-2-5-4-5-7z", fill: AMBER }],
      ["path", { d: "M8 19c0-1.5 2-3 4-4 2 1 4 2.5 4 4z", fill: "#fff" }]]],
    no_entry: ["no entry", [
      ["circle", { cx: "12", cy: "12", r: "11", fill: RED }],
      ["rect", { x: "5", y: "10", width: "14", height: "4", rx: "1", fill: "#fff" }]]],
    no_entry_sign: ["prohibited", [
      ["circle", { cx: "12", cy: "12", r: "9.5", fill: "none", stroke: RED, "stroke-width": "3" }],
      ["path", { d: "M5.5 5.5l13 13", stroke: RED, "stroke-width": "3" }]]],
    information_source: ["information", [
      ["rect", { x: "1", y: "1", width: "22", height: "22", rx: "5", fill: BLUE }],
      ["circle", { cx: "12", cy: "6.5", r: "1.8", fill: "#fff" }],
      ["rect", { x: "10.4", y: "10", width: "3.2", height: "9", rx: "1", fill: "#fff" }]]],
    pencil2: ["pencil", [
      ["path", { d: "M3 21l1.5-5.5L16 4l4 4L8.5 19.5z", fill: GREY }],
      ["path", { d: "M3 21l1.5-5.5 4 4z", fill: "#1d1c1d" }]]],
    lock_emoji: ["lock", [
      ["path", { d: "M7 10V7a5 5 0 0 1 10 0v3", fill: "none", stroke: AMBER, "stroke-width": "2.4" }],
      ["rect", { x: "4", y: "10", width: "16", height: "12", rx: "2.5", fill: AMBER }]]],
    double_vertical_bar: ["pause", [
      ["rect", { x: "5", y: "3", width: "5", height: "18", rx: "1.5", fill: BLUE }],
      ["rect", { x: "14", y: "3", width: "5", height: "18", rx: "1.5", fill: BLUE }]]],
    "+1": ["thumbs up", [
      ["path", { d: "M2 10h4v11H2z", fill: AMBER }],
      ["path", { d: "M8 10l4-8c1.7 0 2.8 1.3 2.5 3L14 9h6c1.2 0 2.1 1.1 1.9 2.3l-1.5 8A2 2 0 0 1 18.4 21H8z",
                 fill: AMBER }]]],
    "-1": ["thumbs down", [
      ["path", { d: "M2 3h4v11H2z", fill: AMBER }],
      ["path", { d: "M8 14l4 8c1.7 0 2.8-1.3 2.5-3L14 15h6c1.2 0 2.1-1.1 1.9-2.3l-1.5-8A2 2 0 0 0 18.4 3H8z",
                 fill: AMBER }]]],
  };
  const ALIASES = { hourglass_flowing_sand: "hourglass", memo: "pencil2", lock: "lock_emoji", thumbsup: "+1",
                    thumbsdown: "-1" };

  function svg(name) {
    const [label, shapes] = SHAPES[name];
    const root = document.createElementNS(NS, "svg");
    root.setAttribute("viewBox", "0 0 24 24");
    root.setAttribute("aria-hidden", "true");
    root.setAttribute("focusable", "false");
    root.dataset.icon = name;
    shapes.forEach(([tag, attrs]) => {
      const shape = document.createElementNS(NS, tag);
      Object.entries(attrs).forEach(([k, v]) => shape.setAttribute(k, v));
      root.appendChild(shape);
    });
    return { root, label };
  }

  // The lock shown before a private channel's name (the sidebar, the channel header).
  function lock() {
    const { root } = svg("lock");
    return root;
  }

  // An emoji code (without colons) as an inline image, or null when it has no drawing here.
  function emoji(code) {
    const name = ALIASES[code] || code;
    if (!SHAPES[name] || name === "lock") return null;
    const { root, label } = svg(name);
    const span = document.createElement("span");
    span.className = "emoji";
    span.setAttribute("role", "img");
    span.setAttribute("aria-label", label);
    span.title = `:${code}:`;
    span.dataset.emoji = code;
    span.appendChild(root);
    return span;
  }

  return { lock, emoji };
})();
