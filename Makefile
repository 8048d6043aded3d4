# The two commands a newcomer needs are `make tutorial` and `make test` (see README.md).
# Each sets up .venv first (tools/env.sh: create or reuse, install distillnb with its dev extras).
VENV ?= $(or $(DISTILLNB_VENV),.venv)
BIN  := $(VENV)/bin
export DISTILLNB_VENV := $(VENV)
# The venv's tools first: nbdev's commands and the `ninja` that sru's compiler step looks for.
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: tutorial test test-slow env export clean-nbs run-nbs docs screenshots
.DEFAULT_GOAL := tutorial

env:
	@bash tools/env.sh

# The main job. Until the pipeline lands it reports the environment the pipeline will run in.
tutorial: env
	@$(BIN)/python -c "from distillnb.core import environment; [print(f'{k:>16}: {v}') for k, v in environment().items()]"
	@echo "The tutorial pipeline is not built yet; this is the environment it will run in."

test: env
	@$(BIN)/python tools/run_tests.py

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

screenshots: docs
	@bash tools/screenshots.sh
