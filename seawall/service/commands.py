"""``seawall serve``, ``seawall audit verify`` and ``seawall keys create|list|revoke``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from seawall.service import audit
from seawall.service.auth import ROLES, create_key, has_any_key, list_keys, revoke_key
from seawall.service.config import ConfigError, ServiceConfig, load_config
from seawall.service.store import DB_NAME, Store

__all__ = ["audit_group", "keys", "register", "serve"]

_config_option = click.option("--config", "config_path", type=click.Path(dir_okay=False),
                              default=None, help="Service configuration file (YAML).")
_data_option = click.option("--data", "data_dir", type=click.Path(file_okay=False),
                            default=None, help="Data directory (overrides the config file).")


def _config(config_path: str | None, data_dir: str | None) -> ServiceConfig:
    try:
        cfg = load_config(config_path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    if data_dir is not None:
        cfg.data = data_dir
    return cfg


def _existing_store(cfg: ServiceConfig) -> Store:
    if not (Path(cfg.data) / DB_NAME).exists():
        raise click.ClickException(f"no Seawall database at {Path(cfg.data) / DB_NAME} "
                                   "(pass --data DIR, or start `seawall serve` once)")
    return Store(cfg.data)


@click.command()
@_config_option
@click.option("--host", default=None, help="Address to listen on [config, or 127.0.0.1].")
@click.option("--port", type=int, default=None, help="Port [config, or 8470].")
@_data_option
def serve(config_path: str | None, host: str | None, port: int | None,
          data_dir: str | None) -> None:
    """Run the engine online behind the HTTP API (docs/service.md).

    State lives in the data directory: SQLite (DIR/seawall.db) and engine snapshots. On the
    first start, with no API key yet, an admin key is created and printed once.
    """
    import uvicorn

    from seawall.service.app import create_app
    from seawall.service.runtime import Runtime

    cfg = _config(config_path, data_dir)
    if host is not None:
        cfg.host = host
    if port is not None:
        cfg.port = port
    try:
        runtime = Runtime(cfg)
    except (ValueError, OSError, RuntimeError) as exc:
        # Rule file, model file, snapshot or data-directory problems: the message names it.
        raise click.ClickException(f"cannot start: {exc}") from None
    if not has_any_key(runtime.store.db):
        with runtime.store.write() as db:
            key_id, key = create_key(db, "admin", note="created by the first `seawall serve`")
            audit.append(db, key_id=None, role=None, action="key.create", target=key_id,
                         detail={"role": "admin", "by": "serve"})
        click.echo("seawall: no API keys yet; created an admin key (shown once, stored "
                   f"hashed):\n  {key}")
    click.echo(f"seawall: serving on http://{cfg.host}:{cfg.port} (data: {cfg.data}, "
               f"clock {runtime.engine.clock})")
    sys.stdout.flush()
    server = uvicorn.Server(uvicorn.Config(create_app(runtime), host=cfg.host, port=cfg.port,
                                           log_level="warning", lifespan="on"))
    server.run()


@click.group("audit")
def audit_group() -> None:
    """The tamper-evident audit log."""


@audit_group.command("verify")
@_config_option
@_data_option
def audit_verify(config_path: str | None, data_dir: str | None) -> None:
    """Recompute the audit hash chain; exit 1 and name the first bad row if it is broken."""
    store = _existing_store(_config(config_path, data_dir))
    try:
        report = audit.verify(store.db)
    finally:
        store.close()
    if report.ok:
        click.echo(f"audit log OK: {report.rows} rows, head {report.head}")
        return
    click.echo(f"audit log BROKEN at row {report.bad_seq}: {report.reason} "
               f"({report.rows} rows before it verify)", err=True)
    sys.exit(1)


@click.group()
def keys() -> None:
    """API keys (roles: ingest, reviewer, admin)."""


@keys.command("create")
@click.option("--role", type=click.Choice(list(ROLES)), required=True)
@click.option("--note", default=None, help="What the key is for.")
@_config_option
@_data_option
def keys_create(role: str, note: str | None, config_path: str | None,
                data_dir: str | None) -> None:
    """Create a key and print it (shown once; only its hash is stored)."""
    cfg = _config(config_path, data_dir)
    store = Store(cfg.data)
    try:
        with store.write() as db:
            key_id, key = create_key(db, role, note)
            audit.append(db, key_id=None, role=None, action="key.create", target=key_id,
                         detail={"role": role, "by": "cli"})
    finally:
        store.close()
    click.echo(key)
    click.echo(f"key id {key_id}, role {role}", err=True)


@keys.command("list")
@_config_option
@_data_option
def keys_list(config_path: str | None, data_dir: str | None) -> None:
    """List keys (id, role, created, revoked, note); never the keys themselves."""
    store = _existing_store(_config(config_path, data_dir))
    try:
        rows = list_keys(store.db)
    finally:
        store.close()
    for r in rows:
        click.echo(f"{r['id']}\t{r['role']}\t{r['created_at']}\t"
                   f"{'revoked ' + r['revoked_at'] if r['revoked_at'] else 'active'}\t"
                   f"{r['note'] or ''}")


@keys.command("revoke")
@click.argument("key_id")
@_config_option
@_data_option
def keys_revoke(key_id: str, config_path: str | None, data_dir: str | None) -> None:
    """Revoke a key by id; it stops working on the next request."""
    store = _existing_store(_config(config_path, data_dir))
    try:
        with store.write() as db:
            done = revoke_key(db, key_id)
            if done:
                audit.append(db, key_id=None, role=None, action="key.revoke", target=key_id,
                             detail={"by": "cli"})
    finally:
        store.close()
    if not done:
        raise click.ClickException(f"no active key with id {key_id!r}")
    click.echo(f"revoked {key_id}")


def register(cli: click.Group) -> None:
    """Add the service's commands to the ``seawall`` group."""
    cli.add_command(audit_group)
    cli.add_command(keys)
    cli.add_command(serve)
