"""The bench's accounting (bench.load, bench.run) on known inputs: pure functions, no server."""

from __future__ import annotations

from bench.load import Tally, delays, latency_summary, lost_messages, percentile
from bench.procstat import CpuSample, cpu_delta
from bench.run import chatmix_held, reconnect_p99_s, supported_users, supported_users_by_round


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
    users: int, p99: float | None, *, lost: int = 0, cpu: float = 40.0, round_index: int = 0
) -> dict:
    return {
        "workload": "chatmix",
        "round": round_index,
        "users": users,
        "delivery": {"p99_ms": p99},
        "lost": lost,
        "undelivered_in_window": 0,
        "server_cpu_percent": cpu,
    }


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
