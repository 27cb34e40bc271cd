"""WCAG contrast from what the browser computed: every visible text (and placeholder) against the backgrounds
it is drawn over, with opacity; 4.5:1 for normal text, 3:1 for large text (24px, or 18.66px bold)."""

from __future__ import annotations

import re
from typing import Any

CONTRAST_JS = """
function parse(c) {
  const p = c.match(/rgba?\\(([^)]+)\\)/)[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
  return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
}
function over(fg, bg) { const a = fg[3]; return [0, 1, 2].map((i) => fg[i] * a + bg[i] * (1 - a)).concat([1]); }
function lum(c) {
  const [r, g, b] = c.slice(0, 3).map((v) => { v /= 255; return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}
function ratio(fg, bg) { const [a, b] = [lum(over(fg, bg)), lum(bg)]; return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05); }
function backdrop(el) {
  const chain = [];
  for (let e = el; e; e = e.parentElement) chain.unshift(e);
  return chain.reduce((bg, e) => { const c = parse(getComputedStyle(e).backgroundColor); return c[3] ? over(c, bg) : bg; },
                      [255, 255, 255, 1]);
}
function opacity(el) { let o = 1; for (let e = el; e; e = e.parentElement) o *= Number(getComputedStyle(e).opacity); return o; }
"""
AUDIT_JS = CONTRAST_JS + """
const found = [];
const visible = (el) => el.getClientRects().length && getComputedStyle(el).visibility === "visible";
for (const el of document.querySelectorAll("body *")) {
  if (!visible(el) || el.closest(":disabled, svg")) continue;
  const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
  const style = getComputedStyle(el);
  const checks = own ? [[style.color, el.textContent.trim().slice(0, 40)]] : [];
  if ((el.tagName === "TEXTAREA" || el.tagName === "INPUT") && el.placeholder && !el.value) {
    checks.push([getComputedStyle(el, "::placeholder").color, "placeholder: " + el.placeholder.slice(0, 30)]);
  }
  const size = parseFloat(style.fontSize), bold = Number(style.fontWeight) >= 700;
  const needed = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
  for (const [color, text] of checks) {
    const c = parse(color);
    c[3] *= opacity(el);
    const r = ratio(c, backdrop(el));
    if (r < needed) found.push(`${r.toFixed(2)}:1 < ${needed} for "${text}" (${color} on ${backdrop(el).slice(0, 3)})`);
  }
}
return found;
"""


async def audit(page: Any) -> list[str]:
    return await page.evaluate(f"() => {{ {AUDIT_JS} }}")  # type: ignore[no-any-return]


def contrast(color: str, background: tuple[int, int, int] = (255, 255, 255)) -> float:
    def lum(rgb: tuple[float, ...]) -> float:
        c = [v / 255 for v in rgb]
        c = [v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4 for v in c]
        return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]

    found = re.search(r"rgba?\((\d+), (\d+), (\d+)", color)
    assert found, color
    a, b = lum(tuple(float(x) for x in found.groups())), lum(background)
    return (max(a, b) + 0.05) / (min(a, b) + 0.05)
