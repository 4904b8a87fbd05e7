"""The server's start-up tuning (``config.serve``) that can be checked without a server; the
live tests run every websocket through a real daphne started by it."""

from __future__ import annotations

import pprint

import autobahn.websocket.protocol as autobahn_protocol
import pytest

from config.serve import autobahn_option_log_lazy


class Counted:
    """A value that counts how often it is formatted."""

    def __init__(self) -> None:
        self.formatted = 0

    def __repr__(self) -> str:
        self.formatted += 1
        return "Counted()"


@pytest.fixture
def lazy_autobahn(monkeypatch: pytest.MonkeyPatch) -> None:
    # monkeypatch restores autobahn's own functions after the test
    monkeypatch.setattr(autobahn_protocol, "pformat", autobahn_protocol.pformat)
    monkeypatch.setattr(autobahn_protocol.Timings, "__str__", autobahn_protocol.Timings.__str__)
    autobahn_option_log_lazy()


def test_autobahns_option_log_is_formatted_only_when_written(lazy_autobahn: None) -> None:
    options = [("openHandshakeTimeout", Counted(), "WebSocketServerFactory")]

    line = autobahn_protocol.pformat(options)  # what a new websocket's set-up does

    assert options[0][1].formatted == 0
    # when a debug observer writes it
    assert str(line) == "[('openHandshakeTimeout', Counted(), 'WebSocketServerFactory')]"
    assert options[0][1].formatted == 1


def test_autobahns_timings_still_read_as_text(lazy_autobahn: None) -> None:
    timings = autobahn_protocol.Timings()
    timings.track("onOpen")
    assert str(timings) == pprint.pformat(timings._timings)
