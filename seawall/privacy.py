"""Privacy: phone numbers, IP addresses and device ids are kept only as keyed hashes of
the coarse form the signals need.

* a phone number becomes its *number block*: the number without its last 3 digits;
* an IP address becomes its *network block*: /24 for IPv4, /48 for IPv6;
* a device id is used as is, but only hashed.

The hash is BLAKE2b keyed with the deployment's secret (``EngineConfig.secret``), so the
stored values cannot be reversed by hashing every possible number without the key.

>>> number_block("+4915112345678")
'+4915112345'
>>> ip_block("203.0.113.77"), ip_block("2001:db8:abcd:12::1")
('203.0.113.0/24', '2001:db8:abcd::/48')
>>> len(keyed_hash(b"k", "n", "+4915112345"))
16

Where an event must be kept whole for a while (the service's journal, which rebuilds the
engine after a crash), :func:`minimise` rewrites it to the same coarse form first: the
engine derives exactly the same keys from the minimised event, and nothing finer is stored.

>>> minimise(b'{"type":"registration","ts":1,"account":"a","phone":"+4915112345678"}')
b'{"type":"registration","ts":1,"account":"a","phone":"+4915112345000"}'
>>> minimise(b'{"type":"session","ts":2,"account":"a","ip":"2001:db8:abcd:12::1"}')
b'{"type":"session","ts":2,"account":"a","ip":"2001:db8:abcd::"}'
"""

from __future__ import annotations

import hashlib
import ipaddress

import orjson


def number_block(phone: str) -> str:
    """The phone number without its last 3 digits (numbers allocated together)."""
    return phone[:-3]


def ip_block(ip: str) -> str:
    """The /24 (IPv4) or /48 (IPv6) network of an address."""
    addr = ipaddress.ip_address(ip)
    prefix = 24 if addr.version == 4 else 48
    return str(ipaddress.ip_network(f"{addr}/{prefix}", strict=False))


def keyed_hash(secret: bytes, kind: str, value: str) -> bytes:
    """16-byte keyed BLAKE2b of ``kind:value``."""
    return hashlib.blake2b(f"{kind}:{value}".encode(), key=secret[:64], digest_size=16).digest()


def minimise(line: bytes) -> bytes:
    """A valid event line with its phone number reduced to its number block (the last 3
    digits zeroed) and its IP address to its block's network address; other lines as they
    are. The engine reads the same number block and IP block from either form."""
    obj = orjson.loads(line)
    if not isinstance(obj, dict) or obj.get("type") not in ("registration", "session"):
        return line
    phone = obj.get("phone")
    if isinstance(phone, str) and len(phone) > 3:
        obj["phone"] = number_block(phone) + "000"
    ip = obj.get("ip")
    if isinstance(ip, str):
        obj["ip"] = ip_block(ip).split("/")[0]
    return orjson.dumps(obj)
