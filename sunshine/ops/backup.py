"""Backups of the whole database and their restoration into an empty one.

SQLite (the trial): the online backup API copies a consistent snapshot while the server runs.
PostgreSQL: ``pg_dump --format=custom`` / ``pg_restore`` (the client tools of the server's major
version must be installed). A restore then runs the audit verification, so a backup that does not
reproduce the tamper-evident log exactly is noticed at once.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from django.db import connection, connections


class BackupError(Exception):
    pass


def _pg_env(db: dict[str, Any]) -> tuple[list[str], dict[str, str]]:
    args = []
    if db.get("HOST"):
        args += ["--host", str(db["HOST"])]
    if db.get("PORT"):
        args += ["--port", str(db["PORT"])]
    if db.get("USER"):
        args += ["--username", str(db["USER"])]
    env = {**os.environ}
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    return args, env


def _tool(name: str) -> str:
    path = shutil.which(name)
    if not path:
        raise BackupError(f"{name} is not installed (apt-get install postgresql-client)")
    return path


def backup(output: Path) -> Path:
    db = connection.settings_dict
    output.parent.mkdir(parents=True, exist_ok=True)
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        target = sqlite3.connect(output)
        try:
            connection.connection.backup(target)
        finally:
            target.close()
        return output
    if connection.vendor == "postgresql":
        args, env = _pg_env(db)
        cmd = [
            _tool("pg_dump"),
            "--format=custom",
            "--no-owner",
            "--no-privileges",
            "--file",
            str(output),
            *args,
            str(db["NAME"]),
        ]
        run = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)  # noqa: S603
        if run.returncode:
            raise BackupError(run.stderr.strip())
        return output
    raise BackupError(f"backups of {connection.vendor} are not supported")


def _is_empty() -> bool:
    return "applications_application" not in connection.introspection.table_names()


def restore(source: Path) -> None:
    """Restore ``source`` into the configured database, which must be empty (no tables)."""
    if not source.exists():
        raise BackupError(f"{source} does not exist")
    db = connection.settings_dict
    if not _is_empty():
        raise BackupError("the target database is not empty: restore into a new, empty database")
    if connection.vendor == "sqlite":
        src = sqlite3.connect(source)
        try:
            connection.ensure_connection()
            src.backup(connection.connection)
        finally:
            src.close()
        return
    if connection.vendor == "postgresql":
        connections.close_all()
        args, env = _pg_env(db)
        cmd = [
            _tool("pg_restore"),
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--dbname",
            str(db["NAME"]),
            *args,
            str(source),
        ]
        run = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)  # noqa: S603
        if run.returncode:
            raise BackupError(run.stderr.strip())
        return
    raise BackupError(f"restores into {connection.vendor} are not supported")
