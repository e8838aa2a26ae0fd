# PoseDesk: `make run` opens the app on the example project, `make test` runs every check.
# Both create .venv (Python >= 3.11) and install the project into it when needed.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
VPY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run test test-slow lint typecheck imports bench screenshots install clean example

$(VPY):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "PoseDesk needs Python >= 3.11; set PYTHON=/path/to/python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install --upgrade pip

# Ensembles use the ensemble-kalman-smoother package (`import eks`). It declares aniposelib, which
# declares opencv-contrib-python: a non-headless OpenCV whose Qt plugins break PySide6 (README,
# "OpenCV"). So both are installed without their declared dependencies, after the `ensemble` extra
# has installed what they really import (jax, dynamax, optax, numba, sleap-io, ...).
EKS_NO_DEPS := ensemble-kalman-smoother==4.6.2 aniposelib==0.8.0

$(STAMP): pyproject.toml | $(VPY)
	$(VPY) -m pip install -e '.[dev,ensemble]'
	$(VPY) -m pip install --no-deps $(EKS_NO_DEPS)
	@! $(VPY) -m pip show -q opencv-python opencv-contrib-python 2>/dev/null || \
	  { echo "a non-headless OpenCV got installed; it breaks the window: pip uninstall opencv-python opencv-contrib-python"; exit 1; }
	@touch $(STAMP)

install: $(STAMP)

example: $(STAMP)
	$(VPY) -m pose_core.example

# Open the window on the example project (generated the first time); if Qt cannot start here,
# `posedesk --check` prints what is missing and the fix, and make stops with an error.
run: $(STAMP)
	@example_dir="$$($(VPY) -m pose_core.example)" && \
	  $(VPY) -m pose_gui --check && \
	  $(VPY) -m pose_gui "$$example_dir"

lint: $(STAMP)
	$(VENV)/bin/ruff check pose_core pose_gui tests benchmarks scripts
	$(VENV)/bin/ruff format --check pose_core pose_gui tests benchmarks scripts

typecheck: $(STAMP)
	$(VENV)/bin/mypy

imports: $(STAMP)
	$(VENV)/bin/lint-imports

test: $(STAMP) lint typecheck imports
	QT_QPA_PLATFORM=offscreen $(VPY) -m pytest -m "not slow" -p no:cacheprovider -n auto --durations=15

test-slow: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(VPY) -m pytest -m slow -p no:cacheprovider

bench: $(STAMP)
	$(VPY) benchmarks/train_throughput.py
	$(VPY) benchmarks/accuracy_mirror_mouse.py
	$(VPY) benchmarks/predictions_csv_write.py
	QT_QPA_PLATFORM=offscreen $(VPY) benchmarks/window_startup.py

screenshots: $(STAMP)
	scripts/screenshots.sh

clean:
	rm -rf $(VENV) build *.egg-info
