"""Front-end assets from the npm registry, checked against their published integrity hash.

ECharts is copied into ``sunshine/static/vendor/`` (not committed): pages never load anything from
a CDN. Runs in a second when the files are already there. htmx comes with django-htmx.
"""

from __future__ import annotations

import base64
import hashlib
import io
import sys
import tarfile
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "sunshine" / "static" / "vendor"
REGISTRY = "https://registry.npmjs.org"

# (package, version, sha512 integrity from the registry, {member in the tarball: file under vendor/})
ASSETS = [
    (
        "echarts",
        "5.6.0",
        "sha512-oTbVTsXfKuEhxftHqL5xprgLoc0k7uScAwtryCgWF6hPYFLRwOUHiFmHGCBKP5NPFNkDVopOieyUqYGH8Fa3kA==",
        {"package/dist/echarts.min.js": "echarts/echarts.min.js", "package/LICENSE": "echarts/LICENSE"},
    ),
]


def main() -> int:
    for name, version, integrity, files in ASSETS:
        targets = {member: VENDOR / rel for member, rel in files.items()}
        stamp = VENDOR / name / ".version"
        if all(t.exists() for t in targets.values()) and stamp.exists() and stamp.read_text() == version:
            continue
        url = f"{REGISTRY}/{name}/-/{name}-{version}.tgz"
        print(f"Fetching {name} {version} from the npm registry…", file=sys.stderr)
        with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 (fixed https URL)
            data = response.read()
        digest = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
        if digest != integrity:
            print(f"{name} {version}: integrity mismatch ({digest}); refusing to install it", file=sys.stderr)
            return 1
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            for member, target in targets.items():
                source = tar.extractfile(member)
                if source is None:
                    print(f"{name} {version}: {member} missing from the package", file=sys.stderr)
                    return 1
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(source.read())
        stamp.write_text(version)
    return 0


if __name__ == "__main__":
    sys.exit(main())
