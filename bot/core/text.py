"""Every sentence Maple says to people, in one place so tone and wording stay consistent."""

from __future__ import annotations

import math

USAGE = (
    "*Maple* turns a goal into reviewed work.\n"
    "• `/maple <goal>` — e.g. `/maple draft a reply to the supplier about the late shipment`\n"
    "• `/maple run <workflow> <text>` — pick a workflow yourself\n"
    "• `/maple workflows` — what you may run\n"
    "• `/maple status R-…` — where a run is, and why Maple decided what it did\n"
    "• `/maple help` — this message"
)
ADMIN_USAGE = "Admins: `/maple audit R-…` shows a run's audit timeline."


def working_on_it(run_id: str) -> str:
    return f"Working on it — run {run_id}. I'll post the draft for review and let you know."


def working_out(run_id: str) -> str:
    return f"Working out which workflow fits — run {run_id}. I'll start, or ask you, in a moment."


def working_no_review(run_id: str) -> str:
    return f"Working on it — run {run_id}."


def goal_too_long(limit: int, got: int) -> str:
    return f"That goal is {got:,} characters; the limit is {limit:,}. Please shorten it and try again."


UNAVAILABLE = "Maple is temporarily unavailable (its store cannot be reached). Nothing was saved; please try again in a minute."
NOT_ALLOWED_RUN = "You are not allowed to run the *{workflow}* workflow. Ask a Maple admin for access."
NOT_ALLOWED_ANY = "You don't have access to Maple yet. Ask a Maple admin to add you to a role."
NOT_ALLOWED_DECIDE = "Only the reviewers of this workflow can decide on this draft. Nothing was changed."
SELF_APPROVAL = "You can't approve your own request. Another reviewer has to decide."
EDITOR_ONLY_APPROVER = "You edited this draft, so another reviewer has to approve it."
STATUS_DENIED = "You can only see the status of runs you requested, review, or administer."
AUDIT_DENIED = "Only Maple admins can see audit timelines."
AUDIT_UNAVAILABLE = "The audit trail cannot be read right now; please try again in a minute."
RUN_NOT_FOUND = "I can't find run {run_id}. Check the id: R- followed by 16 letters and digits."
NO_MODEL = (
    "No model is configured, so I can't draft this. An admin can set OPENAI_API_KEY or enable the local model "
    "in the Maple config (`maple config check` shows what is active)."
)
UNKNOWN_WORKFLOW = "There is no workflow called *{workflow}*. `/maple workflows` lists what you may run."
RUN_USAGE = "Usage: `/maple run <workflow> <text>` — `/maple workflows` lists them."
ASK_BACK = "I'm not sure which workflow fits. Did you mean:"
NO_WORKFLOWS = "There are no workflows you may run. Ask a Maple admin for access."
MODAL_FAILED = "Slack could not open the form in time. Please click the button again."
ALREADY_APPROVED = "You already approved this draft; it is waiting for another reviewer."
ALREADY_DECIDED = "This run was already decided ({state}). Nothing was changed."
NOT_IN_REVIEW = "This run is not waiting for review any more ({state})."
EMPTY_REASON = "Please give a reason for rejecting the draft."
EMPTY_EDIT = "The draft can't be empty."
INTERNAL_ERROR = "Something went wrong on Maple's side while handling run {run_id}. An admin can see the details in the logs."


def not_in_channel(channel: str) -> str:
    return (
        f"I'm not a member of <#{channel}>, so I can't post there. Invite me with `/invite @Maple` in that "
        "channel, then try again."
    )


def approved_banner(user: str, at: str) -> str:
    return f":white_check_mark: Approved by <@{user}> at {at}"


def rejected_banner(user: str, at: str) -> str:
    return f":x: Rejected by <@{user}> at {at}"


def edited_banner(user: str, at: str) -> str:
    return f":pencil2: Edited by <@{user}> at {at}"


def told_approved(run_id: str, user: str, channel: str) -> str:
    return f"Your run {run_id} was approved by <@{user}> and posted in <#{channel}>."


def told_rejected(run_id: str, user: str, reason: str) -> str:
    return f"Your run {run_id} was rejected by <@{user}>. Reason: {reason}"


def review_overdue(run_id: str, workflow: str, minutes: int) -> str:
    return (f"Run {run_id} ({workflow}) has been waiting for review for {minutes} minutes. "
            "Please approve, edit or reject it.")


def told_failed(run_id: str, why: str) -> str:
    return f"Run {run_id} could not be completed: {why}"


def refused(run_id: str, why: str) -> str:
    return f"Run {run_id} was refused: {why}"


def no_eligible_model(level: str) -> str:
    return (
        f"this request contains {level} data and no available model is cleared for {level} data. "
        "Nothing was sent to any model. Remove the sensitive details or ask an admin to enable a cleared model."
    )


def weak_model_note(model: str) -> str:
    return f"drafted by the {model} demo model — configure a stronger one for real work"


def unknown_command(text: str) -> str:
    return f"I didn't understand `{text[:40]}`. " + USAGE


def policy_blocked(why: str) -> str:
    return f"the draft broke a policy and was not sent for review ({why}). Rephrase the request and try again."


def throttled(*, scope: str, limit: int, retry_after: float) -> str:
    wait = max(1, math.ceil(retry_after))
    when = f"in {wait} second{'s' if wait != 1 else ''}" if wait < 90 else f"in about {round(wait / 60)} minutes"
    who = "you have" if scope == "user" else "your workspace has"
    per = "per person" if scope == "user" else "per workspace"
    return (f"Slow down a little: {who} started as many runs as Maple takes in a minute ({limit} {per}). "
            f"Nothing was started; try again {when}.")


FOREIGN_WORKSPACE = (
    "Maple isn't set up for this workspace, so it can't take requests from here. Nothing was started. "
    "Ask the admins of the workspace Maple belongs to if you need access."
)
WORKSPACE_UNKNOWN = "Maple is still starting up (it can't confirm which workspace it belongs to). Please try again in a minute."

