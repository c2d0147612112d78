"""The OpenAPI 3.1 document, generated from the app: paths from each endpoint's docstring
(Starlette's ``SchemaGenerator`` convention), schemas from typed records via msgspec.

``python -m seawall.service.openapi > docs/openapi.json`` regenerates the committed copy; a
test keeps the two identical.
"""

from __future__ import annotations

import sys
from typing import Any, Literal

import msgspec
import orjson
from starlette.applications import Starlette
from starlette.schemas import SchemaGenerator

from seawall import __version__
from seawall.events import Event, Registration
from seawall.service.app import (
    ActionIn,
    AppealIn,
    CaseIn,
    EvidenceIn,
    KeyIn,
    ReviewIn,
    create_app,
)
from seawall.service.config import ServiceConfig

__all__ = ["build_openapi"]


class Decision(msgspec.Struct):
    """A decision (contract, "Decisions") with its feed position ``seq``."""

    seq: int
    ts: int
    account: str
    action: Literal["ban", "restrict", "challenge", "review", "reinstate"]
    stage: Literal["registration", "messaging", "feedback", "campaign", "manual", "appeal"]
    score: float | None
    reasons: list[str]
    event: str | None


class Rejection(msgspec.Struct):
    position: int
    reason: str


class IngestResult(msgspec.Struct):
    accepted: int
    rejected: list[Rejection]
    decisions: list[Decision]


class Verdict(msgspec.Struct):
    verdict: Literal["allow", "challenge", "deny"]
    reasons: list[str]
    score: float | None


class DecisionPage(msgspec.Struct):
    decisions: list[Decision]
    next: str


class ReviewItem(msgspec.Struct):
    id: int
    kind: Literal["appeal", "review"]
    account: str
    status: Literal["open", "resolved"]
    note: str | None
    decision: Decision | None
    created_at: str
    outcome: Literal["uphold", "overturn"] | None
    outcome_note: str | None
    resolved_at: str | None
    reviewer: str | None


class Account(msgspec.Struct):
    account: str
    state: Literal["none", "review", "challenge", "restrict", "ban"]
    stage: str | None
    signals: dict[str, float | None]
    refused_attempts: int
    decisions: list[Decision]
    reviews: list[ReviewItem]


class Delivery(msgspec.Struct):
    id: int
    seq: int
    url: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    last_error: str | None
    delivered_at: str | None


class DeliveryPage(msgspec.Struct):
    deliveries: list[Delivery]
    next: str


class CampaignRow(msgspec.Struct):
    """One campaign in ``GET /v1/campaigns``; times are event time (ms)."""

    id: str
    status: Literal["detected", "established", "merged"]
    members: int
    actioned: int
    first_seen: int
    last_seen: int
    merged_into: str | None


_TYPES: list[Any] = [Event, Registration, IngestResult, Verdict, DecisionPage, ReviewItem,
                     Account, Delivery, DeliveryPage, AppealIn, ReviewIn, ActionIn, KeyIn,
                     CampaignRow, CaseIn, EvidenceIn]


def _schema_only_app() -> Starlette:
    # create_app reads only ``runtime.config`` until a request arrives.
    class _NoRuntime:
        config = ServiceConfig()

    return create_app(_NoRuntime())  # type: ignore[arg-type]


def build_openapi(app: Starlette | None = None) -> dict[str, Any]:
    """The OpenAPI document for ``app`` (or for a schema-only app with default config)."""
    app = app or _schema_only_app()
    schemas, components = msgspec.json.schema_components(
        _TYPES, ref_template="#/components/schemas/{name}")
    components["Event"] = schemas[0]
    generator = SchemaGenerator({
        "openapi": "3.1.0",
        "info": {"title": "Seawall", "version": __version__,
                 "description": "Seawall service API (docs/service.md)."},
        "components": {
            "schemas": dict(sorted(components.items())),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "An API key: sw_<id>_<secret>"}},
        },
        "security": [{"bearer": []}],
    })
    return generator.get_schema(routes=app.routes)


if __name__ == "__main__":
    sys.stdout.write(orjson.dumps(build_openapi(), option=orjson.OPT_INDENT_2).decode() + "\n")
