"""`maple serve` shares its port with its ack processes (SO_REUSEPORT), so its own bind would silently join any
other socket that shares it too: a second `maple serve` (another deployment, other secrets or Redis), or an ack
process a dead serve left behind. Serve refuses to start on a port something already listens on."""

from __future__ import annotations

import asyncio
import secrets
import socket
from collections.abc import Iterator

import pytest

from bot import cli
from bot.core.errors import MapleError
from config.settings import Settings


def settings(**env: str) -> Settings:
    return Settings(_env_file=None, **env)  # type: ignore[call-arg]


@pytest.fixture
def sharing_listener() -> Iterator[int]:
    """A socket listening on 127.0.0.1 with SO_REUSEPORT, as a serve or an ack process binds it: its port."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield int(s.getsockname()[1])


def test_a_port_another_process_shares_is_refused(sharing_listener: int) -> None:
    with pytest.raises(MapleError, match=str(sharing_listener)):
        cli.refuse_taken_port("127.0.0.1", sharing_listener)
    with pytest.raises(MapleError):
        cli.refuse_taken_port("0.0.0.0", sharing_listener)  # every interface includes the one it listens on


def test_a_free_port_is_accepted_and_stays_free() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    cli.refuse_taken_port("127.0.0.1", port)
    cli.refuse_taken_port("127.0.0.1", port)  # the probe holds nothing afterwards
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))


def test_serve_refuses_to_start_beside_another_serve(sharing_listener: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Before it starts anything (no deployment marker, no workers, no ack processes)."""
    started: list[str] = []

    async def claimed(*_args: object, **_kwargs: object) -> None:
        started.append("claim")

    monkeypatch.setattr(cli, "claim", claimed)
    for name in ("SLACK_APP_TOKEN", "MAPLE_WORKER_MODE", "MAPLE_ACK_PROCESSES"):
        monkeypatch.delenv(name, raising=False)
    s = settings(MAPLE_HOST="127.0.0.1", PORT=str(sharing_listener), SLACK_BOT_TOKEN="xoxb-test",
                 SLACK_SIGNING_SECRET="s3cret")
    assert s.ack_processes == 2 and s.worker_mode == "process"
    with pytest.raises(MapleError, match="already"):
        asyncio.run(cli.serve(s))
    assert started == []


def test_a_port_left_in_time_wait_by_a_previous_serve_is_accepted() -> None:
    """A serve restarted right after the previous one exited: its closed connections are in TIME_WAIT."""
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = int(listener.getsockname()[1])
        client = socket.create_connection(("127.0.0.1", port))
        accepted, _ = listener.accept()
        accepted.close()  # the server side closes first: it is the one left in TIME_WAIT
        client.close()
    cli.refuse_taken_port("127.0.0.1", port)
    cli.refuse_taken_port("0.0.0.0", port)


def test_an_address_family_this_host_lacks_is_skipped_as_the_server_bind_does(monkeypatch: pytest.MonkeyPatch) -> None:
    """MAPLE_HOST '' resolves to 0.0.0.0 and ::; on a kernel without IPv6 asyncio's create_server skips the
    family it cannot make a socket of, so the probe must not stop serve from starting over it."""
    real = socket.getaddrinfo

    def with_a_missing_family(*args: object, **kwargs: object) -> list[object]:
        found = list(real(*args, **kwargs))  # type: ignore[arg-type]
        return [(250, socket.SOCK_STREAM, 0, "", ("::", 0)), *found]  # no such family: socket() fails

    monkeypatch.setattr(socket, "getaddrinfo", with_a_missing_family)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    cli.refuse_taken_port("127.0.0.1", port)


def test_a_serve_holds_its_port_until_it_ends_so_two_starting_at_once_cannot_both_pass() -> None:
    """The listener probe and the bind are seconds apart; the port's lock is taken before the probe and held for
    serve's lifetime (the kernel releases it with the process), so the second of two serves starting together is
    refused even though nothing listens yet."""
    port = 40000 + secrets.randbelow(20000)
    first = cli.hold_port(port)
    assert first is not None
    try:
        with pytest.raises(MapleError, match="another maple serve"):
            cli.hold_port(port)
        other = cli.hold_port(port + 1)  # another port is another lock
        assert other is not None
        other.close()
    finally:
        first.close()
    again = cli.hold_port(port)  # released with its holder
    assert again is not None
    again.close()
