"""kubelab: hands-on Kubernetes labs, checked by pytest against a real cluster."""

import sys

__version__ = "0.1.0"


def main() -> None:
    """The `kubelab` command. It starts by importing the Kubernetes client, which takes
    a moment; a Ctrl-C in that moment ends as one line and exit 130 too."""
    try:
        from kubelab.cli import main as run
    except KeyboardInterrupt:
        sys.stderr.write("interrupted: 중단했습니다 / stopped\n")
        raise SystemExit(130) from None
    run()
