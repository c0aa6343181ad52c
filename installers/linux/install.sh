#!/bin/sh
# Installs the shopdesk bundle that sits next to this script.
#   sudo ./install.sh            → /opt/shopdesk, /usr/local/bin/shopdesk, menu entry for everyone
#   ./install.sh                 → (not root) ~/.local/opt/shopdesk, ~/.local/bin/shopdesk, your menu only
#   PREFIX=/some/dir ./install.sh  → everything under PREFIX (for packaging and tests)
# Run it again to upgrade; ./uninstall.sh (copied next to the program) removes everything it put there.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
[ -x "$HERE/shopdesk/shopdesk" ] || { echo "install.sh: $HERE/shopdesk/shopdesk is missing — unpack the whole archive first" >&2; exit 1; }

if [ -n "${PREFIX:-}" ]; then
    APPDIR=$PREFIX/opt/shopdesk; BINDIR=$PREFIX/bin; SHARE=$PREFIX/share
elif [ "$(id -u)" = 0 ]; then
    APPDIR=/opt/shopdesk; BINDIR=/usr/local/bin; SHARE=/usr/local/share
else
    APPDIR=$HOME/.local/opt/shopdesk; BINDIR=$HOME/.local/bin; SHARE=${XDG_DATA_HOME:-$HOME/.local/share}
fi

mkdir -p "$APPDIR" "$BINDIR" "$SHARE/applications" "$SHARE/icons/hicolor/256x256/apps" "$SHARE/icons/hicolor/scalable/apps"
# a fresh copy: files of an older version must not linger in the bundle
rm -rf "$APPDIR.new" && cp -a "$HERE/shopdesk" "$APPDIR.new"
rm -rf "$APPDIR/bundle" && mv "$APPDIR.new" "$APPDIR/bundle"
ln -sfn "$APPDIR/bundle/shopdesk" "$BINDIR/shopdesk"
cp "$HERE/shopdesk.png" "$SHARE/icons/hicolor/256x256/apps/shopdesk.png"
cp "$HERE/shopdesk.svg" "$SHARE/icons/hicolor/scalable/apps/shopdesk.svg"
# the menu entry starts the installed program by its full path (BINDIR need not be on PATH)
sed -e "s|^Exec=.*|Exec=$APPDIR/bundle/shopdesk|" -e "s|^TryExec=.*|TryExec=$APPDIR/bundle/shopdesk|" \
    "$HERE/shopdesk.desktop" > "$SHARE/applications/shopdesk.desktop"
cat > "$APPDIR/uninstall.sh" <<UNINSTALL
#!/bin/sh
# Removes shopdesk as install.sh put it there. Your settings, logs and the embedded server's data stay
# (~/.config/shopdesk, ~/.local/state/shopdesk/log, ~/.local/share/shopdesk); delete them by hand if wanted.
set -eu
rm -f "$BINDIR/shopdesk" "$SHARE/applications/shopdesk.desktop" \
      "$SHARE/icons/hicolor/256x256/apps/shopdesk.png" "$SHARE/icons/hicolor/scalable/apps/shopdesk.svg"
rm -rf "$APPDIR"
echo "shopdesk removed"
UNINSTALL
chmod +x "$APPDIR/uninstall.sh"
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database "$SHARE/applications" 2>/dev/null || true
command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q "$SHARE/icons/hicolor" 2>/dev/null || true
echo "shopdesk installed in $APPDIR; command: $BINDIR/shopdesk; uninstall: $APPDIR/uninstall.sh"
echo "check it with: $BINDIR/shopdesk --self-test"
