"""CPU time and memory of processes, read from ``/proc`` (Linux only, no dependencies).

CPU is counted in seconds of user + system time. PostgreSQL forks a backend per connection,
and backends come and go (Django closes its connection after each request unless
``CONN_MAX_AGE`` is set): the postmaster's ``cutime``/``cstime`` hold the CPU of backends it has
reaped, its live children hold their own, so the sum of both is the whole cluster's CPU.
"""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PROC = Path("/proc")


@dataclass(frozen=True)
class ProcStat:
    pid: int
    ppid: int
    comm: str
    utime: int
    stime: int
    cutime: int
    cstime: int


def proc_stat(pid: int) -> ProcStat | None:
    """The fields of ``/proc/PID/stat`` used here; None when the process is gone."""
    try:
        raw = (PROC / str(pid) / "stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # comm is in parentheses and may hold spaces or parentheses itself.
    comm = raw[raw.index("(") + 1 : raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2 :].split()
    # fields[0] is the state; see proc(5): ppid is field 4, utime..cstime fields 14..17.
    return ProcStat(
        pid=pid,
        ppid=int(fields[1]),
        comm=comm,
        utime=int(fields[11]),
        stime=int(fields[12]),
        cutime=int(fields[13]),
        cstime=int(fields[14]),
    )


def cpu_seconds(pid: int) -> float:
    """User + system CPU of one process (all its threads); 0 when it is gone."""
    stat = proc_stat(pid)
    return 0.0 if stat is None else (stat.utime + stat.stime) / CLOCK_TICKS


def rss_kb(pid: int) -> int:
    """Resident set size of one process in KiB; 0 when it is gone."""
    try:
        for line in (PROC / str(pid) / "status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def all_stats() -> list[ProcStat]:
    stats = []
    for entry in PROC.iterdir():
        if entry.name.isdigit() and (stat := proc_stat(int(entry.name))) is not None:
            stats.append(stat)
    return stats


def postmaster_pid() -> int | None:
    """The PostgreSQL postmaster on this machine: a ``postgres`` whose parent is not one."""
    stats = {stat.pid: stat for stat in all_stats()}
    for stat in stats.values():
        parent = stats.get(stat.ppid)
        if stat.comm == "postgres" and (parent is None or parent.comm != "postgres"):
            return stat.pid
    return None


def cluster_cpu_seconds(root: int) -> float:
    """CPU of ``root`` and of all its children, live (their own time) and reaped (its
    ``cutime``/``cstime``): for the postmaster, the whole PostgreSQL cluster."""
    total = 0
    for stat in all_stats():
        if stat.pid == root:
            total += stat.utime + stat.stime + stat.cutime + stat.cstime
        elif stat.ppid == root:
            total += stat.utime + stat.stime
    return total / CLOCK_TICKS


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine spent busy (all cores), from ``/proc/stat``."""
    fields = (PROC / "stat").read_text().splitlines()[0].split()[1:]
    # user nice system idle iowait irq softirq steal ...: everything but idle and iowait.
    values = [int(value) for value in fields[:8]]
    return (sum(values) - values[3] - values[4]) / CLOCK_TICKS


def raise_fd_limit() -> int:
    """Raise this process's open-file limit to its hard limit (children inherit it): a few
    thousand sockets pass the usual soft limit of 1024. Returns the new limit."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def loadavg() -> list[float]:
    """The 1, 5 and 15 minute load averages of the machine."""
    return [float(value) for value in (PROC / "loadavg").read_text().split()[:3]]


def cpu_count() -> int:
    return os.cpu_count() or 1


@dataclass(frozen=True)
class CpuSample:
    """CPU seconds so far of the server, PostgreSQL and Redis, at one moment."""

    server: float
    postgres: float
    redis: float
    machine: float


@dataclass(frozen=True)
class CpuProbe:
    """Which processes count as the server and its backing services."""

    server_pids: tuple[int, ...]
    postgres_pid: int | None = None
    redis_pid: int | None = None

    def sample(self) -> CpuSample:
        return CpuSample(
            server=sum(cpu_seconds(pid) for pid in self.server_pids),
            postgres=cluster_cpu_seconds(self.postgres_pid) if self.postgres_pid else 0.0,
            redis=cpu_seconds(self.redis_pid) if self.redis_pid else 0.0,
            machine=machine_busy_seconds(),
        )

    def rss_kb(self) -> int:
        return sum(rss_kb(pid) for pid in self.server_pids)


def cpu_delta(before: CpuSample, after: CpuSample) -> dict[str, float]:
    return {
        "server": round(after.server - before.server, 4),
        "postgres": round(after.postgres - before.postgres, 4),
        "redis": round(after.redis - before.redis, 4),
        "machine": round(after.machine - before.machine, 4),
    }
