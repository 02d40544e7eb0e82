"""API v1: the tree of company units (added to the API in sunshine/api/api.py)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router

from sunshine.accounts import units
from sunshine.api import schemas
from sunshine.api.common import staff

router = Router(tags=["units"])


@router.get("/units", response=schemas.UnitList, operation_id="sunshine_api_units")
def unit_tree(request: HttpRequest) -> dict[str, Any]:
    """Every unit, parents before their children (``parent``: the parent's code). Staff see the
    whole tree; what they may read is their own unit's subtree (``unit`` filter of the lists)."""
    staff(request)
    tree = units.tree()
    return {
        "results": [
            {
                "code": n.code,
                "name": n.name,
                "kind": n.kind,
                "path": n.path,
                "depth": n.depth,
                "parent": tree.nodes[n.parent_id].code if n.parent_id in tree.nodes else None,
            }
            for n in sorted(tree.nodes.values(), key=lambda n: n.path)
        ]
    }
