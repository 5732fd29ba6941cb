# mmstt: the two commands of the quick start are `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.mmstt-installed
LINT_PATHS := mmstt configs tools tests benchmarks setup.py
PYTEST_ARGS ?=
DEMO_DIR ?= work_dirs/demo

.PHONY: install test lint pytest demo bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(PY) requirements/runtime.txt requirements/mminstall.txt \
		requirements/tests.txt requirements/faces.txt \
		requirements/deploy.txt setup.py setup.cfg
	$(PY) -m pip install -q --upgrade "pip>=23"
	$(PY) -m pip install -q -r requirements/runtime.txt \
		-r requirements/mminstall.txt -r requirements/tests.txt \
		-r requirements/deploy.txt
	$(PY) -m pip install -q --no-deps -r requirements/faces.txt
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(PY) -m flake8 $(LINT_PATHS)
	$(PY) -m isort --check-only --diff $(LINT_PATHS)
	$(PY) -m yapf --diff --recursive $(LINT_PATHS)

pytest: $(STAMP)
	$(PY) -m pytest -ra --durations=15 $(PYTEST_ARGS)

test: lint pytest

demo: $(STAMP)
	bash tools/run_demo.sh $(DEMO_DIR)

bench: $(STAMP)
	$(PY) benchmarks/run.py

clean:
	rm -rf $(VENV) work_dirs build *.egg-info
