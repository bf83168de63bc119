# The fleet lab (issue 12): `make lab LAB_HOSTS=3` brings up inventory/lab-fleet (lab hosts
# 2, 3 and 4, files in .lab-fleet) instead of inventory/lab (host 1, files in .lab);
# `make lab-down LAB_HOSTS=3` takes down those three only. The fleet has its own lab lock and
# its own files, so it never waits on, blocks or breaks the single host's lab.
# Every ansible command of these targets reads the inventory from ANSIBLE_INVENTORY.
LAB_HOSTS ?= 1
ifeq ($(LAB_HOSTS),3)
export ANSIBLE_INVENTORY := $(REPO)/inventory/lab-fleet
LAB_LOCK := /tmp/cutover-lab-fleet.lock
export CUTOVER_LAB_LOCK := $(LAB_LOCK)
else ifneq ($(LAB_HOSTS),1)
$(error LAB_HOSTS must be 1 (inventory/lab) or 3 (inventory/lab-fleet), not '$(LAB_HOSTS)')
endif

# The fleet's integration test (brings the fleet lab up itself, under the fleet's lock): a
# piece of `make test` of its own, so it runs beside the single-host integration tests.
# The fleet lab's pieces run every ansible command with Mitogen (MITOGEN_RUN, Makefile).
FLEET_LOCK ?= /tmp/cutover-lab-fleet.lock
TEST_TARGETS += test-fleet
INTEGRATION_IGNORE += --ignore=tests/integration/test_fleet.py
.PHONY: test-fleet bench-fleet
test-fleet: setup
	@echo "==> fleet integration test (lab hosts 2-4; flock $(FLEET_LOCK)$(if $(MITOGEN_RUN),; Mitogen))"
	@$(MITOGEN_RUN) $(BIN)/pytest -q -m integration --durations=10 tests/integration/test_fleet.py $(PYTEST_ARGS)

# The second workload's tests (greenhouse, its own inventory) on the fleet lab's first host,
# under the fleet's lock: off the single host's lab, so they run beside its tests.
TEST_TARGETS += test-second-workload
INTEGRATION_IGNORE += --ignore=tests/integration/test_second_workload.py
.PHONY: test-second-workload
test-second-workload: setup
	@echo "==> second workload (greenhouse) on the fleet lab's first host (flock $(FLEET_LOCK)$(if $(MITOGEN_RUN),; Mitogen))"
	@CUTOVER_LAB_HOSTS=3 CUTOVER_LAB_LOCK=$(FLEET_LOCK) \
	  $(MITOGEN_RUN) $(BIN)/pytest -q -m integration --durations=10 tests/integration/test_second_workload.py $(PYTEST_ARGS)

# The fleet's halt policy (tests/integration/test_fleet_halt.py): on the fleet lab, not part
# of `make test` (CI's time budget).
INTEGRATION_IGNORE += --ignore=tests/integration/test_fleet_halt.py
.PHONY: test-fleet-halt
test-fleet-halt: setup
	@echo "==> the fleet's halt policy (lab hosts 2-4; flock $(FLEET_LOCK))"
	@$(BIN)/pytest -q -m integration --durations=5 tests/integration/test_fleet_halt.py $(PYTEST_ARGS)

# Wall time of a 3-host rolling cutover against a 1-host one, measured in the same run.
bench-fleet: setup
	@$(PY) benchmarks/fleet.py
