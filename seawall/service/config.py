"""The service configuration file: one YAML document, every key optional, unknown keys refused.

A wrong key or value fails at start-up with the file, line and key path, never later on live
traffic (the habit Osprey keeps for rule files). The documented file is ``docs/service.md``.

>>> cfg = load_config_text("port: 9000\\nwebhooks: {urls: [http://127.0.0.1:9/h], secret: s}")
>>> (cfg.port, cfg.webhooks.max_attempts)
(9000, 8)
>>> load_config_text("webhooks:\\n  retries: 3\\n", "svc.yaml")
Traceback (most recent call last):
...
seawall.service.config.ConfigError: svc.yaml:2: `webhooks.retries`: unknown key
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

import msgspec
import yaml

__all__ = ["ConfigError", "ServiceConfig", "WebhookConfig", "engine_config", "load_config",
           "load_config_text"]

DEFAULT_PORT = 8470
DEFAULT_MAX_BODY = 10 * 1024 * 1024

Positive = Annotated[int, msgspec.Meta(ge=1)]
NonNegative = Annotated[int, msgspec.Meta(ge=0)]
PositiveFloat = Annotated[float, msgspec.Meta(gt=0)]
Url = Annotated[str, msgspec.Meta(pattern=r"^https?://[^\s]+$")]


class ConfigError(ValueError):
    """A configuration file that cannot be used; the message names file, line and key."""


class WebhookConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Where decisions are POSTed and how hard delivery tries.

    The n-th retry waits ``min(backoff_base * 2**(n-1), backoff_max)`` seconds (exponential
    backoff as in Stripe's and GitHub's webhook delivery); after ``max_attempts`` failed
    attempts a delivery is marked ``failed``.
    """

    urls: list[Url] = []
    secret: str | None = None
    max_attempts: Positive = 8
    backoff_base: PositiveFloat = 1.0
    backoff_max: PositiveFloat = 300.0
    timeout: PositiveFloat = 5.0


class ServiceConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Everything ``seawall serve`` reads; the defaults run on localhost with no file at all."""

    host: str = "127.0.0.1"
    port: Annotated[int, msgspec.Meta(ge=0, le=65535)] = DEFAULT_PORT
    data: str = "seawall-data"
    max_body_bytes: Positive = DEFAULT_MAX_BODY
    snapshot_every: Positive = 100_000
    event_archive_days: NonNegative = 30   # journalled events kept after a snapshot (0: none)
    rules: str | None = None
    model: str | None = "default"  # the shipped model; null: rules only; or a model file
    engine: dict[str, Any] = {}
    webhooks: WebhookConfig = msgspec.field(default_factory=WebhookConfig)


def load_config(path: str | Path | None) -> ServiceConfig:
    """Read and validate a configuration file; ``None`` gives the defaults."""
    if path is None:
        return ServiceConfig()
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read: {exc.strerror}") from None
    cfg = load_config_text(text, str(p))
    # A relative path in the file means "next to the config file", not "next to the shell".
    if cfg.rules is not None and not Path(cfg.rules).is_absolute():
        cfg.rules = str((p.parent / cfg.rules).resolve())
    if cfg.model not in (None, "default") and not Path(cfg.model).is_absolute():
        cfg.model = str((p.parent / cfg.model).resolve())
    if cfg.data != ServiceConfig().data and not Path(cfg.data).is_absolute():
        cfg.data = str((p.parent / cfg.data).resolve())
    return cfg


def engine_config(cfg: ServiceConfig) -> Any:
    """The ``engine:`` options as a :class:`seawall.engine.EngineConfig` (validated)."""
    from seawall.engine import EngineConfig

    return msgspec.convert(cfg.engine, EngineConfig)


def load_config_text(text: str, source: str = "<config>") -> ServiceConfig:
    """Validate YAML text as a :class:`ServiceConfig`; errors name ``source:line``."""
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        raise ConfigError(f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}:1: the configuration must be a mapping of keys to values")
    try:
        cfg = msgspec.convert(data, ServiceConfig)
    except msgspec.ValidationError as exc:
        raise ConfigError(_explain(str(exc), node, source)) from None
    try:
        engine_config(cfg)
    except msgspec.ValidationError as exc:
        raise ConfigError(_explain(str(exc).replace(" - at `$", " - at `$.engine", 1)
                                   if " - at `$" in str(exc) else f"{exc} - at `$.engine`",
                                   node, source)) from None
    if cfg.webhooks.urls and not cfg.webhooks.secret:
        line = _line_of(node, ["webhooks"])
        raise ConfigError(f"{source}:{line}: `webhooks.secret`: required when `webhooks.urls` "
                          "is set (receivers verify the HMAC signature with it)")
    return cfg


def _explain(msg: str, node: yaml.Node | None, source: str) -> str:
    # msgspec: "Object contains unknown field `retries` - at `$.webhooks`" or
    # "Expected `int`, got `str` - at `$.port`". Turn that into "file:line: `key`: reason".
    reason, _, at = msg.partition(" - at `$")
    path = [p for p in re.split(r"\.|\[\d+\]", at.rstrip("`")) if p]
    unknown = re.match(r"Object contains unknown field `([^`]+)`", reason)
    if unknown:
        path.append(unknown.group(1))
        reason = "unknown key"
    key = ".".join(path) or "(top level)"
    return f"{source}:{_line_of(node, path)}: `{key}`: {reason}"


def _line_of(node: yaml.Node | None, path: list[str]) -> int:
    """The 1-based line of the deepest key of ``path`` found in the composed YAML tree."""
    line = 1
    for part in path:
        if not isinstance(node, yaml.MappingNode):
            break
        for key, value in node.value:
            if key.value == part:
                line = key.start_mark.line + 1
                node = value
                break
        else:
            break
    return line
