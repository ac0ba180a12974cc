# Every target creates .venv itself when it is missing or older than pyproject.toml.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo dev test test-airflow bench stop clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/fivetran-assets demo

dev: $(STAMP)
	$(BIN)/fivetran-assets dev

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/dagster definitions validate -w workspace.yaml
	$(BIN)/python -m pytest -q

# Opt-in: the Airflow provider against the local Fivetran (installs apache-airflow once, minutes).
test-airflow: $(STAMP)
	FIVETRAN_ASSETS_AIRFLOW_TESTS=1 $(BIN)/python -m pytest -q fivetran_assets_tests/clients

bench: $(STAMP)
	$(BIN)/python -m bench

stop: $(STAMP)
	$(BIN)/fivetran-assets stop

clean:
	rm -rf $(VENV) .state .dagster_home
