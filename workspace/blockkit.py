"""Block Kit limits the local workspace enforces as Slack does, so a message Slack would refuse is refused here.

Each problem is phrased like Slack's ``invalid_blocks`` errors: ``what [json-pointer:/blocks/0/text/text]``.
"""

from __future__ import annotations

from typing import Any

BLOCK_TYPES = {"section", "header", "context", "divider", "actions", "input", "image", "rich_text", "markdown",
               "file", "video", "context_actions"}
TEXT_TYPES = {"plain_text", "mrkdwn"}


def _text(obj: Any, where: str, *, limit: int, plain: bool = False) -> list[str]:
    if not isinstance(obj, dict) or obj.get("type") not in TEXT_TYPES or not isinstance(obj.get("text"), str):
        return [f"must be a text object [json-pointer:{where}]"]
    if plain and obj["type"] != "plain_text":
        return [f"must be plain_text [json-pointer:{where}/type]"]
    if len(obj["text"]) > limit:
        return [f"must be less than {limit + 1} characters [json-pointer:{where}/text]"]
    if not obj["text"]:
        return [f"must be more than 0 characters [json-pointer:{where}/text]"]
    return []


def _element(element: Any, where: str) -> list[str]:
    if not isinstance(element, dict) or not isinstance(element.get("type"), str):
        return [f"must be an element [json-pointer:{where}]"]
    problems: list[str] = []
    if len(str(element.get("action_id", ""))) > 255:
        problems.append(f"must be less than 256 characters [json-pointer:{where}/action_id]")
    if element["type"] == "button":
        problems += _text(element.get("text"), f"{where}/text", limit=75, plain=True)
        if len(str(element.get("value", ""))) > 2000:
            problems.append(f"must be less than 2001 characters [json-pointer:{where}/value]")
        if element.get("style") not in (None, "primary", "danger"):
            problems.append(f"must be primary or danger [json-pointer:{where}/style]")
    if element["type"] == "plain_text_input" and len(str(element.get("initial_value") or "")) > int(
            element.get("max_length") or 3000):
        problems.append(f"initial_value is longer than max_length [json-pointer:{where}/initial_value]")
    return problems


def _block(block: Any, where: str) -> list[str]:
    if not isinstance(block, dict) or block.get("type") not in BLOCK_TYPES:
        return [f"unsupported type [json-pointer:{where}/type]"]
    kind, problems = block["type"], []
    if len(str(block.get("block_id", ""))) > 255:
        problems.append(f"must be less than 256 characters [json-pointer:{where}/block_id]")
    if kind == "header":
        problems += _text(block.get("text"), f"{where}/text", limit=150, plain=True)
    elif kind == "section":
        if "text" not in block and "fields" not in block:
            problems.append(f"must provide text or fields [json-pointer:{where}]")
        if "text" in block:
            problems += _text(block["text"], f"{where}/text", limit=3000)
        fields = block.get("fields", [])
        if not isinstance(fields, list) or len(fields) > 10:
            problems.append(f"must be an array of at most 10 items [json-pointer:{where}/fields]")
        else:
            for i, item in enumerate(fields):
                problems += _text(item, f"{where}/fields/{i}", limit=2000)
    elif kind == "context":
        elements = block.get("elements")
        if not isinstance(elements, list) or not 0 < len(elements) <= 10:
            problems.append(f"must have 1 to 10 elements [json-pointer:{where}/elements]")
        else:
            for i, item in enumerate(elements):
                if isinstance(item, dict) and item.get("type") in TEXT_TYPES:
                    problems += _text(item, f"{where}/elements/{i}", limit=3000)
    elif kind == "actions":
        elements = block.get("elements")
        if not isinstance(elements, list) or not 0 < len(elements) <= 25:
            problems.append(f"must have 1 to 25 elements [json-pointer:{where}/elements]")
        else:
            for i, item in enumerate(elements):
                problems += _element(item, f"{where}/elements/{i}")
    elif kind == "context_actions":
        problems += _context_actions(block.get("elements"), where)
    elif kind == "input":
        problems += _text(block.get("label"), f"{where}/label", limit=2000, plain=True)
        problems += _element(block.get("element"), f"{where}/element")
    return problems


def _context_actions(elements: Any, where: str) -> list[str]:
    """Feedback buttons and icon buttons only, at most 5 (Slack's context-actions block)."""
    if not isinstance(elements, list) or not 0 < len(elements) <= 5:
        return [f"must have 1 to 5 elements [json-pointer:{where}/elements]"]
    problems: list[str] = []
    for i, item in enumerate(elements):
        at = f"{where}/elements/{i}"
        kind = item.get("type") if isinstance(item, dict) else None
        if kind == "icon_button":
            problems += _text(item.get("text"), f"{at}/text", limit=75, plain=True)
        elif kind == "feedback_buttons":
            for side in ("positive_button", "negative_button"):
                button = item.get(side)
                if not isinstance(button, dict):
                    problems.append(f"must provide {side} [json-pointer:{at}/{side}]")
                    continue
                problems += _text(button.get("text"), f"{at}/{side}/text", limit=75, plain=True)
                if not isinstance(button.get("value"), str) or not 0 < len(button["value"]) <= 2000:
                    problems.append(f"must be 1 to 2000 characters [json-pointer:{at}/{side}/value]")
                if len(str(button.get("accessibility_label", ""))) > 75:
                    problems.append(f"must be less than 76 characters [json-pointer:{at}/{side}/accessibility_label]")
        else:
            problems.append(f"must be feedback_buttons or icon_button [json-pointer:{at}/type]")
    return problems


def block_problems(blocks: Any, *, limit: int, prefix: str = "/blocks") -> list[str]:
    if not isinstance(blocks, list):
        return [f"must be an array [json-pointer:{prefix}]"]
    if len(blocks) > limit:
        return [f"must contain at most {limit} blocks [json-pointer:{prefix}]"]
    problems: list[str] = []
    seen: set[str] = set()
    for i, block in enumerate(blocks):
        problems += _block(block, f"{prefix}/{i}")
        block_id = block.get("block_id") if isinstance(block, dict) else None
        if block_id:
            if block_id in seen:
                problems.append(f"block_id is not unique [json-pointer:{prefix}/{i}/block_id]")
            seen.add(block_id)
    return problems


def view_problems(view: Any) -> list[str]:
    if not isinstance(view, dict) or view.get("type") not in ("modal", "home"):
        return ["[ERROR] view type must be modal or home [json-pointer:/view/type]"]
    problems = block_problems(view.get("blocks", []), limit=100, prefix="/view/blocks")
    if view["type"] == "modal":
        problems += _text(view.get("title"), "/view/title", limit=24, plain=True)
        for key in ("submit", "close"):
            if key in view:
                problems += _text(view[key], f"/view/{key}", limit=24, plain=True)
        has_input = any(isinstance(b, dict) and b.get("type") == "input" for b in view.get("blocks", []))
        if has_input and "submit" not in view:
            problems.append("[ERROR] a modal with inputs needs a submit button [json-pointer:/view/submit]")
    if len(str(view.get("private_metadata", ""))) > 3000:
        problems.append("[ERROR] must be less than 3001 characters [json-pointer:/view/private_metadata]")
    return [p if p.startswith("[ERROR]") else "[ERROR] " + p for p in problems]
