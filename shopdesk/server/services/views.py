"""Rows → wire JSON (one place, so every route speaks the same shapes)."""

from __future__ import annotations

from datetime import UTC, datetime

from ...domain.money import to_decimal
from ..models import AuditEntry, Job, Order


def iso(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S") + (f".{dt.microsecond // 1000:03d}Z" if dt.microsecond else "Z")


def job_json(j: Job) -> dict:
    return {
        "file_id": j.id, "order_id": j.order_id, "code": j.code, "original_name": j.original_name,
        "content_type": j.content_type, "size_bytes": j.size_bytes, "sha256": j.sha256,
        "num_pages": j.num_pages, "copies": j.copies, "print_mode": j.print_mode,
        "color_mode": j.color_mode, "paper_size": j.paper_size, "comment": j.comment,
        "cost": to_decimal(j.cost_cents), "status": j.status, "printer": j.printer, "counter": j.counter,
        "attempts": j.attempts, "last_failure": j.last_failure, "cancel_reason": j.cancel_reason,
        "created_at": iso(j.created_at), "updated_at": iso(j.updated_at), "source_type": j.source_type,
        "impressions": j.impressions, "sheets": j.sheets,
    }


def order_json(o: Order, jobs: list[Job]) -> dict:
    return {
        "order_id": o.id, "customer_name": o.customer_name, "phone": o.phone, "comment": o.comment,
        "created_at": iso(o.created_at),
        "total_cost": to_decimal(sum(j.cost_cents for j in jobs)),
        "first_file_id": min((j.id for j in jobs), default=None),
        "files": [job_json(j) for j in jobs],
    }


def audit_json(a: AuditEntry) -> dict:
    return {
        "at": iso(a.at), "move": a.move, "from_status": a.from_status, "to_status": a.to_status,
        "actor": a.actor, "counter": a.counter, "printer": a.printer, "reason": a.reason,
        "idempotency_key": a.idempotency_key,
    }
