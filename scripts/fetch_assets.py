"""Assets from the npm registry, checked against their published integrity hash.

- ECharts goes into ``sunshine/static/vendor/``, with a gzip copy beside it that whitenoise sends
  in every mode: pages never load anything from a CDN.
- The PDF font (Noto Sans SC Regular, TrueType, SIL Open Font License 1.1, from the Google Fonts
  build packaged as ``@expo-google-fonts/noto-sans-sc``) goes into ``sunshine/fonts/`` with its
  licence (``sunshine/pdffont.py`` reads it). The package tarball is checked against the
  registry's sha512 and the extracted font against its own sha256.

Neither is committed (the offline archive of ``make dist`` carries both). Runs in a second when
the files are already there. htmx comes with django-htmx.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import sys
import tarfile
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "sunshine" / "static" / "vendor"
FONTS = ROOT / "sunshine" / "fonts"
REGISTRY = "https://registry.npmjs.org"


@dataclass(frozen=True)
class Asset:
    package: str  # npm name, possibly scoped
    version: str
    integrity: str  # the registry's dist.integrity of the tarball
    target: Path  # directory the files go into
    files: dict[str, str]  # member in the tarball -> file name under target
    sha256: dict[str, str] = field(default_factory=dict)  # file name -> sha256 of its content

    @property
    def url(self) -> str:
        return f"{REGISTRY}/{self.package}/-/{self.package.rsplit('/', 1)[-1]}-{self.version}.tgz"


ASSETS = [
    Asset(
        "echarts",
        "5.6.0",
        "sha512-oTbVTsXfKuEhxftHqL5xprgLoc0k7uScAwtryCgWF6hPYFLRwOUHiFmHGCBKP5NPFNkDVopOieyUqYGH8Fa3kA==",
        VENDOR / "echarts",
        {"package/dist/echarts.min.js": "echarts.min.js", "package/LICENSE": "LICENSE"},
    ),
    Asset(
        "@expo-google-fonts/noto-sans-sc",
        "0.4.3",
        "sha512-9rAwdFTFHbO/u6Cs0gj2jZbW74TGIiaFNQnXYH2s5wA1bzVkwbaviL4t8YUV642eGYjg86eH6DkAEQmfNHDncQ==",
        FONTS,
        {
            "package/400Regular/NotoSansSC_400Regular.ttf": "NotoSansSC-Regular.ttf",
            "package/LICENSE_FONT": "OFL.txt",
        },
        {"NotoSansSC-Regular.ttf": "d45f67f0a7c0ca3f256950777ce6a61cc7ce5f9696d02900cbbaac25f8aa7d16"},
    ),
]


class AssetError(RuntimeError):
    pass


def _installed(asset: Asset) -> bool:
    stamp = asset.target / ".version"
    return (
        stamp.exists()
        and stamp.read_text() == asset.version
        and all((asset.target / rel).exists() for rel in asset.files.values())
    )


def _tarball(asset: Asset) -> bytes:
    print(f"Fetching {asset.package} {asset.version} from the npm registry…", file=sys.stderr)
    with urllib.request.urlopen(asset.url, timeout=120) as response:  # noqa: S310 (fixed https URL)
        data: bytes = response.read()
    return data


def install(asset: Asset) -> None:
    if _installed(asset):
        return
    data = _tarball(asset)
    digest = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
    if digest != asset.integrity:
        raise AssetError(f"{asset.package} {asset.version}: integrity mismatch ({digest}); refusing to install it")
    contents: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for member, rel in asset.files.items():
            extracted = tar.extractfile(member)
            if extracted is None:
                raise AssetError(f"{asset.package} {asset.version}: {member} missing from the package")
            contents[rel] = extracted.read()
    for rel, expected in asset.sha256.items():
        actual = hashlib.sha256(contents[rel]).hexdigest()
        if actual != expected:
            raise AssetError(f"{asset.package} {asset.version}: {rel} has sha256 {actual}, expected {expected}")
    asset.target.mkdir(parents=True, exist_ok=True)
    for rel, content in contents.items():
        (asset.target / rel).write_bytes(content)
    (asset.target / ".version").write_text(asset.version)


def main() -> int:
    try:
        for asset in ASSETS:
            install(asset)
        compress(VENDOR)
    except (AssetError, OSError) as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


def compress(folder: Path) -> None:
    """A gzip copy beside each script and style sheet, so that whitenoise sends it compressed to
    browsers that accept it in every mode (a trial serves the files straight from the apps, with
    no collectstatic to compress them): ECharts goes from 1 MB to about 330 kB."""
    for path in [*folder.rglob("*.js"), *folder.rglob("*.css")]:
        packed = path.with_name(path.name + ".gz")
        if packed.exists() and packed.stat().st_mtime >= path.stat().st_mtime:
            continue
        packed.write_bytes(gzip.compress(path.read_bytes(), compresslevel=9, mtime=0))


if __name__ == "__main__":
    sys.exit(main())
