"""Looking at a lab from outside: HTTP from the host.

These are what disturbing and behavioural checks use to prove that something works
(a NodePort answers from the host, a page changes, a file is in a volume), rather than
that a manifest is spelled a certain way.
"""

from __future__ import annotations

import http.client
import json
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from kubelab import deadline

MAX_BODY = 64 * 1024
"""Bytes of a body kept (a probe wants to know who answered, not a download)."""


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
    """GET a URL from this machine (the learner's laptop, or CI's host): that address and
    nothing else — no redirect is followed and no HTTP proxy from the environment is
    used, so what answers is the NodePort asked about. Bounded by `timeout` (or the
    check's deadline)."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        return HttpAnswer(url, 0, {}, "", "only http://host:port/ addresses are probed")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    limit = deadline.bound(timeout)
    ends = time.monotonic() + limit
    connection = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=limit)
    try:
        connection.request("GET", target, headers={"Connection": "close"})
        response = connection.getresponse()
        body = b""
        while len(body) < MAX_BODY and (chunk := response.read1(MAX_BODY - len(body))):
            body += chunk
            if time.monotonic() > ends:  # a server that drips its answer does not hold the check
                raise TimeoutError(f"the answer did not end within {limit:g} s")
        return HttpAnswer(url, response.status, dict(response.getheaders()), body.decode("utf-8", "replace"))
    except (OSError, http.client.HTTPException) as e:
        return HttpAnswer(url, 0, {}, "", str(e) or type(e).__name__)
    finally:
        connection.close()


def web_said(body: str, key: str) -> str:
    """What the labs' web image (kubelab/web) says under `key` in its JSON answer ("pod":
    the pod that answered, "version"), or what answered instead."""
    try:
        return str(json.loads(body)[key])
    except (ValueError, KeyError, TypeError):
        return f"(not the web image: {body.strip()[:40]!r})"
