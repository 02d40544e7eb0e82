"""The default processes of api-v1.md, used to seed a new database."""

from __future__ import annotations

from typing import Any

SOURCE = (
    "国家电网《客户业扩报装服务时限考核办法》; 低压按国家发改委、国家能源局2020年“获得电力”要求(居民5日、小微企业15日)"
)

# code, Chinese name, English name, owner, limit, optional, has_outcome, actor roles
_MGR = ["customer_manager", "leader"]
_ENG = ["engineer"]
_INTAKE = ["clerk", "customer_manager"]
_CUST = ["customer_manager", "clerk", "engineer"]

STAGES: dict[str, list[tuple[Any, ...]]] = {
    "lv_residential": [
        ("acceptance", "业务受理", "Acceptance", "utility", 1, False, False, _INTAKE),
        ("survey", "现场勘查", "Site survey", "utility", 2, False, False, [*_MGR, "engineer"]),
        (
            "connection",
            "装表接电",
            "Metering and connection",
            "utility",
            2,
            False,
            False,
            [*_MGR, "engineer"],
        ),
    ],
    "lv_non_residential": [
        ("acceptance", "业务受理", "Acceptance", "utility", 1, False, False, _INTAKE),
        ("survey", "现场勘查", "Site survey", "utility", 2, False, False, [*_MGR, "engineer"]),
        ("scheme", "供电方案答复", "Supply scheme", "utility", 3, False, False, [*_MGR, "engineer"]),
        ("grid_works", "电网配套工程", "Grid works", "utility", 7, True, False, [*_MGR, "engineer"]),
        (
            "connection",
            "装表接电",
            "Metering and connection",
            "utility",
            2,
            False,
            False,
            [*_MGR, "engineer"],
        ),
    ],
}


def _hv(scheme_days: int) -> list[tuple[Any, ...]]:
    return [
        ("acceptance", "业务受理", "Acceptance", "utility", 1, False, False, _INTAKE),
        (
            "scheme",
            "现场勘查及供电方案答复",
            "Survey and supply scheme",
            "utility",
            scheme_days,
            False,
            False,
            [*_MGR, "engineer"],
        ),
        ("customer_design", "客户设计", "Customer design", "customer", None, False, False, _CUST),
        ("design_review", "设计文件审查", "Design review", "utility", 10, True, True, _ENG),
        ("customer_construction", "客户施工", "Customer construction", "customer", None, False, False, _CUST),
        ("mid_inspection", "中间检查", "Mid-construction inspection", "utility", 5, True, True, _ENG),
        ("customer_completion", "客户竣工报验", "Customer completion", "customer", None, False, False, _CUST),
        ("completion_inspection", "竣工检验", "Completion inspection", "utility", 5, False, True, _ENG),
        (
            "customer_formalities",
            "合同签订及缴费",
            "Contract and fees",
            "customer",
            None,
            False,
            False,
            _CUST,
        ),
        (
            "connection",
            "装表接电",
            "Metering and connection",
            "utility",
            5,
            False,
            False,
            [*_MGR, "engineer"],
        ),
    ]


STAGES["hv_single"] = _hv(15)
STAGES["hv_dual"] = _hv(30)

END_TO_END = {"lv_residential": 5, "lv_non_residential": 15, "hv_single": None, "hv_dual": None}


def seed_default_processes(process_model: Any, stage_model: Any, effective_from: Any) -> None:
    """Create version 1 of each category that has no template yet."""
    for category, stages in STAGES.items():
        if process_model.objects.filter(category=category).exists():
            continue
        process = process_model.objects.create(
            category=category,
            version=1,
            effective_from=effective_from,
            source_note=SOURCE,
            end_to_end_limit_days=END_TO_END[category],
        )
        stage_model.objects.bulk_create(
            stage_model(
                process=process,
                position=i,
                code=code,
                name_zh=zh,
                name_en=en,
                owner=owner,
                time_limit_days=limit,
                optional=optional,
                has_outcome=outcome,
                actor_roles=list(roles),
            )
            for i, (code, zh, en, owner, limit, optional, outcome, roles) in enumerate(stages, start=1)
        )
