# The two commands a newcomer needs: `make serve` (install + run on :9090) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install serve test lint validate docs bench soak clean

install: $(STAMP)

$(STAMP): pyproject.toml hatch_build.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

# compiled once (pip does it for installed packages; an editable install, or PYTHONDONTWRITEBYTECODE=1,
# would compile every module from source at each start: ~60 ms of the 0.5 s ready time)
serve: install
	@$(BIN)/python -m compileall -q vllora >/dev/null
	$(BIN)/vllora serve --port 9090

validate: install
	$(BIN)/vllora validate

docs: install
	$(BIN)/vllora docs

lint: install
	$(BIN)/ruff check vllora tests bench hatch_build.py
	$(BIN)/mypy vllora

test: install
	$(BIN)/vllora validate
	$(BIN)/python -m pytest
	@if $(BIN)/vllora docs --help >/dev/null 2>&1; then $(BIN)/vllora docs --check; fi
	$(MAKE) --no-print-directory lint

bench: install
	$(BIN)/python bench/run.py

soak: install
	VLLORA_SOAK=1 $(BIN)/python -m pytest tests/reliability -q -p no:cacheprovider

clean:
	rm -rf $(VENV) build dist *.egg-info vllora/catalog/catalog.json
