"""The sample load balancer: deploy/nginx/chatbox.conf, run by Debian's nginx in front of two
daphne processes that share the database and Redis (docs/deployment.md).

nginx runs the sample site as it is, but for its addresses (free ports on 127.0.0.1, the test's
backends in the upstream) and a self-signed certificate. The backends run as deployed
(``--proxy-headers``, Secure cookies) with the product's own checks: allowed hosts, CSRF
origins, the websocket's Origin. Clients connect from 127.0.0.2, so a backend can tell the
client's address from nginx's.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from websockets.exceptions import InvalidStatus

from accounts.models import User
from chatbox.models import Event
from tests.factories import PASSWORD, UserFactory, conversation_between
from tests.live import Frame
from tests.live.cluster import (
    CLIENT_ADDRESS,
    Backend,
    FrameLog,
    Nginx,
    ProxiedSession,
    frame_log,
    multipart,
    open_proxied_socket,
    proxied_login,
    require_nginx,
    running_backends,
    running_nginx,
    send_frame,
    wait_for_lines,
)
from tests.services import require_redis

pytestmark = [pytest.mark.live, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

# daphne's access log of a websocket the app accepted, from the test's client through nginx
# (with --proxy-headers daphne logs the X-Forwarded-For address, and port 0).
CLIENT_SOCKET_ACCEPTED = rf'^{CLIENT_ADDRESS}:0 - - \[[^]]+\] "WSCONNECT /ws/chat/"'
# An address from the documentation range (RFC 5737), as a client might claim to be.
FORGED_ADDRESS = "203.0.113.9"
# More than nginx takes by default (1 MiB), well under the chat's file limit.
FILE_OVER_NGINX_DEFAULT = 2 * 1024 * 1024


@pytest.fixture
def backends(transactional_db: None) -> Iterator[list[Backend]]:
    """Two daphne processes on one Redis, under a key prefix of their own."""
    require_nginx()
    redis_url = require_redis()
    yield from running_backends(
        2,
        extra_env={
            "REDIS_URL": redis_url,
            "KEY_PREFIX": f"nginx-{uuid.uuid4().hex}",
            "SECURE_COOKIES": "1",
        },
    )


@pytest.fixture
def nginx(backends: list[Backend], tmp_path: Path) -> Iterator[Nginx]:
    yield from running_nginx(tmp_path / "nginx", backends)


def two_people() -> tuple[User, User, str]:
    buyer = UserFactory(username="bea", display_name="Bea Buyer")
    provider = UserFactory(username="pat", display_name="Pat Provider")
    return buyer, provider, str(conversation_between(buyer, provider).pk)


def accepted_sockets(backends: list[Backend], count: int) -> list[int]:
    """Wait until the backends together accepted ``count`` of the client's websockets; returns
    how many each one accepted."""
    return [len(lines) for lines in wait_for_lines(backends, CLIENT_SOCKET_ACCEPTED, count=count)]


async def subscribed(log: FrameLog, conversation: str, *, after: int = 0) -> Frame:
    await log.send({"type": "subscribe", "conversation": conversation, "after": after})
    await log.wait_until(
        "subscribed", lambda frames: any(f["type"] == "subscribed" for f in frames)
    )
    return log.of_type("subscribed")[-1]


async def say(log: FrameLog, conversation: str, body: str) -> int:
    """Send a message and wait for its ack; returns its seq."""
    frame = send_frame(conversation, str(uuid.uuid4()), body)
    await log.send(frame)
    await log.wait_until("ack", lambda _: frame["client_id"] in log.acks())
    return log.acks()[frame["client_id"]]


async def heard(log: FrameLog, seq: int) -> Frame:
    """Wait for the event ``seq`` on ``log``; returns it."""
    await log.wait_until(f"event {seq}", lambda _: any(m["seq"] == seq for m in log.messages()))
    [message] = [m for m in log.messages() if m["seq"] == seq]
    return message


def post_headers_only(
    nginx: Nginx, session: ProxiedSession, path: str, length: int
) -> tuple[int, Any]:
    """Announce a body of ``length`` bytes, send none of it, and read the answer."""
    client = http.client.HTTPSConnection(
        "127.0.0.1",
        nginx.https_port,
        timeout=10,
        context=nginx.certificate.client_context(),
        source_address=(CLIENT_ADDRESS, 0),
    )
    try:
        client.putrequest("POST", path)
        for name, value in {
            "Content-Type": "multipart/form-data; boundary=x",
            "Content-Length": str(length),
            "Cookie": "; ".join(f"{name}={value}" for name, value in session.cookies.items()),
            "X-CSRFToken": session.cookies[settings.CSRF_COOKIE_NAME],
            "Origin": nginx.origin,
        }.items():
            client.putheader(name, value)
        client.endheaders()
        response = client.getresponse()
        return response.status, json.loads(response.read())
    finally:
        client.close()


def test_the_http_api_works_through_nginx_with_the_products_own_checks(
    nginx: Nginx, backends: list[Backend]
) -> None:
    # given
    _, _, conversation = two_people()
    plain = http.client.HTTPConnection("127.0.0.1", nginx.http_port, timeout=10)

    # when
    plain.request("GET", "/conversations/?from=mail")
    redirect = plain.getresponse()
    plain.close()
    # a client that claims another address: the backends must not believe it
    bea = proxied_login(nginx, "bea", PASSWORD, headers={"X-Forwarded-For": FORGED_ADDRESS})
    inbox = bea.get("/api/conversations/")
    document = b"The brief, in full.\n" * (FILE_OVER_NGINX_DEFAULT // 20)
    upload = bea.post(
        f"/api/conversations/{conversation}/files/",
        *multipart("file", "brief.txt", document, "text/plain"),
    )
    too_large = post_headers_only(
        nginx,
        bea,
        f"/api/conversations/{conversation}/files/",
        settings.CHATBOX_FILE_MAX_BYTES + 64 * 1024 + 1,
    )
    foreign = bea.post(
        f"/api/conversations/{conversation}/files/",
        *multipart("file", "brief.txt", b"From elsewhere.\n", "text/plain"),
        origin="https://evil.example",
    )

    # then: plain HTTP is sent to HTTPS
    assert redirect.status == 301
    assert redirect.getheader("Location") == "https://127.0.0.1/conversations/?from=mail"
    # the session works through nginx, on whichever backend a request lands
    assert inbox.status == 200
    assert [item["id"] for item in inbox.body] == [conversation]
    # a file over nginx's default body limit passes, with the CSRF origin check on HTTPS
    assert upload.status == 201, upload
    assert (upload.body["kind"], upload.body["data"]["size"]) == ("file", len(document))
    # a body over the app's limit is refused by the app (the protocol's JSON error), at once,
    # before any of it is sent: nginx streams bodies and its own limit is above the app's
    assert too_large[0] == 413
    assert too_large[1]["error"]["code"] == "file_too_large"
    # the origin check is the product's own, and holds behind nginx
    assert foreign.status == 403
    assert Event.objects.filter(conversation_id=conversation, kind=Event.Kind.FILE).count() == 1
    # the backends saw the client's address: not nginx's, nor the one the client made up
    # (nginx overwrites X-Forwarded-For, daphne reads it with --proxy-headers)
    [on_a, on_b] = wait_for_lines(backends, r'"POST /api/auth/login/" 200', count=1)
    [login] = on_a + on_b
    assert login.startswith(f"{CLIENT_ADDRESS}:0 - - ")


def test_websockets_through_nginx_land_on_both_backends_and_talk_across(
    nginx: Nginx, backends: list[Backend]
) -> None:
    # given
    buyer, provider, conversation = two_people()
    bea = proxied_login(nginx, "bea", PASSWORD)
    pat = proxied_login(nginx, "pat", PASSWORD)

    async def scenario() -> tuple[list[int], list[int], Frame, Frame, Frame, int]:
        async with frame_log(await open_proxied_socket(nginx, session_id=bea.session_id)) as bea_ws:
            await subscribed(bea_ws, conversation)
            bea_landed = await asyncio.to_thread(accepted_sockets, backends, 1)

            # when
            async with frame_log(
                await open_proxied_socket(nginx, session_id=pat.session_id)
            ) as pat_ws:
                await subscribed(pat_ws, conversation)
                both_landed = await asyncio.to_thread(accepted_sockets, backends, 2)
                await bea_ws.wait_until("Pat online", lambda _: bool(bea_ws.of_type("presence")))
                bea_seq = await say(bea_ws, conversation, "Through nginx, from Bea")
                pat_hears = await heard(pat_ws, bea_seq)
                pat_seq = await say(pat_ws, conversation, "Through nginx, from Pat")
                bea_hears = await heard(bea_ws, pat_seq)
            try:
                await open_proxied_socket(
                    nginx, session_id=bea.session_id, origin="https://evil.example"
                )
                refused = 101
            except InvalidStatus as error:
                refused = error.response.status_code
        return bea_landed, both_landed, bea_ws.of_type("presence")[0], pat_hears, bea_hears, refused

    bea_landed, both_landed, online, pat_hears, bea_hears, refused = asyncio.run(scenario())

    # then: least_conn sent the second socket to the other backend
    assert sorted(bea_landed) == [0, 1]
    assert both_landed == [1, 1]
    # presence and messages cross from one backend to the other
    assert online == {"type": "presence", "user": {"id": provider.pk}, "online": True}
    assert (pat_hears["sender"]["id"], pat_hears["body"]) == (buyer.pk, "Through nginx, from Bea")
    assert (bea_hears["sender"]["id"], bea_hears["body"]) == (
        provider.pk,
        "Through nginx, from Pat",
    )
    # a page of another site cannot open the socket, behind nginx as without it
    assert refused == 403


def test_clients_of_a_stopped_backend_reconnect_through_nginx_and_catch_up(
    nginx: Nginx, backends: list[Backend]
) -> None:
    # given: Bea's socket on one backend, Pat's on the other
    _, provider, conversation = two_people()
    bea = proxied_login(nginx, "bea", PASSWORD)
    pat = proxied_login(nginx, "pat", PASSWORD)

    async def scenario() -> tuple[list[Frame], int, Frame, list[int], str, int]:
        async with frame_log(await open_proxied_socket(nginx, session_id=bea.session_id)) as bea_ws:
            await subscribed(bea_ws, conversation)
            landed = await asyncio.to_thread(accepted_sockets, backends, 1)
            beas_backend = backends[landed.index(1)]
            async with frame_log(
                await open_proxied_socket(nginx, session_id=pat.session_id)
            ) as pat_ws:
                await subscribed(pat_ws, conversation)
                await asyncio.to_thread(accepted_sockets, backends, 2)
                mark = await say(bea_ws, conversation, "Before the restart")
                await heard(bea_ws, mark)

                # when: Bea's backend stops; Pat goes on talking on the other
                beas_backend.stop()
                await bea_ws.wait_closed()
                missed = await say(pat_ws, conversation, "Said while Bea was away")

                # Bea's client reconnects to the same address and catches up from its mark
                async with frame_log(
                    await open_proxied_socket(nginx, session_id=bea.session_id)
                ) as bea_again:
                    back = await subscribed(bea_again, conversation, after=mark)
                    caught_up = bea_again.messages()
                    relanded = await asyncio.to_thread(accepted_sockets, backends, 3)
                    skipped = await asyncio.to_thread(
                        nginx.wait_for_line,
                        rf"connect\(\) failed .* upstream: \"http://127\.0\.0\.1:{beas_backend.port}/ws/chat/\"",
                    )
                    inbox = await asyncio.to_thread(bea.get, "/api/conversations/")
        return caught_up, missed, back, relanded, skipped, inbox.status

    caught_up, missed, back, relanded, skipped, inbox_status = asyncio.run(scenario())

    # then: the new socket went to the backend still running, and got what Bea missed, once
    assert sorted(relanded) == [1, 2]
    # nginx tried the stopped one first (it held the fewest sockets), then passed the handshake
    # on to the next (proxy_next_upstream) and left the stopped one alone (max_fails)
    assert "[error]" in skipped
    assert [(m["seq"], m["body"]) for m in caught_up] == [(missed, "Said while Bea was away")]
    assert back["head"] == missed
    assert caught_up[0]["sender"]["id"] == provider.pk
    # and HTTP goes on through the remaining backend
    assert inbox_status == 200
