"""`make dist`: one archive that installs and runs with no package registry (a utility intranet).

It holds the source tree (the files git tracks), the locked runtime wheels for Linux x86_64 and
CPython 3.11 (``wheels/``, with ``wheels/requirements.txt`` from ``uv export``, hashes included),
the front-end assets and the PDF font that ``make install`` fetched. Unpacked, ``make run`` sees
``wheels/requirements.txt`` and installs with pip from those files only (``--no-index``): no uv,
no registry, no CDN. See docs/deploy.md ("Offline installation").

Usage: python3 scripts/make_dist.py [--output DIR] (a Python with pip; the project venv has none);
prints the archive's path.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# What the archive's wheels are for: the production target of docs/deploy.md.
PLATFORMS = ["manylinux2014_x86_64", "manylinux_2_17_x86_64", "manylinux_2_28_x86_64", "linux_x86_64"]
PYTHON = "3.11"
# Installed by `make install`, not tracked by git, needed at run time.
FETCHED = ["sunshine/static/vendor", "sunshine/fonts"]


def run(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=ROOT, check=True, text=True, **kwargs)  # type: ignore[call-overload]  # noqa: S603


def uv() -> list[str]:
    found = subprocess.run(["sh", "-c", "command -v uv"], capture_output=True, text=True).stdout.strip()  # noqa: S607
    return [found] if found else [sys.executable, "-m", "uv"]


def for_download(requirements: str) -> str:
    """The requirements with their environment markers dropped, except those that exclude Linux:
    pip evaluates markers against the Python running the download, so a dependency needed only
    below Python 3.11.3 (Debian 12's python3 is 3.11.2) would be left out."""
    out = []
    for line in requirements.splitlines():
        head, sep, marker = line.partition(" ; ")
        if sep and re.search(r"sys_platform == '(win32|darwin)'|platform_system == '(Windows|Darwin)'", marker):
            out.append("# " + line)  # its --hash lines still follow: comment the block out below
            continue
        out.append(head + (" \\" if marker.rstrip().endswith("\\") else "") if sep else line)
    text = "\n".join(out) + "\n"

    # hash continuation lines of a commented-out requirement
    def comment_hashes(m: re.Match[str]) -> str:
        return m[1] + re.sub(r"^(?=.)", "# ", m[2], flags=re.M)

    return re.sub(r"^(# .*\\\n)((?:\s+--hash=.*\n)+)", comment_hashes, text, flags=re.M)


def build(output: Path) -> Path:
    for rel in FETCHED:
        if not any((ROOT / rel).rglob(".version")):
            raise SystemExit(f"{rel} is missing: run `make install` first")
    revision = run(["git", "describe", "--always", "--dirty"], capture_output=True).stdout.strip()
    name = f"sunshine-{revision}-linux_x86_64-py311"
    with tempfile.TemporaryDirectory() as tmp:
        wheels = Path(tmp) / "wheels"
        wheels.mkdir()
        requirements = wheels / "requirements.txt"
        run([*uv(), "export", "--frozen", "--no-dev", "--no-emit-project", "--quiet", "-o", str(requirements)])
        download = Path(tmp) / "download.txt"
        download.write_text(for_download(requirements.read_text()))
        platforms = [arg for p in PLATFORMS for arg in ("--platform", p)]
        print(f"Downloading the locked wheels for Linux x86_64, CPython {PYTHON}…", file=sys.stderr)
        run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--disable-pip-version-check",
                "--no-deps",
                "--only-binary=:all:",
                *platforms,
                "--python-version",
                PYTHON,
                "--implementation",
                "cp",
                "--dest",
                str(wheels),
                "-r",
                str(download),
            ]
        )
        tracked = run(["git", "ls-files", "-z"], capture_output=True).stdout.split("\0")
        output.mkdir(parents=True, exist_ok=True)
        archive = output / f"{name}.tar.gz"
        with tarfile.open(archive, "w:gz") as tar:
            for rel in tracked:
                if rel and (ROOT / rel).is_file():
                    tar.add(ROOT / rel, arcname=f"{name}/{rel}")
            for rel in FETCHED:
                tar.add(ROOT / rel, arcname=f"{name}/{rel}")
            tar.add(wheels, arcname=f"{name}/wheels")
    return archive


def main() -> int:
    parser = argparse.ArgumentParser(description="Build the offline installation archive.")
    parser.add_argument("--output", type=Path, default=ROOT / "dist")
    archive = build(parser.parse_args().output)
    print(archive)
    return 0


if __name__ == "__main__":
    sys.exit(main())
