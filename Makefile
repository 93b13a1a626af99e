# segstudio developer entry points.  `make run` and `make test` set up what they need.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
LABELME_VENV := .venv-labelme
STAMP := $(VENV)/.installed
LABELME_STAMP := $(LABELME_VENV)/.installed

.PHONY: setup run test test-fast lint-imports demo benchmarks clean labelme-ref screenshots

setup: $(STAMP) $(LABELME_STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	@touch $(STAMP)

# labelme 6.3.1 is the reference our rasterization must match.  It imports PyQt5, so it lives in its
# own venv and is only ever run in a subprocess by tests and benchmarks.
labelme-ref: $(LABELME_STAMP)
$(LABELME_STAMP):
	@test -x $(LABELME_VENV)/bin/python || $(PYTHON) -m venv $(LABELME_VENV)
	@if $(LABELME_VENV)/bin/python -m pip install -q 'labelme==6.3.1'; then touch $(LABELME_STAMP); else \
	  echo "WARNING: labelme 6.3.1 reference could not be installed; reference tests will skip (CI fails)"; fi

# Opens the app on the generated sample project; without a display it says so and runs the headless demo.
run: setup
	@test -f sample_project/labels.txt || $(PY) -m segstudio sample sample_project
	@if [ -n "$$DISPLAY$$WAYLAND_DISPLAY" ] || [ "$$(uname)" = Darwin ]; then \
	  $(PY) -m segstudio gui sample_project; \
	else \
	  echo "No display found (DISPLAY and WAYLAND_DISPLAY are unset): running the headless demo instead."; \
	  $(PY) -m segstudio demo --out sample_project/demo_report; \
	fi

demo: setup
	$(PY) -m segstudio demo

test: setup
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q $(PYTEST_ARGS)

lint-imports: setup
	$(VENV)/bin/lint-imports

benchmarks: setup
	$(PY) benchmarks/convert.py
	$(PY) benchmarks/train_step.py
	$(PY) benchmarks/canvas.py

clean:
	rm -rf $(VENV) $(LABELME_VENV) build *.egg-info
