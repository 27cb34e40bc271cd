"""What people do in the workspace, sent to Maple as Slack sends it: slash commands, button clicks, modal
submissions and closes, mentions and DMs. Maple's HTTP answers are honoured as Slack honours them (a slash
command's body becomes an ephemeral message; a view submission's ``response_action`` updates the modal)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import aiohttp

from workspace.signer import Reply, Signer
from workspace.state import (
    APP_ID,
    BOT_USER,
    SLACKBOT,
    TEAM,
    TEAM_DOMAIN,
    Message,
    ResponseTarget,
    WorkspaceState,
)
from workspace.views import build_view
from workspace.webapi import ApiError, public

CONNECT_FAILED = "dispatch_failed"


class People:
    def __init__(self, state: WorkspaceState, signer: Signer, *, base_url: Callable[[], str]) -> None:
        self.state, self.signer, self._base_url = state, signer, base_url
        self.sent: list[tuple[str, dict[str, Any], Reply]] = []

    # plumbing -------------------------------------------------------------------------------------------
    def _person(self, user: str) -> dict[str, str]:
        found = self.state.users.get(user)
        if found is None:
            raise LookupError(f"no such person: {user}")
        return {"id": user, "username": found.name, "name": found.name, "team_id": TEAM}

    def _response_url(self, target: ResponseTarget) -> str:
        return f"{self._base_url()}/response/{self.state.new_response_url(target)}"

    async def _deliver(self, kind: str, payload: dict[str, Any], send: Callable[[], Any]) -> Reply:
        try:
            reply: Reply = await send()
        except (aiohttp.ClientError, TimeoutError):
            reply = Reply(0, CONNECT_FAILED)
        self.sent.append((kind, payload, reply))
        return reply

    def _failed(self, user: str, channel: str, what: str, reply: Reply) -> None:
        error = CONNECT_FAILED if reply.status == 0 else "http_service_error"
        self.state.add_ephemeral(channel=channel, user=user, text=f'{what} failed with the error "{error}"',
                                 blocks=[], sender=SLACKBOT)

    # slash commands -------------------------------------------------------------------------------------
    async def slash(self, user: str, channel: str, text: str, *, command: str = "/maple") -> Reply:
        where = self.state.channel(channel)
        if where is None:
            raise LookupError(f"no such channel: {channel}")
        person = self._person(user)
        fields = {"token": "local-verification-token", "team_id": TEAM, "team_domain": TEAM_DOMAIN,
                  "channel_id": where.id, "channel_name": "directmessage" if where.is_im else where.name,
                  "user_id": user, "user_name": person["name"], "command": command, "text": text,
                  "api_app_id": APP_ID, "is_enterprise_install": "false",
                  "trigger_id": self.state.issue_trigger(user, where.id)}
        target = ResponseTarget(user=user, channel=where.id)  # answered later, it replaces the ack (as in Slack)
        fields["response_url"] = self._response_url(target)
        reply = await self._deliver("slash", fields, lambda: self.signer.form(fields))
        if reply.status != 200:
            self._failed(user, where.id, command, reply)
        else:
            shown = self.show(ResponseTarget(user=user, channel=where.id), reply.body)
            if shown is not None:
                target.message_ts, target.ephemeral = shown["ts"], True
        return reply

    def show(self, target: ResponseTarget, body: Any) -> Message | None:
        """Show a slash-command answer or a response_url message: ephemeral unless ``in_channel``. Returns the
        ephemeral message it added, if any."""
        if isinstance(body, str) and body:
            body = {"text": body}
        if not isinstance(body, dict) or not (body.get("text") or body.get("blocks")):
            return None
        text, blocks = str(body.get("text") or ""), list(body.get("blocks") or [])
        if body.get("replace_original") in (True, "true") and target.message_ts:
            self._replace(target, text, blocks)
        elif body.get("response_type") == "in_channel":
            self.state.post(target.channel, {"user": BOT_USER, "bot_id": "B0MAPLE", "app_id": APP_ID,
                                             "text": text, "blocks": blocks})
        else:
            return self.state.add_ephemeral(channel=target.channel, user=target.user, text=text, blocks=blocks)
        return None

    def _replace(self, target: ResponseTarget, text: str, blocks: list[Any]) -> None:
        ts = target.message_ts or ""
        message = self.state.find_ephemeral(ts) if target.ephemeral else self.state.find(target.channel, ts)
        if message is None:
            return
        message.update(text=text, blocks=blocks)
        if target.ephemeral:
            self.state.publish("ephemeral", target.user, channel=target.channel, ts=ts)
        else:
            self.state.changed(target.channel, ts)

    def respond(self, key: str, body: dict[str, Any]) -> bool:
        """A POST to a response_url; False when the URL is unknown."""
        target = self.state.responses.get(key)
        self.state.record("response_url", {"key": key, **body}).error = None if target else "expired_url"
        if target is None:
            return False
        if body.get("delete_original") in (True, "true") and target.message_ts:
            self._delete(target)
        else:
            self.show(target, body)
        return True

    def _delete(self, target: ResponseTarget) -> None:
        ts = target.message_ts
        if target.ephemeral:
            self.state.ephemerals = [m for m in self.state.ephemerals if m["ts"] != ts]
            self.state.publish("ephemeral", target.user, channel=target.channel, ts=ts)
        else:
            self.state.history[target.channel] = [m for m in self.state.history[target.channel] if m["ts"] != ts]
            self.state.changed(target.channel, ts or "")

    # clicks -----------------------------------------------------------------------------------------------
    def _locate(self, message_ts: str) -> tuple[str, Message, bool]:
        ephemeral = self.state.find_ephemeral(message_ts)
        if ephemeral is not None:
            return str(ephemeral["channel"]), ephemeral, True
        found = self.state.find_anywhere(message_ts)
        if found is None:
            raise LookupError(f"no message with ts {message_ts}")
        return found[0], found[1], False

    async def click(self, user: str, message_ts: str, action_id: str, *, value: str | None = None) -> Reply:
        """Click a button of a message (or of an ephemeral message) as ``user``. Visibility is not checked:
        a test may click as anyone, as a forged request could."""
        channel, message, ephemeral = self._locate(message_ts)
        action = find_action(message.get("blocks") or [], action_id, value=value)
        target = ResponseTarget(user=user, channel=channel, message_ts=message_ts, ephemeral=ephemeral)
        where = self.state.channels[channel]
        payload: dict[str, Any] = {
            "type": "block_actions", "user": self._person(user), "api_app_id": APP_ID,
            "token": "local-verification-token", "team": {"id": TEAM, "domain": TEAM_DOMAIN},
            "enterprise": None, "is_enterprise_install": False,
            "container": {"type": "message", "message_ts": message_ts, "channel_id": channel,
                          "is_ephemeral": ephemeral},
            "channel": {"id": channel, "name": "directmessage" if where.is_im else where.name},
            "trigger_id": self.state.issue_trigger(user, channel), "response_url": self._response_url(target),
            "state": {"values": {}}, "actions": [action]}
        if message.get("thread_ts") and message["thread_ts"] != message_ts:  # a reply: Slack names its thread
            payload["container"]["thread_ts"] = message["thread_ts"]
        if not ephemeral:
            payload["message"] = public(message, metadata=True)
        return await self._deliver("block_actions", payload, lambda: self.signer.interaction(payload))

    async def click_view(self, user: str, view_id: str, action_id: str) -> Reply:
        """Click a button inside a modal or the App Home."""
        record = self.state.views[view_id]
        action = find_action(record.view.get("blocks") or [], action_id)
        payload: dict[str, Any] = {
            "type": "block_actions", "user": self._person(user), "api_app_id": APP_ID,
            "token": "local-verification-token", "team": {"id": TEAM, "domain": TEAM_DOMAIN},
            "container": {"type": "view", "view_id": view_id}, "view": record.view,
            "trigger_id": self.state.issue_trigger(user, None), "actions": [action]}
        return await self._deliver("block_actions", payload, lambda: self.signer.interaction(payload))

    # modals -----------------------------------------------------------------------------------------------
    def input_values(self, view_id: str, values: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """The modal's ``state.values`` after typing ``values`` ({block_id: text} or {block_id: {action_id:
        text}}). Raise ValueError where Slack's client would refuse to submit (required empty, too long)."""
        view = self.state.views[view_id].view
        state: dict[str, dict[str, Any]] = {}
        for block in view.get("blocks") or []:
            element = block.get("element") or {}
            if block.get("type") != "input" or not element.get("action_id"):
                continue
            block_id, action_id = block.get("block_id", ""), element["action_id"]
            given = values.get(block_id, element.get("initial_value"))
            text = given.get(action_id) if isinstance(given, dict) else given
            text = None if text in (None, "") else str(text)
            if text is None and not block.get("optional"):
                raise ValueError(f"{block_id}: this field is required")
            if text is not None and len(text) > int(element.get("max_length") or 3000):
                raise ValueError(f"{block_id}: longer than {element.get('max_length')} characters")
            state[block_id] = {action_id: {"type": element.get("type", "plain_text_input"), "value": text}}
        return state

    async def submit_view(self, user: str, view_id: str, values: dict[str, Any]) -> Reply:
        record = self.state.views.get(view_id)
        if record is None or record.user != user:
            raise LookupError(f"{user} has no open view {view_id}")
        view = {**record.view, "state": {"values": self.input_values(view_id, values)}}
        record.view = view
        payload = {"type": "view_submission", "team": {"id": TEAM, "domain": TEAM_DOMAIN},
                   "user": self._person(user), "api_app_id": APP_ID, "token": "local-verification-token",
                   "trigger_id": self.state.issue_trigger(user, None), "view": view, "response_urls": [],
                   "is_enterprise_install": False}
        reply = await self._deliver("view_submission", payload, lambda: self.signer.interaction(payload))
        self._after_submit(user, view_id, reply)
        return reply

    def _after_submit(self, user: str, view_id: str, reply: Reply) -> None:
        record = self.state.views[view_id]
        body = reply.body if isinstance(reply.body, dict) else {}
        action = body.get("response_action")
        stack = list(self.state.modals.get(user) or [])
        if reply.status != 200:
            record.errors = {"": "We had some trouble connecting. Try again?"}
            self.state.publish("modal", user)
        elif action == "errors":
            record.errors = {str(k): str(v) for k, v in (body.get("errors") or {}).items()}
            self.state.publish("modal", user)
        elif action in ("update", "push"):
            self._replace_view(user, record.view["id"], body.get("view"), push=action == "push")
        elif action == "clear":
            self.state.set_modal_stack(user, [])
        else:
            self.state.set_modal_stack(user, [v for v in stack if v != view_id])

    def _replace_view(self, user: str, view_id: str, view: Any, *, push: bool) -> None:
        stack = list(self.state.modals.get(user) or [])
        new_id = self.state.new_id("V") if push else view_id
        try:
            built = build_view(self.state, view, view_id=new_id, root=stack[0] if stack else new_id)
        except ApiError:
            self.state.views[view_id].errors = {"": "Maple answered with an invalid view."}
            self.state.publish("modal", user)
            return
        self.state.views[new_id] = type(self.state.views[view_id])(user=user, view=built)
        self.state.set_modal_stack(user, [*stack, new_id] if push else stack)

    async def close_view(self, user: str, view_id: str) -> Reply | None:
        record = self.state.views.get(view_id)
        if record is None or record.user != user:
            raise LookupError(f"{user} has no open view {view_id}")
        self.state.set_modal_stack(user, [v for v in self.state.modals.get(user) or [] if v != view_id])
        if not record.view.get("notify_on_close"):
            return None
        payload = {"type": "view_closed", "team": {"id": TEAM, "domain": TEAM_DOMAIN},
                   "user": self._person(user), "api_app_id": APP_ID, "view": record.view, "is_cleared": False}
        return await self._deliver("view_closed", payload, lambda: self.signer.interaction(payload))

    # messages and events ----------------------------------------------------------------------------------
    def say(self, user: str, channel: str, text: str, *, thread_ts: str | None = None) -> Message:
        """A person's message (shown in the workspace; no event is sent to Maple)."""
        where = self.state.channel(channel)
        if where is None:
            raise LookupError(f"no such channel: {channel}")
        message: Message = {"user": user, "text": text, "client_msg_id": str(uuid.uuid4()), "channel": where.id}
        if thread_ts:
            message["thread_ts"] = thread_ts
        return self.state.post(where.id, message)

    async def mention(self, user: str, channel: str, text: str, *, thread_ts: str | None = None) -> Reply:
        if f"<@{BOT_USER}>" not in text:
            text = f"<@{BOT_USER}> {text}"
        message = self.say(user, channel, text, thread_ts=thread_ts)
        return await self.event(_event("app_mention", message, str(message["channel"])))

    async def dm(self, user: str, text: str, *, thread_ts: str | None = None) -> Reply:
        channel = self.state.dm_channel(user).id
        message = self.say(user, channel, text, thread_ts=thread_ts)
        return await self.event({**_event("message", message, channel), "channel_type": "im"})

    async def home_opened(self, user: str) -> Reply:
        channel = self.state.dm_channel(user).id
        return await self.event({"type": "app_home_opened", "user": user, "channel": channel, "tab": "home",
                                 "event_ts": self.state.next_ts()})

    async def event(self, event: dict[str, Any], *, event_id: str | None = None,
                    retry_num: int | None = None) -> Reply:
        envelope = {"token": "local-verification-token", "team_id": TEAM, "api_app_id": APP_ID, "event": event,
                    "type": "event_callback", "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}",
                    "event_time": int(time.time()), "is_ext_shared_channel": False,
                    "authorizations": [{"enterprise_id": None, "team_id": TEAM, "user_id": BOT_USER,
                                        "is_bot": True, "is_enterprise_install": False}]}
        return await self._deliver("event", envelope, lambda: self.signer.event(envelope, retry_num=retry_num))

    async def url_verification(self, challenge: str = "local-challenge") -> Reply:
        body = {"token": "local-verification-token", "challenge": challenge, "type": "url_verification"}
        return await self._deliver("url_verification", body, lambda: self.signer.event(body))


def _event(kind: str, message: Message, channel: str) -> dict[str, Any]:
    event = {"type": kind, "user": message["user"], "text": message["text"], "ts": message["ts"],
             "channel": channel, "event_ts": message["ts"], "team": TEAM,
             "client_msg_id": message.get("client_msg_id")}
    if message.get("thread_ts"):
        event["thread_ts"] = message["thread_ts"]
    return event


def find_action(blocks: list[Any], action_id: str, *, value: str | None = None) -> dict[str, Any]:
    """The block_actions ``actions`` entry for the button ``action_id`` among ``blocks`` — for feedback buttons,
    the one whose value is ``value`` (the positive one by default), sent as Slack sends it."""
    for index, block in enumerate(blocks):
        for element in block.get("elements") or [] if block.get("type") == "context_actions" else []:
            if element.get("type") == "feedback_buttons" and element.get("action_id") == action_id:
                sides = [element.get("positive_button") or {}, element.get("negative_button") or {}]
                chosen = next((b for b in sides if value is not None and b.get("value") == value), sides[0])
                return {"action_id": action_id, "block_id": block.get("block_id") or f"b{index}",
                        "type": "feedback_buttons", "value": chosen.get("value"), "text": chosen.get("text"),
                        "action_ts": f"{time.time():.6f}"}
        elements = list(block.get("elements") or []) if block.get("type") == "actions" else []
        if block.get("type") == "section" and isinstance(block.get("accessory"), dict):
            elements.append(block["accessory"])
        for element in elements:
            if element.get("action_id") == action_id:
                action = {"action_id": action_id, "block_id": block.get("block_id") or f"b{index}",
                          "type": element.get("type", "button"), "action_ts": f"{time.time():.6f}"}
                for key in ("text", "value", "style"):
                    if key in element:
                        action[key] = element[key]
                return action
    raise LookupError(f"no element with action_id {action_id}")
