"""`python -m kubelab` is the `kubelab` command."""

from kubelab.cli import main

main()
