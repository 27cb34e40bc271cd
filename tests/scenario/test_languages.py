"""Both official languages over signed requests: Maple speaks French to a person whose Slack locale is French
(acks, ask-back and its buttons, help, notices by DM, review messages in their DM, times in status), English to the
others, the configured language in channels, and a draft follows the goal's language; French date questions are
understood and answered in French."""

from __future__ import annotations

from tests.harness import CHANNEL, REQUESTER, REVIEWER, Harness
from tests.scenario.test_loop import review_posts, run_id_of


async def test_a_french_locale_is_answered_in_french(harness: Harness) -> None:
    h = harness
    h.slack.locales[REQUESTER] = "fr-CA"
    _, helped = await h.slash(REQUESTER, "help")
    assert helped["text"].startswith("*Maple* transforme un objectif en travail révisé.")
    _, asked = await h.slash(REQUESTER, "Acme")
    assert asked["text"].startswith("Je ne sais pas quel flux convient à « Acme »")
    labels = [b["accessory"]["text"]["text"] for b in asked["blocks"] if "accessory" in b]
    assert labels and set(labels) == {"Choisir"} and "Aucun de ceux-ci" in str(asked["blocks"])
    _, english = await h.slash(REVIEWER, "Acme")
    assert english["text"].startswith("I'm not sure which workflow fits “Acme”")
    _, started = await h.slash(REQUESTER, "run calc 6*7")
    assert started["text"].startswith("Je m'en occupe — demande R-")
    _, status = await h.slash(REQUESTER, "status R-123")
    assert "n'est pas un identifiant de demande" in status["text"]


async def test_a_french_requester_is_told_in_french_and_the_draft_follows_the_goal(harness: Harness) -> None:
    h = harness
    h.slack.locales[REQUESTER] = "fr-CA"
    _, reply = await h.slash(REQUESTER, "run draft rédige une réponse au fournisseur au sujet de la livraison en retard")
    run_id = run_id_of(reply)
    await h.wait_state(run_id, "in_review")
    system = h.openai.requests[-1]["messages"][0]["content"]
    assert "Write your answer in French" in system
    _, english = await h.slash(REVIEWER, "run draft a reply to the supplier about the late shipment")
    await h.wait_state(run_id_of(english), "in_review")
    assert "Write your answer in English." in h.openai.requests[-1]["messages"][0]["content"]
    await h.click(REVIEWER, "maple_approve", run_id)
    told = await h.wait_for(lambda: [p for p in h.slack.posted("D0REQUEST") if "approuvée" in p["text"]],
                            what="French notice")
    assert "Votre demande « " in told[0]["text"] and f"({run_id}) a été approuvée par" in told[0]["text"]


def labels(blocks: list[dict]) -> list[str]:
    return [e["text"]["text"] for b in blocks if b["type"] == "actions" for e in b["elements"]]


async def test_a_review_follows_its_reviewers_locale_and_a_channel_post_the_configured_language(
        harness: Harness) -> None:
    """The reviewer reads French (Slack locale fr-CA): the review message in their DM is French — header, fields,
    buttons, the Edit form — while the draft stays as the model wrote it; the requester (English) is told in
    English, and the result posted in the channel follows the configured language (English)."""
    h = harness
    h.slack.locales[REVIEWER] = "fr-CA"
    _, reply = await h.slash(REQUESTER, "run draft a reply to the supplier about the late shipment")
    run_id = run_id_of(reply)
    await h.wait_for(lambda: {p["channel"] for p in review_posts(h, run_id)} >= {"D0REVIEW", "D0REVIEW2"},
                     what="the review in both reviewers' DMs")
    posts = [p for p in review_posts(h, run_id) if p["channel"] == "D0REVIEW"]
    blocks = posts[0]["blocks"]
    assert blocks[0]["text"]["text"] == "Ébauche à réviser" and posts[0]["text"].startswith("Ébauche à réviser")
    assert "L'approbation publie dans" in str(blocks) and "Demandée par" in str(blocks)
    assert labels(blocks) == ["Approuver", "Modifier", "Refuser"]
    other = [p for p in review_posts(h, run_id) if p["channel"] == "D0REVIEW2"]
    assert other and labels(other[0]["blocks"]) == ["Approve", "Edit", "Reject"]  # the other reviewer: English
    await h.click(REVIEWER, "maple_edit", run_id)
    modal = h.slack.calls_to("views.open")[-1].params["view"]
    assert modal["title"]["text"] == "Modifier l'ébauche" and modal["submit"]["text"] == "Enregistrer"
    await h.click(REVIEWER, "maple_approve", run_id)
    await h.wait_state(run_id, "delivered")
    result = [p for p in h.slack.posted(CHANNEL) if p["metadata"]["event_payload"]["effect"] == "result"]
    assert "Requested by" in str(result[0]["blocks"]) and "Demandé" not in str(result[0]["blocks"])
    decided = [u.params for u in h.slack.calls_to("chat.update") if u.params["channel"] == "D0REVIEW"]
    assert decided[-1]["blocks"][0]["text"]["text"] == "Approuvée"  # its header follows the decision, in French
    told = await h.wait_for(lambda: [p for p in h.slack.posted("D0REQUEST") if "was approved by" in p["text"]],
                            what="the requester told in English")
    assert told


async def test_a_french_date_question_is_understood_and_answered_in_french(harness: Harness) -> None:
    h = harness
    h.slack.locales[REQUESTER] = "fr-CA"
    _, reply = await h.slash(REQUESTER, "combien de jours ouvrables avant le 15 janvier 2027 ?")
    run_id = run_id_of(reply)
    run = await h.wait_state(run_id, "delivered")
    assert run.workflow == "calc"
    answer = run.drafts[-1].text
    assert "jours ouvrables d'ici le 2027-01-15 (vendredi)" in answer, answer
    assert not h.openai.requests  # worked out by the date tool, not by a model


async def test_a_status_in_french_names_the_day_and_month_in_french(harness: Harness) -> None:
    h = harness
    h.slack.locales[REQUESTER] = "fr-CA"
    _, reply = await h.slash(REQUESTER, "run draft a note to the team about friday's release")
    run_id = run_id_of(reply)
    await h.wait_state(run_id, "in_review")
    _, status = await h.slash(REQUESTER, f"status {run_id}")
    days = ("lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim.")
    months = ("janv.", "févr.", "mars", "avr.", "mai", "juin", "juill.", "août", "sept.", "oct.", "nov.", "déc.")
    said = status["text"]
    assert any(f" le {d} " in said for d in days) and any(f" {m} 20" in said for m in months), said
    assert not any(english in said for english in (" Mon ", " Tue ", " Wed ", " Thu ", " Fri ", " Sat ", " Sun "))
