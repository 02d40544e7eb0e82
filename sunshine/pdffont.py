"""The CJK TrueType font embedded (subset) in every PDF: the acceptance receipt and the reports.

``make install`` fetches Noto Sans SC (SIL Open Font License 1.1) as a TrueType file from the npm
registry, checks it against its published integrity hash and puts it under ``sunshine/fonts/``
(not committed; ``scripts/fetch_assets.py``). reportlab embeds only the glyphs a PDF uses, so a
receipt stays a few dozen kilobytes. reportlab reads TrueType outlines only (not the CFF outlines
of an ``.otf``, nor ``.woff2``). ``SUNSHINE_PDF_FONT`` may name another TrueType file (``.ttf``, or
the first face of a ``.ttc``), e.g. a system font.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

FONT_NAME = "SunshineCJK"
BUNDLED_FONT = Path(__file__).resolve().parent / "fonts" / "NotoSansSC-Regular.ttf"


class FontMissing(RuntimeError):
    """The configured font file is not there: say what to run."""

    def __init__(self, path: Path) -> None:
        hint = (
            "run `make install` (it fetches the project's font)"
            if path == BUNDLED_FONT
            else "fix SUNSHINE_PDF_FONT or unset it to use the project's font"
        )
        super().__init__(f"PDF font {path} not found: {hint}")
        self.path = path


def font_path() -> Path:
    configured = getattr(settings, "SUNSHINE_PDF_FONT", "")
    return Path(configured) if configured else BUNDLED_FONT


def register_cjk_font() -> str:
    """Register the font with reportlab once per process; returns its reportlab name."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if FONT_NAME in pdfmetrics.getRegisteredFontNames():
        return FONT_NAME
    path = font_path()
    if not path.is_file():
        raise FontMissing(path)
    pdfmetrics.registerFont(TTFont(FONT_NAME, str(path), subfontIndex=0))
    return FONT_NAME
