# segstudio developer entry points.  `make run` and `make test` set up what they need.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
LABELME_VENV := .venv-labelme
STAMP := $(VENV)/.installed
LABELME_STAMP := $(LABELME_VENV)/.installed
REF_VENV := .venv-ref
REF_STAMP := $(REF_VENV)/.installed
REF_PKGS := 'pycocotools==2.0.11' 'ultralytics==8.4.190' 'nnunetv2==2.8.1' 'medpy==0.5.2'

.PHONY: setup run test test-fast lint-imports demo benchmarks clean labelme-ref readers-ref screenshots

setup: $(STAMP) $(LABELME_STAMP) $(REF_STAMP)

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

# The readers our exports must satisfy (pycocotools, ultralytics, nnunetv2) and MedPy, the HD95 reference of
# tests/reference/test_metrics_ref.py, in their own venv, only ever run
# in a subprocess by tests/reference.  A .pth file puts .venv's site-packages behind .venv-ref's own, so
# torch, numpy and opencv are shared instead of installed a second time (ultralytics' opencv-python is removed
# again: .venv's headless cv2 serves it); the stamp is written only when pip succeeded and torch and cv2 still
# come from .venv.  From scratch: 36 s to 2.2 min (no pip cache, busy 2-core machine), 0.9 GB.
readers-ref: $(REF_STAMP)
$(REF_STAMP): $(STAMP)
	@test -x $(REF_VENV)/bin/python || $(PYTHON) -m venv $(REF_VENV)
	@$(PY) -c "import sysconfig; print(sysconfig.get_paths()['purelib'])" > \
	  "$$($(REF_VENV)/bin/python -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")/_segstudio_venv.pth"
	@if $(REF_VENV)/bin/python -m pip install -q $(REF_PKGS) && \
	  $(REF_VENV)/bin/python -m pip uninstall -y -q opencv-python && \
	  $(REF_VENV)/bin/python -c "import torch, cv2, sys; sys.exit(any('$(REF_VENV)' in m.__file__ for m in (torch, cv2)))"; then \
	  touch $(REF_STAMP); else \
	  echo "WARNING: the reader references could not be installed; tests/reference will skip (CI fails)"; fi

# Opens the app on the generated sample project; without a display it says so and runs the headless demo.
run: $(STAMP)
	@test -f sample_project/labels.txt || $(PY) -m segstudio sample sample_project
	@if [ -n "$$DISPLAY$$WAYLAND_DISPLAY" ] || [ "$$(uname)" = Darwin ]; then \
	  $(PY) -m segstudio gui sample_project; \
	else \
	  echo "No display found (DISPLAY and WAYLAND_DISPLAY are unset): running the headless demo instead."; \
	  $(PY) -m segstudio demo --out sample_project/demo_report; \
	fi

demo: $(STAMP)
	$(PY) -m segstudio demo

test: setup
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q $(PYTEST_ARGS)

lint-imports: $(STAMP)
	$(VENV)/bin/lint-imports

benchmarks: setup
	$(PY) benchmarks/convert.py
	$(PY) benchmarks/train_step.py
	$(PY) benchmarks/canvas.py

clean:
	rm -rf $(VENV) $(LABELME_VENV) $(REF_VENV) build *.egg-info

# ---- installers (docs/install.md, installer/segstudio.spec) -------------------------------------------------
# `make installer` builds the one-folder bundle dist/segstudio/ with PyInstaller.  FLAVOR=cpu (default) builds
# from .venv-installer (CPU torch, installer/requirements-cpu.txt); FLAVOR=cuda from .venv plus the `installer`
# extra (PyPI's CUDA torch, ~4 GB).  The .pth file lets the build environment import PyPI's CUDA torchvision
# on CPU torch, as the bundle's runtime hook does (installer/rthooks/cpu_torchvision.py).
INSTALLER_VENV := .venv-installer
INSTALLER_STAMP := $(INSTALLER_VENV)/.installed
FLAVOR ?= cpu
ifeq ($(FLAVOR),cuda)
BUNDLE_PY := $(PY)
BUNDLE_STAMP := $(VENV)/.installer-extra
else
BUNDLE_PY := $(INSTALLER_VENV)/bin/python
BUNDLE_STAMP := $(INSTALLER_STAMP)
endif

.PHONY: installer installer-test wheel wheel-test

$(INSTALLER_STAMP): installer/requirements-cpu.txt installer/rthooks/cpu_torchvision.py
	@test -x $(INSTALLER_VENV)/bin/python || $(PYTHON) -m venv $(INSTALLER_VENV)
	$(INSTALLER_VENV)/bin/python -m pip install -q -r installer/requirements-cpu.txt
	@site="$$($(INSTALLER_VENV)/bin/python -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")"; \
	  cp installer/rthooks/cpu_torchvision.py "$$site/_segstudio_cpu_torchvision.py" && \
	  echo "import _segstudio_cpu_torchvision" > "$$site/_segstudio_cpu_torchvision.pth"
	$(INSTALLER_VENV)/bin/python -c "import torch, torchvision; assert torch.version.cuda is None"
	@touch $@

$(VENV)/.installer-extra: $(STAMP)
	$(PY) -m pip install -q -e '.[installer]'
	@touch $@

installer: $(BUNDLE_STAMP)
	SEGSTUDIO_BUNDLE_FLAVOR=$(FLAVOR) $(BUNDLE_PY) -m PyInstaller --noconfirm --clean --log-level WARN \
	  --distpath dist --workpath build/pyinstaller installer/segstudio.spec
	@echo "dist/segstudio ($(FLAVOR)): $$(du -sh dist/segstudio | cut -f1) unpacked, $$(find dist/segstudio -type f | wc -l) files"

# runs the built bundle with an empty environment (env -i): --version, sample, convert, train + predict, GUI
installer-test: $(STAMP)
	@test -x dist/segstudio/segstudio || { echo "dist/segstudio/segstudio missing: run make installer first"; exit 1; }
	SEGSTUDIO_REQUIRE_BUNDLE=1 $(PY) -m pytest -q -p no:cacheprovider --durations=0 -m slow installer/tests/test_bundle.py

# wheel + sdist into dist/ (the `build` extra); wheel-test installs them into a fresh venv (torch included)
$(VENV)/.build-extra: $(STAMP)
	$(PY) -m pip install -q -e '.[build]'
	@touch $@

wheel: $(VENV)/.build-extra
	rm -f dist/segstudio-*.whl dist/segstudio-*.tar.gz
	$(PY) -m build --outdir dist .

wheel-test: wheel
	SEGSTUDIO_REQUIRE_WHEEL=1 $(PY) -m pytest -q -p no:cacheprovider --durations=0 -m slow installer/tests/test_wheel.py
