# kubelab — every task goes through here. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum < pyproject.toml | cut -d' ' -f1)

.PHONY: help install shell doctor lint test e2e verify offline-cluster bench clean
.DEFAULT_GOAL := help

help:  ## list the tasks
	@grep -hE '^[a-z%-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 20

# editable_mode=compat: a plain .pth puts the checkout on sys.path (the default's import
# hook costs every kubelab process about 20 ms at start)
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "installing kubelab into $(VENV) …"
	@$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]' --config-settings editable_mode=compat
	@rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)  ## create .venv and install kubelab (with its own kubectl)

# The shell a lab's commands run in: .venv/bin (kubelab and the kubectl that matches the
# cluster) first on PATH, as `source .venv/bin/activate` does; `exit` leaves it.
shell: $(STAMP)  ## a shell with kubelab's kubectl and kubelab on PATH (exit to leave)
	@echo "kubelab: $(CURDIR)/$(BIN) is first on PATH here; exit to leave"
	@PATH="$(CURDIR)/$(BIN):$$PATH" VIRTUAL_ENV="$(CURDIR)/$(VENV)" $${SHELL:-/bin/bash} -i

doctor: $(STAMP)  ## is this machine ready? Docker, kind, kubectl (this shell's too), memory, ports
	@$(BIN)/kubelab doctor

lab-%: $(STAMP)  ## start lab NN: cluster up (or reused), images loaded, instructions shown
	@$(BIN)/kubelab start $*

check-%: $(STAMP)  ## check lab NN against the live cluster: the scorecard (HINT=full: whole hints)
	@$(BIN)/kubelab check $* $(if $(HINT),--hint $(HINT))

reset-%: $(STAMP)  ## delete what kubelab created for lab NN, nothing else
	@$(BIN)/kubelab reset $*

solve-%: $(STAMP)  ## apply lab NN's reference solution (teachers, CI)
	@$(BIN)/kubelab solve $*

verify: $(STAMP)  ## on the cluster: solutions pass, starters and wrong answers fail
	@$(BIN)/kubelab verify

lint: $(STAMP)  ## offline: lab content, ruff, mypy (no cluster)
	@$(BIN)/kubelab lint
	@$(BIN)/ruff check kubelab checkers tests benchmarks conftest.py
	@$(BIN)/ruff format --check --quiet kubelab checkers tests benchmarks conftest.py
	@$(BIN)/mypy
	@ACTIONLINT=$(BIN)/actionlint bash ci/actionlint.sh

test: lint  ## lint + unit tests (no Docker, no cluster needed)
	@$(BIN)/pytest -m "not e2e" -q

e2e: $(STAMP)  ## end-to-end: `kubelab verify` of every lab on a real kind cluster
	@$(BIN)/pytest -m e2e --e2e -v --durations=10 tests/e2e

offline-cluster:  ## build Docker engine, kind, Kubernetes and the node image with no internet
	@bash ci/offline-cluster.sh

bench: $(STAMP)  ## measure the budgets: lint, a check run, a lab start, a verification, one node vs three, a class, data vs Python checks
	@$(BIN)/python -m benchmarks.budgets
	@$(BIN)/python -m benchmarks.nodes
	@$(BIN)/python -m benchmarks.classes
	@$(BIN)/python -m benchmarks.declared

clean:  ## remove the venv and kubelab's own state (never your manifests)
	rm -rf $(VENV) .kubelab .pytest-kind .mypy_cache .ruff_cache
