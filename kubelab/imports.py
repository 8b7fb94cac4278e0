"""Importing less: a command should not pay for modules it never uses.

`kubernetes.dynamic` imports `kubernetes_validate` (and with it jsonschema and every
format checker, about 50 ms) whenever it is installed, only to offer client-side schema
validation on create — which kubelab never asks it for (kubelab validates manifests
itself, offline, in kubelab.manifests). kubelab.kube imports the client `without` it;
kubelab.manifests still imports kubernetes_validate normally when it validates.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def without(module: str) -> Iterator[None]:
    """While inside, importing `module` raises ImportError (an optional import skips it);
    afterwards it imports as usual. A module already imported is left alone."""
    if module in sys.modules:
        yield
        return
    sys.modules[module] = None  # type: ignore[assignment]  # Python's "not importable"
    try:
        yield
    finally:
        if sys.modules.get(module, 0) is None:
            del sys.modules[module]
