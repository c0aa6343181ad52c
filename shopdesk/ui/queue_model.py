"""The queue as a Qt table: one row per job (file), grouped by order, updated in place so selection
and scroll position survive every refresh — only the cells that changed are signalled and repainted;
plus the search/filter proxy."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from functools import cache

from PySide6.QtCore import QSortFilterProxyModel, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QStandardItemModel

from ..domain.jobs import JobStatus

COLUMNS = ("Status", "Code", "Customer", "File", "Pages", "Copies", "Sides", "Colour", "Paper", "Cost", "Waiting")
COL = {name: i for i, name in enumerate(COLUMNS)}

STATUS_TEXT = {s.value: s.title for s in JobStatus}  # the domain's words
_NUMERIC = {COL["Pages"], COL["Copies"], COL["Cost"]}

_R = Qt.ItemDataRole
_DISPLAY, _TOOLTIP, _BACKGROUND, _FOREGROUND, _FONT, _ALIGN = (
    int(r.value) for r in (_R.DisplayRole, _R.ToolTipRole, _R.BackgroundRole, _R.ForegroundRole, _R.FontRole,
                           _R.TextAlignmentRole))
_RIGHT = int((Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter).value)
_PRINTING, _FAILED, _STRIPE, _COLOUR = (QBrush(QColor(c)) for c in ("#fff4d6", "#fde8e8", "#f3f6fa", "#b1440e"))


@cache
def _code_font() -> QFont:  # made once a QApplication exists
    f = QFont("monospace")
    f.setStyleHint(QFont.StyleHint.Monospace)
    f.setBold(True)
    return f


def money(value) -> str:
    return f"{Decimal(str(value)):.2f}"


def parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def waited(created: str | None, now: datetime | None = None) -> str:
    t = parse_time(created)
    if t is None:
        return ""
    minutes = int(((now or datetime.now(UTC)) - t).total_seconds() // 60)
    if minutes < 1:
        return "just now"
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def job_facts(order: dict, job: dict) -> list[tuple[str, str]]:
    """What the shopkeeper should know beyond the settings, as (kind, plain text): one list for the
    queue's tooltip and the job panel."""
    facts = []
    if order.get("phone"):
        facts.append(("phone", f"Phone: {order['phone']}"))
    if job.get("comment"):
        facts.append(("note", f"Note: {job['comment']}"))
    if job.get("last_failure"):
        facts.append(("failure", f"Last attempt failed: {job['last_failure']}"))
    if job["status"] == JobStatus.PRINTING:
        facts.append(("printing", f"Printing at {job.get('counter') or 'another counter'}"
                                  + (f" on {job['printer']}" if job.get("printer") else "")))
    return facts


class QueueModel(QStandardItemModel):
    """Rows are (order, job) pairs in queue order. `set_orders()` merges a new queue into the rows.

    The cells live in Qt's own item model, written once per change, so painting the table never calls
    Python: served from a Python `data()`, the view's ~7 role queries per visible cell (and, through the
    filter proxy, two more Python calls each to map the index) made one repaint of the 1000-job table
    cost ~22 ms of main-thread time against ~5 ms now — the longest stall in bench/ui.py was such a
    repaint, 50–100 ms on a busy 2-core machine. The jobs themselves stay Python dicts in `_rows` (a
    dict in a QVariant would be converted to a QVariantMap and back on every read)."""

    def __init__(self, parent=None):
        super().__init__(0, len(COLUMNS), parent)
        self.setHorizontalHeaderLabels(list(COLUMNS))
        self._rows: list[tuple[dict, dict]] = []
        self._waiting: list[str] = []  # the Waiting column's words per row, to rewrite only what changed
        # order id → 0/1: alternating shading given once, when the order first appears, so a refresh never
        # repaints every row (a position-based stripe flips all rows below a removed order)
        self._stripe: dict[int, int] = {}
        # `_rows` follows Qt's rows exactly when Qt says they moved: connected first, these run before the
        # filter's and the view's own reactions (which then read `_rows`), after their "about to" ones.
        self._incoming: list[tuple[dict, dict]] = []
        self.rowsInserted.connect(self._rows_inserted)
        self.rowsRemoved.connect(self._rows_removed)

    # --- reading -----------------------------------------------------------------------------------
    def job_at(self, row: int) -> dict:
        return self._rows[row][1]

    def order_at(self, row: int) -> dict:
        return self._rows[row][0]

    def search_text(self, row: int) -> str:
        order, job = self._rows[row]
        return " ".join(str(x) for x in (job["code"], order.get("customer_name", ""), order.get("phone", ""),
                                         job["original_name"], job.get("comment", ""))).lower()

    def row_of(self, file_id: int) -> int | None:
        for i, (_o, j) in enumerate(self._rows):
            if j["file_id"] == file_id:
                return i
        return None

    def row_of_code(self, code: str) -> int | None:
        for i, (_o, j) in enumerate(self._rows):
            if j["code"] == code:
                return i
        return None

    # --- the cells ---------------------------------------------------------------------------------
    def _cells(self, order: dict, job: dict, waiting: str) -> list[dict[int, object]]:
        """Every role of every cell of one row, as Qt stores them."""
        first_of_order = job["file_id"] == order.get("first_file_id")
        tooltip = "\n".join([f"{file_label(job)} — code {job['code']}"]
                            + [text for _kind, text in job_facts(order, job)])
        common: dict[int, object] = {_TOOLTIP: tooltip}
        if job["status"] == JobStatus.PRINTING:
            common[_BACKGROUND] = _PRINTING
        elif job.get("last_failure"):
            common[_BACKGROUND] = _FAILED
        elif self._stripe.get(order["order_id"], 0):
            common[_BACKGROUND] = _STRIPE
        cells = []
        for col in range(len(COLUMNS)):
            roles = dict(common)
            roles[_DISPLAY] = waiting if col == COL["Waiting"] else self._display(order, job, col, first_of_order)
            if col in _NUMERIC:
                roles[_ALIGN] = _RIGHT
            if col == COL["Code"]:
                roles[_FONT] = _code_font()
            if col == COL["Colour"] and job["color_mode"] == "color":
                roles[_FOREGROUND] = _COLOUR
            cells.append(roles)
        return cells

    def _write_row(self, row: int) -> None:
        """Stores a row's cells; Qt compares them with what is there and signals only a real change
        (one cell's dataChanged repaints that cell, not the viewport)."""
        order, job = self._rows[row]
        for col, roles in enumerate(self._cells(order, job, self._waiting[row])):
            self.setItemData(self.index(row, col), roles)

    @staticmethod
    def _display(order: dict, job: dict, col: int, first_of_order: bool):
        if col == COL["Status"]:
            text = STATUS_TEXT.get(job["status"], job["status"])
            if job["status"] == JobStatus.UPLOADED and job.get("last_failure"):
                text = "Failed — retry"
            return text
        if col == COL["Code"]:
            return job["code"]
        if col == COL["Customer"]:
            name = order.get("customer_name") or "Walk-in"
            return name if first_of_order else "  ↳ same order"
        if col == COL["File"]:
            return file_label(job)
        if col == COL["Pages"]:
            return job["num_pages"]
        if col == COL["Copies"]:
            return job["copies"]
        if col == COL["Sides"]:
            return "Double" if job["print_mode"] == "double" else "Single"
        if col == COL["Colour"]:
            return "Colour" if job["color_mode"] == "color" else "B/W"
        if col == COL["Paper"]:
            return job["paper_size"]
        if col == COL["Cost"]:
            return money(job["cost"])
        if col == COL["Waiting"]:
            return waited(job.get("created_at"))
        return None

    # --- updating in place -------------------------------------------------------------------------
    def set_orders(self, orders: list[dict]) -> tuple[list[dict], list[dict]]:
        """Merges the server's queue into the rows: removed rows go, changed rows are updated (only the
        cells that changed are signalled), new rows are inserted where they belong — a run of new rows
        in one insert. Returns (new jobs, removed jobs)."""
        new_rows = [(o, j) for o in orders for j in o["files"]]
        new_keys = {j["file_id"] for _o, j in new_rows}
        old_keys = {j["file_id"] for _o, j in self._rows}
        removed = [j for _o, j in self._rows if j["file_id"] not in new_keys]
        i = len(self._rows) - 1
        while i >= 0:  # remove from the bottom, a run of neighbours at a time
            if self._rows[i][1]["file_id"] in new_keys:
                i -= 1
                continue
            end = i
            while i >= 0 and self._rows[i][1]["file_id"] not in new_keys:
                i -= 1
            self.removeRows(i + 1, end - i)
        last = self._stripe.get(orders[0]["order_id"], 1) if orders else 1
        stripe_before = self._stripe
        for o in orders:
            if o["order_id"] not in self._stripe:
                self._stripe[o["order_id"]] = 1 - last
            last = self._stripe[o["order_id"]]
        live = {o["order_id"] for o in orders}
        self._stripe = {k: v for k, v in stripe_before.items() if k in live}
        added: list[dict] = []
        i = 0
        while i < len(new_rows):
            o, j = new_rows[i]
            if i < len(self._rows) and self._rows[i][1]["file_id"] == j["file_id"]:
                if self._rows[i] != (o, j):
                    self._rows[i] = (o, j)
                    self._write_row(i)
                i += 1
                continue
            existing = next((k for k in range(i + 1, len(self._rows)) if self._rows[k][1]["file_id"] == j["file_id"]),
                            None)
            if existing is not None:  # reordered (rare): move it up by remove + insert
                self.removeRows(existing, 1)
            # the run of rows from here that are not (or no longer) in the model, inserted at once
            present = {jj["file_id"] for _oo, jj in self._rows}
            run = 1
            while i + run < len(new_rows) and new_rows[i + run][1]["file_id"] not in present:
                run += 1
            self._insert(i, new_rows[i:i + run])
            added += [jj for _oo, jj in new_rows[i:i + run] if jj["file_id"] not in old_keys]
            i += run
        return added, removed

    def _insert(self, row: int, rows: list[tuple[dict, dict]]) -> None:
        """Inserts rows, then fills their cells with the model's signals held back and announces them in
        one dataChanged: otherwise every cell of a first 1000-job queue would signal on its own (and make
        the filter look at its row again)."""
        self._incoming = rows
        self.insertRows(row, len(rows))
        self.blockSignals(True)
        try:
            for r in range(row, row + len(rows)):
                self._write_row(r)
        finally:
            self.blockSignals(False)
        self.dataChanged.emit(self.index(row, 0), self.index(row + len(rows) - 1, len(COLUMNS) - 1))

    def _rows_inserted(self, _parent, first: int, last: int) -> None:
        rows, self._incoming = self._incoming, []
        assert len(rows) == last - first + 1, "rows are inserted through set_orders() only"
        self._rows[first:first] = rows
        self._waiting[first:first] = [waited(j.get("created_at")) for _o, j in rows]

    def _rows_removed(self, _parent, first: int, last: int) -> None:
        del self._rows[first:last + 1]
        del self._waiting[first:last + 1]

    def refresh_waiting_times(self) -> None:
        """Rewrites the Waiting cells whose words changed ("4 min" → "5 min")."""
        col = COL["Waiting"]
        for row, (_order, job) in enumerate(self._rows):
            text = waited(job.get("created_at"))
            if text != self._waiting[row]:
                self._waiting[row] = text
                self.setData(self.index(row, col), text, _DISPLAY)


class QueueFilter(QSortFilterProxyModel):
    """Search text (code, customer, phone, file name, note) and a status filter."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._text = ""
        self._status: str | None = None

    def set_text(self, text: str) -> None:
        self._refilter(lambda: setattr(self, "_text", text.strip().lower()))

    def set_status(self, status: str | None) -> None:
        self._refilter(lambda: setattr(self, "_status", status))

    def _refilter(self, change) -> None:
        if hasattr(self, "beginFilterChange"):  # Qt ≥ 6.10
            self.beginFilterChange()
            change()
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            change()
            self.invalidateFilter()

    def job(self, index) -> dict:
        """The job on the row of this (proxy) index."""
        return self.sourceModel().job_at(self.mapToSource(index).row())

    def order(self, index) -> dict:
        return self.sourceModel().order_at(self.mapToSource(index).row())

    def filterAcceptsRow(self, source_row: int, source_parent) -> bool:
        model = self.sourceModel()
        if self._status and model.job_at(source_row)["status"] != self._status:
            return False
        if self._text:
            text = model.search_text(source_row)
            return all(word in text for word in self._text.split())
        return True


CONVERTED = {"word": "converted from Word", "powerpoint": "converted from PowerPoint"}


def file_label(job: dict) -> str:
    """The customer's file name, and "(converted from Word)" when the stored file is its PDF rendering."""
    words = CONVERTED.get(job.get("source_type") or "")
    return f"{job['original_name']} ({words})" if words else job["original_name"]
