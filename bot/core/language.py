"""Which official language a text is written in (English or French), for drafts and answers that follow the
language of the goal. A small, deterministic count of each language's most common words and French accents;
None when there is too little to tell."""

from __future__ import annotations

import re

_WORD = re.compile(r"[a-zàâäçéèêëîïôöùûüÿœæ']+")
_FR = frozenset("""le la les un une des du de au aux et ou est sont pour avec sans sur dans par pas ne que qui quoi
quel quelle quels quelles ce cette ces mon ma mes ton ta tes son sa ses notre nos votre vos leur leurs je tu il elle
nous vous ils elles on y en à été être avoir fait faire peux peut pouvez rédige rédiger résume résumer réponse
courriel bonjour merci s'il svp combien jusqu'au jusqu'à quand comment pourquoi aussi mais donc car très plus
moins lettre fournisseur équipe réunion""".split())
_EN = frozenset("""the a an and or is are for with without on in by not that which what who this these those my
your our their his her its i you he she we they it be been have has do does did can could would should will
please write draft reply summarize summary about to of from how many when why also but so very more less letter
supplier team meeting hi hello thanks""".split())
_ACCENTS = re.compile(r"[àâçéèêëîïôùûüÿœ]")


def detect(text: str) -> str | None:
    """``"en"``, ``"fr"`` or None (too short, or as much of one as of the other). Reads the first 2,000
    characters."""
    sample = text[:2000].lower().replace("’", "'")
    words = _WORD.findall(sample)
    fr = sum(1 for w in words if w in _FR or w.split("'")[-1] in _FR or w.startswith(("l'", "d'", "qu'", "j'", "n'")))
    en = sum(1 for w in words if w in _EN)
    fr += len(_ACCENTS.findall(sample)) // 2
    if max(fr, en) < 2 or fr == en:
        return None
    return "fr" if fr > en else "en"


RULES = {
    "fr": "Write your answer in French (the request is in French), in the register of Canadian public institutions.",
    "en": "Write your answer in English.",
    None: "Write your answer in the language of the request (English or French).",
}


def rule(goal: str, setting: str) -> str:
    """The instruction given to the model for a workflow whose ``language`` is ``setting`` (goal · en · fr)."""
    if setting in ("en", "fr"):
        return RULES[setting]
    return RULES[detect(goal)]
