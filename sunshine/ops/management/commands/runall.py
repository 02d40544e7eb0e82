"""Serve everything of a trial installation in one terminal; Ctrl-C stops it all."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from sunshine.accounts.models import User
from sunshine.ops.demo.accounts import DEMO_ACCOUNTS, DEMO_PASSWORD


def trial_commands(host: str, port: str, workers: str) -> dict[str, list[str]]:
    """The processes of a trial installation (``make run``), by name."""
    return {
        "web": [
            sys.executable,
            "-m",
            "gunicorn",
            "sunshine.wsgi:application",
            "--bind",
            f"{host}:{port}",
            "--workers",
            workers,
            "--threads",
            "4",
            "--graceful-timeout",
            "5",
        ],
        # Background jobs (deliveries, sweeps): the worker polls the database queue; with
        # SQLite it shares the file with the web process (WAL).
        "worker": [
            sys.executable,
            "manage.py",
            "db_worker",
            "--queue-name",
            "*",
            "--interval",
            "1",
            "--no-reload",
        ],
        # Periodic jobs of every app's schedule.py, kept single by a database lease.
        "scheduler": [sys.executable, "manage.py", "run_scheduler"],
    }


class Command(BaseCommand):
    help = "Start the web server, the job worker and the scheduler in the foreground; Ctrl-C stops all."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", default="8000")
        parser.add_argument("--workers", default=os.environ.get("WEB_WORKERS", "2"))

    def handle(self, *args: Any, host: str, port: str, workers: str, **options: Any) -> None:
        commands = trial_commands(host, port, workers)
        self._print_accounts(host, port)
        # Children get their own process group, so Ctrl-C reaches only this command, which then
        # stops them in order (a worker finishes or abandons its task; the stall sweep redelivers).
        children = {
            name: subprocess.Popen(cmd, cwd=settings.BASE_DIR, start_new_session=True, env=env)  # noqa: S603
            for name, cmd in commands.items()
            for env in [self._metrics_env() if name == "web" else None]
        }
        stopping = False

        def stop(signum: int, frame: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            while not stopping:
                for name, proc in children.items():
                    if proc.poll() is not None:
                        self.stderr.write(f"{name} exited with code {proc.returncode}; stopping everything.")
                        stopping = True
                time.sleep(0.3)
        finally:
            for proc in children.values():
                if proc.poll() is None:
                    proc.terminate()
            for proc in children.values():
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
            self.stdout.write("Stopped.")

    def _metrics_env(self) -> dict[str, str]:
        """The web workers add up their metrics in one directory (as deploy/gunicorn.conf.py does
        in production), emptied at each start."""
        path = settings.VAR_DIR / "metrics"
        path.mkdir(parents=True, exist_ok=True)
        for old in path.glob("*.db"):
            old.unlink()
        return {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(path)}

    def _print_accounts(self, host: str, port: str) -> None:
        base = f"http://{host}:{port}"
        lines = [
            "",
            f"阳光业扩服务平台 Sunshine at {base}/",
            f"  API docs:  {base}/api/v1/docs",
            f"  Admin:     {base}/admin/",
            "",
        ]
        demo = [a for a in DEMO_ACCOUNTS if User.objects.filter(username=a[0]).exists()]
        if demo:
            lines.append(f"  Demo accounts (password {DEMO_PASSWORD}):")
            for username, role, *_ in demo:
                lines.append(f"    {username:<10} {role.label}")
        lines.append("  Press Ctrl-C to stop.")
        self.stdout.write("\n".join(lines) + "\n")
