"""The import rules of the README's "How the code is laid out" (the contracts in pyproject.toml), checked
by import-linter on every run: a layer importing upwards, Qt outside ui/, the server importing the client
(or the client the server) fails the suite, naming the import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT = [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; "
        "sys.exit(lint_imports_command())"]


def _lint(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*LINT, "--no-cache", *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_the_import_contracts_hold():
    r = _lint()
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert "0 broken" in r.stdout and "Contracts: 5 kept" in r.stdout


def test_a_broken_contract_fails_the_check(tmp_path):
    """The check can fail: a contract the code does not keep (the window imports the counter core)."""
    cfg = tmp_path / "broken.ini"
    cfg.write_text("[importlinter]\nroot_package = shopdesk\n\n[importlinter:contract:ui]\n"
                   "name = ui never imports the counter core\ntype = forbidden\nsource_modules = shopdesk.ui\n"
                   "forbidden_modules = shopdesk.counter\n")
    r = _lint("--config", str(cfg))
    assert r.returncode == 1, r.stdout
    assert "BROKEN" in r.stdout and "shopdesk.ui.service -> shopdesk.counter" in r.stdout
