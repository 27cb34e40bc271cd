"""The Slack Web API methods for views: views.open and views.push (a trigger_id valid for 3 seconds, used once),
views.update (by view_id or external_id, with hash checks) and views.publish (the App Home)."""

from __future__ import annotations

from typing import Any

from workspace.blockkit import view_problems
from workspace.state import APP_ID, BOT_ID, TEAM, ViewRecord, WorkspaceState
from workspace.webapi import ApiError, Params, method, required


def build_view(state: WorkspaceState, view: Any, *, view_id: str, root: str | None = None) -> dict[str, Any]:
    problems = view_problems(view)
    if problems:
        raise ApiError("invalid_arguments", response_metadata={"messages": problems})
    values: dict[str, dict[str, Any]] = {}
    for block in view.get("blocks", []):
        element = block.get("element") if block.get("type") == "input" else None
        if isinstance(element, dict) and element.get("action_id"):
            values[block.get("block_id", "")] = {element["action_id"]: {
                "type": element.get("type"), "value": element.get("initial_value")}}
    return {"id": view_id, "team_id": TEAM, "app_id": APP_ID, "bot_id": BOT_ID, "callback_id": "",
            "private_metadata": "", "external_id": "", "notify_on_close": False, "clear_on_close": False,
            **view, "hash": state.new_id("h"), "root_view_id": root or view_id,
            "state": {"values": values}}


def _open(state: WorkspaceState, params: Params, *, push: bool) -> Params:
    trigger = state.take_trigger(str(required(params, "trigger_id")))
    if isinstance(trigger, str):
        raise ApiError(trigger)
    stack = list(state.modals.get(trigger.user) or []) if push else []
    if push and len(stack) >= 3:
        raise ApiError("push_limit_reached")
    view_id = state.new_id("V")
    view = build_view(state, required(params, "view"), view_id=view_id, root=stack[0] if stack else None)
    if view.get("type") != "modal":
        raise ApiError("invalid_arguments")
    state.views[view_id] = ViewRecord(user=trigger.user, view=view)
    state.set_modal_stack(trigger.user, [*stack, view_id])
    return {"view": view}


@method("views.open")
def views_open(state: WorkspaceState, params: Params) -> Params:
    return _open(state, params, push=False)


@method("views.push")
def views_push(state: WorkspaceState, params: Params) -> Params:
    return _open(state, params, push=True)


@method("views.update")
def views_update(state: WorkspaceState, params: Params) -> Params:
    record = state.views.get(str(params.get("view_id") or ""))
    if record is None and params.get("external_id"):
        record = next((r for r in state.views.values() if r.view.get("external_id") == params["external_id"]), None)
    if record is None:
        raise ApiError("not_found")
    if params.get("hash") and params["hash"] != record.view["hash"]:
        raise ApiError("hash_conflict")
    old = record.view
    record.view = build_view(state, required(params, "view"), view_id=old["id"], root=old["root_view_id"])
    record.errors = {}
    state.publish("home" if record.view.get("type") == "home" else "modal", record.user)
    return {"view": record.view}


@method("views.publish")
def views_publish(state: WorkspaceState, params: Params) -> Params:
    user = str(required(params, "user_id"))
    if user not in state.users:
        raise ApiError("user_not_found")
    view_id = state.homes.get(user) or state.new_id("VH")
    view = build_view(state, required(params, "view"), view_id=view_id)
    if view.get("type") != "home":
        raise ApiError("invalid_arguments")
    state.views[view_id] = ViewRecord(user=user, view=view)
    state.homes[user] = view_id
    state.publish("home", user)
    return {"view": view}
