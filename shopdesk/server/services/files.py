"""Stored files leave the disk once no waiting job needs them (printed, cancelled, withdrawn)."""

from __future__ import annotations

import logging

from ..context import ServerContext
from .jobs import sha_still_needed

log = logging.getLogger("shopdesk.server.files")


async def discard_unused(ctx: ServerContext, shas: list[str]) -> None:
    for sha in set(shas):
        async with ctx.db.read() as s:
            needed = await sha_still_needed(s, sha)
        if not needed:
            ctx.store.delete(sha)
            log.info("deleted stored file %s… (no waiting job needs it)", sha[:12])
