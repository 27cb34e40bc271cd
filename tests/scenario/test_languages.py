"""Both official languages over signed requests: Maple speaks French to a person whose Slack locale is French
(acks, ask-back and its buttons, help, notices by DM), English to the others, and a draft follows the goal's
language."""

from __future__ import annotations

from tests.harness import REQUESTER, REVIEWER, Harness
from tests.scenario.test_loop import run_id_of


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
