"""The queue table model fed with the real server's GET /queue: in-place updates keep the selection."""

from __future__ import annotations

import sys
from decimal import Decimal

import pytest
from PySide6.QtCore import QItemSelectionModel
from PySide6.QtWidgets import QTableView

from shopdesk.ui.queue_model import COL, QueueFilter, QueueModel
from tests.helpers.pdfs import pdf_bytes


def _queue(shop):
    return shop.get("/queue").json(parse_float=Decimal)


def test_rows_follow_the_server_queue_and_selection_survives_refreshes(qtbot, shop):
    a = shop.upload(pdf_bytes(2), name="a.pdf", customer_name="Asha")
    b = shop.upload_response(("b1.pdf", pdf_bytes(1)), ("b2.pdf", pdf_bytes(3)), customer_name="Bala", copies=2).json()
    model = QueueModel()
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(model)
    added, removed = model.set_orders(_queue(shop))
    assert [j["code"] for j in added] == [a["files"][0]["code"]] + [f["code"] for f in b["files"]]
    assert model.rowCount() == 3
    assert model.data(model.index(1, COL["Customer"])) == "Bala"
    assert model.data(model.index(2, COL["Customer"])) == "  ↳ same order"
    assert model.data(model.index(2, COL["Cost"])) == "6.00"
    # select the last row, then the queue changes around it
    view.selectionModel().select(model.index(2, 0), QItemSelectionModel.SelectionFlag.ClearAndSelect
                                 | QItemSelectionModel.SelectionFlag.Rows)
    inserts, removes = [], []
    model.rowsInserted.connect(lambda *a: inserts.append(a))
    model.rowsRemoved.connect(lambda *a: removes.append(a))
    shop.post(f"/queue/{a['files'][0]['file_id']}/confirm")  # first order done
    c = shop.upload(pdf_bytes(1), name="c.pdf")
    shop.post(f"/queue/{b['files'][1]['file_id']}/print-started", json={"counter": "Counter 2"})
    added, removed = model.set_orders(_queue(shop))
    assert [j["code"] for j in added] == [c["files"][0]["code"]]
    assert [j["code"] for j in removed] == [a["files"][0]["code"]]
    assert len(inserts) == 1 and len(removes) == 1  # only the rows that changed moved
    selected = view.selectionModel().selectedRows()
    assert len(selected) == 1 and model.job_at(selected[0].row())["code"] == b["files"][1]["code"]
    assert model.data(model.index(selected[0].row(), COL["Status"])) == "Printing"
    assert "Printing at Counter 2" in model.data(model.index(selected[0].row(), 0), 3)  # tooltip


def test_filter_by_text_and_status(qtbot, shop):
    shop.upload(pdf_bytes(1), name="wedding-invite.pdf", customer_name="Ravi Kumar", phone="98450")
    x = shop.upload(pdf_bytes(1), name="invoice.pdf", customer_name="Leela")
    shop.post(f"/queue/{x['files'][0]['file_id']}/print-started")
    model = QueueModel()
    model.set_orders(_queue(shop))
    proxy = QueueFilter()
    proxy.setSourceModel(model)
    proxy.set_text("ravi wedding")
    assert proxy.rowCount() == 1
    proxy.set_text(x["files"][0]["code"].lower())
    assert proxy.rowCount() == 1
    proxy.set_text("")
    proxy.set_status("printing")
    assert proxy.rowCount() == 1 and proxy.data(proxy.index(0, COL["File"])) == "invoice.pdf"


def _many(order: dict, n: int) -> list[dict]:
    """n one-file orders made from a real one (ids and codes made unique)."""
    orders = []
    for k in range(n):
        job = dict(order["files"][0], file_id=10_000 + k, code=f"Q{k:05d}", original_name=f"doc-{k}.pdf")
        orders.append(dict(order, order_id=20_000 + k, first_file_id=job["file_id"], files=[job]))
    return orders


def test_a_refresh_signals_only_the_cells_that_changed(qtbot, shop):
    a = shop.upload(pdf_bytes(1), name="a.pdf", customer_name="Asha")
    b = shop.upload(pdf_bytes(1), name="b.pdf", customer_name="Bala")
    shop.upload(pdf_bytes(1), name="c.pdf", customer_name="Chitra")
    model = QueueModel()
    model.set_orders(_queue(shop))
    changed, moved = [], []
    model.dataChanged.connect(lambda tl, br, roles=(): changed.append((tl.row(), tl.column(), br.row(), br.column())))
    for sig in (model.rowsInserted, model.rowsRemoved, model.modelReset, model.layoutChanged):
        sig.connect(lambda *args: moved.append(args))
    model.set_orders(_queue(shop))  # the same queue again: nothing to say
    assert changed == [] and moved == []
    shop.post(f"/queue/{b['files'][0]['file_id']}/print-started", json={"counter": "Counter 2"})
    model.set_orders(_queue(shop))
    assert moved == []
    # each change names one cell of the middle row: the view repaints that row, not the whole table
    assert changed and all(top == bottom == 1 and left == right for top, left, bottom, right in changed)
    assert model.data(model.index(1, COL["Status"])) == "Printing"
    assert model.data(model.index(0, COL["Code"])) == a["files"][0]["code"]


def _table(qtbot, width: int, height: int):
    """The queue as the window shows it: model → filter → a table view on screen."""
    model = QueueModel()
    proxy = QueueFilter()
    proxy.setSourceModel(model)
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(proxy)
    view.resize(width, height)
    view.show()
    return model, proxy, view


def test_selection_and_scroll_survive_a_refresh_of_a_long_queue(qtbot, shop):
    shop.upload(pdf_bytes(1), name="a.pdf")
    orders = _many(_queue(shop)[0], 300)
    model, proxy, view = _table(qtbot, 600, 300)
    model.set_orders(orders)
    view.selectRow(150)
    view.scrollTo(proxy.index(150, 0))
    qtbot.wait(10)
    scrolled = view.verticalScrollBar().value()
    assert scrolled > 0
    orders[150]["files"][0] = dict(orders[150]["files"][0], status="printing", counter="Counter 2")
    orders[200]["files"][0] = dict(orders[200]["files"][0], last_failure="Out of paper")
    model.set_orders(orders + _many(orders[0], 301)[300:])  # one changed above, one below, one new at the end
    qtbot.wait(10)
    assert view.verticalScrollBar().value() == scrolled
    selected = view.selectionModel().selectedRows()
    assert len(selected) == 1 and proxy.job(selected[0])["code"] == "Q00150"
    assert proxy.data(proxy.index(150, COL["Status"])) == "Printing"


def test_painting_the_queue_runs_no_python(qtbot, shop):
    """The table's cells are served by Qt: a repaint of the queue (the commonest main-thread work while
    jobs come and go) does not call back into Python once per cell and role, as a Python data() did."""
    shop.upload(pdf_bytes(1), name="a.pdf", customer_name="Asha")
    model, proxy, view = _table(qtbot, 900, 600)
    model.set_orders(_many(_queue(shop)[0], 100))
    qtbot.wait(10)
    view.viewport().repaint()  # PySide makes some enum types on first use
    calls = []

    def profile(frame, event, arg):
        if event == "call":
            calls.append(f"{frame.f_code.co_filename}:{frame.f_code.co_name}")

    sys.setprofile(profile)
    try:
        view.viewport().repaint()
    finally:
        sys.setprofile(None)
    assert calls == []


@pytest.mark.parametrize("minutes,text", [(0, "just now"), (5, "5 min"), (135, "2 h 15 min")])
def test_waiting_time_words(minutes, text):
    from datetime import UTC, datetime, timedelta

    from shopdesk.ui.queue_model import waited

    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    created = (now - timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert waited(created, now) == text


@pytest.mark.slow
def test_a_converted_word_file_says_so_in_the_queue(qtbot, shop):
    from tests.helpers.documents import docx_bytes

    shop.upload(docx_bytes(2), name="report.docx", customer_name="Asha")
    shop.upload(pdf_bytes(1), name="plain.pdf")
    model = QueueModel()
    model.set_orders(_queue(shop))
    assert model.data(model.index(0, COL["File"])) == "report.docx (converted from Word)"
    assert model.data(model.index(0, COL["Pages"])) == 2
    assert model.data(model.index(0, 0), 3).startswith("report.docx (converted from Word) — code ")  # tooltip
    assert model.data(model.index(1, COL["File"])) == "plain.pdf"
