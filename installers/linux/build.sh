#!/usr/bin/env bash
# Builds the Linux bundle and packs it with its install script:
#   installers/linux/build.sh [OUTDIR]      (default OUTDIR: dist/)
# → OUTDIR/shopdesk/shopdesk (the one-folder bundle) and OUTDIR/shopdesk-VERSION-linux-ARCH.tar.gz
# BUNDLE_DIR=path/to/shopdesk skips the build and packs that bundle (CI and tests build once).
# Needs: the repo's .venv with pyinstaller, and libzbar0 on the build machine (it is copied into the bundle).
# Build on the oldest distribution you support: the bundle needs a glibc at least as new as the builder's.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$(mkdir -p "${1:-$ROOT/dist}" && cd "${1:-$ROOT/dist}" && pwd)
PY=${PYTHON:-$ROOT/.venv/bin/python}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
if [ -n "${BUNDLE_DIR:-}" ]; then
    BUNDLE=$(cd "$BUNDLE_DIR" && pwd)
else
    "$PY" -m PyInstaller --noconfirm --clean --distpath "$OUT" --workpath "$WORK/build" "$ROOT/installers/shopdesk.spec"
    BUNDLE=$OUT/shopdesk
fi
"$BUNDLE/shopdesk" --self-test || { echo "build.sh: the bundle's self-test failed" >&2; exit 1; }
VERSION=$("$PY" -c 'import shopdesk; print(shopdesk.__version__)')
NAME=shopdesk-$VERSION-linux-$(uname -m)
STAGE=$WORK/$NAME
mkdir -p "$STAGE"
cp -a "$BUNDLE" "$STAGE/shopdesk"
cp "$ROOT/installers/linux/install.sh" "$ROOT/installers/linux/autostart.sh" "$ROOT/resources/shopdesk.desktop" \
   "$ROOT/resources/shopdesk.png" "$ROOT/resources/shopdesk.svg" "$STAGE/"
tar -C "$WORK" -cf - "$NAME" | gzip "-${GZIP_LEVEL:-6}" > "$OUT/$NAME.tar.gz"  # GZIP_LEVEL=1: fast, for tests
echo "wrote $OUT/$NAME.tar.gz — unpack, then run ./install.sh (as root for all users)"
