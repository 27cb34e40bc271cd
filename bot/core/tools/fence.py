"""Tool output reaches a model as data, never as instructions.

What an MCP server returns was written by whoever fed that system (a ticket's author, a web page, a stranger), so
it is put between two markers carrying a random nonce the text cannot know — it cannot close the fence and speak
as Maple — after a line telling the model that what follows is data to use, not instructions to follow. Whatever
the model then asks for still goes through the registry: only allowlisted tools, validated, cleared, and every
side effect planned for a person's approval. The fence lowers the odds of an injection; the registry is what
makes one harmless."""

from __future__ import annotations

import secrets

from bot.core import text


def fenced(tool: str, output: str) -> str:
    nonce = secrets.token_hex(8)
    body = output.replace(nonce, "")  # cannot happen by chance; a text that quotes the nonce loses it
    return (f"{text.fence_header(tool, nonce)}\n"
            f"<<<TOOL OUTPUT {nonce}>>>\n{body}\n<<<END TOOL OUTPUT {nonce}>>>")
