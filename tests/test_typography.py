"""Chinese typography as a rule, over every zh-Hans catalogue and every template:

- full-width punctuation in Chinese text (no ASCII ``,:;!?()`` next to a Chinese character);
- units written one way: kV, kVA, kW (symbols, never 千伏/千伏安/千瓦 in the interface) after a
  space (``0.4 kV``, ``10 kV``);
- in templates, no ASCII colon or bracket glued to a translated string (``{% translate "X" %}:``
  reads "营业厅柜台:" in Chinese): use ``{% colon %}``, ``{% lparen %}``/``{% rparen %}``;
- a person's name 姓 then 名 with no space, through one function (``User.display_name``).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.template import Context, Template
from django.utils import translation

from sunshine.accounts.models import User
from sunshine.design.text import voltage
from tests.test_i18n import CATALOGUES, _po_entries

ROOT = Path(__file__).resolve().parent.parent / "sunshine"
TEMPLATES = sorted(p for p in ROOT.rglob("*.html") if "templates" in p.parts)

CJK = r"[\u3400-\u9fff\u3000-\u303f\uff00-\uffef]"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{[^{}]*\}|%[sd]")
# ASCII punctuation with a Chinese character on either side (spaces in between allowed).
HALF_WIDTH = re.compile(rf"{CJK}\s*[,:;!?()]|[,:;!?()]\s*{CJK}")
CHINESE_UNITS = re.compile(r"千伏安|千伏|千瓦")
GLUED_UNIT = re.compile(r"\d(?:kV|kVA|kW)\b")
_AFTER = r"(?:endblocktranslate|translate \"[^\"]*\"(?: context \"[^\"]*\")?) ?%\}(?:</\w+>)*[:()]"
_BEFORE = r"[(](?:<\w+>)*\{% (?:block)?translate"
GLUED_TO_TRANSLATION = re.compile(f"{_AFTER}|{_BEFORE}")


# Arguments, not text: the ``yesno`` filter splits its argument on an ASCII comma.
FORMAT_ARGUMENTS = {"yes,no"}


def _msgstrs(po_path: Path) -> list[tuple[str, str]]:
    return [
        (e["id"], s) for e in _po_entries(po_path) if e["id"] and e["id"] not in FORMAT_ARGUMENTS for s in e["strs"]
    ]


@pytest.mark.parametrize("po_path", CATALOGUES, ids=lambda p: p.parts[-5])
def test_chinese_translations_use_full_width_punctuation(po_path):
    wrong = [(msgid, s) for msgid, s in _msgstrs(po_path) if HALF_WIDTH.search(PLACEHOLDER.sub("", s))]
    assert wrong == []


@pytest.mark.parametrize("po_path", CATALOGUES, ids=lambda p: p.parts[-5])
def test_units_are_written_one_way_in_the_catalogues(po_path):
    wrong = [s for _, s in _msgstrs(po_path) if CHINESE_UNITS.search(s) or GLUED_UNIT.search(s)]
    assert wrong == []


@pytest.mark.django_db
def test_the_fee_catalogue_writes_voltages_one_way():
    """The seeded catalogue as the migrations leave it (names, notes, bases, abolished charges):
    "10 kV", never "10千伏" (the public /fees/ page and the charge events show these names)."""
    from sunshine.directory.models import AbolishedCharge, FeeItem, FeeSchedule

    texts = [
        *FeeItem.objects.values_list("name_zh", "note", "legal_basis"),
        *AbolishedCharge.objects.values_list("name_zh", "description", "abolished_by"),
        *FeeSchedule.objects.values_list("title", "published_reference"),
    ]
    wrong = [t for row in texts for t in row if CHINESE_UNITS.search(t) or GLUED_UNIT.search(t)]
    assert wrong == []
    high_reliability = FeeItem.objects.filter(schedule__version=1, group="high_reliability")
    assert list(high_reliability.values_list("name_zh", flat=True)) == [
        "高可靠性供电费（0.4 kV）",
        "高可靠性供电费（10 kV）",
        "高可靠性供电费（35 kV）",
        "高可靠性供电费（110 kV）",
    ]


@pytest.mark.django_db
def test_the_migration_rewrites_a_catalogue_seeded_with_chinese_voltages_and_back():
    import importlib

    from django.apps import apps as django_apps

    from sunshine.directory.models import FeeItem

    migration = importlib.import_module("sunshine.directory.migrations.0006_voltages_written_as_kv")
    FeeItem.objects.filter(code="high_reliability_0_4kv").update(name_zh="高可靠性供电费（0.4千伏）")
    FeeItem.objects.filter(code="temporary_supply_10kv").update(name_zh="临时接电费（10 千伏）")
    migration.to_kv(django_apps, None)
    names = dict(FeeItem.objects.filter(schedule__version=1).values_list("code", "name_zh"))
    assert names["high_reliability_0_4kv"] == "高可靠性供电费（0.4 kV）"
    assert names["temporary_supply_10kv"] == "临时接电费（10 kV）"
    migration.to_chinese(django_apps, None)
    assert FeeItem.objects.get(code="high_reliability_110kv").name_zh == "高可靠性供电费（110千伏）"


def test_templates_have_no_half_width_punctuation_in_chinese_or_glued_to_a_translation():
    assert len(TEMPLATES) > 60, "the template walk found too few templates"
    wrong = []
    for path in TEMPLATES:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            text = PLACEHOLDER.sub("", re.sub(r"\{%.*?%\}", "", line))
            if HALF_WIDTH.search(text) or CHINESE_UNITS.search(text) or GLUED_TO_TRANSLATION.search(line):
                wrong.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert wrong == []


def test_the_punctuation_tags_follow_the_language():
    tpl = Template("{% load ui %}{% colon %}|{% lparen %}x{% rparen %}")
    with translation.override("zh-hans"):
        assert tpl.render(Context()) == "：|（x）"
    with translation.override("en"):
        assert tpl.render(Context()) == ":  | (x)".replace("  ", " ")


@pytest.mark.parametrize(
    ("value", "expected"), [("0.4", "0.4 kV"), ("10", "10 kV"), ("10.0", "10 kV"), (35, "35 kV"), ("", "")]
)
def test_a_voltage_is_written_with_a_space_and_kv(value, expected):
    assert voltage(value) == expected


@pytest.mark.django_db
def test_a_name_is_surname_then_given_name_with_no_space_everywhere():
    leader = User(username="leader", last_name="刘", first_name="主任", role="leader")
    nameless = User(username="admin2", role="admin")
    assert (leader.display_name, leader.get_full_name(), leader.get_short_name()) == ("刘主任", "刘主任", "刘主任")
    assert nameless.get_full_name() == "admin2"
    tpl = Template("{% load ui %}{{ u|person }}")
    assert tpl.render(Context({"u": leader})) == "刘主任"
