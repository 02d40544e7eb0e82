"""`make dist`: which wheels the offline archive downloads (the archive itself is built, installed
with the package indexes off and run by CI: scripts/offline_smoke.sh)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

EXPORTED = """\
async-timeout==5.0.1 ; python_full_version < '3.11.3' \\
    --hash=sha256:aaa \\
    --hash=sha256:bbb
    # via redis
colorama==0.4.6 ; sys_platform == 'win32' \\
    --hash=sha256:ccc \\
    --hash=sha256:ddd
    # via qrcode
django==5.2.19 \\
    --hash=sha256:eee
"""


def _make_dist():
    spec = importlib.util.spec_from_file_location("make_dist", ROOT / "scripts" / "make_dist.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_dist"] = module
    spec.loader.exec_module(module)
    return module


def test_the_download_keeps_what_any_python_3_11_on_linux_needs_and_drops_windows_only_wheels():
    assert _make_dist().for_download(EXPORTED) == (
        "async-timeout==5.0.1 \\\n"  # Debian 12's python3 is 3.11.2: it needs this one
        "    --hash=sha256:aaa \\\n"
        "    --hash=sha256:bbb\n"
        "    # via redis\n"
        "# colorama==0.4.6 ; sys_platform == 'win32' \\\n"
        "#     --hash=sha256:ccc \\\n"
        "#     --hash=sha256:ddd\n"
        "    # via qrcode\n"
        "django==5.2.19 \\\n"
        "    --hash=sha256:eee\n"
    )
