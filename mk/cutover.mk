# The main job: `make demo` = setup, lab, then a full cutover of the lab from release-old to
# release-new through the `cutover` CLI, with receipts and the closeout documents.
# The lab's two API keys are handed to the smoke suite (so all 8 checks run); without them
# the two keyed checks are skipped, as in the seed record.
DEMO_STEPS += demo-cutover
DEMO_REF ?= release-new

.PHONY: demo-cutover
demo-cutover:
	@echo "==> returning the lab to the old release (cutover lab reset)"
	@flock $(LAB_LOCK) $(BIN)/cutover lab reset
	@echo "==> cutting the lab over to $(DEMO_REF) (cutover run)"
	@flock $(LAB_LOCK) $(BIN)/cutover run --ref $(DEMO_REF)
	@echo "==> receipts: $(REPO)/receipts   (cutover receipts list | verify)"
	@echo "==> closeout documents: $(REPO)/receipts/closeout/"

# Downtime of a full cutover on the lab (resets the lab first), printed per service.
.PHONY: bench
bench: lab
	@$(PY) benchmarks/downtime.py   # takes the lab lock itself
