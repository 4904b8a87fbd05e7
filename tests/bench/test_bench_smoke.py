"""The bench's accounting (bench.load, bench.run) on known inputs: pure functions, no server;
and the floor baseline's consumer, in process on an in-memory channel layer."""

from __future__ import annotations

import json
import uuid

import pytest
from channels.testing import WebsocketCommunicator

from bench.baselines.floor.consumers import FloorConsumer
from bench.load import Tally, delays, latency_summary, lost_messages, percentile
from bench.procstat import CpuSample, cpu_delta
from bench.run import (
    chatmix_held,
    reconnect_p99_s,
    summarise,
    supported_users,
    supported_users_by_round,
    table,
)
from bench.server import KINDS, _command, server_env


def test_percentile_is_nearest_rank():
    # given
    values = [float(value) for value in range(1, 101)]  # 1 … 100

    # then
    assert percentile(values, 50) == 50.0
    assert percentile(values, 95) == 95.0
    assert percentile(values, 99) == 99.0
    assert percentile(values, 100) == 100.0
    assert percentile([7.0], 99) == 7.0
    assert percentile([], 50) is None


def test_percentile_ignores_input_order():
    assert percentile([0.3, 0.1, 0.2], 50) == 0.2


def test_latency_summary_in_milliseconds():
    # when
    summary = latency_summary([0.010, 0.020, 0.030, 0.040])

    # then
    assert summary == {
        "count": 4,
        "p50_ms": 20.0,
        "p95_ms": 40.0,
        "p99_ms": 40.0,
        "max_ms": 40.0,
    }


def test_an_acked_message_not_delivered_is_lost():
    # given
    tally = Tally(
        acked_at={"a": 1.0, "b": 1.1, "c": 1.2},
        delivered_at={"a": 1.5, "c": 1.6, "never-acked": 1.7},
    )

    # then
    assert tally.lost() == ["b"]
    assert lost_messages([], ["x"]) == []


def test_acks_are_counted_inside_the_window_only():
    tally = Tally(acked_at={"a": 0.9, "b": 1.0, "c": 1.5, "d": 2.0})

    assert tally.acked_between(1.0, 2.0) == 2


def test_delays_pair_start_and_end_by_client_id():
    start = {"a": 1.0, "b": 2.0, "c": 3.0}
    end = {"a": 1.25, "c": 3.5}

    assert delays(start, end, ["a", "b", "c"]) == [0.25, 0.5]


def test_cpu_delta_per_process_group():
    before = CpuSample(server=1.0, postgres=2.0, redis=3.0, machine=10.0)
    after = CpuSample(server=1.5, postgres=2.25, redis=3.0, machine=12.0)

    assert cpu_delta(before, after) == {
        "server": 0.5,
        "postgres": 0.25,
        "redis": 0.0,
        "machine": 2.0,
    }


def _step(
    users: int,
    p99: float | None,
    *,
    lost: int = 0,
    cpu: float = 40.0,
    round_index: int = 0,
    kind: str = "ours",
) -> dict:
    step = {
        "kind": kind,
        "workload": "chatmix",
        "round": round_index,
        "users": users,
        "delivery": {"p99_ms": p99},
        "lost": lost,
        "undelivered_in_window": 0,
        "server_cpu_percent": cpu,
    }
    step["held"] = chatmix_held(step)  # as bench.run.Bench.chatmix records it
    return step


def test_a_chatmix_step_holds_only_in_time_without_loss_and_with_cpu_to_spare():
    assert chatmix_held(_step(100, 99.9)) is True
    assert chatmix_held(_step(100, 100.1)) is False
    assert chatmix_held(_step(100, 20.0, lost=1)) is False
    assert chatmix_held(_step(100, 20.0, cpu=85.1)) is False
    assert chatmix_held(_step(100, None)) is False
    assert chatmix_held({**_step(100, 20.0), "run_failed": "did not start"}) is False


def test_supported_users_is_the_last_step_before_the_first_that_failed():
    steps = [_step(400, 150.0), _step(100, 30.0), _step(200, 60.0), _step(800, 20.0)]
    assert supported_users([{"workload": "throughput"}, *steps]) == 200
    assert supported_users([_step(100, 500.0)]) == 0
    assert supported_users([{"workload": "latency"}]) is None


def test_supported_users_is_the_least_of_the_rounds():
    first = [_step(100, 30.0), _step(200, 60.0), _step(400, 150.0)]
    second = [_step(100, 30.0, round_index=1), _step(200, 120.0, round_index=1)]
    assert supported_users_by_round([*first, *second]) == [200, 100]
    assert supported_users([*first, *second]) == 100


def _storm(p99: float, *, behind: int = 0) -> dict:
    return {"workload": "storm", "not_caught_up": behind, "time_to_caught_up": {"p99_s": p99}}


def test_the_reconnect_p99_is_the_worst_rounds_and_only_when_every_client_caught_up():
    assert reconnect_p99_s([_storm(3.5), _storm(4.5)]) == 4.5
    assert reconnect_p99_s([_storm(3.5), _storm(1.0, behind=1)]) is None
    assert reconnect_p99_s([_storm(3.5), {"workload": "storm", "run_failed": "no start"}]) is None
    assert reconnect_p99_s([]) is None


def test_the_floors_chatmix_steps_do_not_count_as_ours():
    ours = [_step(100, 30.0), _step(200, 150.0)]
    floor = [_step(100, 10.0, kind="floor"), _step(200, 20.0, kind="floor")]

    assert supported_users([*ours, *floor]) == 100
    assert supported_users([*ours, *floor], "floor") == 200
    assert supported_users(ours, "floor") is None


# -- the floor: daphne + Channels + channels-redis, no product code ---------------------------


def _measured(kind: str, *, msgs: float, us: float, p99: float, kb: float) -> list[dict]:
    """A throughput, a latency and an idle run of ``kind``, with only the fields read."""
    return [
        {
            "kind": kind,
            "workload": "throughput",
            "round": 0,
            "msgs_per_s": msgs,
            "server_cpu_us_per_msg": us,
            "stack_cpu_us_per_msg": us + 100,
            "server_cpu_percent": 90.0,
            "other_cpu_percent": 1.0,
            "ack_rtt": {"p99_ms": 2 * p99},
            "lost": 0,
        },
        {
            "kind": kind,
            "workload": "latency",
            "round": 0,
            "offered_msgs_per_s": 50.0,
            "delivery": {"p50_ms": p99 / 4, "p95_ms": p99 / 2, "p99_ms": p99},
            "lost": 0,
        },
        {
            "kind": kind,
            "workload": "idle",
            "round": 0,
            "kb_per_idle_socket": kb,
            "connections_per_s": 100.0,
        },
    ]


def test_the_summary_adds_the_floor_and_keeps_ours_figures():
    # given
    runs = [
        *_measured("ours", msgs=400.0, us=2000.0, p99=200.0, kb=41.0),
        *_measured("naive", msgs=100.0, us=6000.0, p99=9000.0, kb=41.0),
        *_measured("bare", msgs=5000.0, us=100.0, p99=4.0, kb=16.0),
        *_measured("floor", msgs=900.0, us=800.0, p99=8.0, kb=33.0),
        _step(20, 30.0),
        _step(40, 150.0),
        _step(20, 5.0, kind="floor"),
        _step(40, 6.0, kind="floor"),
    ]

    # when
    summary = summarise(runs)

    # then ours' figures are ours' alone
    assert summary["persisted_msgs_per_s"] == 400.0
    assert summary["speedup_vs_naive"] == 4.0
    assert summary["efficiency_vs_bare"] == 0.05
    assert summary["p99_ms_1to1_half_load"] == 200.0
    assert summary["supported_users"] == 20
    assert summary["chatmix_ceiling_found"] is True
    # and the floor's beside them
    assert summary["floor_msgs_per_s"] == 900.0
    assert summary["floor_cpu_us_per_msg"] == 800.0
    assert summary["floor_speedup_vs_naive"] == 9.0
    assert summary["floor_efficiency_vs_bare"] == 0.125
    assert summary["floor_p99_ms_half_load"] == 8.0
    assert summary["floor_idle_kb_per_conn"] == 33.0
    assert summary["floor_supported_users"] == 40
    assert summary["floor_chatmix_ceiling_found"] is False
    assert summary["efficiency_vs_floor"] == 0.4
    assert set(summary["by_server"]) == set(KINDS) == {"ours", "naive", "bare", "floor"}

    # and the table has a column for it
    lines = table(summary).splitlines()
    assert lines[0].split() == ["ours", "naive", "bare", "floor"]
    row = next(line for line in lines if line.startswith("server CPU µs/msg"))
    assert row.split()[-4:] == ["2000.0", "6000.0", "100.0", "800.0"]
    held = next(line for line in lines if line.startswith("chat mix: users held"))
    assert held.split()[-4:] == ["20", "-", "-", "40"]


def test_the_floor_runs_under_ours_daphne_with_its_own_application_and_settings():
    ours, floor = _command("ours", 8000), _command("floor", 8000)

    assert floor[1:3] == ["-m", "config.serve"]
    assert floor[:-1] == ours[:-1]  # the same daphne options
    assert floor[-1] == "bench.baselines.floor.asgi:application"
    assert server_env("floor")["DJANGO_SETTINGS_MODULE"] == "bench.baselines.floor.settings"


@pytest.fixture
def in_memory_layer(settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


async def _frame(socket: WebsocketCommunicator) -> dict:
    return json.loads(await socket.receive_from(timeout=2))


async def test_the_floor_consumer_speaks_the_load_processes_frames(in_memory_layer):
    # given two members of a conversation, subscribed
    conversation = str(uuid.uuid4())  # its seq starts at 1 (the floor counts per process)
    a = WebsocketCommunicator(FloorConsumer.as_asgi(), "/ws/chat/")
    b = WebsocketCommunicator(FloorConsumer.as_asgi(), "/ws/chat/")
    try:
        for socket in (a, b):
            connected, _ = await socket.connect()
            assert connected
            await socket.send_json_to(
                {"type": "subscribe", "conversation": conversation, "after": 0}
            )
            history = await _frame(socket)
            assert (history["type"], history["messages"]) == ("history", [])
            assert (await _frame(socket))["type"] == "subscribed"

        # when a sends
        await a.send_json_to(
            {"type": "send", "conversation": conversation, "client_id": "k1", "body": "hello"}
        )

        # then a gets the ack, and both get the message with its client_id
        ack = await _frame(a)
        assert (ack["type"], ack["client_id"]) == ("ack", "k1")
        for socket in (a, b):
            message = await _frame(socket)
            assert message["type"] == "message"
            assert (message["client_id"], message["body"], message["seq"]) == ("k1", "hello", 1)
        assert await b.receive_nothing(timeout=0.1)

        await b.send_json_to({"type": "ping"})
        assert await _frame(b) == {"type": "pong"}
    finally:
        await a.disconnect()
        await b.disconnect()
