"""Each message in its reader's language: a review message in a reviewer's DM follows that reviewer's Slack locale,
one in a review channel the configured ``language:``; the requester's run message and notices follow the
requester's locale; a result posted in a channel the configured language. Labels, buttons, fields, modals, notes
and times come from the catalog; the draft itself is shown as it was written."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

from bot.core import intake, review, text
from bot.core.models import Origin
from bot.core.ports import People, Person
from bot.core.status import local_time
from handlers.blocks import edit_modal, reject_modal, render, revise_modal
from tests.unit.core_env import current, make_services, make_spec
from tests.unit.test_core_flow import drain
from tests.unit.test_review_layout import texts


class Locales(People):
    """users.info's locale, per person (unknown people: nothing known)."""

    def __init__(self, locales: dict[str, str]) -> None:
        self.locales = locales
        self.asked: list[str] = []

    async def person(self, user: str) -> Person:
        self.asked.append(user)
        return Person(locale=self.locales.get(user))


def labels(blocks: list[dict]) -> list[str]:
    return [e["text"]["text"] for b in blocks if b["type"] == "actions" for e in b["elements"]]


async def reviewed(locales: dict[str, str], *, language: str = "en", requester_locale: str | None = None):  # type: ignore[no-untyped-def]
    svc = replace(make_services(spec=make_spec(language=language)), people=Locales(locales))
    svc.surface.kinds["C1"] = "public"
    run = await intake.submit(svc, intake.Intake(requester="U0REQUEST", origin=Origin(channel="C1"),
                                                 goal="draft a note", workflow="draft", locale=requester_locale))
    await drain(svc)
    return svc, await svc.store.get(run.id)


def posted(svc, effect: str):  # type: ignore[no-untyped-def]
    return next(p for p in svc.surface.posts if p["effect"] == effect)


def run_message(svc):  # type: ignore[no-untyped-def]
    """The requester's run message as it shows now (posted once, then updated)."""
    updates = [view for _ref, view in svc.surface.updates if view.kind == "progress"]
    return updates[-1] if updates else posted(svc, "progress")["view"]


async def test_a_review_in_a_french_reviewers_dm_is_in_french_and_the_draft_as_written() -> None:
    svc, run = await reviewed({"U0REVIEW": "fr-CA"})
    post = posted(svc, "review:U0REVIEW")
    notification, blocks = render(post["view"])
    shown = texts(blocks)
    assert notification.startswith("Ébauche à réviser")
    assert shown[0] == "Ébauche à réviser"
    assert "L'approbation publie dans" in shown[1] and "canal public" in shown[1] and "Interne" in shown[1]
    assert "*Ébauche*" in shown and any("A draft." in t for t in shown)  # the model's words are not translated
    assert labels(blocks) == ["Approuver", "Modifier", "Refuser"]
    notes = " ".join(t for t in shown if "démonstration" in t)
    assert "rédigé par le modèle de démonstration local" in notes  # a note kept on the draft, in French
    assert not any(word in " ".join(shown) for word in ("Approve posts", "Sensitivity", "Requested by", "demo model"))


async def test_the_same_review_is_english_for_an_english_reviewer_and_unknown_people_get_the_configured_one() -> None:
    svc, run = await reviewed({"U0REVIEW": "en-US", "U0REVIEW2": "fr-CA"}, language="fr")
    english = render(posted(svc, "review:U0REVIEW")["view"])[1]
    french = render(posted(svc, "review:U0REVIEW2")["view"])[1]
    assert texts(english)[0] == "Draft for review" and labels(english) == ["Approve", "Edit", "Reject"]
    assert texts(french)[0] == "Ébauche à réviser" and labels(french)[0] == "Approuver"
    # the requester's run message follows the requester: nothing known, so the configured French
    progress = render(run_message(svc))[1]
    assert "Chez les réviseurs" in " ".join(texts(progress)) and labels(progress) == ["Annuler la demande"]


async def test_the_result_in_a_channel_follows_the_configured_language_and_the_requester_their_locale() -> None:
    svc, run = await reviewed({"U0REVIEW": "fr-CA"}, language="en", requester_locale="fr-CA")
    await review.decide(svc, run_id=run.id, user="U0REVIEW", kind="approve", seen_version=await current(svc, run.id))
    await drain(svc)
    result = posted(svc, "result")
    assert result["channel"] == "C1" and result["view"].language == "en"
    assert "Requested by" in json.dumps(render(result["view"])[1])
    told = posted(svc, "notify:approved")
    assert told["view"].language == "fr" and "a été approuvée par" in render(told["view"])[0]
    shown = " ".join(texts(render(run_message(svc))[1]))
    assert "Approuvée par" in shown and "publiée dans" in shown, shown


async def test_a_review_channel_follows_the_configured_language_whoever_reads_it() -> None:
    svc = replace(make_services(spec=make_spec(language="fr", review={"channel": "C0REVIEW"})),
                  people=Locales({"U0REVIEW": "en-US"}))
    svc.surface.kinds["C1"] = "public"
    await intake.submit(svc, intake.Intake(requester="U0REQUEST", origin=Origin(channel="C1"), goal="draft a note",
                                           workflow="draft", locale="en-US"))
    await drain(svc)
    post = posted(svc, "review:C0REVIEW")
    assert post["view"].language == "fr" and texts(render(post["view"])[1])[0] == "Ébauche à réviser"
    assert "U0REVIEW" not in svc.people.asked  # nobody's locale decides a channel's language


async def test_modals_are_in_the_clickers_language() -> None:
    svc, run = await reviewed({})
    edit, reject = edit_modal(run, language="fr"), reject_modal(run, language="fr")
    assert (edit["title"]["text"], edit["submit"]["text"], edit["close"]["text"]) == (
        "Modifier l'ébauche", "Enregistrer", "Annuler")
    assert edit["blocks"][-1]["label"]["text"] == "Ébauche" and "l'originale est conservée" in str(edit["blocks"][0])
    assert (reject["title"]["text"], reject["submit"]["text"]) == ("Refuser l'ébauche", "Refuser")
    assert reject["blocks"][0]["label"]["text"] == "Motif"
    assert len(edit["title"]["text"]) <= 24 and len(reject["title"]["text"]) <= 24  # Slack's limit for a title
    revise = revise_modal(run, limit=4000, language="fr")
    assert revise["close"]["text"] == "Annuler" and edit_modal(run)["title"]["text"] == "Edit draft"


def test_times_name_the_day_and_month_in_the_readers_language() -> None:
    at = local_time(datetime(2026, 11, 23, 20, 4, tzinfo=UTC), "America/Toronto")
    assert str(at) == "Mon 23 Nov 2026 15:04 EST"
    assert str(text.in_language(at, "fr")) == "lun. 23 nov. 2026 15:04 EST"


def test_notes_keep_their_message_and_untrusted_arguments_stay_inert() -> None:
    stored = text.weak_model_note("<@U0ADMIN> *x*")
    shown = text.notes_msg([stored, "policy: no secrets"])
    from handlers.mrkdwn import mrkdwn

    fr = mrkdwn(text.in_language(shown, "fr"))
    assert fr.startswith("rédigé par le modèle de démonstration &lt;@U0ADMIN&gt;") and fr.endswith("policy: no secrets")
    assert text.note_msg('{"note": "no_such_key", "args": {}}') == text.msg("raw", text=text.Quote(
        '{"note": "no_such_key", "args": {}}', 1000))  # an unknown id is shown as it is, never looked up


def test_someone_maple_cannot_look_up_is_refused_in_both_languages_the_configured_one_first() -> None:
    both = str(text.in_both(text.FOREIGN_WORKSPACE, "fr"))
    first, second = both.split("\n\n")
    assert first.startswith("Maple n'est pas configuré") and second.startswith("Maple isn't set up")


def test_a_kept_message_is_read_back_in_each_language_with_its_people_and_channels() -> None:
    from handlers.mrkdwn import mrkdwn

    kept = text.keep(text.msg("schedule_paused_by_owner", user=text.User("U0ADMIN")))
    assert mrkdwn(text.note_msg(kept)) == "paused by <@U0ADMIN>"  # a mention, not its escaped text
    revoked = text.keep(text.msg("schedule_not_allowed", workflow="<!channel>"))
    assert mrkdwn(text.in_language(text.note_msg(revoked), "fr")).count("&lt;!channel&gt;") == 1
    forged = json.dumps({"note": "_lang", "args": {}})
    assert text.note_msg(forged) == text.msg("raw", text=text.Quote(forged, 1000))  # only catalog ids are read


def test_maples_own_answers_follow_the_language_they_are_given() -> None:
    from bot.core import knowledge

    assert knowledge.not_covered(["handbook"], language="fr").startswith("Les documents approuvés (handbook)")
    assert knowledge.not_covered(["handbook"]).startswith("The approved documents (handbook) do not cover")
