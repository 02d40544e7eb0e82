"""The PDFs carry the project's own CJK font (fetched by `make install`), subset; no system font."""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import io
import re
import shutil
import sys
import tarfile
from pathlib import Path

import pytest
from django.test import override_settings
from reportlab.pdfbase import pdfmetrics

from sunshine import pdffont

ROOT = Path(__file__).resolve().parent.parent


def _fetch_assets():
    spec = importlib.util.spec_from_file_location("fetch_assets", ROOT / "scripts" / "fetch_assets.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["fetch_assets"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def unregistered():
    """reportlab registers a font once per process: forget it around the test."""
    # reportlab keeps no public way to unregister: its two registries, by name and by face
    fonts, faces = pdfmetrics._fonts, pdfmetrics._dynFaceNames
    saved = (dict(fonts), dict(faces))
    fonts.pop(pdffont.FONT_NAME, None)
    for face in [k for k, v in faces.items() if v.fontName == pdffont.FONT_NAME]:
        del faces[face]
    yield
    fonts.clear()
    fonts.update(saved[0])
    faces.clear()
    faces.update(saved[1])


def _embedded_fonts(pdf: bytes) -> dict[str, bool]:
    """BaseFont -> whether the TrueType program is embedded (FontFile2)."""
    from pypdf import PdfReader

    out = {}
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for ref in (page["/Resources"].get("/Font") or {}).values():
            font = ref.get_object()
            for desc_font in font.get("/DescendantFonts", [font]):
                desc = desc_font.get_object().get("/FontDescriptor")
                out[str(font["/BaseFont"])] = bool(desc and "/FontFile2" in desc.get_object())
    return out


def test_the_bundled_font_is_installed_with_its_licence():
    assert pdffont.BUNDLED_FONT.is_file(), "run `make install`"
    assert pdffont.BUNDLED_FONT.read_bytes()[:4] == b"\x00\x01\x00\x00"  # TrueType outlines, not CFF
    licence = (pdffont.BUNDLED_FONT.parent / "OFL.txt").read_text()
    assert "SIL Open Font License, Version 1.1" in licence


@override_settings(SUNSHINE_PDF_FONT="")
def test_a_pdf_embeds_only_the_glyphs_it_uses(unregistered):
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    c = canvas.Canvas(out)
    c.setFont(pdffont.register_cjk_font(), 12)
    c.drawString(72, 720, "阳光业扩受理回执 YK2026")
    c.save()
    fonts = _embedded_fonts(out.getvalue())
    [(name, embedded)] = [(n, e) for n, e in fonts.items() if "NotoSansSC" in n]
    assert re.fullmatch(r"/[A-Z]{6}\+NotoSansSC-Regular", name) and embedded
    assert len(out.getvalue()) < 30_000  # the font file is 10 MB


def test_a_missing_override_says_what_to_fix(unregistered, tmp_path):
    missing = tmp_path / "none.ttf"
    with (
        override_settings(SUNSHINE_PDF_FONT=str(missing)),
        pytest.raises(pdffont.FontMissing, match=re.escape(f"{missing} not found: fix SUNSHINE_PDF_FONT")),
    ):
        pdffont.register_cjk_font()
    assert pdffont.FONT_NAME not in pdfmetrics.getRegisteredFontNames()


def test_an_override_names_another_truetype_file(unregistered, tmp_path):
    other = tmp_path / "Other.ttf"
    shutil.copyfile(pdffont.BUNDLED_FONT, other)
    with override_settings(SUNSHINE_PDF_FONT=str(other)):
        assert pdffont.register_cjk_font() == pdffont.FONT_NAME
    assert pdfmetrics.getFont(pdffont.FONT_NAME).face.filename == str(other)


def _package(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def test_fetching_refuses_a_package_or_a_font_that_does_not_match_its_hash(tmp_path, monkeypatch):
    fa = _fetch_assets()
    font = b"\x00\x01\x00\x00 a font"
    tarball = _package({"package/f.ttf": font})
    monkeypatch.setattr(fa, "_tarball", lambda asset: tarball)

    def asset(integrity: str, sha: str):
        return fa.Asset("x", "1.0", integrity, tmp_path / "fonts", {"package/f.ttf": "f.ttf"}, {"f.ttf": sha})

    good_sha = hashlib.sha256(font).hexdigest()
    with pytest.raises(fa.AssetError, match="integrity mismatch"):
        fa.install(asset(_integrity(b"another tarball"), good_sha))
    with pytest.raises(fa.AssetError, match=r"f\.ttf has sha256"):
        fa.install(asset(_integrity(tarball), "0" * 64))
    assert not (tmp_path / "fonts").exists()  # nothing written by a refused package

    fa.install(asset(_integrity(tarball), good_sha))
    assert (tmp_path / "fonts" / "f.ttf").read_bytes() == font
    assert (tmp_path / "fonts" / ".version").read_text() == "1.0"
    monkeypatch.setattr(fa, "_tarball", lambda asset: pytest.fail("fetched again"))
    fa.install(asset(_integrity(tarball), good_sha))  # already there: nothing fetched


def test_the_font_is_pinned_by_both_hashes():
    fa = _fetch_assets()
    [font] = [a for a in fa.ASSETS if a.target == fa.FONTS]
    assert font.package == "@expo-google-fonts/noto-sans-sc" and font.version == "0.4.3"
    assert set(font.sha256) == {"NotoSansSC-Regular.ttf"}
    assert hashlib.sha256(pdffont.BUNDLED_FONT.read_bytes()).hexdigest() == font.sha256["NotoSansSC-Regular.ttf"]
