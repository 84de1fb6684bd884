# Two commands do everything on a fresh machine: `make lab` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
SAMPLE := data/samples/ledger/entries.parquet
PIP_FLAGS := --quiet --disable-pip-version-check

.PHONY: setup sample test lint lab demo bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install $(PIP_FLAGS) --upgrade pip
	$(BIN)/python -m pip install $(PIP_FLAGS) -e ".[dev]" 2>&1 | grep -v "^WARNING: Location" || true
	$(BIN)/python -c "import ledgerkit, numba, pyarrow, jupyterlab, ipywidgets"
	touch $(STAMP)

setup: $(STAMP)

$(SAMPLE): | $(STAMP)
	$(BIN)/ledgerkit sample data/samples

sample: $(SAMPLE)

lint: setup
	$(BIN)/ruff check src tests benchmarks

test: setup lint sample
	$(BIN)/python -m pytest

lab: setup sample
	$(BIN)/jupyter lab --notebook-dir=notebooks notebooks/01_quickstart.ipynb

demo: setup sample
	$(BIN)/ledgerkit demo

# asv on the current commit, in this venv; HTML report in .asv/html.
bench: setup
	$(BIN)/asv machine --yes
	$(BIN)/asv run --python=same --set-commit-hash $$(git rev-parse HEAD) --show-stderr
	$(BIN)/asv publish
	@echo "report: .asv/html/index.html (serve with: $(BIN)/asv preview)"

clean:
	rm -rf $(VENV) .asv .pytest_cache .ruff_cache
