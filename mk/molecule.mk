# Molecule: one scenario per role under molecule/ (see molecule/README.md).
# `make test-molecule` runs them all (MOLECULE_SCENARIOS="a b" for some) and prints a summary.
# `make test` runs them as two pieces of about the same length (test-molecule-1: the scenarios
# of MOLECULE_SHARD_1, ~500 s; test-molecule-2: every other one, so a new scenario is never
# left out), so the slot that frees first takes one half.
MOLECULE_SCENARIOS ?=
MOLECULE_ALL := $(sort $(notdir $(patsubst %/molecule.yml,%,$(wildcard molecule/*/molecule.yml))))
MOLECULE_SHARD_1 := cutover_edge cutover_prep cutover_rollback cutover_build cutover_common cutover_validate
TEST_TARGETS += test-molecule-1 test-molecule-2
.PHONY: test-molecule test-molecule-1 test-molecule-2
test-molecule: setup
	@echo "==> molecule scenarios (one per role; real containers; never the lab's names or ports)"
	@MOLECULE_VENV=$(VENV) molecule/run-all.sh $(MOLECULE_SCENARIOS)

test-molecule-1: setup
	@echo "==> molecule scenarios, first half: $(filter $(MOLECULE_SHARD_1),$(MOLECULE_ALL))"
	@MOLECULE_VENV=$(VENV) molecule/run-all.sh $(filter $(MOLECULE_SHARD_1),$(MOLECULE_ALL))

test-molecule-2: setup
	@echo "==> molecule scenarios, second half: $(filter-out $(MOLECULE_SHARD_1),$(MOLECULE_ALL))"
	@MOLECULE_VENV=$(VENV) molecule/run-all.sh $(filter-out $(MOLECULE_SHARD_1),$(MOLECULE_ALL))
