"""Creating an order: its jobs with fresh codes, settings and costs, in one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ...domain.codes import new_job_code
from ...domain.jobs import JobStatus
from ...domain.printsettings import PrintSettings
from ..models import Job, Order
from . import webhooks
from .jobs import bump_queue


@dataclass
class PricedFile:
    name: str
    temp_path: Path
    sha256: str
    size: int
    content_type: str
    pages: int
    cost_cents: int
    source_type: str | None = None  # "word" / "powerpoint": the stored file is its PDF rendering
    original_sha256: str = ""  # of what the customer sent (differs from sha256 for a converted file)


async def unique_code(s: AsyncSession) -> str:
    for _ in range(20):
        code = new_job_code()
        if (await s.scalars(select(Job.id).where(Job.code == code))).first() is None:
            return code
    raise RuntimeError("could not find a free job code")


async def create_order(s: AsyncSession, *, shop_id: int, settings: PrintSettings, files: list[PricedFile],
                       customer_id: int | None = None, customer_name: str = "", phone: str = "",
                       now: datetime | None = None) -> tuple[Order, list[Job]]:
    now = now or datetime.now(UTC)
    order = Order(shop_id=shop_id, customer_id=customer_id, customer_name=customer_name[:120], phone=phone[:40],
                  comment=settings.comment, created_at=now)
    s.add(order)
    await s.flush()
    jobs = []
    for f in files:
        job = Job(order_id=order.id, shop_id=shop_id, code=await unique_code(s), original_name=f.name,
                  content_type=f.content_type, size_bytes=f.size, sha256=f.sha256, num_pages=f.pages,
                  copies=settings.copies, print_mode=settings.print_mode.value,
                  color_mode=settings.color_mode.value, paper_size=settings.paper_size.value,
                  comment=settings.comment, cost_cents=f.cost_cents, source_type=f.source_type,
                  status=JobStatus.UPLOADED.value,
                  attempts=0, created_at=now, updated_at=now)
        s.add(job)
        jobs.append(job)
    await s.flush()
    for job in jobs:
        await webhooks.emit_job(s, job, "job.uploaded", now)
    await bump_queue(s, shop_id)
    return order, jobs
