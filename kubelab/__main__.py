"""`python -m kubelab` is the `kubelab` command."""

from kubelab import main

main()
