"""The queue table model fed with the real server's GET /queue: in-place updates keep the selection."""

from __future__ import annotations

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


@pytest.mark.parametrize("minutes,text", [(0, "just now"), (5, "5 min"), (135, "2 h 15 min")])
def test_waiting_time_words(minutes, text):
    from datetime import UTC, datetime, timedelta

    from shopdesk.ui.queue_model import waited

    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    created = (now - timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert waited(created, now) == text
