"""The queue as a Qt table: one row per job (file), grouped by order, updated in place so selection
and scroll position survive every refresh; plus the search/filter proxy."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QBrush, QColor, QFont

COLUMNS = ("Status", "Code", "Customer", "File", "Pages", "Copies", "Sides", "Colour", "Paper", "Cost", "Waiting")
COL = {name: i for i, name in enumerate(COLUMNS)}
JOB_ROLE = Qt.ItemDataRole.UserRole + 1
ORDER_ROLE = Qt.ItemDataRole.UserRole + 2
SEARCH_ROLE = Qt.ItemDataRole.UserRole + 3

STATUS_TEXT = {"uploaded": "Waiting", "printing": "Printing", "downloaded": "Printed",
               "cancelled": "Cancelled", "withdrawn": "Withdrawn"}
_NUMERIC = {COL["Pages"], COL["Copies"], COL["Cost"]}


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
    if job["status"] == "printing":
        facts.append(("printing", f"Printing at {job.get('counter') or 'another counter'}"
                                  + (f" on {job['printer']}" if job.get("printer") else "")))
    return facts


class QueueModel(QAbstractTableModel):
    """Rows are (order, job) pairs in queue order. `set_orders()` merges a new queue into the rows."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._rows: list[tuple[dict, dict]] = []
        # order id → 0/1: alternating shading given once, when the order first appears, so a refresh never
        # repaints every row (a position-based stripe flips all rows below a removed order)
        self._stripe: dict[int, int] = {}

    # --- reading -----------------------------------------------------------------------------------
    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def job_at(self, row: int) -> dict:
        return self._rows[row][1]

    def order_at(self, row: int) -> dict:
        return self._rows[row][0]

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

    def data(self, index: QModelIndex | QPersistentModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        order, job = self._rows[index.row()]
        col = index.column()
        first_of_order = job["file_id"] == order.get("first_file_id")
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(order, job, col, first_of_order)
        if role == JOB_ROLE:
            return job
        if role == ORDER_ROLE:
            return order
        if role == SEARCH_ROLE:
            return " ".join(str(x) for x in (job["code"], order.get("customer_name", ""), order.get("phone", ""),
                                             job["original_name"], job.get("comment", ""))).lower()
        if role == Qt.ItemDataRole.TextAlignmentRole and col in _NUMERIC:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            return "\n".join([f"{job['original_name']} — code {job['code']}"]
                             + [text for _kind, text in job_facts(order, job)])
        if role == Qt.ItemDataRole.BackgroundRole:
            if job["status"] == "printing":
                return QBrush(QColor("#fff4d6"))
            if job.get("last_failure"):
                return QBrush(QColor("#fde8e8"))
            if self._stripe.get(order["order_id"], 0):
                return QBrush(QColor("#f3f6fa"))
            return None
        if role == Qt.ItemDataRole.FontRole and col == COL["Code"]:
            f = QFont("monospace")
            f.setStyleHint(QFont.StyleHint.Monospace)
            f.setBold(True)
            return f
        if role == Qt.ItemDataRole.ForegroundRole and col == COL["Colour"] and job["color_mode"] == "color":
            return QBrush(QColor("#b1440e"))
        return None

    @staticmethod
    def _display(order: dict, job: dict, col: int, first_of_order: bool):
        if col == COL["Status"]:
            text = STATUS_TEXT.get(job["status"], job["status"])
            if job["status"] == "uploaded" and job.get("last_failure"):
                text = "Failed — retry"
            return text
        if col == COL["Code"]:
            return job["code"]
        if col == COL["Customer"]:
            name = order.get("customer_name") or "Walk-in"
            return name if first_of_order else "  ↳ same order"
        if col == COL["File"]:
            return job["original_name"]
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
        """Merges the server's queue into the rows: removed rows go, changed rows are updated, new rows
        are inserted where they belong. Returns (new jobs, removed jobs)."""
        new_rows = [(o, j) for o in orders for j in o["files"]]
        new_keys = {j["file_id"] for _o, j in new_rows}
        old_keys = {j["file_id"] for _o, j in self._rows}
        removed = [j for _o, j in self._rows if j["file_id"] not in new_keys]
        for i in range(len(self._rows) - 1, -1, -1):
            if self._rows[i][1]["file_id"] not in new_keys:
                self.beginRemoveRows(QModelIndex(), i, i)
                del self._rows[i]
                self.endRemoveRows()
        last = self._stripe.get(orders[0]["order_id"], 1) if orders else 1
        for o in orders:
            if o["order_id"] not in self._stripe:
                self._stripe[o["order_id"]] = 1 - last
            last = self._stripe[o["order_id"]]
        live = {o["order_id"] for o in orders}
        self._stripe = {k: v for k, v in self._stripe.items() if k in live}
        added: list[dict] = []
        for i, (o, j) in enumerate(new_rows):
            if i < len(self._rows) and self._rows[i][1]["file_id"] == j["file_id"]:
                if self._rows[i] != (o, j):
                    self._rows[i] = (o, j)
                    self.dataChanged.emit(self.index(i, 0), self.index(i, len(COLUMNS) - 1))
                continue
            existing = next((k for k in range(i + 1, len(self._rows)) if self._rows[k][1]["file_id"] == j["file_id"]),
                            None)
            if existing is not None:  # reordered (rare): move it up by remove + insert
                self.beginRemoveRows(QModelIndex(), existing, existing)
                del self._rows[existing]
                self.endRemoveRows()
            self.beginInsertRows(QModelIndex(), i, i)
            self._rows.insert(i, (o, j))
            self.endInsertRows()
            if j["file_id"] not in old_keys:
                added.append(j)
        return added, removed

    def refresh_waiting_times(self) -> None:
        if self._rows:
            c = COL["Waiting"]
            self.dataChanged.emit(self.index(0, c), self.index(len(self._rows) - 1, c),
                                  [Qt.ItemDataRole.DisplayRole])


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

    def filterAcceptsRow(self, source_row: int, source_parent) -> bool:
        model = self.sourceModel()
        idx = model.index(source_row, 0, source_parent)
        job = model.data(idx, JOB_ROLE)
        if self._status and job["status"] != self._status:
            return False
        if self._text:
            return all(word in model.data(idx, SEARCH_ROLE) for word in self._text.split())
        return True
