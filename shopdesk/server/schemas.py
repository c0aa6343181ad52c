"""Request and response shapes: they validate requests and describe every route in /openapi.json.
Responses are written by services/views.py; these models document them."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from fastapi import Path
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema


def _utf8(value: str) -> str:
    """Refuses text that cannot be stored (lone UTF-16 surrogates from JSON escapes)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("contains characters that are not valid text") from exc
    return value


def _encodable(value: str) -> str:
    """Valid text without NUL characters (PostgreSQL cannot store them in text): each becomes U+FFFD, so
    the text keeps the length its schema promised (a name of one NUL is one character, not refused)."""
    return _utf8(value).replace("\x00", "\ufffd")


Text = Annotated[str, AfterValidator(_encodable)]
# A password is only hashed, never stored as text: it is kept exactly as typed, and logs in as it was set.
Password = Annotated[str, AfterValidator(_utf8)]
# Database ids are 32-bit; a bigger number is simply unknown (validated as 400, never a 500).
Id = Annotated[int, Path(ge=1, le=2_147_483_647)]

Money = Annotated[Decimal, WithJsonSchema({"type": "number", "description": "amount with two decimals",
                                           "examples": [25.0]})]
Status = Literal["uploaded", "printing", "downloaded", "cancelled", "withdrawn"]


def _json_integer(value):
    """JSON Schema's integer: 5 and 5.0, never "5" or true."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def json_int(ge: int, le: int):
    """An integer field of a request body, bounded (an id beyond 32 bits is refused, not overflowed)."""
    return Annotated[int, Field(ge=ge, le=le), BeforeValidator(_json_integer)]


class In(BaseModel):
    """A request body: types as documented, nothing coerced ({"is_open": 0} is not a boolean, "5" is not
    a number)."""

    model_config = ConfigDict(strict=True)


class ErrorOut(BaseModel):
    error: str = Field(examples=["Cannot start printing this job: it is already printing at Counter 2."])


def errors(*codes: int) -> dict:
    text = {400: "Invalid request", 401: "No token, or it expired", 403: "Wrong role or another shop's data",
            404: "Unknown", 409: "Conflicts with the current state", 413: "Too large",
            422: "This Idempotency-Key was used for a different request", 429: "Rate limited (see Retry-After)",
            503: "Busy checking other files; try again (see Retry-After)"}
    return {c: {"model": ErrorOut, "description": text[c]} for c in codes}


class LoginIn(In):
    username: Text = Field(min_length=1, max_length=80)
    password: Password = Field(min_length=1, max_length=200)


class LoginOut(BaseModel):
    token: str
    role: Literal["customer", "staff", "owner", "admin"]
    username: str
    shop_id: int | None
    expires_at: str


class ProfileOut(BaseModel):
    id: int
    username: str
    full_name: str
    role: str
    shop_id: int | None
    shop_name: str | None
    is_open: bool | None


class OkOut(BaseModel):
    ok: bool = True


class JobOut(BaseModel):
    file_id: int
    order_id: int
    code: str
    original_name: str
    content_type: str
    size_bytes: int
    sha256: str
    num_pages: int
    copies: int
    print_mode: Literal["single", "double"]
    color_mode: Literal["bw", "color"]
    paper_size: Literal["A4", "A3", "Letter", "Legal"]
    comment: str
    cost: Money
    status: Status
    printer: str | None
    counter: str | None
    attempts: int
    last_failure: str | None
    cancel_reason: str | None
    created_at: str
    updated_at: str
    source_type: Literal["word", "powerpoint"] | None = Field(
        None, description="set when the customer sent a Word or PowerPoint file: the stored file is its PDF rendering")
    impressions: int | None = Field(None, description="what the confirming counter read from CUPS")
    sheets: int | None = Field(None, description="sheets the confirming counter submitted")


class OrderOut(BaseModel):
    order_id: int
    customer_name: str
    phone: str
    comment: str
    created_at: str
    total_cost: Money
    first_file_id: int | None
    files: list[JobOut]


class JobWithOrderOut(JobOut):
    order: OrderOut | None = None
    customer_name: str | None = None


class UploadedFileOut(BaseModel):
    file_id: int
    code: str
    original_name: str
    num_pages: int
    cost: Money
    status: Status
    source_type: Literal["word", "powerpoint"] | None = Field(
        None, description="set when the customer sent a Word or PowerPoint file: the stored file is its PDF rendering")


class UploadOut(BaseModel):
    order_id: int
    files: list[UploadedFileOut]
    total_cost: Money
    queue_position: int


class CostFileOut(BaseModel):
    original_name: str
    num_pages: int
    cost: Money
    source_type: Literal["word", "powerpoint"] | None = Field(
        None, description="set when the customer sent a Word or PowerPoint file: the stored file is its PDF rendering")
    preview_url: str | None = Field(None, description="a converted file: its PDF rendering, to check before sending")


class CostOut(BaseModel):
    files: list[CostFileOut]
    total_cost: Money


class JobStatusOut(BaseModel):
    status: Status
    queue_position: int | None
    cancel_reason: str | None
    updated_at: str


class PrintStartedIn(In):
    printer: Text = Field(default="", max_length=120)
    counter: Text = Field(default="", max_length=120)


class ReasonIn(In):
    reason: Text = Field(default="", max_length=1000)


class FailedIn(ReasonIn):
    counter: Text = Field(default="", max_length=120,
                          description="the counter reporting; refused (409) if another counter holds the job now")


class ConfirmIn(In):
    """What the counter read from CUPS, all optional (older counters send none): kept with the job for the
    reconciliation (`GET /shop/reconciliation`)."""

    printer: Text = Field(default="", max_length=120)
    counter: Text = Field(default="", max_length=120)
    impressions: json_int(0, 10_000_000) | None = Field(
        default=None, description="job-impressions-completed as CUPS reported it")
    sheets: json_int(0, 10_000_000) | None = Field(default=None, description="sheets the counter submitted")


class CancelOut(BaseModel):
    order_id: int
    cancelled: list[JobOut]
    refunded: Money


class AuditOut(BaseModel):
    at: str
    move: str
    from_status: str | None
    to_status: str
    actor: str
    counter: str | None
    printer: str | None
    reason: str | None
    idempotency_key: str | None


class PriceOut(BaseModel):
    color_mode: Literal["bw", "color"]
    paper_size: Literal["A4", "A3", "Letter", "Legal"]
    price: Money


class ShopOut(BaseModel):
    shop_id: int
    name: str
    address: str
    phone: str
    hours: str
    is_open: bool
    last_heartbeat_at: str | None
    heartbeat_limit_seconds: int
    commission: Annotated[Decimal, WithJsonSchema({"type": "number", "description": "platform commission, 0 to 1",
                                                   "examples": [0.05]})]
    prices: list[PriceOut]
    waiting_jobs: int
    public_url: str = Field(description="how customers reach this server (SHOPDESK_PUBLIC_URL, else the address "
                            "the request came in on); a job's QR code carries `{public_url}/j/{code}`")
    paused: bool = Field(False, description="open, but no printer of a live counter is ready: uploads are refused "
                         "until one is (customers see 'paused', not 'closed'); always false while no live "
                         "counter reports its printers")
    unavailable: list[str] = Field(default_factory=list, description="a sentence for each setting no ready "
                                   "printer can do now, e.g. 'Colour printing is unavailable right now'")


class ShopStatusIn(In):
    is_open: bool


PaperName = Literal["A4", "A3", "Letter", "Legal"]


class CounterPrinterIn(In):
    name: Text = Field(min_length=1, max_length=120)
    ready: bool
    reason: Text = Field(default="", max_length=300, description="why it is not ready, in words")
    color: bool = False
    duplex: bool = False
    paper_sizes: list[PaperName] = Field(default_factory=list, max_length=8)


class HeartbeatIn(In):
    """A counter's heartbeat: which counter, its version, its printers and what each can do now. An empty
    body (older counters) only keeps the shop open."""

    counter: Text = Field(default="", max_length=120, description="the counter's name (as in print-started); "
                          "the login's username when empty")
    version: Text = Field(default="", max_length=40)
    printers: list[CounterPrinterIn] | None = Field(default=None, max_length=50, description="every printer of "
                                                    "this counter; null: not reported (no capability checks)")


class CounterPrinterOut(BaseModel):
    name: str
    ready: bool
    reason: str = ""
    color: bool = False
    duplex: bool = False
    paper_sizes: list[str] = []


class CounterOut(BaseModel):
    counter: str
    last_seen_at: str
    version: str
    state: Literal["live", "silent"] = Field(description="silent: no heartbeat within the shop's limit; its "
                                             "printers do not count and its printing jobs go back to the queue")
    printers: list[CounterPrinterOut] | None


class CountersOut(BaseModel):
    counters: list[CounterOut]
    paused: bool
    unavailable: list[str]


class HistoryOut(BaseModel):
    jobs: list[JobWithOrderOut]
    total: int
    limit: int
    offset: int


class PayoutOut(BaseModel):
    id: int
    shop_id: int
    period_start: str
    period_end: str
    amount: Money
    status: Literal["pending", "processing", "paid"]
    paid_at: str | None


class PayoutTotals(BaseModel):
    unsettled: Money
    pending: Money
    paid: Money


class PayoutsOut(BaseModel):
    payouts: list[PayoutOut]
    totals: PayoutTotals


class EarningsPoint(BaseModel):
    period: str
    jobs: int
    pages: int
    amount: Money


class SettleIn(In):
    shop_id: json_int(1, 2_147_483_647) | None = None


class SettleOut(BaseModel):
    payouts: list[PayoutOut]


class PayoutUpdateIn(In):
    status: Literal["processing", "paid"]


class HealthOut(BaseModel):
    status: str
    database: str
    version: str


# --- owner controls (v2) ---------------------------------------------------------------------------
class ShopProfileIn(In):
    name: Text | None = Field(default=None, min_length=1, max_length=120)
    address: Text | None = Field(default=None, max_length=200)
    phone: Text | None = Field(default=None, max_length=40)
    hours: Text | None = Field(default=None, max_length=200)


# An amount: a JSON number or a string of digits ("1.50"); both exact, never through a float.
PriceAmount = Annotated[Decimal, Field(ge=0, le=10000, max_digits=7, decimal_places=2), WithJsonSchema({
    "anyOf": [{"type": "number", "minimum": 0, "maximum": 10000},
              {"type": "string", "pattern": r"^[0-9]{1,5}(\.[0-9]{1,2})?$"}],
    "description": "price of one printed page, 0.00 to 10000.00, at most two decimals"})]


class PriceIn(BaseModel):  # not strict: a price comes as a JSON number or a string ("1.50")
    color_mode: Literal["bw", "color"]
    paper_size: Literal["A4", "A3", "Letter", "Legal"]
    price: PriceAmount


class PricesIn(BaseModel):
    prices: list[PriceIn] = Field(min_length=8, max_length=8,
                                  description="every colour mode × paper size exactly once")


class StaffOut(BaseModel):
    id: int
    username: str
    full_name: str
    role: Literal["staff", "owner"]
    active: bool
    last_login_at: str | None


class StaffIn(In):
    username: Text = Field(min_length=1, max_length=80, description="no spaces")
    password: Password = Field(min_length=10, max_length=200, description="at least 10 characters, not the username")
    full_name: Text = Field(default="", max_length=120)
    role: Literal["staff", "owner"] = "staff"


class StaffUpdateIn(In):
    active: bool | None = None
    password: Password | None = Field(default=None, min_length=10, max_length=200, description="at least 10 characters")
    full_name: Text | None = Field(default=None, max_length=120)
    role: Literal["staff", "owner"] | None = None


class ShopEventOut(BaseModel):
    id: int
    at: str
    actor: str
    action: str
    target: str | None
    detail: str | None


class SetupShopIn(In):
    name: Text = Field(min_length=1, max_length=120)
    address: Text = Field(default="", max_length=200)
    phone: Text = Field(default="", max_length=40)
    hours: Text = Field(default="", max_length=200)


class SetupLoginIn(In):
    username: Text = Field(min_length=1, max_length=80, description="no spaces")
    password: Password = Field(min_length=10, max_length=200, description="at least 10 characters, not the username")
    full_name: Text = Field(default="", max_length=120)


class SetupIn(In):
    shop: SetupShopIn
    owner: SetupLoginIn
    prices: list[PriceIn] | None = Field(default=None, min_length=8, max_length=8,
                                         description="every colour mode × paper size exactly once")
    staff: SetupLoginIn | None = None


class SetupStatusOut(BaseModel):
    needed: bool = Field(description="true while this server has no shop yet")
    allowed: bool = Field(description="true when this server takes POST /setup (it was started with a setup key)")
