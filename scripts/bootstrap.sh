#!/usr/bin/env bash
# Installs what shopdesk needs on Debian/Ubuntu: system packages (when missing) and the .venv.
#   scripts/bootstrap.sh runtime        the app
#   scripts/bootstrap.sh runtime test   the app and the test suite
set -euo pipefail
cd "$(dirname "$0")/.."
groups=("$@"); [ ${#groups[@]} -gt 0 ] || groups=(runtime)

wanted=()
for g in "${groups[@]}"; do
  line=$(grep "^$g:" scripts/system-packages.txt | cut -d: -f2-)
  for p in $line; do wanted+=("$p"); done
done
missing=()
for p in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null; then
    sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
    echo "bootstrap: installing system packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "bootstrap: please install these system packages: ${missing[*]}" >&2
  fi
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
extras=""
for g in "${groups[@]}"; do [ "$g" = test ] && extras="[test]"; done
stamp=".venv/.installed$extras"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".$extras"
  touch "$stamp"
fi
