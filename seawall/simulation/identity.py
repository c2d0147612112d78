"""Phone numbers, network addresses, device ids and client strings for simulated accounts.

The registration signals of ``shared/background.md`` live here: number blocks (a number
without its last three digits), IP blocks (an IPv4 /24), devices holding several accounts,
and client versions (current official, old, unofficial). Ordinary people are realistic
rather than tidy: many share carrier-grade NAT blocks, so a shared /24 alone proves nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from seawall.simulation.dice import Dice

__all__ = ["COUNTRIES", "Country", "Identities", "OFFICIAL_CLIENTS", "OLD_CLIENTS",
           "UNOFFICIAL_CLIENTS"]


@dataclass(frozen=True)
class Country:
    calling_code: str       # digits after '+'
    mobile_prefix: str      # national prefix of mobile numbers
    national_digits: int    # digits after the calling code
    tz_hours: float
    weight: float


COUNTRIES: tuple[Country, ...] = (
    Country("44", "7", 10, 0.0, 0.10),
    Country("49", "15", 11, 1.0, 0.08),
    Country("55", "119", 11, -3.0, 0.14),
    Country("91", "9", 10, 5.5, 0.20),
    Country("1", "", 10, -5.0, 0.10),
    Country("234", "80", 10, 1.0, 0.08),
    Country("62", "81", 11, 7.0, 0.10),
    Country("34", "6", 9, 1.0, 0.06),
    Country("52", "55", 10, -6.0, 0.08),
    Country("7", "9", 10, 3.0, 0.06),
)

OFFICIAL_CLIENTS = ("android/2.24.1", "android/2.24.2", "android/2.23.25",
                    "ios/24.3", "ios/24.2", "ios/23.25")
OFFICIAL_WEIGHTS = (0.30, 0.25, 0.17, 0.13, 0.10, 0.05)
WEB_CLIENT = "web/2.3000"
OLD_CLIENTS = ("android/2.19.0", "android/2.20.1", "ios/2.19.1")
UNOFFICIAL_CLIENTS = ("gbwhatsapp/17.5", "fmwhatsapp/9.8", "wa-automate/4.2", "yowsup/3.3")

# First octets of public address space; blocks are drawn inside them at random.
_FIRST_OCTETS = (31, 37, 41, 46, 49, 62, 77, 78, 81, 82, 85, 86, 88, 89, 90, 91, 92, 93, 94,
                 95, 101, 103, 105, 109, 110, 112, 115, 117, 118, 122, 125, 151, 154, 176,
                 177, 178, 179, 181, 182, 186, 187, 188, 189, 190, 191, 196, 197, 200, 201)
# Hosting providers: where automation and some farms run.
_DATACENTER_OCTETS = (5, 23, 34, 45, 64, 104, 139, 142, 159, 167, 188, 193, 209)


class Identities:
    """Draws identifiers; remembers every /24 handed out so a "fresh" block is truly new."""

    def __init__(self, dice: Dice, ipv6_share: float) -> None:
        self.d = dice
        self.ipv6_share = ipv6_share
        self._used_blocks: set[str] = set()
        self._carrier: dict[str, list[str]] = {}

    # -- phones --------------------------------------------------------------------------
    def country(self) -> Country:
        return self.d.weighted(COUNTRIES, [c.weight for c in COUNTRIES])

    def phone(self, country: Country) -> str:
        """A random mobile number of ``country`` in E.164."""
        rest = country.national_digits - len(country.mobile_prefix)
        if country.calling_code == "1":
            # NANP: area code 201-989, exchange 200-999
            return (f"+1{200 + self.d.below(790)}{200 + self.d.below(800)}"
                    f"{self.d.below(10000):04d}")
        return f"+{country.calling_code}{country.mobile_prefix}{self.d.below(10**rest):0{rest}d}"

    def number_block(self, country: Country) -> str:
        """A number without its last three digits; add 3 digits to get a member."""
        return self.phone(country)[:-3]

    def in_block(self, block: str, last: int) -> str:
        return f"{block}{last % 1000:03d}"

    # -- networks ------------------------------------------------------------------------
    def fresh_block(self, datacenter: bool = False) -> str:
        """An IPv4 /24 (as ``a.b.c``) never handed out before in this simulation."""
        octets = _DATACENTER_OCTETS if datacenter else _FIRST_OCTETS
        while True:
            block = f"{self.d.choice(octets)}.{self.d.below(256)}.{self.d.below(256)}"
            if block not in self._used_blocks:
                self._used_blocks.add(block)
                return block

    def ip_in(self, block: str) -> str:
        return f"{block}.{1 + self.d.below(254)}"

    def carrier_ip(self, country: Country) -> str:
        """An address behind a mobile carrier's NAT: thousands of people share these /24s."""
        blocks = self._carrier.get(country.calling_code)
        if blocks is None:
            blocks = [self.fresh_block() for _ in range(4)]
            self._carrier[country.calling_code] = blocks
        return self.ip_in(self.d.choice(blocks))

    def ipv6(self) -> str:
        d = self.d
        return (f"2a0{1 + d.below(9)}:{d.below(65536):x}:{d.below(65536):x}:{d.below(65536):x}"
                f"::{1 + d.below(65535):x}")

    def home_ip(self, country: Country) -> str:
        """Where an ordinary person usually connects from: home broadband or mobile NAT."""
        u = self.d.u()
        if u < self.ipv6_share:
            return self.ipv6()
        if u < self.ipv6_share + 0.4:
            return self.carrier_ip(country)
        return self.ip_in(self.fresh_block())

    # -- devices and clients -------------------------------------------------------------
    def device(self) -> str:
        return f"d{self.d.below(1 << 48):012x}"

    def official_client(self) -> str:
        return self.d.weighted(OFFICIAL_CLIENTS, OFFICIAL_WEIGHTS)

    def abuser_client(self, official: float, old: float) -> str:
        """An abuser's client: official with ``official`` odds, else old, else unofficial."""
        u = self.d.u()
        if u < official:
            return self.d.choice(OFFICIAL_CLIENTS + (WEB_CLIENT,))
        if u < official + old:
            return self.d.choice(OLD_CLIENTS)
        return self.d.choice(UNOFFICIAL_CLIENTS)
