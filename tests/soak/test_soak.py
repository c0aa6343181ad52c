"""`bench/soak.py --short` as part of the suite: a shop day of about a minute per database (SQLite and
PostgreSQL side by side) under server kills, network faults, printer faults and counter crashes, from
real processes only. Its figures are the reliability claim, so the test holds them to it."""

from __future__ import annotations

import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAST = re.compile(r"^jobs=(\d+) terminal=(\d+) double_prints=(\d+) lost_reports=(\d+) false_printed=(\d+) "
                  r"ledger_ok=([01])$")

CUPS_CRASHED = 3  # bench/soak.py's exit code when its private cupsd died during the run
pytestmark = [pytest.mark.slow, pytest.mark.timeout(800)]


def _soak() -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "bench/soak.py", "--short"],
                          cwd=ROOT, capture_output=True, text=True, timeout=360)


def test_short_soak_ends_every_job_once_loses_no_report_and_balances_the_ledger():
    # Every fault kind, the driverless printer (ippeveprinter behind an `-m everywhere` queue) included.
    r = _soak()
    if r.returncode == CUPS_CRASHED:
        # cupsd itself (not shopdesk) segfaulted: the run has no figures. Said, and run once more.
        warnings.warn("the soak's cupsd crashed; the soak ran again:\n" + r.stdout[-1500:], stacklevel=1)
        r = _soak()
    out = r.stdout.strip().splitlines()
    report = "\n".join(out[-40:]) + "\n" + r.stderr[-3000:]
    assert out, report
    m = LAST.match(out[-1])
    assert m, f"the last line is not the figures line:\n{report}"
    jobs, terminal, double, lost, false_printed, ledger_ok = map(int, m.groups())
    assert jobs >= 60, report  # both databases took a real load
    assert terminal == jobs, report
    assert double == 0, report
    assert lost == 0, report
    assert false_printed == 0, report  # never counted printed when it did not come out
    assert ledger_ok == 1, report
    assert not [ln for ln in out if "DEFECT" in ln], report
    assert r.returncode == 0, report
    # the faults did happen: the server was killed and came back at least once per database
    assert sum("fault: server SIGKILLed" in ln for ln in out) >= 1, report
