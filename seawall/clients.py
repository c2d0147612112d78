"""Client strings: official, outdated or unofficial.

Platforms send a client string such as ``android/2.24.1``. Official platforms and their
minimum supported versions are configuration (``EngineConfig.clients``); anything else is
*unofficial* (modified apps, automation libraries), a registration signal.

>>> c = ClientPolicy({"android": "2.22.0", "ios": "23.0", "web": "2.2300", "business_api": ""})
>>> c.classify("android/2.24.1"), c.classify("android/2.19.0"), c.classify("gbwhatsapp/17")
(('android', 8), ('android', 10), ('gbwhatsapp', 9))
>>> c.classify("yowsup/3.2")
('yowsup', 25)
>>> c.classify("business_api")
('business_api', 12)
"""

from __future__ import annotations

import re

from seawall.state import (
    CLIENT_AUTOMATION,
    CLIENT_BUSINESS_API,
    CLIENT_KNOWN,
    CLIENT_OUTDATED,
    CLIENT_UNOFFICIAL,
)

DEFAULT_CLIENTS = {
    "android": "2.22.0",
    "ios": "23.0",
    "web": "2.2300",
    "desktop": "2.2300",
    "kaios": "2.2200",
    "business_api": "",
}
# Libraries that drive an account from a script (unofficial APIs and web-client automation).
DEFAULT_AUTOMATION = ("yowsup", "wa-automate", "whatsapp-web.js", "baileys", "venom",
                      "wppconnect", "chat-api", "waha")
_VERSION = re.compile(r"^\d+(\.\d+){0,3}$")


def _version(v: str) -> tuple[int, ...]:
    return tuple(int(x) for x in v.split("."))


class ClientPolicy:
    def __init__(self, official: dict[str, str],
                 automation: tuple[str, ...] | list[str] = DEFAULT_AUTOMATION) -> None:
        self.official = {k: (_version(v) if v else ()) for k, v in official.items()}
        self.automation = {a.lower() for a in automation}
        self._cache: dict[str, tuple[str, int]] = {}

    def classify(self, client: str) -> tuple[str, int]:
        """``(platform, flags)`` with flags from :mod:`seawall.state` (CLIENT_*)."""
        hit = self._cache.get(client)
        if hit is not None:
            return hit
        platform, _, version = client.partition("/")
        platform = platform.strip().lower()
        flags = CLIENT_KNOWN
        if platform == "business_api":
            flags |= CLIENT_BUSINESS_API
        if platform not in self.official:
            flags |= CLIENT_UNOFFICIAL
            if platform in self.automation:
                flags |= CLIENT_AUTOMATION
        else:
            minimum = self.official[platform]
            if minimum:
                if not _VERSION.match(version):
                    flags |= CLIENT_UNOFFICIAL
                elif _version(version) < minimum:
                    flags |= CLIENT_OUTDATED
        if len(self._cache) < 100_000:
            self._cache[client] = (platform, flags)
        return platform, flags
