#!/usr/bin/env bash
# Register PoseDesk with the desktop for the current user, so it starts from the application menu
# (and, with --desktop-icon, from a double-click on an icon on the desktop).
#
#   packaging/install-launcher.sh                 install ~/.local/share/applications/posedesk.desktop + icons
#   packaging/install-launcher.sh --desktop-icon  also put a launcher on the desktop
#   packaging/install-launcher.sh --uninstall     remove what the install wrote
#
# The launcher runs this checkout's .venv: `<repo>/.venv/bin/python -m pose_gui [PROJECT]` in <repo>.
# Honors XDG_DATA_HOME (default ~/.local/share) and XDG_DESKTOP_DIR / xdg-user-dir DESKTOP.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="$REPO/.venv/bin/python"
TEMPLATE="$REPO/packaging/posedesk.desktop"
DATA_HOME="${XDG_DATA_HOME:-$HOME/.local/share}"
APPS_DIR="$DATA_HOME/applications"
ICON_DIR="$DATA_HOME/icons/hicolor"
DESKTOP_FILE="$APPS_DIR/posedesk.desktop"
ICON_FILE="$ICON_DIR/scalable/apps/posedesk.svg"
PNG_FILE="$ICON_DIR/256x256/apps/posedesk.png"

desktop_dir() {
    if [[ -n "${XDG_DESKTOP_DIR:-}" ]]; then echo "$XDG_DESKTOP_DIR"
    elif command -v xdg-user-dir >/dev/null 2>&1; then xdg-user-dir DESKTOP
    else echo "$HOME/Desktop"; fi
}

refresh_caches() {
    if command -v update-desktop-database >/dev/null 2>&1; then update-desktop-database -q "$APPS_DIR" || true; fi
    if command -v gtk-update-icon-cache >/dev/null 2>&1; then gtk-update-icon-cache -q -t "$ICON_DIR" 2>/dev/null || true; fi
}

want_desktop_icon=0
case "${1:-}" in
    --uninstall)
        rm -f "$DESKTOP_FILE" "$ICON_FILE" "$PNG_FILE" "$(desktop_dir)/posedesk.desktop"
        refresh_caches
        echo "Removed the PoseDesk launcher ($DESKTOP_FILE) and its icons."
        exit 0 ;;
    --desktop-icon) want_desktop_icon=1 ;;
    "") ;;
    *) echo "usage: $0 [--desktop-icon | --uninstall]" >&2; exit 2 ;;
esac

if [[ ! -x "$PYTHON" ]]; then
    echo "error: $PYTHON does not exist; run 'make install' in $REPO first (it creates .venv), then run this again." >&2
    exit 1
fi
if ! (cd "$REPO" && "$PYTHON" -c "import pose_gui, PySide6") >/dev/null 2>&1; then
    echo "error: $PYTHON cannot import pose_gui and PySide6; run 'make install' in $REPO, then run this again." >&2
    exit 1
fi

mkdir -p "$APPS_DIR" "$(dirname "$ICON_FILE")" "$(dirname "$PNG_FILE")"
cp "$REPO/pose_gui/resources/posedesk.svg" "$ICON_FILE"
cp "$REPO/pose_gui/resources/posedesk.png" "$PNG_FILE"

# Fill in the template with Python (paths may hold spaces, '&' or '\'; the Exec value is quoted
# and escaped as the Desktop Entry spec requires).
"$PYTHON" - "$TEMPLATE" "$DESKTOP_FILE" "$PYTHON" "$REPO" "$ICON_FILE" <<'PY'
import sys
template, out, python, repo, icon = sys.argv[1:]
def exec_quoted(text):
    for ch in ("\\", '"', "`", "$"):
        text = text.replace(ch, "\\" + ch)
    return text.replace("\\", "\\\\")  # the .desktop string escape applies on top of the Exec quoting
lines = []
for line in open(template, encoding="utf-8").read().splitlines():
    if line.startswith("# Template:"):
        continue
    line = line.replace("@EXEC_PYTHON@", exec_quoted(python)).replace("@REPO@", repo).replace("@ICON@", icon)
    lines.append(line)
open(out, "w", encoding="utf-8").write("\n".join(lines) + "\n")
PY
chmod +x "$DESKTOP_FILE"

if [[ $want_desktop_icon == 1 ]]; then
    target_dir="$(desktop_dir)"
    mkdir -p "$target_dir"
    cp "$DESKTOP_FILE" "$target_dir/posedesk.desktop"
    chmod +x "$target_dir/posedesk.desktop"
    # GNOME asks before running an untrusted launcher; mark ours as trusted when gio is there.
    if command -v gio >/dev/null 2>&1; then gio set "$target_dir/posedesk.desktop" metadata::trusted true 2>/dev/null || true; fi
    echo "Desktop icon: $target_dir/posedesk.desktop"
fi

refresh_caches
if command -v desktop-file-validate >/dev/null 2>&1; then desktop-file-validate "$DESKTOP_FILE"; fi
echo "Installed the PoseDesk launcher: $DESKTOP_FILE"
echo "  $(grep '^Exec=' "$DESKTOP_FILE")"
echo "It appears in the application menu as 'PoseDesk'. Remove it with: $0 --uninstall"
