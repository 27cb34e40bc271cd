"""What a process has used so far, read from /proc: CPU time and resident memory (Linux)."""

from __future__ import annotations

import os
from pathlib import Path


def cpu_seconds(pid: int) -> float:
    """User + system CPU the process has used so far, in seconds (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    """Resident memory in MB (0 once the process is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def children(pid: int) -> list[int]:
    """The process's live children (Linux ``/proc/PID/task/TID/children``)."""
    found: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            found += [int(c) for c in (task / "children").read_text().split()]
    except OSError:
        pass
    return found


def serve_family(pid: int) -> dict[str, int]:
    """``maple serve`` and the processes it supervises, by role: ``serve``, ``ack 1``…, ``worker 1``…"""
    family, counts = {"serve": pid}, {"ack": 0, "worker": 0}
    for child in sorted(children(pid)):
        try:
            argv = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        role = "ack" if b"front" in argv else "worker" if b"worker" in argv else None
        if role is not None:
            counts[role] += 1
            family[f"{role} {counts[role]}"] = child
    return family
