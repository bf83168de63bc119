# The package's entry points. Every tool runs from the repo's .venv (made by `make setup`).
# Others extend this file by adding targets/prerequisites in the marked spots or in
# mk/*.mk (included below), not by editing the logic here.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

REPO    := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
VENV    := $(REPO)/.venv
BIN     := $(VENV)/bin
PY      := $(BIN)/python
export ANSIBLE_CONFIG := $(REPO)/ansible.cfg
export PATH := $(BIN):$(PATH)

# Test pieces: `test` runs all of them, TEST_JOBS at a time, starting in this order: the long
# ones first (the single-host lab's integration tests; mk/*.mk append theirs, e.g. mk/molecule.mk
# `TEST_TARGETS += test-molecule`), then the quick ones, which fill the slot that frees first.
TEST_TARGETS := test-integration
TEST_TARGETS_LAST := lint test-unit test-modules
PYTEST_ARGS  ?=
# The lab is one shared resource per machine: commands that use it hold this lock.
LAB_LOCK ?= /tmp/cutover-lab.lock
export CUTOVER_LAB_LOCK := $(LAB_LOCK)
# Mitogen for Ansible (the switch CUTOVER_MITOGEN=1, README "Faster runs with Mitogen"): the
# test pieces that use it run their command through MITOGEN_RUN; MITOGEN=0 turns it off there.
MITOGEN ?= 1
MITOGEN_RUN := $(if $(filter 1,$(MITOGEN)),$(REPO)/scripts/with-mitogen)

.PHONY: help setup lab lab-reset lab-down demo lint test test-unit test-modules test-integration bench

help:
	@echo "make setup       one-step idempotent setup: packages, docker engine, .venv, base image"
	@echo "make lab         bring the lab up (docker-host over SSH, Postgres, object store, old release)"
	@echo "make lab-reset   back to the old release with its original data"
	@echo "make lab-down    remove every container, network, volume and file the lab made (LAB_DOWN_ALL=1: every lab host on the machine)"
	@echo "make demo        the main job: setup, lab, cutover"
	@echo "make lint        ansible-lint (production), yamllint, ruff, mypy"
	@echo "make test        $(TEST_TARGETS) $(TEST_TARGETS_LAST)"

setup:
	@scripts/setup.sh

lab: setup
	@echo "==> bringing the lab up (playbooks/lab.yml)"
	@time $(BIN)/ansible-playbook playbooks/lab.yml

lab-reset: setup
	@echo "==> resetting the lab to the old release (playbooks/lab_reset.yml)"
	@$(BIN)/ansible-playbook playbooks/lab_reset.yml

lab-down:
	@echo "==> taking the lab down (playbooks/lab_down.yml)"
	@if [[ -x $(BIN)/ansible-playbook ]]; then \
	  $(BIN)/ansible-playbook playbooks/lab_down.yml $(if $(LAB_DOWN_ALL),-e lab_down_all=true); \
	else \
	  echo "no .venv: taking down the lab hosts found on this machine with scripts/lab-host.sh"; \
	  for i in $$(scripts/lab-host.sh list); do scripts/lab-host.sh down "$$i"; done; \
	fi

# The main job. DEMO_STEPS runs after the lab is up; the cutover (issue 3/4) adds itself here,
# e.g. in mk/cutover.mk: `DEMO_STEPS += demo-cutover`.
DEMO_STEPS ?=
demo: lab
	@$(MAKE) --no-print-directory $(DEMO_STEPS) $(if $(DEMO_STEPS),,demo-lab-only)

.PHONY: demo-lab-only
demo-lab-only:
	@echo "==> the lab is up with the old release; the cutover is not wired into 'make demo' yet"

# ---------------------------------------------------------------------------------- lint
PY_LINT_PATHS := $(wildcard tests scripts/*.py python_wrapper/cutover benchmarks playbooks/*_plugins roles/*/filter_plugins roles/*/library roles/cutover_edge/files/image)
lint: setup
	@echo "==> yamllint"
	@$(BIN)/yamllint -s .
	@echo "==> ansible-lint --profile production"
	@$(BIN)/ansible-lint --profile production --offline -q
	@echo "==> ruff"
	@$(BIN)/ruff check $(PY_LINT_PATHS)
	@if [[ -d python_wrapper/cutover ]]; then echo "==> mypy python_wrapper"; \
	  $(BIN)/mypy python_wrapper/cutover; fi

# ---------------------------------------------------------------------------------- tests
# The pieces are independent (molecule never touches the lab's names or ports), so two run
# at a time; each piece's output is printed whole when it ends (--output-sync).
TEST_JOBS ?= 2
test: setup
	@$(MAKE) --no-print-directory -j$(TEST_JOBS) --output-sync=target $(TEST_TARGETS) $(TEST_TARGETS_LAST)
	@echo "==> make test: all passed ($(TEST_TARGETS) $(TEST_TARGETS_LAST))"

test-unit: setup
	@if [[ -d tests/unit ]]; then echo "==> unit tests"; $(BIN)/pytest -q tests/unit $(PYTEST_ARGS); \
	else echo "==> no unit tests yet"; fi

test-modules: setup
	@echo "==> the workload modules' own gates (typecheck, build, test)"
	@$(BIN)/pytest -q tests/test_modules.py $(PYTEST_ARGS)

# Test files with a lab of their own run in their own target (mk/fleet.mk: test-fleet).
INTEGRATION_IGNORE ?=
# Which single-host tests run over Ansible's own SSH connection (INTEGRATION_SSH: the lab's
# playbooks, the early phases' checks, and one whole cutover with its rerun and rollback by plain
# ansible-playbook); every other test runs with Mitogen (MITOGEN_RUN), which halves the time and
# the CPU of each playbook run. Both connections are tested; molecule uses the docker connection.
INTEGRATION_SSH ?= tests/integration/test_lab.py tests/integration/test_phases_early.py \
  tests/integration/test_cutover.py::test_old_to_new_then_twice_then_rollback
INTEGRATION_PYTEST = $(BIN)/pytest -q -m integration --durations=15 $(PYTEST_ARGS)
test-integration: setup
	@echo "==> integration tests (real lab; serialised with flock $(LAB_LOCK) unless CUTOVER_LAB_LOCKED=1 says the caller holds it)"
	@if [[ "$${CUTOVER_LAB_LOCKED:-}" == 1 ]]; then \
	  $(MAKE) --no-print-directory test-integration-locked; \
	else \
	  CUTOVER_LAB_LOCKED=1 flock $(LAB_LOCK) $(MAKE) --no-print-directory test-integration-locked; \
	fi

# Both sessions run even when the first fails; the target fails when either did.
.PHONY: test-integration-locked
test-integration-locked:
	@status=0; \
	echo "==> integration tests over SSH: $(INTEGRATION_SSH)"; \
	$(INTEGRATION_PYTEST) $(INTEGRATION_SSH) || status=1; \
	echo "==> integration tests$(if $(MITOGEN_RUN), with Mitogen): the others"; \
	$(MITOGEN_RUN) $(INTEGRATION_PYTEST) tests/integration $(INTEGRATION_IGNORE) $(addprefix --deselect=,$(INTEGRATION_SSH)) || status=1; \
	exit $$status

-include mk/*.mk
