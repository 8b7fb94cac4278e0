"""Is a process that kubelab recorded still the one running?

A record says which process made an object or waits in a queue: its pid, and the time the
kernel started it. A pid alone is not enough: on Linux pids wrap at 32,768 by default, and
a long grading (a pytest and a kubectl per answer) goes round in minutes, so a dead run's
pid soon belongs to another process. Where the start time cannot be read (no /proc, as on
macOS), the pid alone decides, as before.
"""

from __future__ import annotations

import os
from pathlib import Path


def started(pid: int) -> str:
    """When the kernel started process `pid` (clock ticks since boot, with the boot's id),
    or "" when it cannot be read."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
        boot = Path("/proc/sys/kernel/random/boot_id").read_text(encoding="ascii").strip()
    except OSError:
        return ""
    fields = stat.rpartition(")")[2].split()  # the name, in parentheses, may hold spaces
    return f"{boot}:{fields[19]}" if len(fields) > 19 else ""


def this_one() -> tuple[int, str]:
    """This process: (pid, start)."""
    return os.getpid(), started(os.getpid())


def alive(pid: object, start: object = "") -> bool:
    """Is process `pid` running, and (when `start` is known) the same one that was recorded?"""
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: it exists
    if isinstance(start, str) and start:
        now = started(pid)
        return not now or now == start
    return True
