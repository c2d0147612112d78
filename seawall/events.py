"""The platform event contract, version 1 (``shared/contract/events.md``), as typed records.

Every field is validated while decoding: types, enumerations, lengths, the E.164 phone
pattern, IP syntax, and the rule that a message names exactly one of ``peer`` or ``group``.
Unknown fields are refused, so an integrator's typo is reported instead of silently ignored.

>>> ev = decode_event(b'{"type":"message","ts":1,"account":"a","peer":"b"}')
>>> (ev.type, ev.kind, ev.typed)
('message', 'text', None)
>>> decode_event(b'{"type":"message","ts":1,"account":"a"}')
Traceback (most recent call last):
...
seawall.events.InvalidEvent: message needs exactly one of `peer` or `group`
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Literal

import msgspec

__all__ = [
    "EVENT_TYPES",
    "Block",
    "Event",
    "GroupAdd",
    "GroupCreate",
    "GroupLeave",
    "InvalidEvent",
    "Message",
    "Registration",
    "Report",
    "Session",
    "decode_event",
    "encode_event",
]

AccountId = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
GroupId = Annotated[str, msgspec.Meta(min_length=1)]
Timestamp = Annotated[int, msgspec.Meta(ge=0)]
Phone = Annotated[str, msgspec.Meta(pattern=r"^\+[0-9]{8,15}$")]
Count = Annotated[int, msgspec.Meta(ge=0)]
ReportText = Annotated[str, msgspec.Meta(max_length=4096)]


class InvalidEvent(ValueError):
    """An event that does not conform to the contract; the message names field and reason."""


class _Base(
    msgspec.Struct,
    tag_field="type",
    forbid_unknown_fields=True,
    omit_defaults=True,
    kw_only=True,
):
    ts: Timestamp
    account: AccountId
    id: AccountId | None = None

    @property
    def type(self) -> str:
        """The contract's ``type`` of this event."""
        return self.__struct_config__.tag


def _check_ip(ip: str | None) -> None:
    if ip is None:
        return
    try:
        ipaddress.ip_address(ip)
    except ValueError:
        raise ValueError(f"`ip` is not an IPv4 or IPv6 address: {ip!r}") from None


class Registration(_Base, tag="registration"):
    phone: Phone
    ip: str | None = None
    device: str | None = None
    client: str | None = None
    verification: Literal["sms", "voice", "none"] | None = None
    business: bool = False

    def __post_init__(self) -> None:
        _check_ip(self.ip)


class Session(_Base, tag="session"):
    ip: str | None = None
    device: str | None = None
    client: str | None = None

    def __post_init__(self) -> None:
        _check_ip(self.ip)


class Message(_Base, tag="message"):
    peer: AccountId | None = None
    group: GroupId | None = None
    kind: Literal["text", "media", "link", "voice", "other"] = "text"
    forwarded: Count = 0
    typed: bool | None = None
    in_contacts: bool | None = None
    size: Count | None = None

    def __post_init__(self) -> None:
        if (self.peer is None) == (self.group is None):
            raise ValueError("message needs exactly one of `peer` or `group`")


class GroupCreate(_Base, tag="group_create"):
    group: GroupId


class GroupAdd(_Base, tag="group_add"):
    group: GroupId
    peer: AccountId
    in_contacts: bool | None = None


class GroupLeave(_Base, tag="group_leave"):
    group: GroupId
    removed: bool = False


class Report(_Base, tag="report"):
    peer: AccountId
    reason: Literal["spam", "scam", "abuse", "other"] = "spam"
    group: GroupId | None = None
    messages: Annotated[list[ReportText], msgspec.Meta(max_length=5)] | None = None


class Block(_Base, tag="block"):
    peer: AccountId


Event = Registration | Session | Message | GroupCreate | GroupAdd | GroupLeave | Report | Block
EVENT_TYPES = ("registration", "session", "message", "group_create", "group_add",
               "group_leave", "report", "block")

_decoder = msgspec.json.Decoder(Event)
_encoder = msgspec.json.Encoder()


# The hot path decodes with this directly and calls decode_event only for lines that fail,
# to get the explained reason.
decode_unchecked = _decoder.decode
DECODE_ERRORS = (msgspec.ValidationError, msgspec.DecodeError)


def decode_event(line: bytes | str) -> Event:
    """Decode and validate one JSON object; raise :class:`InvalidEvent` with the reason."""
    try:
        return _decoder.decode(line)
    except msgspec.ValidationError as exc:
        raise InvalidEvent(_explain(str(exc))) from None
    except msgspec.DecodeError as exc:
        raise InvalidEvent(f"not valid JSON: {exc}") from None


def decode_object(obj: object) -> Event:
    """Validate an already-parsed JSON value (e.g. one item of an HTTP JSON array)."""
    try:
        return msgspec.convert(obj, Event)
    except msgspec.ValidationError as exc:
        raise InvalidEvent(_explain(str(exc))) from None


def encode_event(event: Event) -> bytes:
    """Encode an event as one compact JSON object (no trailing newline)."""
    return _encoder.encode(event)


def _explain(msg: str) -> str:
    # msgspec says "Expected `int`, got `str` - at `$.ts`"; put the field first for readers.
    if " - at `$." in msg:
        reason, _, path = msg.rpartition(" - at `$.")
        return f"`{path.rstrip('`')}`: {reason}"
    if msg.startswith("Invalid value") and "type" in msg:
        return msg
    return msg
