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
"""

from __future__ import annotations

import hashlib
import ipaddress


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
