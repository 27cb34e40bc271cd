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

# Consonants only: a nonce can never read as a number (a phone, a card) or a word (the health vocabulary), so the
# fence itself never raises the level of the text it carries; 20**16 is about 2**69 values.
_NONCE_LETTERS = "bcdfghjklmnpqrstvwxz"


def nonce() -> str:
    """A marker no text can know in advance and no sensitivity detector can match."""
    return "".join(secrets.choice(_NONCE_LETTERS) for _ in range(16))


def fenced(tool: str, output: str) -> str:
    nonce_ = nonce()
    body = output.replace(nonce_, "")  # cannot happen by chance; a text that quotes the nonce loses it
    return (f"{text.fence_header(tool, nonce_)}\n"
            f"<<<TOOL OUTPUT {nonce_}>>>\n{body}\n<<<END TOOL OUTPUT {nonce_}>>>")
