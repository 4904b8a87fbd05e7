"""``python -m bench.run [--quick]``: the whole benchmark, bounded in time.

1. Records the machine (cores, memory, load average) and the versions.
2. Makes fresh PostgreSQL databases with the users, 1:1 conversations and sessions of every
   workload (``bench.fixtures``), one for ours and one for the naive baseline (bare and floor
   borrow naive's ids and ignore its sessions).
3. Runs each workload from a separate load process (``bench.load``) against each server,
   started fresh for the run (``bench.server``):
   - throughput, closed loop, for all four;
   - latency at half of our median peak, the same offered load for all four;
   - the chat mix, stepped up until a step does not hold, for ours and the floor;
   - idle sockets, for all four;
   - a reconnect storm after a restart, for ours (the baselines keep nothing to catch up on).
   Each workload runs ``--rounds`` rounds (2 by default), alternating the servers within a
   round: ours, naive, bare, floor, ours, naive, bare, floor.
4. Writes ``bench/results/latest.json`` and prints a table.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import procstat
from bench.server import KINDS, ROOT, Server, fixtures_make, redis_pid, server_start, versions

RESULTS = ROOT / "bench" / "results"


@dataclass(frozen=True)
class Plan:
    rounds: int
    throughput_pairs: int
    warmup_s: float
    duration_s: float
    latency_pairs: int
    idle_sockets: int
    idle_hold_s: float
    idle_connect_deadline_s: float
    storm_pairs: int
    storm_missed: int
    storm_deadline_s: float
    chatmix_users: tuple[int, ...]
    # The floor's steps go on until it fails: its ceiling is what bounds ours on this stack.
    # 12,800 users is the most one load process and one server can hold under this machine's
    # limit of 20,000 open files per process (with the load process's own files beside them).
    floor_chatmix_users: tuple[int, ...]


FULL = Plan(
    rounds=2,
    throughput_pairs=50,
    warmup_s=2.0,
    duration_s=10.0,
    latency_pairs=50,
    idle_sockets=2000,
    idle_hold_s=5.0,
    idle_connect_deadline_s=60.0,
    storm_pairs=500,
    storm_missed=1,
    storm_deadline_s=120.0,
    chatmix_users=(100, 200, 400, 800, 1600, 3200),
    floor_chatmix_users=(100, 200, 400, 800, 1600, 3200, 6400, 12800),
)
QUICK = Plan(
    rounds=2,
    throughput_pairs=10,
    warmup_s=0.5,
    duration_s=2.0,
    latency_pairs=10,
    idle_sockets=100,
    idle_hold_s=1.0,
    idle_connect_deadline_s=20.0,
    storm_pairs=25,
    storm_missed=2,
    storm_deadline_s=30.0,
    chatmix_users=(20, 40),
    floor_chatmix_users=(20, 40),
)
LOAD_TIMEOUT = 420.0
# The chat mix (Mattermost's ceiling method): each user sends about once per 10 s; a step holds
# while delivery p99 stays within 100 ms, nothing is lost and the server stays under 85 % CPU.
CHATMIX_SEND_INTERVAL_S = 10.0
CHATMIX_P99_MS = 100.0
CHATMIX_CPU_PERCENT = 85.0


def chatmix_held(run: dict[str, Any]) -> bool:
    """Whether a chat-mix step held: delivered in time, nothing lost, CPU to spare."""
    if "run_failed" in run:
        return False
    p99 = run["delivery"]["p99_ms"]
    return (
        p99 is not None
        and p99 <= CHATMIX_P99_MS
        and run["lost"] == 0
        and run["undelivered_in_window"] == 0
        and run["server_cpu_percent"] is not None
        and run["server_cpu_percent"] <= CHATMIX_CPU_PERCENT
    )


def supported_users_by_round(runs: list[dict[str, Any]], kind: str = "ours") -> list[int]:
    """Per chat-mix round of server ``kind``, the largest step that held below the first that
    did not (steps run in ascending order and stop at the first failure)."""
    rounds: dict[int, list[dict[str, Any]]] = {}
    for run in runs:
        if run["workload"] == "chatmix" and run["kind"] == kind:
            rounds.setdefault(run.get("round", 0), []).append(run)
    supported = []
    for _, steps in sorted(rounds.items()):
        held = 0
        for run in sorted(steps, key=lambda run: run["users"]):
            if not chatmix_held(run):
                break
            held = run["users"]
        supported.append(held)
    return supported


def supported_users(runs: list[dict[str, Any]], kind: str = "ours") -> int | None:
    """The least of the rounds' supported users of server ``kind``: a ceiling held in one
    round only is not one the server holds. None when no chat-mix step of it ran."""
    by_round = supported_users_by_round(runs, kind)
    return min(by_round) if by_round else None


def log(text: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def log_run(run: dict[str, Any], describe: Callable[[dict[str, Any]], str]) -> None:
    if "run_failed" in run:
        log(f"{run['workload']} {run['kind']} FAILED: {run['run_failed'][-300:]}")
    else:
        log(f"{run['workload']} {run['kind']}: {describe(run)}")


def alternating(
    rounds: int,
    kinds: Sequence[str],
    measure: Callable[[str, int], dict[str, Any] | list[dict[str, Any]]],
    describe: Callable[[dict[str, Any]], str],
) -> list[dict[str, Any]]:
    """``measure(kind, round)`` for every server in every round, the servers alternating
    within a round (ours, naive, bare, floor, ours, …); each run logged as it ends. A measure
    may return several runs (the chat mix's steps)."""
    runs = []
    for round_index in range(rounds):
        for kind in kinds:
            result = measure(kind, round_index)
            for run in result if isinstance(result, list) else [result]:
                log_run(run, describe)
                runs.append(run)
    return runs


def machine() -> dict[str, Any]:
    meminfo = Path("/proc/meminfo").read_text().splitlines()
    total_kb = next(int(line.split()[1]) for line in meminfo if line.startswith("MemTotal:"))
    return {
        "cpus": procstat.cpu_count(),
        "memory_mb": total_kb // 1024,
        "kernel": platform.release(),
        "loadavg_before": procstat.loadavg(),
    }


class LoadRun:
    """One load process (``python -m bench.load``) on one spec, with a watchdog."""

    def __init__(self, spec: dict[str, Any], workdir: Path) -> None:
        path = workdir / f"spec-{spec['workload']}-{time.monotonic_ns()}.json"
        path.write_text(json.dumps(spec))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.load", str(path)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.watchdog = threading.Timer(LOAD_TIMEOUT, self.process.kill)
        self.watchdog.start()

    def events(self, on_event: Callable[[dict[str, Any]], str | None]) -> dict[str, Any]:
        """Read the load process's lines; answer its events; return its result."""
        assert self.process.stdout is not None and self.process.stdin is not None
        try:
            for line in self.process.stdout:
                message = json.loads(line)
                if "result" in message:
                    return dict(message["result"])
                reply = on_event(message)
                if reply is not None:
                    self.process.stdin.write(reply + "\n")
                    self.process.stdin.flush()
        finally:
            self.watchdog.cancel()
            self.process.wait(timeout=30)
        raise RuntimeError(f"the load process ended without a result ({self.process.returncode})")


class Bench:
    def __init__(self, plan: Plan, workdir: Path) -> None:
        self.plan = plan
        self.workdir = workdir
        self.fixtures: dict[str, dict[str, Any]] = {}
        self.postgres_pid = procstat.postmaster_pid()
        self.redis_pid = redis_pid()

    def prepare(self, kinds: Sequence[str]) -> None:
        plan = self.plan
        pairs = {f"throughput-{r}": plan.throughput_pairs for r in range(plan.rounds)}
        pairs |= {f"latency-{r}": plan.latency_pairs for r in range(plan.rounds)}
        # bare and floor borrow naive's fixtures (they ignore the sessions)
        needed = {"naive" if kind in ("bare", "floor") else kind for kind in kinds}
        chatmix = {"chatmix": max(plan.chatmix_users) // 2}
        floor_chatmix = {"chatmix": max(plan.floor_chatmix_users) // 2}
        for kind in [kind for kind in ("ours", "naive") if kind in needed]:
            started = time.perf_counter()
            out = self.workdir / f"fixtures-{kind}.json"
            own: dict[str, int] = {}
            if kind == "ours":
                own = {"storm": plan.storm_pairs} | chatmix
            elif "floor" in kinds:  # the floor's chat mix, in naive's fixtures
                own = floor_chatmix
            fixtures_make(kind, pairs=pairs | own, idle=plan.idle_sockets, out=out)
            self.fixtures[kind] = json.loads(out.read_text())
            log(f"fixtures for {kind} in {time.perf_counter() - started:.1f}s")
        self.fixtures["bare"] = self.fixtures["floor"] = self.fixtures.get("naive", {})

    def spec(self, server: Server, workload: str, **extra: Any) -> dict[str, Any]:
        fixtures = self.fixtures[server.kind]
        return {
            "workload": workload,
            "url": server.ws_url,
            "origin": server.origin,
            "cookie": fixtures["cookie"],
            "probe": {
                "server_pids": [server.pid],
                "postgres_pid": self.postgres_pid,
                "redis_pid": self.redis_pid,
            },
            **extra,
        }

    def run(self, kind: str, workload: str, **extra: Any) -> dict[str, Any]:
        """One workload against a freshly started server. A run that fails is recorded as
        failed (with the reason) and the bench goes on: it never reports a number it lacks."""
        server = server_start(kind)
        try:
            spec = self.spec(server, workload, **extra)
            result = LoadRun(spec, self.workdir).events(lambda message: None)
        except RuntimeError as error:
            result = {"run_failed": str(error)[-2000:]}
        finally:
            server.stop()
        result.update(kind=kind, workload=workload, loadavg_after=procstat.loadavg())
        return result

    def throughput(self, kind: str, round_index: int) -> dict[str, Any]:
        plan = self.plan
        pairs = self.fixtures[kind]["sets"][f"throughput-{round_index}"]
        run = self.run(
            kind, "throughput", pairs=pairs, warmup=plan.warmup_s, duration=plan.duration_s
        )
        run["round"] = round_index
        return run

    def latency(self, kind: str, rate: float, round_index: int) -> dict[str, Any]:
        plan = self.plan
        run = self.run(
            kind,
            "latency",
            pairs=self.fixtures[kind]["sets"][f"latency-{round_index}"],
            rate=rate,
            warmup=plan.warmup_s,
            duration=plan.duration_s,
        )
        run["round"] = round_index
        return run

    def chatmix(self, kind: str, round_index: int) -> list[dict[str, Any]]:
        """A server under the chat mix, stepped up until a step does not hold."""
        plan = self.plan
        steps = []
        for users in plan.floor_chatmix_users if kind == "floor" else plan.chatmix_users:
            run = self.run(
                kind,
                "latency",
                pairs=self.fixtures[kind]["sets"]["chatmix"][: users // 2],
                rate=users / CHATMIX_SEND_INTERVAL_S,
                warmup=plan.warmup_s,
                duration=plan.duration_s,
            )
            run.update(workload="chatmix", users=users, held=chatmix_held(run), round=round_index)
            steps.append(run)
            if not run["held"]:
                break
        return steps

    def idle(self, kind: str, round_index: int) -> dict[str, Any]:
        run = self.run(
            kind,
            "idle",
            idle=self.fixtures[kind]["idle"],
            hold=self.plan.idle_hold_s,
            connect_deadline=self.plan.idle_connect_deadline_s,
        )
        run["round"] = round_index
        return run

    def storm(self, round_index: int) -> dict[str, Any]:
        plan = self.plan
        holder: dict[str, Server] = {"server": server_start("ours")}
        restart_s: list[float] = []

        def on_event(message: dict[str, Any]) -> str | None:
            if message.get("event") != "restart":
                return None
            old = holder["server"]
            started = time.perf_counter()
            old.stop()
            holder["server"] = server_start("ours", port=old.port)
            restart_s.append(time.perf_counter() - started)
            return f"restarted {holder['server'].pid}"

        try:
            spec = self.spec(
                holder["server"],
                "storm",
                pairs=self.fixtures["ours"]["sets"]["storm"],
                missed=plan.storm_missed,
                deadline=plan.storm_deadline_s,
            )
            result = LoadRun(spec, self.workdir).events(on_event)
        except RuntimeError as error:
            result = {"run_failed": str(error)[-2000:]}
        finally:
            holder["server"].stop()
        result.update(
            kind="ours",
            workload="storm",
            round=round_index,
            # What the restarted server said last: the first place to look when clients fail.
            server_log_tail="".join(holder["server"].output[-40:]),
            restart_s=round(restart_s[0], 3) if restart_s else None,
            loadavg_after=procstat.loadavg(),
        )
        return result


def median(values: list[float | None]) -> float | None:
    present = [value for value in values if value is not None]
    return round(statistics.median(present), 3) if present else None


def ratio(top: float | None, bottom: float | None) -> float | None:
    return round(top / bottom, 3) if top is not None and bottom else None


def storm_p99_s(run: dict[str, Any]) -> float | None:
    """A storm's p99 time to caught up, only when every client caught up: a p99 over the
    survivors would flatter a collapse."""
    if "run_failed" in run or run["not_caught_up"] != 0:
        return None
    p99: float = run["time_to_caught_up"]["p99_s"]
    return p99


def reconnect_p99_s(storms: list[dict[str, Any]]) -> float | None:
    """The worst round's p99, and None if any round left a client behind."""
    p99s = [storm_p99_s(run) for run in storms]
    if not p99s or None in p99s:
        return None
    return max(p99 for p99 in p99s if p99 is not None)


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    def of(kind: str, workload: str) -> list[dict[str, Any]]:
        return [
            run
            for run in runs
            if run["kind"] == kind and run["workload"] == workload and "run_failed" not in run
        ]

    per_kind: dict[str, dict[str, Any]] = {}
    for kind in KINDS:
        throughput = of(kind, "throughput")
        latency = of(kind, "latency")
        idle = of(kind, "idle")
        chatmix = [run for run in runs if run["kind"] == kind and run["workload"] == "chatmix"]
        per_kind[kind] = {
            "msgs_per_s": median([run["msgs_per_s"] for run in throughput]),
            "server_cpu_us_per_msg": median([run["server_cpu_us_per_msg"] for run in throughput]),
            "stack_cpu_us_per_msg": median([run["stack_cpu_us_per_msg"] for run in throughput]),
            "server_cpu_percent": median([run["server_cpu_percent"] for run in throughput]),
            "other_cpu_percent_during_throughput": median(
                [run["other_cpu_percent"] for run in throughput]
            ),
            "closed_loop_ack_p99_ms": median([run["ack_rtt"]["p99_ms"] for run in throughput]),
            "half_load_offered_msgs_per_s": median([r["offered_msgs_per_s"] for r in latency]),
            "half_load_p50_ms": median([r["delivery"]["p50_ms"] for r in latency]),
            "half_load_p95_ms": median([r["delivery"]["p95_ms"] for r in latency]),
            "half_load_p99_ms": median([r["delivery"]["p99_ms"] for r in latency]),
            "idle_kb_per_conn": median([run["kb_per_idle_socket"] for run in idle]),
            "connections_per_s": median([run["connections_per_s"] for run in idle]),
            "supported_users": supported_users(runs, kind),
            "supported_users_by_round": supported_users_by_round(runs, kind),
            # Whether a step failed: if none did, supported_users is only the largest step tried.
            "chatmix_ceiling_found": any(not run["held"] for run in chatmix),
            "lost": sum(int(run.get("lost", 0)) for run in runs if run["kind"] == kind),
            "runs": len([run for run in runs if run["kind"] == kind]),
            "failed_runs": len([r for r in runs if r["kind"] == kind and "run_failed" in r]),
        }
    ours, naive, bare, floor = (per_kind[kind] for kind in ("ours", "naive", "bare", "floor"))
    storms = [run for run in runs if run["workload"] == "storm"]
    return {
        "persisted_msgs_per_s": ours["msgs_per_s"],
        "server_cpu_us_per_msg": ours["server_cpu_us_per_msg"],
        "stack_cpu_us_per_msg": ours["stack_cpu_us_per_msg"],
        "speedup_vs_naive": ratio(ours["msgs_per_s"], naive["msgs_per_s"]),
        "efficiency_vs_bare": ratio(bare["server_cpu_us_per_msg"], ours["server_cpu_us_per_msg"]),
        "p99_ms_1to1_half_load": ours["half_load_p99_ms"],
        "idle_kb_per_conn": ours["idle_kb_per_conn"],
        "connections_per_s": ours["connections_per_s"],
        "supported_users": ours["supported_users"],
        "supported_users_by_round": ours["supported_users_by_round"],
        "chatmix_ceiling_found": ours["chatmix_ceiling_found"],
        "reconnect_p99_s": reconnect_p99_s(storms),
        "reconnect_p99_s_by_round": [storm_p99_s(run) for run in storms],
        "lost": ours["lost"],
        # The floor: daphne + Channels + channels-redis with no product code. Its figures bound
        # ours' from the best side on this stack: e.g. floor_efficiency_vs_bare is the most
        # efficiency_vs_bare can reach, floor_speedup_vs_naive the most speedup_vs_naive can.
        "floor_msgs_per_s": floor["msgs_per_s"],
        "floor_cpu_us_per_msg": floor["server_cpu_us_per_msg"],
        "floor_speedup_vs_naive": ratio(floor["msgs_per_s"], naive["msgs_per_s"]),
        "floor_efficiency_vs_bare": ratio(
            bare["server_cpu_us_per_msg"], floor["server_cpu_us_per_msg"]
        ),
        "floor_p99_ms_half_load": floor["half_load_p99_ms"],
        "floor_idle_kb_per_conn": floor["idle_kb_per_conn"],
        "floor_connections_per_s": floor["connections_per_s"],
        "floor_supported_users": floor["supported_users"],
        "floor_supported_users_by_round": floor["supported_users_by_round"],
        "floor_chatmix_ceiling_found": floor["chatmix_ceiling_found"],
        # Of ours' server CPU per message, the share the stack takes before the product runs
        # (floor µs/msg ÷ ours µs/msg; 1 would mean the product costs nothing).
        "efficiency_vs_floor": ratio(floor["server_cpu_us_per_msg"], ours["server_cpu_us_per_msg"]),
        "by_server": per_kind,
    }


TABLE_ROWS = [
    ("msgs/s acked (closed loop, median)", "msgs_per_s"),
    ("server CPU µs/msg", "server_cpu_us_per_msg"),
    ("server+PG+Redis CPU µs/msg", "stack_cpu_us_per_msg"),
    ("server CPU % during throughput", "server_cpu_percent"),
    ("other work on the machine, % of a core", "other_cpu_percent_during_throughput"),
    ("closed-loop ack p99 ms", "closed_loop_ack_p99_ms"),
    ("half-load offered msgs/s", "half_load_offered_msgs_per_s"),
    ("half-load delivery p50 ms", "half_load_p50_ms"),
    ("half-load delivery p95 ms", "half_load_p95_ms"),
    ("half-load delivery p99 ms", "half_load_p99_ms"),
    ("idle KiB per socket", "idle_kb_per_conn"),
    ("connections/s", "connections_per_s"),
    ("chat mix: users held (least round)", "supported_users"),
    ("lost messages", "lost"),
]


def table(summary: dict[str, Any]) -> str:
    by_server = summary["by_server"]
    lines = [f"{'':38} " + " ".join(f"{kind:>12}" for kind in KINDS)]
    for label, key in TABLE_ROWS:
        cells = []
        for kind in KINDS:
            value = by_server[kind][key]
            cells.append(f"{'-' if value is None else value:>12}")
        lines.append(f"{label:38} {' '.join(cells)}")
    lines.append("")
    for key in (
        "persisted_msgs_per_s",
        "server_cpu_us_per_msg",
        "speedup_vs_naive",
        "efficiency_vs_bare",
        "p99_ms_1to1_half_load",
        "idle_kb_per_conn",
        "supported_users",
        "reconnect_p99_s",
        "lost",
        "floor_msgs_per_s",
        "floor_cpu_us_per_msg",
        "floor_speedup_vs_naive",
        "floor_efficiency_vs_bare",
        "floor_p99_ms_half_load",
        "floor_idle_kb_per_conn",
        "floor_supported_users",
        "efficiency_vs_floor",
    ):
        value = summary[key]
        lines.append(f"{key:38} {'not measured' if value is None else value}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a smoke run: seconds per workload")
    parser.add_argument("--rounds", type=int, help="rounds of each workload (default 2)")
    parser.add_argument("--out", type=Path, default=RESULTS / "latest.json")
    parser.add_argument(
        "--workloads",
        nargs="*",
        default=["throughput", "latency", "chatmix", "idle", "storm"],
        choices=["throughput", "latency", "chatmix", "idle", "storm"],
    )
    parser.add_argument(
        "--servers",
        nargs="*",
        default=list(KINDS),
        choices=KINDS,
        help="a subset, to look at one server while working on it (the summary needs all four)",
    )
    args = parser.parse_args()
    plan = QUICK if args.quick else FULL
    if args.rounds:
        plan = Plan(**{**plan.__dict__, "rounds": max(1, args.rounds)})
    procstat.raise_fd_limit()  # the servers and the load process inherit it
    started = time.perf_counter()
    report: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "mode": "quick" if args.quick else "full",
        "plan": plan.__dict__,
        "machine": machine(),
        "versions": versions(),
    }
    log(f"machine {report['machine']}")
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="chatbox-bench-") as workdir:
        bench = Bench(plan, Path(workdir))
        kinds = [kind for kind in KINDS if kind in args.servers]
        bench.prepare(kinds)
        if "throughput" in args.workloads:
            runs += alternating(
                plan.rounds,
                kinds,
                bench.throughput,
                lambda r: (
                    f"round {r['round']}: {r['msgs_per_s']} msgs/s, "
                    f"{r['server_cpu_us_per_msg']} µs/msg, lost {r['lost']}, "
                    f"others {r['other_cpu_percent']}%, errors {r['errors']}"
                ),
            )
        if "latency" in args.workloads:
            peaks = [r["msgs_per_s"] for r in runs if r["kind"] == "ours" and "msgs_per_s" in r]
            rate = round(statistics.median(peaks) / 2, 1) if peaks else 50.0
            runs += alternating(
                plan.rounds,
                kinds,
                lambda kind, round_index: bench.latency(kind, rate, round_index),
                lambda r: f"at {rate} msgs/s: {r['delivery']}, lost {r['lost']}",
            )
        if "chatmix" in args.workloads:
            runs += alternating(
                plan.rounds,
                [kind for kind in kinds if kind in ("ours", "floor")],
                bench.chatmix,
                lambda r: (
                    f"round {r['round']}, {r['users']} users: delivery {r['delivery']}, "
                    f"CPU {r['server_cpu_percent']}%, lost {r['lost']}, held {r['held']}"
                ),
            )
        if "idle" in args.workloads:
            runs += alternating(
                plan.rounds,
                kinds,
                bench.idle,
                lambda r: (
                    f"{r['sockets']} sockets, {r['kb_per_idle_socket']} KiB each, "
                    f"{r['connections_per_s']} conn/s, errors {r['errors']}"
                ),
            )
        if "storm" in args.workloads and "ours" in kinds:
            for round_index in range(plan.rounds):
                run = bench.storm(round_index)
                runs.append(run)
                log_run(run, lambda r: f"{r['time_to_caught_up']}, lost {r['lost']}, {r['failed']}")
    report["machine"]["loadavg_after"] = procstat.loadavg()
    report["elapsed_s"] = round(time.perf_counter() - started, 1)
    report["summary"] = summarise(runs)
    report["runs"] = runs
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(table(report["summary"]))
    print(
        f"\nload average before {report['machine']['loadavg_before']}, after "
        f"{report['machine']['loadavg_after']} on {report['machine']['cpus']} CPUs; "
        f"{report['elapsed_s']} s; written to {args.out}"
    )


if __name__ == "__main__":
    main()
