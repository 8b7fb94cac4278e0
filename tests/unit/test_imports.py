"""kubelab.imports: a command does not pay for modules it never uses."""

from __future__ import annotations

import subprocess
import sys

from kubelab.imports import without


def test_without_hides_a_module_only_while_inside() -> None:
    assert "kubelab_no_such_module_yet" not in sys.modules
    with without("json"):  # already imported: left alone
        import json  # noqa: F401
    with without("kubelab_no_such_module_yet"):
        try:
            import kubelab_no_such_module_yet  # type: ignore[import-not-found]  # noqa: F401
        except ImportError:
            hidden = True
        else:
            hidden = False
    assert hidden
    assert "kubelab_no_such_module_yet" not in sys.modules  # importable as usual again


def run(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout.strip()


def test_list_loads_no_kubernetes_client_and_no_schemas() -> None:
    loaded = run(
        "import sys\n"
        "from kubelab import cli, labspec\n"
        "labspec.all_labs()\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'kubernetes', 'jsonschema'}))"
    )
    assert loaded == "[]"


def test_the_kubernetes_client_comes_without_kubernetes_validate() -> None:
    loaded = run("import sys\nimport kubelab.kube\nprint('kubernetes_validate' in sys.modules)")
    assert loaded == "False"
