"""Simulation settings: archetype mix, recipient reactions and ordinary-life rates.

Defaults give a realistic platform: about 90% ordinary people, a few innocent hard cases and
about 4-6% abusive accounts (WhatsApp reported bulk and automated accounts as a small share
of registrations; ``shared/background.md``). A YAML file overrides any subset of the keys;
an unknown key, a wrong type or an out-of-range value is refused with ``file:line`` and the
key's dotted name, before anything is simulated.

>>> cfg = SimulationConfig.default()
>>> cfg["reactions"]["block"]
0.05
>>> SimulationConfig.from_mapping({"mix": {"blitz_spamer": 0.1}})
Traceback (most recent call last):
...
seawall.simulation.config.ConfigError: <config>: unknown key `mix.blitz_spamer` ...
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

__all__ = ["ARCHETYPES", "ConfigError", "SimulationConfig", "load_config"]


class ConfigError(ValueError):
    """A configuration that cannot be used; the message names the file, line and key."""


# Archetype -> (label, share of accounts, minimum count when the share is > 0).
# Minimums keep every behaviour present in small test runs; multi-account archetypes need
# at least one complete unit (an office, a family, a farm).
ARCHETYPES: dict[str, tuple[str, float, int]] = {
    # innocent hard cases
    "new_number_announcer": ("legit", 0.003, 1),
    "organiser": ("legit", 0.003, 1),
    "small_business": ("legit", 0.002, 1),
    "business_notifier": ("legit", 0.001, 1),
    "mass_reported_innocent": ("legit", 0.0006, 1),
    "heavy_chatter": ("legit", 0.006, 1),
    "office_worker": ("legit", 0.012, 8),
    "shared_device_family": ("legit", 0.005, 2),
    # abusers
    "blitz_spammer": ("abuse", 0.005, 1),
    "slow_spammer": ("abuse", 0.005, 1),
    "farm": ("abuse", 0.01, 5),
    "stealth_farm": ("abuse", 0.006, 4),
    "group_spammer": ("abuse", 0.002, 1),
    "automation_client": ("abuse", 0.004, 1),
    "takeover": ("abuse", 0.004, 1),
    "adaptive_spammer": ("abuse", 0.005, 2),
}
# Not in the mix: `ordinary` takes the remaining accounts, and `report_brigade` (new accounts
# that falsely mass-report a `mass_reported_innocent`) is sized from the victims.
DERIVED_ARCHETYPES = {"ordinary": "legit", "report_brigade": "abuse"}

_DEFAULTS: dict[str, Any] = {
    "mix": {name: share for name, (_, share, _) in ARCHETYPES.items()},
    "reactions": {
        # what a person does on an unwanted first contact from a stranger
        "block": 0.05,
        "report": 0.03,
        "reply": 0.02,
        # share of strangers added to a spammer's group who leave it
        "group_leave": 0.55,
        # the same for a hijacked friend's message (people know the sender)
        "takeover_block": 0.06,
        "takeover_report": 0.08,
        "takeover_reply": 0.25,
    },
    "people": {
        "conversations_per_day": 3.5,   # median conversations a person starts per day
        "contacts_median": 18,          # median address-book size
        "mutual_contacts": 0.9,         # share of address-book links that go both ways
        "stranger_conversations": 0.03, # share of conversations with a non-contact
        "registered_share": 0.02,       # share of ordinary people who register mid-simulation
        "group_share": 0.3,             # friend groups per person
        "group_bursts_per_day": 1.2,    # median chat bursts per group and day
        "sessions_per_day": 0.4,
        "typed_share": 0.96,            # text messages preceded by a typing indicator
        "block_rate": 0.002,            # per person and day: blocks an acquaintance
        "report_rate": 0.0003,          # per person and day: reports an acquaintance
        "ipv6_share": 0.15,
        # real people are not tidy either
        "old_client_share": 0.035,      # never update the app
        "modded_client_share": 0.015,   # use a modified app (popular in some countries)
        "vpn_share": 0.03,              # connect through a VPN / hosting network
        "web_share": 0.08,              # also use a linked web client
    },
    # Where report texts come from: "auto" reads shared/data/telegram_spam_samples.txt when it
    # exists next to the repository, "templates" never reads a file, anything else is a path.
    "spam_samples": "auto",
}
_SHARE_SECTIONS = {"mix", "reactions"}
_SHARE_KEYS = {"people.mutual_contacts", "people.stranger_conversations",
               "people.registered_share", "people.typed_share", "people.ipv6_share",
               "people.old_client_share", "people.modded_client_share", "people.vpn_share",
               "people.web_share"}


class SimulationConfig(dict):
    """Nested settings (a dict of sections); build with :meth:`default` or :func:`load_config`."""

    @classmethod
    def default(cls) -> SimulationConfig:
        return cls(copy.deepcopy(_DEFAULTS))

    @classmethod
    def from_mapping(cls, data: Any, *, source: str = "<config>",
                     lines: dict[str, int] | None = None) -> SimulationConfig:
        """Overlay ``data`` on the defaults, validating every key and value."""
        cfg = cls.default()
        lines = lines or {}

        def where(key: str) -> str:
            return f"{source}:{lines[key]}" if key in lines else source

        if data is None:
            return cfg
        if not isinstance(data, dict):
            raise ConfigError(f"{source}: the configuration must be a mapping of sections")
        for section, value in data.items():
            if section not in cfg:
                raise ConfigError(f"{where(str(section))}: unknown key `{section}` "
                                  f"(known: {', '.join(sorted(cfg))})")
            if section == "spam_samples":
                if not isinstance(value, str):
                    raise ConfigError(f"{where(section)}: `spam_samples` must be a string")
                if value not in ("auto", "templates") and not Path(value).is_file():
                    raise ConfigError(f"{where(section)}: `spam_samples`: no such file "
                                      f"{value!r} (or use \"auto\" / \"templates\")")
                cfg[section] = value
                continue
            if not isinstance(value, dict):
                raise ConfigError(f"{where(section)}: `{section}` must be a mapping")
            for key, val in value.items():
                dotted = f"{section}.{key}"
                if key not in cfg[section]:
                    raise ConfigError(f"{where(dotted)}: unknown key `{dotted}` "
                                      f"(known: {', '.join(sorted(cfg[section]))})")
                if isinstance(val, bool) or not isinstance(val, int | float):
                    raise ConfigError(f"{where(dotted)}: `{dotted}` must be a number, "
                                      f"got {val!r}")
                if val < 0:
                    raise ConfigError(f"{where(dotted)}: `{dotted}` must be >= 0, got {val}")
                if (section in _SHARE_SECTIONS or dotted in _SHARE_KEYS) and val > 1:
                    raise ConfigError(f"{where(dotted)}: `{dotted}` is a share and must be "
                                      f"<= 1, got {val}")
                cfg[section][key] = float(val) if isinstance(cfg[section][key], float) \
                    else val
        total = sum(cfg["mix"].values())
        if total > 0.6:
            raise ConfigError(f"{where('mix')}: the archetype shares add up to {total:.3f}; "
                              "keep them <= 0.6 so ordinary people remain the majority")
        r = cfg["reactions"]
        if r["block"] + r["report"] + r["reply"] > 1:
            raise ConfigError(f"{where('reactions')}: reactions.block + report + reply "
                              "must be <= 1")
        if r["takeover_block"] + r["takeover_report"] + r["takeover_reply"] > 1:
            raise ConfigError(f"{where('reactions')}: reactions.takeover_block + "
                              "takeover_report + takeover_reply must be <= 1")
        return cfg


def load_config(path: str | Path) -> SimulationConfig:
    """Read a YAML override file; errors name ``file:line`` and the offending key."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        reason = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{path}{line}: not valid YAML: {reason}") from None
    return SimulationConfig.from_mapping(data, source=str(path), lines=_key_lines(node))


def _key_lines(node: yaml.Node | None, prefix: str = "") -> dict[str, int]:
    # yaml.compose keeps the source position of every key, so errors can point at the line.
    out: dict[str, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            dotted = f"{prefix}{key_node.value}"
            out[dotted] = key_node.start_mark.line + 1
            out.update(_key_lines(value_node, dotted + "."))
    return out
