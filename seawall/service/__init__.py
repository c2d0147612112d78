"""The Seawall service: the engine online behind an HTTP API (docs/service.md).

``app`` (routes) -> ``runtime`` (engine, journal, snapshots) -> ``store`` (SQLite); beside
them ``auth`` (keys, roles), ``audit`` (hash-chained log), ``webhooks`` (signed delivery),
``config`` (the YAML file), ``openapi`` and ``commands`` (the CLI).
"""
