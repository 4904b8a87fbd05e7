"""Admission control (chatbox.admission): while ``limit`` sockets are being set up, a new one is
told at once to come back later, and the application never sees it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from autobahn.twisted.websocket import WebSocketServerProtocol
from channels.testing import WebsocketCommunicator

from chatbox.admission import ConnectAdmission
from chatbox.realtime import (
    CLOSE_BANNED,
    CLOSE_INTERNAL_ERROR,
    CLOSE_TRY_AGAIN_LATER,
    CLOSE_UNAUTHENTICATED,
)

TIMEOUT = 5


class HeldSetUp:
    """A websocket application whose set-up of each socket waits until the test lets it go,
    then accepts, or closes when told to refuse."""

    def __init__(self, *, refuse: bool = False) -> None:
        self.release = asyncio.Event()
        self.started = asyncio.Event()
        self.refuse = refuse
        self.seen = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert (await receive())["type"] == "websocket.connect"
        self.seen += 1
        self.started.set()
        await self.release.wait()
        if self.refuse:
            await send({"type": "websocket.close", "code": 4401})
            return
        await send({"type": "websocket.accept"})
        while (await receive())["type"] != "websocket.disconnect":
            pass


def socket(app: ConnectAdmission) -> WebsocketCommunicator:
    return WebsocketCommunicator(app, "/ws/chat/")


async def test_a_socket_beyond_the_limit_is_closed_with_4503_without_reaching_the_app() -> None:
    # given one socket being set up, with a limit of one
    inner = HeldSetUp()
    admission = ConnectAdmission(inner, limit=1)
    first = socket(admission)
    connecting = asyncio.create_task(first.connect(timeout=TIMEOUT))
    await asyncio.wait_for(inner.started.wait(), TIMEOUT)

    # when a second socket arrives
    second = socket(admission)
    accepted, _ = await second.connect(timeout=TIMEOUT)

    # then it is accepted and closed at once with 4503, and the application never saw it
    assert accepted is True
    assert await second.receive_output(timeout=TIMEOUT) == {
        "type": "websocket.close",
        "code": CLOSE_TRY_AGAIN_LATER,
    }
    assert (inner.seen, admission.refused) == (1, 1)

    # and once the first is set up, the next socket is let in
    inner.release.set()
    assert (await connecting)[0] is True
    third = socket(admission)
    assert (await third.connect(timeout=TIMEOUT))[0] is True
    assert (inner.seen, admission.refused) == (2, 1)
    for communicator in (first, third):
        await communicator.disconnect()


async def test_a_socket_the_app_refused_no_longer_counts_as_being_set_up() -> None:
    # given a limit of one and an application that refuses the socket it sets up
    inner = HeldSetUp(refuse=True)
    inner.release.set()
    admission = ConnectAdmission(inner, limit=1)

    # when a socket is refused by the application
    refused, code = await socket(admission).connect(timeout=TIMEOUT)
    assert (refused, code) == (False, 4401)

    # then the next one reaches the application too, not the admission's 4503
    again, code = await socket(admission).connect(timeout=TIMEOUT)
    assert (again, code) == (False, 4401)
    assert (inner.seen, admission.setting_up, admission.refused) == (2, 0, 0)


@pytest.mark.parametrize(
    "code",
    [CLOSE_UNAUTHENTICATED, CLOSE_BANNED, CLOSE_INTERNAL_ERROR, CLOSE_TRY_AGAIN_LATER],
    ids=["unauthenticated", "banned", "internal-error", "try-again-later"],
)
def test_every_close_code_the_app_sends_is_one_daphne_can_send(code: int) -> None:
    # given the websocket protocol daphne closes sockets with (autobahn), already closed, so
    # that a valid close does nothing
    protocol = WebSocketServerProtocol()
    protocol.state = WebSocketServerProtocol.STATE_CLOSED
    # when the app's close code is sent through it, then it is taken (autobahn raises for
    # anything but 1000 and 3000-4999; daphne would then leave the socket open)
    protocol.sendClose(code=code)
