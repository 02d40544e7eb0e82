"""API v1 endpoints of the notifications capability (registered in sunshine/api/api.py)."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["notifications"])
