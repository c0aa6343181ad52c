#!/usr/bin/env bash
# Builds shopdesk.app and a drag-to-Applications disk image on macOS 12+ (Apple silicon or Intel; the app
# runs on the architecture it was built on — build on each, PyInstaller does not cross-compile):
#   installers/macos/build.sh
# Needs: Xcode command line tools (xcode-select --install; pycups compiles against macOS's own libcups),
# Homebrew zbar (brew install zbar; copied into the app), Python 3.11+ from python.org or Homebrew.
# Optional signing: CODESIGN_ID="Developer ID Application: …" signs the app (hardened runtime) and the
# image; NOTARY_PROFILE=<notarytool keychain profile> then notarizes and staples it.
# Writes dist/shopdesk.app and dist/shopdesk-VERSION-macos-ARCH.dmg.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
PY=${PYTHON:-python3}
[ -d .venv ] || "$PY" -m venv .venv
.venv/bin/python -m pip install --upgrade pip
.venv/bin/python -m pip install -e . pyinstaller
brew list zbar >/dev/null 2>&1 || brew install zbar
.venv/bin/pyinstaller --noconfirm --clean installers/shopdesk.spec
APP=dist/shopdesk.app
"$APP/Contents/MacOS/shopdesk" --self-test
if [ -n "${CODESIGN_ID:-}" ]; then
    codesign --deep --force --options runtime --timestamp \
        --entitlements installers/macos/entitlements.plist --sign "$CODESIGN_ID" "$APP"
fi
VERSION=$(.venv/bin/python -c 'import shopdesk; print(shopdesk.__version__)')
DMG=dist/shopdesk-$VERSION-macos-$(uname -m).dmg
STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT
cp -R "$APP" "$STAGE/"
ln -s /Applications "$STAGE/Applications"
cp installers/macos/app.shopdesk.counter.plist "$STAGE/Start at login (copy to ~-Library-LaunchAgents).plist"
rm -f "$DMG"
hdiutil create -volname "shopdesk $VERSION" -srcfolder "$STAGE" -ov -format UDZO "$DMG"
if [ -n "${CODESIGN_ID:-}" ]; then
    codesign --sign "$CODESIGN_ID" --timestamp "$DMG"
    if [ -n "${NOTARY_PROFILE:-}" ]; then
        xcrun notarytool submit "$DMG" --keychain-profile "$NOTARY_PROFILE" --wait
        xcrun stapler staple "$DMG"
    fi
fi
echo "wrote $APP and $DMG"
