"""The HTTP API: a Starlette ASGI app over one :class:`~seawall.service.runtime.Runtime`.

Every route but ``/healthz`` and ``/openapi.json`` needs ``Authorization: Bearer <key>``
(401 without a valid key, 403 when the key's role lacks the permission, see ``auth.py``).
Each endpoint's docstring ends with its OpenAPI operation (after ``---``), which
``openapi.py`` collects into ``/openapi.json``; the API reference is ``docs/service.md``.

Engine calls run on the event loop thread, one at a time, which is what keeps the engine
single-threaded and deterministic; webhook delivery runs in its own thread.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import os
import sqlite3
import tempfile
from collections.abc import AsyncIterator, Iterator
from datetime import date
from pathlib import Path
from typing import Any, Literal

import msgspec
import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from seawall.cases import DEFAULT_CUTOFF, CaseError, CaseStore, parse_date, resolve_secret
from seawall.events import InvalidEvent, Registration, decode_event
from seawall.service import audit
from seawall.service.auth import Principal, authenticate
from seawall.service.runtime import Conflict, NotFound, Runtime

__all__ = ["CASES_DB", "ApiError", "create_app"]

NDJSON = "application/x-ndjson"
CASES_DB = "seawall-cases.db"  # next to seawall.db in the data directory


class ApiError(Exception):
    """An error answered as ``{"error": message}`` with an HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class _Json(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY)


class AppealIn(msgspec.Struct, forbid_unknown_fields=True):
    """A user's request for review of an enforcement, forwarded by the platform."""

    account: str
    note: str | None = None


class ReviewIn(msgspec.Struct, forbid_unknown_fields=True):
    """A reviewer's outcome; ``action`` only matters when upholding an engine review item."""

    outcome: Literal["uphold", "overturn"]
    note: str | None = None
    action: Literal["ban", "restrict", "challenge"] | None = None


class ActionIn(msgspec.Struct, forbid_unknown_fields=True):
    """A reviewer's own action on an account."""

    action: Literal["ban", "restrict", "challenge", "reinstate"]
    reasons: list[str] = []
    note: str | None = None


class KeyIn(msgspec.Struct, forbid_unknown_fields=True):
    """A new API key's role and what it is for."""

    role: Literal["ingest", "reviewer", "admin"]
    note: str | None = None


class CaseIn(msgspec.Struct, forbid_unknown_fields=True):
    """A new case against an operator (the company selling bulk sending)."""

    operator: str
    note: str | None = None


class EvidenceIn(msgspec.Struct, forbid_unknown_fields=True):
    """Off-platform evidence for a case; ``kind`` is one of ``seawall.cases.EVIDENCE_KINDS``
    (url, claim, phone, domain, name, document), ``date`` is YYYY-MM-DD."""

    kind: str
    value: str
    date: str | None = None
    note: str | None = None
    file_name: str | None = None     # an attached file: its name ...
    file_base64: str | None = None   # ... and its bytes, base64 (the body size limit applies)


def _decode(body: bytes, kind: type) -> Any:
    try:
        return msgspec.json.decode(body, type=kind)
    except msgspec.ValidationError as exc:
        raise ApiError(422, str(exc)) from None
    except msgspec.DecodeError as exc:
        raise ApiError(400, f"body is not valid JSON: {exc}") from None


def _int_param(request: Request, name: str, default: int, lo: int, hi: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"`{name}` must be an integer, got {raw!r}") from None
    if not lo <= value <= hi:
        raise ApiError(400, f"`{name}` must be between {lo} and {hi}, got {value}")
    return value


def _split_body(body: bytes, content_type: str) -> tuple[list[bytes], list[int]]:
    """The events of an NDJSON or JSON-array body as lines, with their 1-based positions."""
    if content_type in ("application/json",):
        try:
            items = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise ApiError(400, f"body is not valid JSON: {exc}") from None
        if isinstance(items, dict):
            items = [items]
        if not isinstance(items, list):
            raise ApiError(400, "a JSON body must be an array of event objects")
        return [orjson.dumps(i) for i in items], list(range(1, len(items) + 1))
    if content_type in (NDJSON, "application/jsonl", "application/x-jsonlines", "text/plain"):
        lines, positions = [], []
        for n, line in enumerate(body.split(b"\n"), 1):
            line = line.rstrip(b"\r")
            if line.strip():
                lines.append(line)
                positions.append(n)
        return lines, positions
    raise ApiError(415, f"send events as {NDJSON} or application/json, not {content_type!r}")


# -- campaigns and cases: thin adapters over seawall.campaigns, seawall.cases, seawall.evidence

def _campaign_row(camp: Any) -> dict[str, Any]:
    if camp.merged_into is not None:
        status = "merged"
    else:
        status = "established" if camp.established is not None else "detected"
    return {"id": camp.id, "status": status, "members": len(camp.members),
            "actioned": len(camp.actioned), "first_seen": camp.first_seen,
            "last_seen": camp.last_seen, "merged_into": camp.merged_into}


def _case_secret() -> bytes:
    # The same key the CLI uses (env SEAWALL_SECRET), so an export made here and one made
    # with `seawall cases export` on the same case carry the same pseudonyms.
    return resolve_secret(os.environ.get("SEAWALL_SECRET"))[0]


def _case_failure(exc: CaseError) -> ApiError:
    # seawall.cases names the CLI option (`--value: ...`); the API's field has the same name.
    return ApiError(400, str(exc).removeprefix("--"))


@contextlib.contextmanager
def _case_store(runtime: Runtime, case_id: str | None = None) -> Iterator[CaseStore]:
    """The service's case store, opened per request (sqlite3 connections are per thread);
    with ``case_id``, 404 unless that case exists."""
    try:
        store = CaseStore(runtime.dir / CASES_DB)
    except CaseError as exc:
        raise ApiError(500, str(exc)) from None
    with store:
        if case_id is not None:
            try:
                store.case(case_id)
            except CaseError:
                raise ApiError(404, f"no case {case_id!r}") from None
        try:
            yield store
        except CaseError as exc:
            raise _case_failure(exc) from None


def _audit(runtime: Runtime, who: Principal, action: str, target: str | None,
           detail: dict[str, Any] | None = None) -> None:
    with runtime.store.write() as db:
        audit.append(db, key_id=who.key_id, role=who.role, action=action, target=target,
                     detail=detail)


def _evidence_out(e: Any) -> dict[str, Any]:
    file = None if e.file_name is None else {"name": e.file_name, "sha256": e.file_sha256,
                                             "size": e.file_size}
    return {"id": e.id, "kind": e.kind, "value": e.value,
            "date": None if e.date is None else e.date.isoformat(), "note": e.note,
            "file": file}


def _attached_file(req: EvidenceIn) -> tuple[str, bytes] | None:
    if (req.file_name is None) != (req.file_base64 is None):
        raise ApiError(400, "file_name and file_base64 go together")
    if req.file_name is None:
        return None
    try:
        blob = base64.b64decode(req.file_base64, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(400, "file_base64: not valid base64") from None
    return req.file_name, blob


def _cutoff(request: Request) -> date:
    """The ``cutoff`` query parameter (YYYY-MM-DD), default the 2019-12-07 cutoff."""
    text = request.query_params.get("cutoff")
    if text is None:
        return DEFAULT_CUTOFF
    try:
        return parse_date(text, "cutoff")
    except CaseError as exc:
        raise ApiError(400, str(exc)) from None


def _case_out(store: CaseStore, case_id: str, cutoff: date = DEFAULT_CUTOFF) -> dict[str, Any]:
    a = store.assess(case_id, cutoff)
    s = a.summary
    correlation = None if s is None else {
        "sources": {"events": [f.__dict__ for f in s.events],
                    "decisions": [f.__dict__ for f in s.decisions]},
        "accounts": s.accounts, "exhibits": s.exhibits,
        "common_keys_skipped": s.common_keys_skipped}
    items = [{**_evidence_out(it.evidence),
              "linked_first": None if it.linked_first is None else it.linked_first.isoformat(),
              "eligibility": {"eligible": it.eligibility.eligible,
                              "reasons": list(it.eligibility.reasons),
                              "detail": it.eligibility.detail}} for it in a.items]
    return {"id": a.case.id, "operator": a.case.operator, "note": a.case.note,
            "cutoff": a.cutoff.isoformat(), "evidence": items, "correlation": correlation,
            "implicated_accounts": len(a.implicated)}


def _dump_on_platform(runtime: Runtime, directory: Path) -> tuple[Path, Path]:
    """The journalled event batches and the stored decisions as NDJSON files, for the same
    correlation code ``seawall cases correlate`` runs. The journal holds the events of the
    last ``event_archive_days`` of event time and any since the last snapshot
    (``docs/service.md``); decisions are kept for good."""
    events, decisions = directory / "journal-events.ndjson", directory / "decisions.ndjson"
    # its own read-only connection: this runs in a worker thread while batches keep coming;
    # one read transaction gives a consistent view of both tables (WAL)
    db = sqlite3.connect(f"file:{runtime.store.path}?mode=ro", uri=True)
    try:
        db.execute("BEGIN")
        with open(events, "wb") as fh:
            for (body,) in db.execute(
                    "SELECT body FROM journal WHERE kind = 'events' ORDER BY seq"):
                fh.write(bytes(body).rstrip(b"\n") + b"\n")
        with open(decisions, "wb") as fh:
            for (body,) in db.execute("SELECT body FROM decisions ORDER BY seq"):
                fh.write(bytes(body) + b"\n")
    finally:
        db.close()
    return events, decisions


def create_app(runtime: Runtime) -> Starlette:
    """The ASGI app. Its lifespan starts the webhook worker and, at shutdown, snapshots the
    engine and closes the store (``runtime.close``)."""
    limit = runtime.config.max_body_bytes

    def guard(request: Request, permission: str) -> Principal:
        who = authenticate(runtime.store.db, request.headers.get("authorization"))
        if who is None:
            raise ApiError(401, "missing or unknown API key (send Authorization: Bearer <key>)")
        if not who.can(permission):
            runtime.audit_forbidden(who, request.method, request.url.path, permission)
            raise ApiError(403, f"a key with role {who.role!r} may not do this "
                                f"(needs {permission!r})")
        return who

    async def body(request: Request) -> bytes:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise ApiError(413, f"body of {declared} bytes exceeds the limit of {limit}")
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise ApiError(413, f"body exceeds the limit of {limit} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    async def healthz(request: Request) -> Response:
        """Liveness; no key needed.
        ---
        summary: Liveness check (no authentication)
        security: []
        responses:
          '200': {description: 'The service is up: {"status": "ok", "clock": <event time>}'}
        """
        return _Json({"status": "ok", "clock": runtime.engine.clock})

    async def openapi(request: Request) -> Response:
        from seawall.service.openapi import build_openapi

        return _Json(build_openapi(request.app))

    async def post_events(request: Request) -> Response:
        """Ingest events.
        ---
        summary: Ingest a batch of events (NDJSON or a JSON array)
        description: Valid events are processed in order; each invalid one is answered with
          its 1-based position in the body (line number for NDJSON, index for an array) and
          the reason. Events with an `id` seen before are ignored, so a batch whose answer was
          lost can be sent again. Needs role ingest or admin.
        requestBody:
          required: true
          content:
            application/x-ndjson: {schema: {type: string}}
            application/json:
              schema: {type: array, items: {$ref: '#/components/schemas/Event'}}
        responses:
          '200':
            description: Batch processed
            content:
              application/json: {schema: {$ref: '#/components/schemas/IngestResult'}}
          '400': {description: Body is not NDJSON / a JSON array}
          '413': {description: Body larger than max_body_bytes}
          '415': {description: Unsupported content type}
        """
        who = guard(request, "ingest")
        data = await body(request)
        ctype = request.headers.get("content-type", NDJSON).split(";")[0].strip().lower()
        lines, positions = _split_body(data, ctype)
        result = runtime.ingest(lines, positions, who)
        return _Json({"accepted": result.accepted, "rejected": result.rejected,
                      "decisions": result.decisions})

    async def check_registration(request: Request) -> Response:
        """Synchronous registration verdict.
        ---
        summary: Verdict on a registration before the account exists (no state change)
        description: Needs role ingest or admin.
        requestBody:
          required: true
          content:
            application/json: {schema: {$ref: '#/components/schemas/Registration'}}
        responses:
          '200':
            description: Verdict
            content:
              application/json: {schema: {$ref: '#/components/schemas/Verdict'}}
          '422': {description: Not a valid registration event}
        """
        guard(request, "ingest")
        data = await body(request)
        try:
            event = decode_event(data)
        except InvalidEvent as exc:
            raise ApiError(422, str(exc)) from None
        if not isinstance(event, Registration):
            tag = type(event).__struct_config__.tag
            raise ApiError(422, f"expected a registration event, got {tag!r}")
        return _Json(runtime.check_registration(event))

    async def get_account(request: Request) -> Response:
        """One account.
        ---
        summary: Enforcement state, current signals, decision history and review items
        description: Needs role reviewer or admin. Every read is recorded in the audit log.
        parameters:
          - {name: id, in: path, required: true, schema: {type: string}}
        responses:
          '200':
            description: The account
            content:
              application/json: {schema: {$ref: '#/components/schemas/Account'}}
          '404': {description: Neither the engine nor the store knows the account}
        """
        who = guard(request, "review")
        return _Json(runtime.account(request.path_params["id"], who))

    async def get_decisions(request: Request) -> Response:
        """Decision feed.
        ---
        summary: The decision feed, oldest first, cursor-paginated
        description: Pass the previous page's `next` as `after` to continue; `next` is the
          `seq` of the last decision returned (or `after` when the page is empty, so a
          client can poll with it). Needs role reviewer or admin.
        parameters:
          - {name: after, in: query, schema: {type: string, default: '0'}}
          - {name: limit, in: query, schema: {type: integer, minimum: 1, maximum: 1000,
             default: 100}}
        responses:
          '200':
            description: A page of decisions
            content:
              application/json: {schema: {$ref: '#/components/schemas/DecisionPage'}}
        """
        guard(request, "review")
        after = _int_param(request, "after", 0, 0, 2**62)
        limit = _int_param(request, "limit", 100, 1, 1000)
        return _Json(runtime.decisions(after, limit))

    async def post_appeal(request: Request) -> Response:
        """File an appeal.
        ---
        summary: Forward a user's appeal against the enforcement on their account
        description: Needs role reviewer or admin. 409 when the account is not banned,
          restricted or challenged, or already has an open appeal.
        requestBody:
          required: true
          content:
            application/json: {schema: {$ref: '#/components/schemas/AppealIn'}}
        responses:
          '201':
            description: The appeal, now in the review queue
            content:
              application/json: {schema: {$ref: '#/components/schemas/ReviewItem'}}
          '409': {description: Nothing to appeal}
        """
        who = guard(request, "review")
        req = _decode(await body(request), AppealIn)
        return _Json(runtime.appeal(req.account, req.note, who), status_code=201)

    async def get_review(request: Request) -> Response:
        """Review queue.
        ---
        summary: Appeals and engine review decisions waiting for a person
        description: Needs role reviewer or admin.
        parameters:
          - {name: status, in: query,
             schema: {type: string, enum: [open, resolved, all], default: open}}
        responses:
          '200':
            description: Review items, oldest first
            content:
              application/json:
                schema:
                  type: object
                  properties:
                    items: {type: array, items: {$ref: '#/components/schemas/ReviewItem'}}
        """
        guard(request, "review")
        status = request.query_params.get("status", "open")
        if status not in ("open", "resolved", "all"):
            raise ApiError(400, f"`status` must be open, resolved or all, got {status!r}")
        return _Json({"items": runtime.review_queue(status)})

    async def post_review(request: Request) -> Response:
        """Resolve a review item.
        ---
        summary: Uphold or overturn an appeal or an engine review
        description: Appeal overturned -> `reinstate` (stage appeal); appeal upheld -> no
          change. Engine review upheld -> `action` (default ban, stage manual); overturned ->
          `reinstate` (stage manual). The outcome is stored as a label (uphold -> abuse,
          overturn -> legit). Needs role reviewer or admin.
        parameters:
          - {name: id, in: path, required: true, schema: {type: integer}}
        requestBody:
          required: true
          content:
            application/json: {schema: {$ref: '#/components/schemas/ReviewIn'}}
        responses:
          '200': {description: 'The resolved item, the decision (or null) and the label'}
          '404': {description: No such review item}
          '409': {description: Already resolved}
        """
        who = guard(request, "review")
        try:
            review_id = int(request.path_params["id"])
        except ValueError:
            raise ApiError(404, f"no review item {request.path_params['id']!r}") from None
        req = _decode(await body(request), ReviewIn)
        return _Json(runtime.resolve(review_id, req.outcome, req.note, req.action, who))

    async def post_action(request: Request) -> Response:
        """Manual action.
        ---
        summary: A reviewer bans, restricts, challenges or reinstates an account by hand
        description: Emits a decision with stage manual; `decision` is null when the account
          is already in that state. Needs role reviewer or admin.
        parameters:
          - {name: id, in: path, required: true, schema: {type: string}}
        requestBody:
          required: true
          content:
            application/json: {schema: {$ref: '#/components/schemas/ActionIn'}}
        responses:
          '200': {description: '{"decision": Decision or null, "state": new state}'}
        """
        who = guard(request, "review")
        req = _decode(await body(request), ActionIn)
        return _Json(runtime.act(request.path_params["id"], req.action, req.reasons, req.note,
                                 who))

    async def get_labels(request: Request) -> Response:
        """Label export.
        ---
        summary: Review outcomes as contract labels (NDJSON), for `seawall train`
        description: The latest label of each reviewed account. Needs role reviewer or admin.
        responses:
          '200':
            description: 'One {"account", "label", "ts"} object per line'
            content:
              application/x-ndjson: {schema: {type: string}}
        """
        who = guard(request, "review")
        lines = runtime.labels(who)
        return Response(b"".join(line + b"\n" for line in lines), media_type=NDJSON)

    async def get_deliveries(request: Request) -> Response:
        """Webhook deliveries.
        ---
        summary: Webhook delivery state
        description: Needs role admin.
        parameters:
          - {name: status, in: query, schema: {type: string,
             enum: [pending, delivered, failed]}}
          - {name: after, in: query, schema: {type: string, default: '0'}}
          - {name: limit, in: query, schema: {type: integer, minimum: 1, maximum: 1000,
             default: 100}}
        responses:
          '200':
            description: Deliveries, oldest first, with `next` cursor
            content:
              application/json: {schema: {$ref: '#/components/schemas/DeliveryPage'}}
        """
        guard(request, "admin")
        status = request.query_params.get("status") or None
        if status not in (None, "pending", "delivered", "failed"):
            raise ApiError(400, f"`status` must be pending, delivered or failed, got {status!r}")
        after = _int_param(request, "after", 0, 0, 2**62)
        limit = _int_param(request, "limit", 100, 1, 1000)
        return _Json(runtime.deliveries(status, after, limit))

    async def retry_delivery(request: Request) -> Response:
        """Retry a delivery.
        ---
        summary: Put a failed webhook delivery back in the queue (fresh attempt budget)
        description: Needs role admin.
        parameters:
          - {name: id, in: path, required: true, schema: {type: integer}}
        responses:
          '200':
            description: The delivery, now pending
            content:
              application/json: {schema: {$ref: '#/components/schemas/Delivery'}}
          '404': {description: No such delivery}
          '409': {description: Already delivered}
        """
        who = guard(request, "admin")
        try:
            delivery_id = int(request.path_params["id"])
        except ValueError:
            raise ApiError(404, f"no delivery {request.path_params['id']!r}") from None
        return _Json(runtime.retry_delivery(delivery_id, who))

    async def get_keys(request: Request) -> Response:
        """List keys.
        ---
        summary: API keys (id, role, created, revoked, note), never the keys themselves
        description: Needs role admin.
        responses:
          '200': {description: '{"keys": [...]}'}
        """
        guard(request, "admin")
        return _Json({"keys": runtime.keys()})

    async def post_key(request: Request) -> Response:
        """Create a key.
        ---
        summary: Create an API key; the key is in this answer only (only its hash is kept)
        description: Needs role admin.
        requestBody:
          required: true
          content:
            application/json: {schema: {$ref: '#/components/schemas/KeyIn'}}
        responses:
          '201': {description: '{"id", "role", "note", "key"}'}
        """
        who = guard(request, "admin")
        req = _decode(await body(request), KeyIn)
        return _Json(runtime.create_key(req.role, req.note, who), status_code=201)

    async def delete_key(request: Request) -> Response:
        """Revoke a key.
        ---
        summary: Revoke an API key; it stops working on the next request
        description: Needs role admin.
        parameters:
          - {name: id, in: path, required: true, schema: {type: string}}
        responses:
          '200': {description: '{"revoked": id}'}
          '404': {description: No such active key}
        """
        who = guard(request, "admin")
        runtime.revoke_key(request.path_params["id"], who)
        return _Json({"revoked": request.path_params["id"]})

    async def get_campaigns(request: Request) -> Response:
        """List campaigns.
        ---
        summary: Coordinated campaigns the engine's detector has found, oldest first
        description: '`status` is detected, established or merged (then `merged_into` names
          the campaign it joined); `members` is a count; `first_seen`/`last_seen` are event
          times (ms). Needs role reviewer or admin.'
        responses:
          '200':
            description: '{"campaigns": [...]}'
            content:
              application/json:
                schema:
                  type: object
                  properties:
                    campaigns: {type: array, items: {$ref: '#/components/schemas/CampaignRow'}}
        """
        guard(request, "review")
        detector = runtime.engine.campaigns
        rows = [] if detector is None else [_campaign_row(c) for c in detector.campaigns_]
        return _Json({"campaigns": rows})

    async def get_campaign(request: Request) -> Response:
        """Explain a campaign.
        ---
        summary: The detector's explanation of one campaign
        description: Members (with their counters), the links between them with kinds and
          strengths, time windows, volume and harm, as `seawall campaigns --explain` prints
          them. Needs role reviewer or admin.
        parameters:
          - {name: id, in: path, required: true, schema: {type: string, example: cmp-1}}
        responses:
          '200': {description: The explanation (docs/campaigns.md)}
          '404': {description: No such campaign}
        """
        guard(request, "review")
        campaign_id = request.path_params["id"]
        detector = runtime.engine.campaigns
        try:
            if detector is None:
                raise KeyError(campaign_id)
            doc = detector.explain(campaign_id, runtime.engine)
        except KeyError:
            raise ApiError(404, f"no campaign {campaign_id!r}") from None
        return _Json(doc)

    async def post_case(request: Request) -> Response:
        """Open a case.
        ---
        summary: Open a case against an operator; ids are case-0001, case-0002...
        description: Needs role reviewer or admin. Recorded in the audit log.
        requestBody:
          required: true
          content:
            application/json: {schema: {$ref: '#/components/schemas/CaseIn'}}
        responses:
          '201': {description: '{"id", "operator", "note"}'}
          '400': {description: Empty operator name}
        """
        who = guard(request, "review")
        req = _decode(await body(request), CaseIn)
        with _case_store(runtime) as store:
            case = store.open_case(req.operator, req.note)
        _audit(runtime, who, "case.open", case.id, {"operator": case.operator})
        return _Json({"id": case.id, "operator": case.operator, "note": case.note},
                     status_code=201)

    async def get_cases(request: Request) -> Response:
        """List cases.
        ---
        summary: Every case, oldest first
        description: Needs role reviewer or admin.
        responses:
          '200': {description: '{"cases": [{"id", "operator", "note"}, ...]}'}
        """
        guard(request, "review")
        with _case_store(runtime) as store:
            rows = [{"id": c.id, "operator": c.operator, "note": c.note}
                    for c in store.cases()]
        return _Json({"cases": rows})

    async def get_case(request: Request) -> Response:
        """One case.
        ---
        summary: A case, its off-platform evidence with eligibility, and correlation counts
        description: Eligibility of off-platform evidence is judged against `cutoff`
          (default 2019-12-07, docs/cases.md). No account identifiers; those are in the
          export. Needs role reviewer or admin.
        parameters:
          - {name: id, in: path, required: true, schema: {type: string, example: case-0001}}
          - {name: cutoff, in: query, required: false,
             schema: {type: string, format: date, example: '2019-12-07'}}
        responses:
          '200': {description: The case}
          '400': {description: A cutoff that is not a YYYY-MM-DD date}
          '404': {description: No such case}
        """
        guard(request, "review")
        case_id = request.path_params["id"]
        cutoff = _cutoff(request)
        with _case_store(runtime, case_id) as store:
            return _Json(_case_out(store, case_id, cutoff))

    async def post_evidence(request: Request) -> Response:
        """Attach evidence.
        ---
        summary: Attach off-platform evidence (a domain, URL, phone number, name, claim...)
        description: The value is checked and normalised by seawall.cases (a domain is
          lower-cased; a phone number needs 7..15 digits); a bad one is answered 400 with
          the reason. A file (a screenshot, a contract) goes in `file_name` and
          `file_base64`; its SHA-256 is stored and listed in exports, as with the CLI's
          --file. Needs role reviewer or admin. Recorded in the audit log.
        parameters:
          - {name: id, in: path, required: true, schema: {type: string}}
        requestBody:
          required: true
          content:
            application/json: {schema: {$ref: '#/components/schemas/EvidenceIn'}}
        responses:
          '201': {description: '{"id", "kind", "value", "date", "note", "file"}'}
          '400': {description: 'Bad kind, value or date; `error` says why'}
          '404': {description: No such case}
        """
        who = guard(request, "review")
        case_id = request.path_params["id"]
        req = _decode(await body(request), EvidenceIn)
        content = _attached_file(req)
        with _case_store(runtime, case_id) as store:
            when = None if req.date is None else parse_date(req.date, "date")
            item = store.attach(case_id, req.kind, req.value, date=when, note=req.note,
                                content=content)
        _audit(runtime, who, "case.attach", case_id,
               {"evidence": item.id, "kind": item.kind, "value": item.value,
                "file_sha256": item.file_sha256})
        return _Json(_evidence_out(item), status_code=201)

    async def post_correlate(request: Request) -> Response:
        """Correlate a case.
        ---
        summary: Correlate the case with the service's on-platform evidence
        description: Writes the journalled events (the last `event_archive_days` of event
          time, 30 by default) and every stored decision to NDJSON and runs the correlation of
          `seawall cases correlate` on them; earlier results of the case are replaced. The
          pseudonym/hash key is env SEAWALL_SECRET, as for the CLI. Needs role reviewer or
          admin. Recorded in the audit log.
        parameters:
          - {name: id, in: path, required: true, schema: {type: string}}
        responses:
          '200': {description: 'The case after correlation (as GET /v1/cases/{id})'}
          '404': {description: No such case}
        """
        who = guard(request, "review")
        case_id = request.path_params["id"]

        def correlate() -> tuple[Any, dict[str, Any]]:
            with _case_store(runtime, case_id) as store:
                with tempfile.TemporaryDirectory(prefix="seawall-case-") as tmp:
                    events, decisions = _dump_on_platform(runtime, Path(tmp))
                    summary = store.correlate(case_id, [events], [decisions],
                                              secret=_case_secret())
                return summary, _case_out(store, case_id)

        # reading a month of events takes a while: off the event loop, so ingest goes on
        summary, out = await asyncio.to_thread(correlate)
        _audit(runtime, who, "case.correlate", case_id,
               {"accounts": summary.accounts["total"],
                "exhibits": sum(summary.exhibits.values())})
        return _Json(out)

    async def get_export(request: Request) -> Response:
        """Export a case.
        ---
        summary: The case's evidence file as JSON (evidence.json plus the manifest hash)
        description: 'An admin key exports with the legal role: real account identifiers
          (with their pseudonyms alongside). A reviewer key exports with the investigator
          role: accounts are pseudonymised (acct- and 12 hex digits, keyed with env
          SEAWALL_SECRET). Reporters stay pseudonymised for both. `manifest_sha256` is the
          hash `seawall cases verify --expect` checks for the same export written to disk.
          Eligibility is judged against `cutoff` (default 2019-12-07). Needs role
          reviewer or admin. Recorded in the audit log.'
        parameters:
          - {name: id, in: path, required: true, schema: {type: string}}
          - {name: cutoff, in: query, required: false,
             schema: {type: string, format: date, example: '2019-12-07'}}
        responses:
          '200': {description: '{"role", "manifest_sha256", "evidence": evidence.json}'}
          '400': {description: A cutoff that is not a YYYY-MM-DD date}
          '404': {description: No such case}
        """
        from seawall.evidence import EvidenceError, export_evidence

        who = guard(request, "review")
        case_id = request.path_params["id"]
        role = "legal" if who.role == "admin" else "investigator"
        cutoff = _cutoff(request)

        def export() -> tuple[Any, Any]:
            with (_case_store(runtime, case_id) as store,
                  tempfile.TemporaryDirectory(prefix="seawall-export-") as tmp):
                try:
                    result = export_evidence(store, case_id, Path(tmp) / "evidence",
                                             role=role, secret=_case_secret(), cutoff=cutoff)
                except EvidenceError as exc:
                    raise ApiError(400, str(exc)) from None
                return result, orjson.loads((result.directory / "evidence.json").read_bytes())

        result, doc = await asyncio.to_thread(export)
        _audit(runtime, who, "case.export", case_id,
               {"role": role, "cutoff": cutoff.isoformat(),
                "manifest_sha256": result.manifest_sha256})
        return _Json({"role": role, "manifest_sha256": result.manifest_sha256,
                      "evidence": doc})

    async def on_api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return _Json({"error": exc.message}, status_code=exc.status, headers=headers)

    async def on_conflict(request: Request, exc: Exception) -> Response:
        return _Json({"error": str(exc)}, status_code=409)

    async def on_not_found(request: Request, exc: Exception) -> Response:
        return _Json({"error": str(exc)}, status_code=404)

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return _Json({"error": exc.detail}, status_code=exc.status_code)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        runtime.start()
        try:
            yield
        finally:
            runtime.close()

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"], include_in_schema=False),
        Route("/v1/events", post_events, methods=["POST"]),
        Route("/v1/check/registration", check_registration, methods=["POST"]),
        Route("/v1/accounts/{id}", get_account, methods=["GET"]),
        Route("/v1/accounts/{id}/actions", post_action, methods=["POST"]),
        Route("/v1/decisions", get_decisions, methods=["GET"]),
        Route("/v1/appeals", post_appeal, methods=["POST"]),
        Route("/v1/review", get_review, methods=["GET"]),
        Route("/v1/review/{id}", post_review, methods=["POST"]),
        Route("/v1/labels", get_labels, methods=["GET"]),
        Route("/v1/webhooks/deliveries", get_deliveries, methods=["GET"]),
        Route("/v1/webhooks/deliveries/{id}/retry", retry_delivery, methods=["POST"]),
        Route("/v1/keys", get_keys, methods=["GET"]),
        Route("/v1/keys", post_key, methods=["POST"]),
        Route("/v1/keys/{id}", delete_key, methods=["DELETE"]),
        Route("/v1/campaigns", get_campaigns, methods=["GET"]),
        Route("/v1/campaigns/{id}", get_campaign, methods=["GET"]),
        Route("/v1/cases", get_cases, methods=["GET"]),
        Route("/v1/cases", post_case, methods=["POST"]),
        Route("/v1/cases/{id}", get_case, methods=["GET"]),
        Route("/v1/cases/{id}/evidence", post_evidence, methods=["POST"]),
        Route("/v1/cases/{id}/correlate", post_correlate, methods=["POST"]),
        Route("/v1/cases/{id}/export", get_export, methods=["GET"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan, exception_handlers={
        ApiError: on_api_error, Conflict: on_conflict, NotFound: on_not_found,
        HTTPException: on_http})
