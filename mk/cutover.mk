# The main job: `make demo` = setup, lab, then a full cutover of the lab from release-old to
# release-new through the `cutover` CLI, with receipts and the closeout documents.
# The keyed smoke checks read their API keys on the docker host from its env file (the one
# the services read), so all 8 checks run with nothing in this environment.
DEMO_STEPS += demo-cutover
DEMO_REF ?= release-new
# bluegreen: the new containers start beside the old ones behind the edge proxy and traffic
# flips (the first run hands the ports over from the old layout, once). The seed's way:
# `make demo DEMO_STRATEGY=recreate`.
DEMO_STRATEGY ?= bluegreen

.PHONY: demo-cutover
demo-cutover:
	@echo "==> returning the lab to the old release (cutover lab reset)"
	@flock $(LAB_LOCK) $(BIN)/cutover lab reset
	@echo "==> cutting the lab over to $(DEMO_REF), strategy $(DEMO_STRATEGY) (cutover run)"
	@flock $(LAB_LOCK) $(BIN)/cutover run --ref $(DEMO_REF) --strategy $(DEMO_STRATEGY)
	@echo "==> receipts: $(REPO)/receipts   (cutover receipts list | verify)"
	@echo "==> closeout documents: $(REPO)/receipts/closeout/"

# Downtime of a full cutover on the lab (resets the lab first), printed per service.
.PHONY: bench
bench: lab
	@$(PY) benchmarks/downtime.py   # takes the lab lock itself

# Swap strategies side by side (issue 11): recreate, bluegreen (its one-time hand-over and a
# swap behind the edge) and docker-compose 1.29 `up -d`, each under the same load (new and
# keep-alive connections, slow in-flight requests, run on the docker host), plus the
# rollback time of release-broken; resets the lab itself and ends in release-old.
# BENCH_STRATEGIES_ARGS e.g. `--only bluegreen` or `--json`.
BENCH_STRATEGIES_ARGS ?=
.PHONY: bench-strategies
bench-strategies: lab
	@$(PY) benchmarks/strategies.py $(BENCH_STRATEGIES_ARGS)   # takes the lab lock itself

# Where a cutover's time goes (issue 9): each phase of a full cutover (profile_tasks on), a
# no-op rerun, and the same work with plain docker commands as the floor; resets the lab
# itself. BENCH_PHASES_ARGS e.g. `--label before --save before.json`, later
# `--label after --compare before.json`; `--json` prints the result as JSON.
BENCH_PHASES_ARGS ?=
.PHONY: bench-phases
bench-phases: lab
	@$(PY) benchmarks/phases.py $(BENCH_PHASES_ARGS)   # takes the lab lock itself
