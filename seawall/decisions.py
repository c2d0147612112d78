"""Decisions: the engine's output, exactly the contract's decision object.

A decision is written only when an account's enforcement state changes. Enforcement levels
are ordered; rules and models only ever raise the level, people (review, appeal) can lower
it with ``reinstate``.

>>> d = Decision(ts=5, account="a", action="ban", stage="messaging", score=0.99,
...              reasons=["NEW_ACCOUNT_BLITZ"], event="e1")
>>> d.to_json()
b'{"ts":5,"account":"a","action":"ban","stage":"messaging","score":0.99,"reasons":["NEW_ACCOUNT_BLITZ"],"event":"e1"}'
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

# Enforcement levels, weakest first; the index is the level stored in the engine state.
ACTIONS = ("none", "review", "challenge", "restrict", "ban", "reinstate")
LEVEL_NONE, LEVEL_REVIEW, LEVEL_CHALLENGE, LEVEL_RESTRICT, LEVEL_BAN, REINSTATE = range(6)
STAGES = ("registration", "messaging", "feedback", "campaign", "manual", "appeal")

Action = Literal["ban", "restrict", "challenge", "review", "reinstate"]
Stage = Literal["registration", "messaging", "feedback", "campaign", "manual", "appeal"]
Score = Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]


class Decision(msgspec.Struct, forbid_unknown_fields=True):
    """One enforcement-state change, as the contract defines it."""

    ts: int
    account: str
    action: Action
    stage: Stage
    score: Score | None
    reasons: list[str]
    event: str | None

    def to_json(self) -> bytes:
        return _encoder.encode(self)

    def to_dict(self) -> dict:
        return msgspec.structs.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Decision:
        return msgspec.convert(d, cls)

    @classmethod
    def from_json(cls, line: bytes | str) -> Decision:
        return _decoder.decode(line)


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Decision)
