# Every target creates .venv itself when it is missing or older than pyproject.toml, and says
# what it is doing; pip's own progress stays visible.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo dev test test-airflow bench stop clean

$(STAMP): pyproject.toml
	@if [ -x $(BIN)/python ]; then \
		echo "pyproject.toml changed: updating the dependencies in $(VENV)..."; \
	else \
		echo "installing dependencies into $(VENV) (first time, about a minute)..."; \
		$(PYTHON) -m venv $(VENV); \
	fi
	@$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --progress-bar on -e '.[local,dev]'
	@touch $(STAMP)
	@echo "$(VENV) is ready."

demo: $(STAMP)
	$(BIN)/fivetran-assets demo

dev: $(STAMP)
	$(BIN)/fivetran-assets dev

test: $(STAMP)
	@echo "lint: ruff check, ruff format --check"
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .
	@echo "types: basedpyright over the layers and the component"
	@$(BIN)/basedpyright
	@echo "definitions: loading the project's Dagster definitions (dg check defs)"
	@VIRTUAL_ENV=$(CURDIR)/$(VENV) $(BIN)/dg check defs
	@echo "tests: pytest (a few minutes; the UI tests drive Chromium)"
	@$(BIN)/python -m pytest -q

# Opt-in: the Airflow provider against the local Fivetran (installs apache-airflow once, minutes).
test-airflow: $(STAMP)
	$(BIN)/python -m pytest -q --airflow fivetran_assets_tests/clients

bench: $(STAMP)
	@echo "benchmarks at full size (a while; results in bench/results/latest.md)"
	@$(BIN)/python -m bench
	@echo "long fuzz and fault campaigns (make test runs a bounded instance of each)"
	@$(BIN)/python -m pytest -q --campaign bench fivetran_assets_tests/fuzz fivetran_assets_tests/faults

stop: $(STAMP)
	$(BIN)/fivetran-assets stop

clean:
	@echo "removing $(VENV), .state (demo data, credentials, logs) and .dagster_home"
	@rm -rf $(VENV) .state .dagster_home
