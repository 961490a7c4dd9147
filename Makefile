# Quick start: `make html` builds the site, `make test` runs every test.
# Each creates .venv and installs what it needs on first use (Python packages pinned by
# constraints.txt, MathJax pinned by package-lock.json).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
ASSETS := node_modules/.installed
SPHINX_OPTS ?=
# one process more than cores: the writing phase uses one fewer than -j, and readers wait on kernels
JOBS   ?= $(shell echo $$(( $$(nproc 2>/dev/null || echo 1) + 1 )))
BUILD  := _build/html

.PHONY: html test serve bench check mutate clean distclean

html: $(STAMP) $(ASSETS)
	$(BIN)/python docs/_ext/run_sphinx.py -T -W --keep-going -q -j $(JOBS) -b html -c . $(SPHINX_OPTS) docs $(BUILD)
	@echo "Site built: $(BUILD)/index.html"

test: $(STAMP) $(ASSETS)
	$(BIN)/pytest

check: $(STAMP)
	$(BIN)/derive check

serve: $(STAMP) $(ASSETS)
	$(BIN)/sphinx-autobuild -c . --watch derivations docs $(BUILD)

bench: $(STAMP) $(ASSETS)
	$(BIN)/python benchmarks/run.py

# mutation testing (tens of minutes; not part of `make test`): mutation/report.py lists survivors
mutate: $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt mutmut
	rm -rf mutants
	$(BIN)/mutmut run > mutants.log 2>&1 || (tail -20 mutants.log; exit 1)
	$(BIN)/python mutation/report.py

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[docs,test]'
	touch $@

$(ASSETS): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

clean:
	rm -rf _build mutants mutants.log

distclean: clean
	rm -rf $(VENV) node_modules
