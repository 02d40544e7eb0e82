"""Static files go out compressed in every mode: a trial serves them straight from the apps (no
collectstatic), and the statistics page's ECharts is 1 MB uncompressed."""

from __future__ import annotations

import gzip
from pathlib import Path

from django.test import Client

ECHARTS = Path(__file__).resolve().parent.parent / "sunshine" / "static" / "vendor" / "echarts" / "echarts.min.js"


def test_echarts_is_sent_gzipped_to_a_browser_that_accepts_it():
    response = Client().get("/static/vendor/echarts/echarts.min.js", HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    body = b"".join(response.streaming_content)
    assert len(body) < 400_000 < ECHARTS.stat().st_size
    assert gzip.decompress(body) == ECHARTS.read_bytes()


def test_a_client_without_gzip_gets_the_plain_file():
    response = Client().get("/static/vendor/echarts/echarts.min.js")
    assert response.status_code == 200
    assert "Content-Encoding" not in response
    assert b"".join(response.streaming_content) == ECHARTS.read_bytes()
