"""Evidence files for legal action: JSON, a readable HTML report, exhibits and a manifest.

An evidence file is a directory::

    evidence.json        the case, off-platform evidence with eligibility, accounts,
                         on-platform exhibits, timeline and counts
    report.html          the same, readable by a person (self-contained: no scripts, no
                         external styles or fonts)
    exhibits/ev-001.json one file per off-platform item (plus ev-001-<name>, the attached
                         file's bytes, when there is one)
    exhibits/ex-0001.json one file per on-platform exhibit
    manifest.json        every file above with its SHA-256 and size, and ``manifest_sha256``

``manifest_sha256`` is the SHA-256 of the manifest's canonical JSON without that field: keys
sorted, no whitespace, UTF-8 (the manifest holds only ASCII strings and integers, so this is
also its RFC 8785 canonical form). Changing any byte of any file, or of the manifest, makes
:func:`verify_evidence` fail and name the file. Record the manifest hash printed at export time
outside the directory (a ticket, an email to counsel) and pass it to ``--expect``: that also
catches a forger who rewrites a file and recomputes the manifest.

Account identifiers are pseudonymised (``acct-`` and 12 hex digits of an HMAC-SHA256 keyed
with the deployment secret over the case id and the account) unless the role is ``legal``.
Pseudonyms are stable within a case and differ between cases. Reporters are witnesses, not
subjects of the case: they stay pseudonymised for every role.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path, PurePosixPath

from seawall.cases import (
    DEFAULT_CUTOFF,
    Assessment,
    CaseStore,
    Exhibit,
    keyed_hash,
)

__all__ = [
    "FORMAT",
    "ROLES",
    "EvidenceError",
    "ExportResult",
    "VerifyResult",
    "build_evidence",
    "canonical_json",
    "export_evidence",
    "manifest_hash",
    "pseudonym",
    "render_html",
    "verify_evidence",
]

FORMAT = "seawall-evidence/1"
ROLES = ("investigator", "legal")
_MANIFEST = "manifest.json"


class EvidenceError(ValueError):
    """An evidence file cannot be written; the message says where and why."""


@dataclass(frozen=True)
class ExportResult:
    directory: Path
    files: tuple[tuple[str, str], ...]  # (relative path, sha256), sorted
    manifest_sha256: str


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    problems: tuple[str, ...]
    manifest_sha256: str | None


def pseudonym(key: bytes, case_id: str, account: str) -> str:
    """Stable per-case pseudonym of an account.

    >>> pseudonym(b"k", "case-0001", "alice") == pseudonym(b"k", "case-0001", "alice")
    True
    >>> pseudonym(b"k", "case-0001", "alice") != pseudonym(b"k", "case-0002", "alice")
    True
    """
    return "acct-" + keyed_hash(key, "pseudonym", case_id, account)[:12]


def canonical_json(obj: object) -> bytes:
    """Keys sorted, no whitespace, UTF-8: the form the manifest hash is computed over."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def manifest_hash(manifest: dict) -> str:
    """SHA-256 of the canonical manifest without its own ``manifest_sha256`` field."""
    body = {k: v for k, v in manifest.items() if k != "manifest_sha256"}
    return hashlib.sha256(canonical_json(body)).hexdigest()


def _pretty(obj: object) -> bytes:
    return json.dumps(obj, sort_keys=True, indent=2, ensure_ascii=False).encode() + b"\n"


def _iso(ts: int | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _day(d: date | None) -> str | None:
    return None if d is None else d.isoformat()


def _safe_name(name: str) -> str:
    # Attached file names come from investigators' disks; keep exhibit paths portable ASCII.
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "file"
    return cleaned[:80]


# ---------------------------------------------------------------------------------------------
# Building the document


class _Namer:
    """Account names for one export: real ids for ``legal``, pseudonyms otherwise."""

    def __init__(self, key: bytes, case_id: str, role: str) -> None:
        self.key, self.case_id, self.real = key, case_id, role == "legal"

    def subject(self, account: str | None) -> str | None:
        if account is None:
            return None
        return account if self.real else pseudonym(self.key, self.case_id, account)

    def witness(self, account: str | None) -> str | None:
        return None if account is None else pseudonym(self.key, self.case_id, account)


def _exhibit_json(e: Exhibit, name: _Namer) -> dict:
    doc: dict = {"id": e.id, "kind": e.kind, "ts": e.ts, "time": _iso(e.ts),
                 "account": name.subject(e.account), "event": e.event}
    if e.kind == "reported_message":
        doc.update(reporter=name.witness(e.other), evidence=e.evidence, indicator=e.indicator,
                   excerpt=e.excerpt, report_reason=e.report_reason)
    elif e.kind == "shared_infrastructure":
        doc.update(shares_with=name.subject(e.other), key_kind=e.key_kind, key_hash=e.key_hash)
    elif e.kind == "campaign":
        doc.update(campaign=e.campaign, same_campaign_as=name.subject(e.other))
    else:
        doc.update(action=e.action, stage=e.stage, reasons=list(e.reasons or ()), score=e.score)
    return doc


def _describe_exhibit(x: dict) -> str:
    if x["kind"] == "reported_message":
        return f"reported by {x['reporter']}: {x['indicator']} in \u201c{x['excerpt']}\u201d"
    if x["kind"] == "shared_infrastructure":
        return f"same {x['key_kind']} as {x['shares_with']} at registration"
    if x["kind"] == "campaign":
        return f"{x['campaign']}, with {x['same_campaign_as']}"
    return f"{x['action']} ({x['stage']}): {', '.join(x['reasons']) or '-'}"


def build_evidence(a: Assessment, *, role: str, key: bytes,
                   hashes: dict[str, str] | None = None) -> dict:
    """The evidence document for an assessed case; ``hashes`` maps exhibit ids to SHA-256."""
    if role not in ROLES:
        raise EvidenceError(f"--role: {role!r} is not one of {', '.join(ROLES)}")
    name = _Namer(key, a.case.id, role)
    hashes = hashes or {}
    exhibits = [_exhibit_json(e, name) for e in a.exhibits]
    for x in exhibits:
        x["file"], x["sha256"] = f"exhibits/{x['id']}.json", hashes.get(x["id"])

    items = []
    for it in a.items:
        e = it.evidence
        entry = {"id": e.id, "kind": e.kind, "value": e.value, "date": _day(e.date),
                 "note": e.note, "linked_first": _day(it.linked_first),
                 "eligibility": {"eligible": it.eligibility.eligible,
                                 "reasons": list(it.eligibility.reasons),
                                 "detail": it.eligibility.detail},
                 "file": f"exhibits/{e.id}.json", "sha256": hashes.get(e.id),
                 "attachment": None}
        if e.file_name:
            entry["attachment"] = {"name": e.file_name, "bytes": e.file_size,
                                   "sha256": e.file_sha256,
                                   "file": f"exhibits/{e.id}-{_safe_name(e.file_name)}"}
        items.append(entry)

    actions: dict[str, list[dict]] = {}
    for x in exhibits:
        if x["kind"] == "decision":
            actions.setdefault(x["account"], []).append(
                {"time": x["time"], "action": x["action"], "stage": x["stage"],
                 "reasons": x["reasons"], "exhibit": x["id"]})
    accounts = []
    for acct in a.accounts:
        shown = name.subject(acct.account)
        entry = {"account": shown, "links": list(acct.links),
                 "implicated": acct.account in a.implicated,
                 "actioned": acct.account in a.actioned,
                 "registered": _iso(acct.registered_ts), "first_seen": _iso(acct.first_ts),
                 "last_seen": _iso(acct.last_ts), "messages": acct.messages,
                 "reports": acct.reports, "actions": actions.get(shown, [])}
        if role == "legal":
            entry["pseudonym"] = pseudonym(key, a.case.id, acct.account)
        accounts.append(entry)
    accounts.sort(key=lambda x: x["account"])

    firsts = [x.first_ts for x in a.accounts if x.first_ts is not None]
    lasts = [x.last_ts for x in a.accounts if x.last_ts is not None]
    counts = {
        "accounts": len(a.accounts),
        "accounts_by_link": {k: sum(1 for x in a.accounts if k in x.links)
                             for k in ("content", "campaign", "infrastructure")},
        "implicated_accounts": len(a.implicated),
        "actioned_accounts": len(a.actioned),
        "reports": sum(x.reports for x in a.accounts),
        "reported_messages": sum(1 for x in exhibits if x["kind"] == "reported_message"),
        "exhibits": len(exhibits),
        "off_platform": len(items),
        "off_platform_eligible": sum(1 for i in items if i["eligibility"]["eligible"]),
        "first_seen": _iso(min(firsts)) if firsts else None,
        "last_seen": _iso(max(lasts)) if lasts else None,
        "abuse_first": _day(a.abuse_first),
        "abuse_last": _day(a.abuse_last),
    }
    s = a.summary
    sources = None if s is None else {
        "events": [f.__dict__ for f in s.events], "decisions": [f.__dict__ for f in s.decisions],
        "max_shared": s.max_shared, "common_keys_skipped": s.common_keys_skipped}
    return {
        "format": FORMAT,
        "case": {"id": a.case.id, "operator": a.case.operator, "note": a.case.note},
        "role": role,
        "pseudonymised": role != "legal",
        # Which secret made the pseudonyms and key hashes, without revealing it.
        "key_id": keyed_hash(key, "key-id")[:16],
        "cutoff": a.cutoff.isoformat(),
        "correlated": s is not None,
        "sources": sources,
        "counts": counts,
        "off_platform": items,
        "accounts": accounts,
        "exhibits": exhibits,
        "timeline": _timeline(a, items, accounts, exhibits),
    }


def _timeline(a: Assessment, items: list[dict], accounts: list[dict],
              exhibits: list[dict]) -> list[dict]:
    rows = [{"when": a.cutoff.isoformat(), "what": "eligibility cutoff for off-platform "
             "evidence", "ref": None}]
    for i in items:
        if i["date"]:
            verdict = "eligible" if i["eligibility"]["eligible"] else "ineligible"
            rows.append({"when": i["date"], "what": f"off-platform {i['kind']}: {i['value']} "
                         f"({verdict})", "ref": i["id"]})
    for acct in accounts:
        if acct["registered"]:
            rows.append({"when": acct["registered"], "what": f"{acct['account']} registered "
                         f"({'+'.join(acct['links'])})", "ref": None})
    for x in exhibits:
        if x["kind"] in ("reported_message", "decision"):
            rows.append({"when": x["time"], "what": f"{x['account']}: {_describe_exhibit(x)}",
                         "ref": x["id"]})
    rows.sort(key=lambda r: (r["when"], r["ref"] or "", r["what"]))
    return rows


# ---------------------------------------------------------------------------------------------
# The HTML report


_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:72em;color:#111}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;width:100%;margin:.5em 0}
th,td{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f3f3f3}code,.hash{font-family:ui-monospace,monospace;font-size:.85em}
.hash{word-break:break-all}.no{color:#a00;font-weight:bold}.yes{color:#060;font-weight:bold}
.note{color:#555}
"""


def _e(value: object) -> str:
    return html.escape("-" if value is None else str(value))


def _table(head: list[str], rows: list[list[str]]) -> str:
    out = ["<table><tr>", *[f"<th>{_e(h)}</th>" for h in head], "</tr>"]
    for row in rows:
        out.append("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>")
    out.append("</table>")
    return "".join(out)


def _hash_cell(sha: str | None) -> str:
    return f'<span class="hash">{_e(sha)}</span>'


def _link(path: str) -> str:
    return f'<a href="{_e(path)}">{_e(path)}</a>'


def render_html(doc: dict) -> str:
    """A self-contained, readable report of an evidence document (all values escaped)."""
    c, case = doc["counts"], doc["case"]
    who = ("real account ids (role legal)" if not doc["pseudonymised"] else
           "pseudonymised account ids (keyed hashes, stable within this case)")
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Evidence file {_e(case['id'])}: {_e(case['operator'])}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Evidence file {_e(case['id'])}: {_e(case['operator'])}</h1>",
        "<h2>Summary</h2>",
        (f"<p>Operator <b>{_e(case['operator'])}</b>. {_e(c['accounts'])} accounts are "
        f"correlated with the operator ({_e(c['implicated_accounts'])} implicated by reported "
        f"content, campaign or enforcement; {_e(c['actioned_accounts'])} actioned), "
        f"{_e(c['reports'])} reports against them, seen from {_e(c['first_seen'])} to "
        f"{_e(c['last_seen'])}. Abuse activity: {_e(c['abuse_first'])} to "
        f"{_e(c['abuse_last'])}. {_e(c['off_platform_eligible'])} of {_e(c['off_platform'])} "
        f"off-platform items are eligible under the cutoff {_e(doc['cutoff'])}.</p>"),
        (f"<p class=\"note\">Role: {_e(doc['role'])}; {_e(who)}; key id "
         f"<code>{_e(doc['key_id'])}</code>. Reporters are always "
        "pseudonymised. Every file of this evidence file, with its SHA-256, is listed in "
        "<code>manifest.json</code>; check it with <code>seawall cases verify DIR</code>.</p>"),
    ]
    if case["note"]:
        parts.append(f"<p>Note: {_e(case['note'])}</p>")
    if not doc["correlated"]:
        parts.append('<p class="no">This case has not been correlated with on-platform '
                     "evidence.</p>")
    else:
        src = doc["sources"]
        rows = [[_e(kind), _e(f["name"]), _e(f["lines"]), _e(f["invalid"]),
                 _hash_cell(f["sha256"])]
                for kind in ("events", "decisions") for f in src[kind]]
        parts += ["<h2>On-platform sources</h2>",
                  _table(["kind", "file", "lines", "invalid lines skipped", "SHA-256"], rows)]
    parts += ["<h2>Counts</h2>", _table(["measure", "value"], [
        [_e(k.replace("_", " ")), _e(", ".join(f"{a} {b}" for a, b in v.items())
                                     if isinstance(v, dict) else v)]
        for k, v in c.items()])]

    rows = []
    for i in doc["off_platform"]:
        el = i["eligibility"]
        verdict = (f'<span class="{"yes" if el["eligible"] else "no"}">'
                   f'{"eligible" if el["eligible"] else "ineligible"}</span>')
        files = _link(i["file"]) + "<br>" + _hash_cell(i["sha256"])
        if i["attachment"]:
            att = i["attachment"]
            files += f"<br>{_link(att['file'])} ({_e(att['bytes'])} bytes)<br>" + _hash_cell(
                att["sha256"])
        rows.append([_e(i["id"]), _e(i["kind"]), _e(i["value"]) + (
            f'<br><span class="note">{_e(i["note"])}</span>' if i["note"] else ""),
            _e(i["date"]), verdict + "<br>" + _e(", ".join(el["reasons"])) + "<br>"
            f'<span class="note">{_e(el["detail"])}</span>', files])
    parts += ["<h2>Off-platform evidence</h2>",
              _table(["id", "kind", "value", "date", "eligibility", "exhibit, SHA-256"], rows)]

    parts += ["<h2>Timeline</h2>", _table(["when (UTC)", "what", "exhibit"], [
        [_e(r["when"]), _e(r["what"]), _e(r["ref"])] for r in doc["timeline"]])]

    parts += ["<h2>Accounts</h2>", _table(
        ["account", "links", "registered", "first seen", "last seen", "messages", "reports",
         "actions"],
        [[f"<code>{_e(x['account'])}</code>", _e("+".join(x["links"])), _e(x["registered"]),
          _e(x["first_seen"]), _e(x["last_seen"]), _e(x["messages"]), _e(x["reports"]),
          _e("; ".join(f"{y['time']} {y['action']} ({y['stage']})" for y in x["actions"]))]
         for x in doc["accounts"]])]

    parts += ["<h2>Exhibits</h2>", _table(
        ["id", "kind", "time (UTC)", "account", "details", "event", "file, SHA-256"],
        [[_e(x["id"]), _e(x["kind"]), _e(x["time"]), f"<code>{_e(x['account'])}</code>",
          _e(_describe_exhibit(x)), _e(x["event"]),
          _link(x["file"]) + "<br>" + _hash_cell(x["sha256"])] for x in doc["exhibits"]])]
    parts.append("</body></html>\n")
    return "\n".join(parts)


# ---------------------------------------------------------------------------------------------
# Export and verify


def export_evidence(store: CaseStore, case_id: str, out: Path, *, role: str = "investigator",
                    secret: bytes, cutoff: date = DEFAULT_CUTOFF) -> ExportResult:
    """Write the evidence file of a case into ``out`` (which must be new or empty)."""
    if role not in ROLES:
        raise EvidenceError(f"--role: {role!r} is not one of {', '.join(ROLES)}")
    a = store.assess(case_id, cutoff)
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise EvidenceError(f"--out: {out} exists and is not an empty directory; "
                            "an evidence file is written once, into a new directory")
    (out / "exhibits").mkdir(parents=True, exist_ok=True)
    written: dict[str, str] = {}

    def write(rel: str, data: bytes) -> str:
        (out / rel).write_bytes(data)
        written[rel] = hashlib.sha256(data).hexdigest()
        return written[rel]

    name = _Namer(secret, a.case.id, role)
    hashes: dict[str, str] = {}
    for it in a.items:
        e = it.evidence
        doc = {"case": a.case.id, "operator": a.case.operator, "id": e.id, "kind": e.kind,
               "value": e.value, "date": _day(e.date), "note": e.note, "attachment": None}
        if e.file_name:
            blob = store.evidence_file(a.case.id, e.id) or b""
            rel = f"exhibits/{e.id}-{_safe_name(e.file_name)}"
            doc["attachment"] = {"name": e.file_name, "bytes": len(blob),
                                 "sha256": write(rel, blob), "file": rel}
        hashes[e.id] = write(f"exhibits/{e.id}.json", _pretty(doc))
    for ex in a.exhibits:
        doc = {"case": a.case.id, **_exhibit_json(ex, name)}
        hashes[ex.id] = write(f"exhibits/{ex.id}.json", _pretty(doc))

    evidence = build_evidence(a, role=role, key=secret, hashes=hashes)
    write("evidence.json", _pretty(evidence))
    write("report.html", render_html(evidence).encode())
    manifest = {"format": FORMAT, "case": a.case.id, "role": role,
                "files": [{"path": p, "sha256": h, "bytes": (out / p).stat().st_size}
                          for p, h in sorted(written.items())]}
    manifest["manifest_sha256"] = manifest_hash(manifest)
    (out / _MANIFEST).write_bytes(_pretty(manifest))
    return ExportResult(out, tuple(sorted(written.items())), manifest["manifest_sha256"])


def verify_evidence(directory: Path, expect: str | None = None) -> VerifyResult:
    """Check an evidence file against its manifest; every problem names its file."""
    directory = Path(directory)
    path = directory / _MANIFEST
    try:
        manifest = json.loads(path.read_bytes())
        files = manifest["files"]
        recorded = manifest["manifest_sha256"]
        if not isinstance(files, list):
            raise TypeError("files is not a list")
    except FileNotFoundError:
        return VerifyResult(False, 0, (f"{_MANIFEST}: missing in {directory}",), None)
    except (ValueError, KeyError, TypeError) as exc:
        return VerifyResult(False, 0, (f"{_MANIFEST}: unreadable ({exc})",), None)

    problems = []
    computed = manifest_hash(manifest)
    if computed != recorded:
        problems.append(f"{_MANIFEST}: manifest hash mismatch (recorded {recorded}, computed "
                        f"{computed}): the manifest was altered")
    if expect is not None and expect.lower() != recorded:
        problems.append(f"{_MANIFEST}: manifest hash {recorded} is not the expected {expect}")
    if manifest.get("format") != FORMAT:
        problems.append(f"{_MANIFEST}: format {manifest.get('format')!r} is not {FORMAT}")
    listed = set()
    for entry in files:
        rel = entry.get("path") if isinstance(entry, dict) else None
        pure = PurePosixPath(rel) if isinstance(rel, str) else None
        if pure is None or pure.is_absolute() or ".." in pure.parts or not rel:
            problems.append(f"{_MANIFEST}: bad file entry {entry!r}")
            continue
        listed.add(rel)
        try:
            data = (directory / rel).read_bytes()
        except OSError:
            problems.append(f"{rel}: missing")
            continue
        found = hashlib.sha256(data).hexdigest()
        if found != entry.get("sha256"):
            problems.append(f"{rel}: SHA-256 mismatch (manifest {entry.get('sha256')}, "
                            f"file {found})")
    for root, _, names in os.walk(directory):
        for n in names:
            rel = (Path(root) / n).relative_to(directory).as_posix()
            if rel != _MANIFEST and rel not in listed:
                problems.append(f"{rel}: not listed in the manifest")
    return VerifyResult(not problems, len(listed), tuple(dict.fromkeys(problems)), recorded)
