#!/usr/bin/env bash
# Draw one screenshot per pane of the PoseDesk window for the README: docs/screenshots/<pane>.png.
#
#   scripts/screenshots.sh [PROJECT_DIR]
#
# PROJECT_DIR defaults to the example project (generated first if missing). Without a display, a
# private Xvfb server is started when Xvfb is installed (and stopped at the end); otherwise Qt
# draws off screen (QT_QPA_PLATFORM=offscreen). Panes come from `posedesk --list-panes`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PY="${PYTHON:-.venv/bin/python}"
OUT_DIR="docs/screenshots"
PROJECT="${1:-}"
if [[ -z "$PROJECT" ]]; then
    PROJECT="$("$PY" -m pose_core.example)"   # prints the folder; generates it the first time
fi

xvfb_pid=""
cleanup() { if [[ -n "$xvfb_pid" ]]; then kill "$xvfb_pid" 2>/dev/null || true; fi; }
trap cleanup EXIT

if [[ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}${QT_QPA_PLATFORM:-}" ]]; then
    if command -v Xvfb >/dev/null 2>&1; then
        display_nr=99
        while [[ -e "/tmp/.X${display_nr}-lock" || -e "/tmp/.X11-unix/X${display_nr}" ]]; do display_nr=$((display_nr + 1)); done
        Xvfb ":${display_nr}" -screen 0 1600x1000x24 -nolisten tcp >/dev/null 2>&1 &
        xvfb_pid=$!
        for _ in $(seq 50); do [[ -e "/tmp/.X11-unix/X${display_nr}" ]] && break; sleep 0.1; done
        export DISPLAY=":${display_nr}"
        echo "Started Xvfb on $DISPLAY"
    else
        echo "No display and no Xvfb (sudo apt-get install -y xvfb): drawing off screen."
        export QT_QPA_PLATFORM=offscreen
    fi
fi

mkdir -p "$OUT_DIR"
for pane in $("$PY" -m pose_gui --list-panes); do
    start_s=$(date +%s.%N)
    "$PY" -m pose_gui --screenshot "$OUT_DIR/$pane.png" --pane "$pane" --timing "$PROJECT"
    "$PY" -c 'import sys, time; print(f"  {sys.argv[1]}: {time.time() - float(sys.argv[2]):.2f} s wall time")' "$pane" "$start_s"
done
