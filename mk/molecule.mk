# Molecule: one scenario per role under molecule/ (see molecule/README.md).
# `make test-molecule` runs them all (MOLECULE_SCENARIOS="a b" for some) and prints a summary.
TEST_TARGETS += test-molecule
MOLECULE_SCENARIOS ?=
.PHONY: test-molecule
test-molecule: setup
	@echo "==> molecule scenarios (one per role; real containers; never the lab's names or ports)"
	@MOLECULE_VENV=$(VENV) molecule/run-all.sh $(MOLECULE_SCENARIOS)
