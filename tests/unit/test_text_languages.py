"""Both official languages: every message id exists in English and in French with the same placeholders; a
message is said in the reader's language (Slack locale, else the configured one), untrusted text staying inert."""

from __future__ import annotations

import string

import pytest

from bot.core import language, text
from bot.core.text import EN, LANGUAGES, Msg, Quote, User
from handlers.mrkdwn import mrkdwn


def placeholders(template: str) -> set[str]:
    return {name for _lit, name, _spec, _conv in string.Formatter().parse(template) if name is not None}


def ids(catalog: dict[str, str] | object) -> set[str]:
    return {k for k in catalog if not k.startswith("_")}  # type: ignore[union-attr]


@pytest.mark.parametrize("lang", [lang for lang in LANGUAGES if lang != "en"])
def test_every_message_id_exists_in_every_language(lang: str) -> None:
    catalog = text.CATALOGS[lang]
    missing = sorted(ids(EN) - ids(catalog))
    assert not missing, f"{len(missing)} message id(s) missing in {lang!r} (bot/core/text_{lang}.py): {missing}"
    extra = sorted(ids(catalog) - ids(EN))
    assert not extra, f"message id(s) in {lang!r} that English does not have: {extra}"


@pytest.mark.parametrize("lang", [lang for lang in LANGUAGES if lang != "en"])
def test_placeholders_are_intact_in_every_language(lang: str) -> None:
    catalog = text.CATALOGS[lang]
    broken = {key: (sorted(placeholders(EN[key])), sorted(placeholders(catalog[key])))
              for key in ids(EN) & ids(catalog) if placeholders(EN[key]) != placeholders(catalog[key])}
    assert not broken, f"placeholders differ (id: (English, {lang})): {broken}"
    for key in ids(catalog):
        assert ("&lt;" in EN[key]) == ("&lt;" in catalog[key]), key  # Maple's own mrkdwn escapes kept


@pytest.mark.parametrize(("locale", "default", "lang"), [
    ("fr-CA", "en", "fr"), ("fr-FR", "en", "fr"), ("en-US", "fr", "en"), ("en-GB", "en", "en"), ("es-ES", "fr", "fr"),
    (None, "en", "en"), ("", "fr", "fr"), ("fr_CA", "en", "fr"),
])
def test_language_from_the_slack_locale(locale: str | None, default: str, lang: str) -> None:
    assert text.language_of(locale, default) == lang


def test_a_message_in_french_keeps_untrusted_text_inert_and_groups_thousands() -> None:
    said = mrkdwn(text.in_language(text.goal_too_long(4000, 4120, "<!channel> *hi*"), "fr"))
    assert said.startswith("Cet objectif compte 4\u00a0120 caractères ; la limite est de 4\u00a0000")
    assert "&lt;!channel&gt;" in said and "<!channel>" not in said
    nested = text.lines([text.msg("told_rejected", run="R-1", user=User("U0REVIEW"), reason=Quote("<@U0ADMIN>"))])
    fr = mrkdwn(text.in_language(nested, "fr"))
    assert fr == "Votre demande R-1 a été refusée par <@U0REVIEW>. Motif : &lt;@U0ADMIN&gt;"
    assert mrkdwn(text.in_language(nested, "xx")) == mrkdwn(nested)  # an unknown language: English
    assert isinstance(text.in_language(text.USAGE, "fr"), Msg) and str(text.USAGE).startswith("*Maple* turns")


@pytest.mark.parametrize(("goal", "lang"), [
    ("rédige une réponse au fournisseur au sujet de la livraison en retard", "fr"),
    ("Peux-tu résumer la réunion d'hier pour l'équipe?", "fr"),
    ("draft a reply to the supplier about the late shipment", "en"),
    ("summarize this channel for the team", "en"),
    ("Acme", None), ("Q3", None),
])
def test_the_goals_language(goal: str, lang: str | None) -> None:
    assert language.detect(goal) == lang


def test_drafts_follow_the_goal_unless_the_workflow_says_otherwise() -> None:
    assert "in French" in language.rule("rédige une note pour l'équipe", "goal")
    assert language.rule("rédige une note pour l'équipe", "en") == "Write your answer in English."
    assert "in French" in language.rule("draft a note for the team", "fr")


def test_every_emoji_code_maple_writes_is_drawn_by_the_local_workspace() -> None:
    """States never depend on an emoji font: each :code: in either catalog has a drawing in workspace/static/icons.js
    (Slack draws them itself)."""
    import re
    from pathlib import Path

    icons = (Path(__file__).parents[2] / "workspace" / "static" / "icons.js").read_text()
    drawn = set(re.findall(r'^\s+"?([a-z0-9_+-]+)"?: \["', icons, re.M))
    drawn |= set(re.findall(r'\b([a-z0-9_]+): "[a-z0-9_+-]+"', icons.split("ALIASES", 1)[1].split(";", 1)[0]))
    used = {code for catalog in text.CATALOGS.values() for template in catalog.values()
            for code in re.findall(r":([a-z0-9_+-]+):", template)}
    assert used and not used - drawn, f"emoji codes without a drawing: {sorted(used - drawn)}"
