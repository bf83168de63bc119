# Molecule: one scenario per role under molecule/ (see molecule/README.md).
# `make test-molecule` runs them all (MOLECULE_SCENARIOS="a b" for some) and prints a summary.
MOLECULE_SCENARIOS ?=
MOLECULE_ALL := $(sort $(patsubst molecule/%/molecule.yml,%,$(wildcard molecule/*/molecule.yml)))
# `make test` runs them in two halves (every other scenario, by name): each half is a piece
# of its own, so the second can start in whichever slot frees first (after the fleet's tests).
every_other = $(if $(1),$(firstword $(1)) $(call every_other,$(wordlist 3,$(words $(1)),$(1))))
MOLECULE_HALF_1 := $(call every_other,$(MOLECULE_ALL))
MOLECULE_HALF_2 := $(filter-out $(MOLECULE_HALF_1),$(MOLECULE_ALL))
TEST_TARGETS += test-molecule-1
TEST_TARGETS_LAST += test-molecule-2
.PHONY: test-molecule test-molecule-1 test-molecule-2
test-molecule: setup
	@echo "==> molecule scenarios (one per role; real containers; never the lab's names or ports)"
	@MOLECULE_VENV=$(VENV) molecule/run-all.sh $(MOLECULE_SCENARIOS)

test-molecule-1 test-molecule-2: setup
	@echo "==> molecule scenarios, half $(@:test-molecule-%=%) of 2: $(MOLECULE_HALF_$(@:test-molecule-%=%))"
	@MOLECULE_VENV=$(VENV) molecule/run-all.sh $(MOLECULE_HALF_$(@:test-molecule-%=%))
