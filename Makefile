# The two commands a newcomer needs are `make tutorial` and `make test` (see README.md).
# Each sets up .venv first (tools/env.sh: create or reuse, install distillnb with its dev extras).
VENV ?= $(or $(DISTILLNB_VENV),.venv)
BIN  := $(VENV)/bin
export DISTILLNB_VENV := $(VENV)
# SST: $DISTILLNB_DATA when set; else a copy beside the project (../shared/data/sst) when there is one; else
# the loader downloads it into its cache and checks it.
ifeq ($(origin DISTILLNB_DATA), undefined)
  ifneq ($(wildcard ../shared/data/sst/.),)
    export DISTILLNB_DATA := $(abspath ../shared/data/sst)
  endif
endif
# The venv's tools first: nbdev's commands and the `ninja` that sru's compiler step looks for.
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: tutorial test test-slow env lab export clean-nbs run-nbs docs screenshots bench
.DEFAULT_GOAL := tutorial

env:
	@bash tools/env.sh

# The main job: the tutorial's pipeline on the offline defaults (MiniLM teacher, SST-2), about 15 minutes on
# 2 CPU cores. It ends with the results table; the run, with the table and plots, is in runs/tutorial-offline/.
# Run again, it carries on from where it stopped (--resume), or just prints the table when it had finished.
TUTORIAL_ARGS ?=
tutorial: env
	@$(BIN)/distillnb run configs/tutorial-offline.yaml --resume $(TUTORIAL_ARGS)

test: env
	@$(BIN)/python tools/run_tests.py

# Step through the notebooks: JupyterLab on nbs/, with this environment registered as the kernel "distillnb".
# A convenience, not a third required command. LAB_ARGS passes options, e.g. LAB_ARGS=--no-browser.
LAB_ARGS ?=
lab: env
	@$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (distillnb .venv)" >/dev/null
	@$(BIN)/jupyter lab --notebook-dir=nbs --ServerApp.ip=127.0.0.1 $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

test-slow: env
	@$(BIN)/python tools/run_tests.py --flags slow

export: env
	@$(BIN)/nbdev_export

clean-nbs: env
	@$(BIN)/nbdev_clean

# Execute notebooks in place so the docs show their outputs: `make run-nbs NB=nbs/03_models.ipynb`.
run-nbs: env
	@for nb in $(or $(NB),nbs/*.ipynb); do echo "running $$nb"; \
	  (cd $$(dirname $$nb) && $(abspath $(BIN))/exec_nb --exc_stop $$(basename $$nb) --dest $$(basename $$nb)) || exit 1; done
	@$(BIN)/nbdev_clean

docs: env
	@$(BIN)/python tools/build_docs.py

# Benchmarks (not tests): accuracy over seeds and speed side by side -> BENCHMARKS.md and bench/results.json.
bench: env
	@$(BIN)/python bench/run.py $(BENCH_ARGS)

screenshots: docs
	@bash tools/screenshots.sh
