# Upcron: `make run` starts everything, `make test` runs the whole suite. Both set up .venv.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
CHROMIUM ?= $(shell command -v chromium || command -v chromium-browser)

.PHONY: run test bench lint chromium clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Upcron needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/upcron up

test: $(STAMP) chromium lint
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: $(STAMP)
	@for script in $(filter-out bench/_%,$(wildcard bench/*.py)); do echo "== $$script"; $(PY) $$script || exit 1; done

# Browser tests drive Debian's Chromium. Install it when missing and we may (root with apt);
# otherwise the browser tests are skipped with a notice in the test summary.
chromium:
	@if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "Installing Chromium for the browser tests (apt-get)…"; \
		apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null \
		|| echo "!!! Could not install Chromium: browser tests will be SKIPPED !!!"; \
	else \
		echo "!!! Chromium is not installed and cannot be installed here: browser tests will be SKIPPED !!!"; \
	fi

clean:
	rm -rf $(VENV) .pytest_cache
