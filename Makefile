# Upcron: `make run` starts everything, `make test` runs the whole suite. Both set up .venv.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# Running needs the runtime dependencies only; the tests add the test extra. A stamp per set,
# each remade when pyproject.toml changes. -qq keeps pip to errors: a newcomer sees no noise.
RUN_STAMP := $(VENV)/.run-stamp
TEST_STAMP := $(VENV)/.test-stamp
CHROMIUM ?= $(shell command -v chromium || command -v chromium-browser)

.PHONY: run test bench lint mutation chromium clean

$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Upcron needs Python 3.11 or newer")'
	@echo "Setting up $(VENV) (one time)…"
	@$(PYTHON) -m venv $(VENV)

$(RUN_STAMP): pyproject.toml | $(PY)
	@$(PY) -m pip install -qq -e .
	@touch $@

# The test extra holds the runtime dependencies too, so it satisfies `make run` as well.
$(TEST_STAMP): pyproject.toml | $(PY)
	@$(PY) -m pip install -qq -e '.[test]'
	@touch $@ $(RUN_STAMP)

# A newcomer's console shows the banner, state changes and errors, not a line per request.
run: $(RUN_STAMP)
	@UPCRON_ACCESS_LOG="$${UPCRON_ACCESS_LOG:-off}" $(VENV)/bin/upcron up

# Two test processes by default (README, Testing): each has databases of its own.
TEST_PROCESSES ?= 2

test: $(TEST_STAMP) chromium lint
	$(PY) -m pytest -n $(TEST_PROCESSES) $(PYTEST_ARGS)

# Style (ruff) and types (mypy, over app/ as [tool.mypy] in pyproject.toml says).
lint: $(TEST_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

bench: $(TEST_STAMP)
	@for script in $(filter-out bench/_%,$(wildcard bench/*.py)); do echo "== $$script"; $(PY) $$script || exit 1; done

# Mutation testing of the rules that decide when things run, what state they are in, where the
# server may connect and what a key may do (docs/mutation.md). Not part of `make test`: it takes
# a while. Mutated: the whole of schedule.py, state.py and address_policy.py, and the functions
# of probe.py, api_keys.py and api/auth.py below. SQLite only; Redis as for the tests.
MUTATION_CHILDREN ?= 2
MUTANTS := 'app.engine.schedule.*' 'app.engine.state.*' 'app.engine.address_policy.*' \
	$(foreach f,x__run x__parse_url x__redirect x__checked_addresses x__connect,'app.engine.probe.$(f)__mutmut_*') \
	$(foreach f,x_has_scope x_require_scope x__can_grant x_beyond x_within x__require_within \
		x__check_expiry_and_scopes,'app.services.api_keys.$(f)__mutmut_*') \
	$(foreach f,x_authorize x_authorize_key xǁPrincipalǁcan,'app.web.api.auth.$(f)__mutmut_*')

mutation: $(TEST_STAMP)
	env -u UPCRON_TEST_DATABASE_URL $(VENV)/bin/mutmut run --max-children $(MUTATION_CHILDREN) $(MUTANTS)
	@$(VENV)/bin/mutmut results --all true | awk -F': ' '$$2 != "not checked" { \
		module = $$1; sub(/\.x[_ǁ].*/, "", module); sub(/^ +/, "", module); total[module]++; \
		if ($$2 == "killed" || $$2 == "timeout") killed[module]++; else print "  " $$2 ": " $$1 } \
		END { for (m in total) { printf "%-28s %4d / %4d killed (%.1f %%)\n", m, killed[m], total[m], \
		100 * killed[m] / total[m]; k += killed[m]; t += total[m] } \
		printf "%-28s %4d / %4d killed (%.1f %%)\n", "all", k, t, 100 * k / t }'

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
	rm -rf $(VENV) .pytest_cache mutants
