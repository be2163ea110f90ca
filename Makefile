# africare-data: the two commands a newcomer needs are `make lab` and `make test`.
# Both create .venv and install the project into it; nothing else has to be on the machine but Python.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# A PostgreSQL the CI machine runs beside the embedded one; the suite also runs against it if it answers.
EXTERNAL_TEST_URL ?= postgresql://postgres@127.0.0.1:5432/postgres
MESSAGE ?=
LINTED := africare_data tests alembic notebooks $(wildcard benchmarks)
# The curated notebooks run as tests: nbval re-executes each one in this venv's kernel, in scratch
# mode, and those that read the demo data in demo mode too, and compares the stored outputs, text
# as diffs and plots within an RMS tolerance (notebooks/conftest.py, notebooks/output_checks.py,
# notebooks/nbval_sanitize.cfg). Budget for the whole notebook run: 40 s on a quiet 2-core machine.
# Two workers; --dist loadfile keeps both runs of a notebook (one scratch database) on one worker.
# The pytest plugins of the other tests (schemathesis, hypothesis, anyio) are not loaded: every
# process would import them for nothing (about a tenth of the run's CPU time).
NBVAL := -n 2 --dist loadfile -p no:schemathesis -p no:hypothesispytest -p no:anyio \
	--nbval --nbval-current-env --nbval-sanitize-with notebooks/nbval_sanitize.cfg notebooks/
# The demo data set `make lab` loads; africare_data.notebook.DEMO_BOOKINGS/DEMO_SEED must match.
DEMO_BOOKINGS ?= 100000
DEMO_SEED ?= 0
# JupyterLab refuses to run as root without --allow-root; containers and CI machines run as root.
LAB_FLAGS ?= $(if $(filter 0,$(shell id -u)),--allow-root)

.PHONY: install lab lab-check notebooks test lint typecheck pytest pytest-external migrate migrate-up db-start db-stop clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## make lab: embedded PostgreSQL, migrations, demo data, JupyterLab on notebooks/.
lab: install
	$(BIN)/africare-data db start
	$(BIN)/africare-data db upgrade
	$(BIN)/africare-data seed --bookings $(DEMO_BOOKINGS) --seed $(DEMO_SEED)
	AFRICARE_NOTEBOOK_DATABASE=demo $(BIN)/jupyter lab $(LAB_FLAGS) notebooks/

## make lab-check: as make lab, then Run All and save 00 and 04 in a headless Chromium (apt install
## chromium); the notebook tests must pass on the saved copies (build/lab-check/). Not part of make test.
lab-check: install
	$(BIN)/python -m pip install --quiet -e '.[browser]'
	$(BIN)/africare-data db start
	$(BIN)/africare-data db upgrade
	$(BIN)/africare-data seed --bookings $(DEMO_BOOKINGS) --seed $(DEMO_SEED)
	$(BIN)/python tests/lab_browser_check.py

## make notebooks: re-execute every notebook (scratch mode) and store its outputs, which the tests compare.
notebooks: install
	AFRICARE_NOTEBOOK_DATABASE=scratch $(BIN)/jupyter nbconvert --to notebook --execute --inplace \
		--ExecutePreprocessor.record_timing=False notebooks/*.ipynb

## make test: lint, strict typing, and the whole suite (embedded server, then 127.0.0.1:5432 if up).
test: install lint typecheck pytest pytest-external

lint: install
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)

typecheck: install
	$(BIN)/mypy --strict africare_data

pytest: install
	$(BIN)/pytest
	$(BIN)/pytest $(NBVAL)

pytest-external: install
	@if $(BIN)/python -c "import socket; socket.create_connection(('127.0.0.1', 5432), 1)" 2>/dev/null; then \
		echo "PostgreSQL answers at 127.0.0.1:5432: running the suite against it too"; \
		SQLALCHEMY_DATABASE_URI=$(EXTERNAL_TEST_URL) AFRICARE_TEST_DATABASE_URL=$(EXTERNAL_TEST_URL) $(BIN)/pytest && \
		SQLALCHEMY_DATABASE_URI=$(EXTERNAL_TEST_URL) $(BIN)/pytest $(NBVAL); \
	else \
		echo "No PostgreSQL at 127.0.0.1:5432: external run skipped"; \
	fi

## make migrate MESSAGE="add x": autogenerate a revision from the models; alembic.ini's post-write
## hooks (ruff check --fix, ruff format) make it pass make lint as written.
migrate: install
	@test -n "$(MESSAGE)" || (echo 'usage: make migrate MESSAGE="what changed"' >&2; exit 2)
	$(BIN)/alembic upgrade head
	$(BIN)/alembic revision --autogenerate -m "$(MESSAGE)"

## make migrate-up: apply every migration (alembic upgrade head).
migrate-up: install
	$(BIN)/alembic upgrade head

db-start: install
	$(BIN)/africare-data db start

db-stop: install
	$(BIN)/africare-data db stop

clean:
	-$(BIN)/africare-data db stop
	rm -rf $(VENV) .africare .pytest_cache .mypy_cache .ruff_cache
