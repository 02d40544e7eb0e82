"""The default document checklist per category (domain.md §1 一证受理, §2 nodes), used to seed a
new database. code, Chinese name, English name, categories, ID type, identity, needed by stage."""

from __future__ import annotations

from typing import Any

LV = ["lv_residential", "lv_non_residential"]
HV = ["hv_single", "hv_dual"]
ALL = LV + HV
BUSINESS = ["lv_non_residential", *HV]

KINDS: list[tuple[Any, ...]] = [
    ("id_card", "居民身份证", "Resident ID card", ALL, "resident_id", True, ""),
    ("business_licence", "营业执照", "Business licence", ALL, "uscc", True, ""),
    ("property_proof", "房屋或土地产权证明（或租赁协议）", "Proof of property (or lease)", ALL, "", False, "survey"),
    ("load_list", "用电设备清单", "List of electrical equipment", BUSINESS, "", False, "scheme"),
    (
        "project_approval",
        "项目批准（核准、备案）文件",
        "Project approval (or filing) document",
        HV,
        "",
        False,
        "scheme",
    ),
    ("design_documents", "设计文件及图纸", "Design documents and drawings", HV, "", False, "design_review"),
    (
        "contractor_licence",
        "施工单位承装（修、试）电力设施许可证",
        "Construction unit's power installation licence",
        HV,
        "",
        False,
        "completion_inspection",
    ),
    (
        "completion_report",
        "竣工报告及试验报告",
        "Completion and test reports",
        HV,
        "",
        False,
        "completion_inspection",
    ),
]


def seed_document_kinds(kind_model: Any) -> None:
    """Create the kinds not yet in the table (an administrator's edits win)."""
    existing = set(kind_model.objects.values_list("code", flat=True))
    kind_model.objects.bulk_create(
        kind_model(
            code=code,
            name_zh=zh,
            name_en=en,
            categories=list(categories),
            id_type=id_type,
            identity=identity,
            needed_by_stage=stage,
            position=i * 10,
        )
        for i, (code, zh, en, categories, id_type, identity, stage) in enumerate(KINDS, start=1)
        if code not in existing
    )
