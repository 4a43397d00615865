# higgsweb: `make run` to use it, `make test` to check it.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.13 || command -v python3.12 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
SIM_PORT ?= 8765
PUBLIC_BASE_URL ?= http://127.0.0.1:$(PORT)
# honcho gives each process its own PORT, so the app's public URL is passed explicitly.
# The local simulator serves outputs over plain http on loopback; the app accepts that only
# while it runs against the simulator (ignored with a real key).
export PORT SIM_PORT PUBLIC_BASE_URL
run: export HIGGSFIELD_ALLOW_LOCAL_MEDIA ?= true

.PHONY: install run test test-suite lint migrate demo clean bench browser soak

$(BIN)/activate:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 12), "Python 3.12 or newer is needed (found %s)" % sys.version.split()[0]'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/activate pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $@

install: $(VENV)/.installed

migrate: install
	$(BIN)/python manage.py migrate --noinput

demo: migrate
	@$(BIN)/python manage.py seed_demo

run: demo
	@$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	@echo ""
	@echo "higgsweb is starting at http://127.0.0.1:$(PORT)/  (simulator: http://127.0.0.1:$(SIM_PORT)/_sim/)"
	@echo "Log in with one of the accounts above. Ctrl-C stops the web server, the worker and the simulator."
	@echo ""
	exec $(BIN)/honcho start -f Procfile

test: install browser test-suite lint

# The browser tests drive the system Chromium; install it with apt when it is missing and we may.
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing Chromium for the browser tests (apt-get install chromium)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "No /usr/bin/chromium (and no root to install it): the browser tests will be skipped."; \
	  fi; \
	fi

# Two test processes (pytest-xdist) by default; a file's tests stay in one of them.
TEST_WORKERS ?= 2
test-suite:
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

lint:
	$(BIN)/ruff check .

# A throwaway stack (temporary SQLite, or DATABASE_URL's server with a _bench database); a few minutes.
bench: install
	$(BIN)/python -m bench.run $(BENCH_ARGS)

# N jobs (SOAK_JOBS, default 200) through the simulator's chaos switches while the worker is
# killed with SIGKILL at intervals; prints the invariants and fails if one does not hold.
soak: install
	$(BIN)/python -m bench.soak $(SOAK_ARGS)

clean:
	rm -rf $(VENV) staticfiles test-artifacts test-db.sqlite3*
