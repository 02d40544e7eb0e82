"""Seed data: the first published fee catalogue, the abolished charges, and demo contractors.

Functions take the model classes so the data migration can pass its historical models.

The rates of the first catalogue are the values this installation starts with; an
administrator publishes the province's current document as a new schedule version (admin:
费用目录) and that version applies from its effective date. The demo contractors are invented
(names start with 示例 "example", credit codes are made up, phones are 0351-555xxxx) and are
only loaded by ``manage.py seed_directory_demo``.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

FIRST_SCHEDULE = {
    "version": 1,
    "title": "供电企业业扩报装收费目录",
    "effective_from": date(2021, 3, 1),
    "published_reference": (
        "国务院办公厅转发国家发展改革委等部门《关于清理规范城镇供水供电供气供暖行业收费促进行业高质量"
        "发展意见的通知》（国办函〔2020〕129号）；省发展改革委高可靠性供电费、临时接电费收费标准（初始费率，"
        "以省级价格主管部门现行文件为准）"
    ),
}

_HR_BASIS = "国办函〔2020〕129号保留项目；省发展改革委高可靠性供电费收费标准"
_TEMP_BASIS = "国办函〔2020〕129号保留项目；省发展改革委临时接电费收费标准（临时用电结束后按规定退还）"

# code, name_zh, name_en, legal basis, basis, amount, unit, voltage, group, note
FEE_ITEMS: list[tuple[str, str, str, str, str, str, str, str, str, str]] = [
    (
        "high_reliability_0_4kv",
        "高可靠性供电费（0.4 kV）",
        "High-reliability supply fee (0.4 kV)",
        _HR_BASIS,
        "per_unit",
        "200.00",
        "kVA",
        "0.4kV",
        "high_reliability",
        "按双（多）电源客户备用电源回路的容量计收",
    ),
    (
        "high_reliability_10kv",
        "高可靠性供电费（10 kV）",
        "High-reliability supply fee (10 kV)",
        _HR_BASIS,
        "per_unit",
        "165.00",
        "kVA",
        "10kV",
        "high_reliability",
        "按双（多）电源客户备用电源回路的容量计收",
    ),
    (
        "high_reliability_35kv",
        "高可靠性供电费（35 kV）",
        "High-reliability supply fee (35 kV)",
        _HR_BASIS,
        "per_unit",
        "130.00",
        "kVA",
        "35kV",
        "high_reliability",
        "按双（多）电源客户备用电源回路的容量计收",
    ),
    (
        "high_reliability_110kv",
        "高可靠性供电费（110 kV）",
        "High-reliability supply fee (110 kV)",
        _HR_BASIS,
        "per_unit",
        "95.00",
        "kVA",
        "110kV",
        "high_reliability",
        "按双（多）电源客户备用电源回路的容量计收",
    ),
    (
        "temporary_supply_0_4kv",
        "临时接电费（0.4 kV）",
        "Temporary supply fee (0.4 kV)",
        _TEMP_BASIS,
        "per_unit",
        "100.00",
        "kVA",
        "0.4kV",
        "temporary_supply",
        "临时用电期满拆除后退还",
    ),
    (
        "temporary_supply_10kv",
        "临时接电费（10 kV）",
        "Temporary supply fee (10 kV)",
        _TEMP_BASIS,
        "per_unit",
        "80.00",
        "kVA",
        "10kV",
        "temporary_supply",
        "临时用电期满拆除后退还",
    ),
]

_GOV_2020 = (
    "国务院办公厅转发国家发展改革委等部门《关于清理规范城镇供水供电供气供暖行业收费促进行业高质量发展"
    "意见的通知》（国办函〔2020〕129号，2020年12月）"
)
_NDRC_2022 = "国家发展改革委等部门2022年供水供电供气供暖行业收费自查自纠通知"

# name_zh, name_en, description, abolished by
ABOLISHED: list[tuple[str, str, str, str]] = [
    ("移表费", "Meter relocation fee", "供电企业在接入环节向用户收取的移表费", _GOV_2020),
    ("计量装置赔偿费", "Metering-device compensation", "计量装置由供电企业负担，不得向用户收取", _GOV_2020),
    ("调试费", "Commissioning fee", "含互感器试验、电缆试验、配电室试验等各类调试、试验费用", _GOV_2020),
    ("环境监测费", "Environmental monitoring fee", "接入环节不得收取", _GOV_2020),
    ("高压电缆介损试验费、震荡波试验费", "HV cable tests", "接入环节不得收取", _GOV_2020),
    ("低压计量检测费", "LV metering test fee", "接入环节不得收取", _GOV_2020),
    (
        "建筑区划红线外工程费用",
        "Works outside the building red line",
        "建筑区划红线外发生的任何费用不得由用户承担",
        _GOV_2020,
    ),
    (
        "代收代缴其他费用",
        "Collecting fees for third parties",
        "供电企业不得代收其他单位的费用",
        _NDRC_2022,
    ),
]


def seed_fee_catalogue(FeeSchedule: Any, FeeItem: Any, AbolishedCharge: Any) -> None:
    schedule = FeeSchedule.objects.create(**FIRST_SCHEDULE)
    FeeItem.objects.bulk_create(
        FeeItem(
            schedule=schedule,
            code=code,
            name_zh=zh,
            name_en=en,
            legal_basis=legal,
            basis=basis,
            amount=Decimal(amount),
            unit=unit,
            voltage_level=voltage,
            group=group,
            position=i,
            note=note,
        )
        for i, (code, zh, en, legal, basis, amount, unit, voltage, group, note) in enumerate(FEE_ITEMS, start=1)
    )
    AbolishedCharge.objects.bulk_create(
        AbolishedCharge(
            name_zh=zh, name_en=en, description=desc, abolished_by=by, abolished_on=date(2020, 12, 30), position=i
        )
        for i, (zh, en, desc, by) in enumerate(ABOLISHED, start=1)
    )


# kind, name, licence class, licence expires on (None: no expiring licence), area served
DEMO_CONTRACTORS: list[tuple[str, str, str, date | None, str]] = [
    ("design", "示例晋阳电力设计有限公司", "design_b", date(2028, 6, 30), "太原市全市"),
    ("design", "示例汾河工程设计院", "design_a", date(2029, 3, 31), "山西省"),
    ("design", "示例龙城电气设计事务所", "design_c", date(2027, 12, 31), "小店区、晋源区"),
    ("design", "示例并州能源设计有限公司", "design_b", date(2026, 8, 31), "太原市全市"),  # expired
    ("construction", "示例迎泽电力安装工程有限公司", "ims_3", date(2028, 10, 31), "太原市全市"),
    ("construction", "示例晋祠输变电工程有限公司", "ims_2", date(2029, 5, 31), "山西省"),
    ("construction", "示例尖草坪电气安装有限公司", "ims_4", date(2027, 9, 30), "尖草坪区、杏花岭区"),
    ("construction", "示例万柏林电力工程有限公司", "ims_5", date(2027, 4, 30), "万柏林区"),
    ("construction", "示例杏花岭机电安装有限公司", "ims_4", date(2026, 10, 31), "杏花岭区"),  # expired
    ("construction", "示例太行送变电工程有限公司", "ims_1", date(2030, 1, 31), "华北地区"),
    ("supply", "示例三晋电气设备有限公司", "business", None, "山西省"),
    ("supply", "示例晋源电缆材料有限公司", "business", None, "太原市全市"),
    ("supply", "示例小店开关成套设备有限公司", "business", None, "太原市全市"),
    ("supply", "示例汾阳变压器制造有限公司", "business", None, "山西省"),
    ("supply", "示例北方电力物资有限公司", "business", None, "华北地区"),
]


def demo_credit_code(i: int) -> str:
    """An invented but well-formed 统一社会信用代码 (91 140100 MA0DEMO<nn> + check character)."""
    from stdnum.cn import uscc

    body = f"91140100MA0DEM{i:03d}"
    return body + uscc.calc_check_digit(body)


def seed_demo_contractors(Contractor: Any) -> int:
    """Create the demo contractors that are missing (by credit code); returns how many."""
    from sunshine.directory.rules import search_key

    created = 0
    for i, (kind, name, licence, expires, area) in enumerate(DEMO_CONTRACTORS, start=1):
        code = demo_credit_code(i)
        _, made = Contractor.objects.get_or_create(
            credit_code=code,
            defaults={
                "kind": kind,
                "name": name,
                "name_pinyin": search_key(name),
                "licence_class": licence,
                "licence_number": f"示例许可-{i:04d}" if expires else "",
                "licence_expires_on": expires,
                "contact_phone": f"0351-555{i:04d}",
                "area_served": area,
                "active": True,
            },
        )
        created += made
    return created
