"""A demo shop with users and a realistic queue (generated PDFs of several sizes and a photo)."""

from __future__ import annotations

import io
import os
import random
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .config import Settings

# The database and generating modules are imported by seed() only: the counter app imports this module for
# DEMO_USERS alone, and its window must not wait for SQLAlchemy (the seeding runs in the embedded server's
# process).

DEMO_FILES_VERSION = 1  # bump when make_pdf/make_photo or ORDERS change what the files look like

DEMO_SHOP = "Demo Print Shop"
DEMO_USERS = (("owner", "demo-owner-pass", "owner"), ("counter", "demo-counter-pass", "staff"),
              ("admin", "demo-admin-pass", "admin"))


@dataclass
class DemoInfo:
    shop_id: int
    created: bool
    users: tuple = DEMO_USERS


def make_pdf(path: Path, pages: int, title: str) -> None:
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(False)
    rnd = random.Random(title)
    for n in range(1, pages + 1):
        pdf.add_page()
        pdf.set_font("Helvetica", "B", 22)
        pdf.cell(0, 16, f"{title}", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=11)
        for _ in range(18):
            words = " ".join(rnd.choice(("print", "shop", "paper", "toner", "margin", "chapter", "figure",
                                         "results", "table", "method")) for _ in range(12))
            pdf.multi_cell(0, 6, words.capitalize() + ".", new_x="LMARGIN", new_y="NEXT")
        pdf.set_y(-20)
        pdf.cell(0, 10, f"Page {n} of {pages}", align="C")
    pdf.output(str(path))


def make_photo(path: Path) -> None:
    from PIL import Image, ImageDraw

    im = Image.new("RGB", (1200, 800), (40, 90, 160))
    d = ImageDraw.Draw(im)
    for i in range(0, 1200, 60):
        d.ellipse((i, 200 + (i % 300), i + 220, 420 + (i % 300)), fill=(240, 180 - i % 120, 60 + i % 150))
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=85)
    path.write_bytes(buf.getvalue())


ORDERS = [
    ("Asha Verma", "+91 98450 11223", [("Thesis final.pdf", 24)], dict(copies=2, print_mode="double")),
    ("Rahul K", "", [("Boarding pass.pdf", 1)], {}),
    ("Meera Iyer", "+91 99000 44556", [("Poster A3.pdf", 1)], dict(color_mode="color", paper_size="A3")),
    ("Walk-in", "", [("Holiday photo.jpg", None)], dict(color_mode="color", copies=3)),
    ("Dev Patel", "+91 90080 77889", [("Lecture notes week 1.pdf", 12), ("Lecture notes week 2.pdf", 9)],
     dict(print_mode="double", comment="Staple each set please")),
    ("Sara Thomas", "", [("Lease agreement.pdf", 6)], dict(paper_size="Legal", copies=2)),
    ("Nikhil R", "+91 97400 12121", [("Slides handout.pdf", 40)], dict(print_mode="double")),
]


def demo_files_dir() -> Path:
    """Where the demo's generated files are kept once made (~5 s of PDF generation), for every demo shop
    seeded on this computer after: SHOPDESK_CACHE_DIR, else the user cache dir."""
    import platformdirs

    base = os.environ.get("SHOPDESK_CACHE_DIR") or platformdirs.user_cache_dir("shopdesk", appauthor=False)
    return Path(base) / f"demo-files-{DEMO_FILES_VERSION}"


def demo_file(name: str, pages: int | None, into: Path) -> Path:
    """The demo file `name` copied into `into` (a folder on the store's file system: the store links it),
    generated the first time and then taken from demo_files_dir()."""
    cached = demo_files_dir() / name
    if not cached.exists():
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_name(f".{name}.{os.getpid()}.part")
        if pages is None:
            make_photo(tmp)
        else:
            make_pdf(tmp, pages, name.rsplit(".", 1)[0])
        os.replace(tmp, cached)  # whole or not at all: another process may be making it too
    path = into / name
    shutil.copyfile(cached, path)
    return path


async def seed(settings: Settings) -> DemoInfo:
    from sqlalchemy import select

    from ..domain.printsettings import PrintSettings
    from .db import Database, migrate
    from .models import Shop
    from .services import shops as shop_service
    from .services.orders import PricedFile, create_order
    from .services.users import create_user
    from .storage import FileStore, sha256_of
    from .uploads import count_pages, sniff_type

    migrate(settings.effective_database_url)
    db = Database(settings.effective_database_url)
    store = FileStore(settings.files_dir)
    try:
        async with db.read() as s:
            existing = (await s.scalars(select(Shop).where(Shop.name == DEMO_SHOP))).first()
        if existing is not None:
            return DemoInfo(existing.id, False)
        async with db.write() as s:
            shop = await shop_service.create_shop(s, name=DEMO_SHOP)
            shop_id = shop.id
            for username, password, role in DEMO_USERS:
                await create_user(s, username=username, password=password, role=role,
                                  shop_id=None if role == "admin" else shop_id)
        async with db.write() as s:
            await shop_service.set_open(s, shop_id=shop_id, is_open=True)
            prices = await shop_service.price_table(s, shop_id)
            with tempfile.TemporaryDirectory() as tmp:
                for customer, phone, files, opts in ORDERS:
                    settings_ = PrintSettings.parse(opts)
                    priced = []
                    for name, pages in files:
                        path = demo_file(name, pages, Path(tmp))
                        ctype = sniff_type(path.read_bytes()[:2048])
                        n = count_pages(path, ctype)
                        sha = sha256_of(path)
                        store.keep(path, sha)
                        priced.append(PricedFile(name, path, sha, path.stat().st_size, ctype, n,
                                                 prices.cost(pages=n, copies=settings_.copies,
                                                             color=settings_.color_mode, paper=settings_.paper_size)))
                    await create_order(s, shop_id=shop_id, settings=settings_, files=priced,
                                       customer_name=customer, phone=phone)
        return DemoInfo(shop_id, True)
    finally:
        await db.dispose()
