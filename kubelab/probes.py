"""Looking at a lab from outside: HTTP from the host.

These are what disturbing and behavioural checks use to prove that something works
(a NodePort answers from the host, a page changes, a file is in a volume), rather than
that a manifest is spelled a certain way.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass


@dataclass(frozen=True)
class HttpAnswer:
    """One HTTP exchange; status 0 means no answer at all (refused, timed out)."""

    url: str
    status: int
    headers: dict[str, str]
    body: str
    error: str = ""

    def describe(self) -> str:
        if self.status == 0:
            return f"no answer from {self.url} ({self.error})"
        return f"HTTP {self.status} from {self.url}: {self.body.strip()[:120]}"


def http_get(url: str, timeout: float = 3) -> HttpAnswer:
    """GET a URL from this machine (the learner's laptop, or CI's host)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            body = resp.read().decode("utf-8", "replace")
            return HttpAnswer(url, resp.status, dict(resp.headers.items()), body)
    except urllib.error.HTTPError as e:
        return HttpAnswer(url, e.code, dict(e.headers.items()), e.read().decode("utf-8", "replace"))
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        return HttpAnswer(url, 0, {}, "", str(reason))
