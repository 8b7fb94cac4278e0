"""kubelab: hands-on Kubernetes labs, checked by pytest against a real cluster."""

__version__ = "0.1.0"
