"""Synthetic applications for demos and benchmarks, built in memory and bulk-inserted.

Each application's history is *simulated*: a sequence of dated actions (intake, complete,
skip, pause, resume, cancel) applied through the engine's own rules
(``sunshine.applications.rules``: the stages of a new application, stage start and deadline,
send-back on a failed review, skips, pause accounting), the same functions the services call,
on plain records instead of rows. Actions dated after "now" are not applied, so the result is exactly
the state the engine would show today: some stages on time, some overdue, some paused, some
reviews failed, some applications completed or cancelled.

``Generator.build`` yields plain records (no model instances: building ~20 of them per
application was most of the cost); ``save_batch`` gives them ids and writes them with COPY
(PostgreSQL) or executemany (SQLite). ``seed_demo`` and ``generate_load`` both use them. Events
pass ``events.validate`` (the payload checks of ``events.record``), utility stages get their holder
as ``services._start`` gives it, and ``generate_load`` stores the running stages' rung moments
(``rung_moments``).
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from itertools import accumulate
from typing import Any

from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper
from django.db.models import Field, ForeignKey, Model
from django.utils import timezone
from stdnum import luhn
from stdnum.cn import ric, uscc

from sunshine.accounts.models import ServiceArea, User, default_unit_id
from sunshine.applications import rules
from sunshine.applications.audit import event_hash
from sunshine.applications.events import EventType, validate
from sunshine.applications.models import (
    Application,
    BusinessType,
    CapacityUnit,
    Channel,
    Customer,
    Event,
    IdType,
    Outcome,
    Pause,
    PauseReason,
    StageInstance,
    StageStatus,
    Status,
)
from sunshine.calendar import workdays
from sunshine.pii.crypto import encrypt_many, id_index, phone_index
from sunshine.processes.models import Category, Owner, ProcessTemplate, StageTemplate
from sunshine.processes.selectors import process_in_force
from sunshine.supervision import rungs
from sunshine.supervision.models import RungMoment

# --- identities, names, addresses ------------------------------------------------------------

# Birth-place codes that python-stdnum accepts for every birth year we generate (1955-2004):
# 太原市, 清徐县, 阳曲县, 娄烦县, 大同市, 阳泉市, 长治市 and 北京市朝阳区.
BIRTH_PLACES = ["140100", "140121", "140122", "140123", "140200", "140300", "140400", "110105"]
# Administrative division codes of Taiyuan's six urban districts (for USCCs).
DISTRICT_CODES = {
    "小店区": "140105",
    "迎泽区": "140106",
    "杏花岭区": "140107",
    "尖草坪区": "140108",
    "万柏林区": "140109",
    "晋源区": "140110",
}
# Streets per district; no street name contains another district's keyword.
STREETS = {
    "小店区": ["长治路", "体育路", "平阳路", "学府街", "亲贤北街", "坞城路", "康宁街", "北营南路"],
    "迎泽区": ["迎泽大街", "柳巷", "五一路", "双塔西街", "朝阳街", "建设南路", "桥东街", "郝庄正街"],
    "杏花岭区": ["胜利街", "府西街", "解放路", "五龙口街", "新建路", "三墙路", "敦化坊街"],
    "尖草坪区": ["兴华街", "胜利北街", "柴村街", "新兰路", "光社路", "古城大街", "和平北路北段"],
    "万柏林区": ["千峰南路", "长风西街", "漪汾街", "和平南路", "兴华西街", "玉河街", "西矿街"],
    "晋源区": ["晋祠路一段", "晋祠路二段", "晋阳街", "长兴南街", "古城营街", "南屯路"],
}
# Districts of another city (the demo's 大同): drawn only when a Generator is given them.
OTHER_STREETS = {
    "平城区": ["御河西路", "永泰南路", "魏都大道", "迎宾街", "红旗街"],
    "云冈区": ["新胜街", "同泉路", "泉城路", "开源街"],
}
CITY_OF = {"平城区": "大同市", "云冈区": "大同市"}
BUILDINGS = ["小区", "花园", "家园", "苑", "大厦", "工业园", "产业园"]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"  # noqa: E501
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉建国志文斌宇浩凯健俊帆晨欣怡佳琪雪梅海燕晓东春晖丹"
COMPANY_WORDS = [
    "晋阳",
    "龙城",
    "汾河",
    "并州",
    "太行",
    "晋商",
    "三晋",
    "锦绣",
    "晋祠",
    "天龙",
    "华晋",
    "恒达",
]
COMPANY_KINDS = [
    "科技有限公司",
    "商贸有限公司",
    "餐饮管理有限公司",
    "食品有限公司",
    "物业管理有限公司",
    "机械制造有限公司",
    "医药有限公司",
    "建材有限公司",
    "物流有限公司",
    "置业有限公司",
]
HV_KINDS = [
    "钢铁有限公司",
    "数据科技有限公司",
    "化工有限公司",
    "医院",
    "新材料股份有限公司",
    "轨道交通有限公司",
]
PHONE_PREFIXES = [
    "130",
    "131",
    "132",
    "133",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "155",
    "156",
    "157",
    "158",
    "159",
    "166",
    "173",
    "177",
    "180",
    "181",
    "185",
    "186",
    "187",
    "188",
    "189",
    "191",
    "199",
]
ORG_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
DEFECTS = {
    "design_review": [
        "接地系统设计不满足规范要求",
        "开关柜选型与供电方案不符",
        "计量装置配置不符合要求",
        "电缆截面偏小，载流量不足",
        "未提供继电保护整定计算书",
    ],
    "mid_inspection": ["电缆沟防水处理不到位", "接地网焊接不合格", "隐蔽工程未留影像资料"],
    "completion_inspection": [
        "变压器试验报告缺失",
        "安全工器具配置不全",
        "柜体标识不规范",
        "继电保护定值与整定单不符",
    ],
}
PAUSE_TEXT = {
    PauseReason.MISSING_DOCUMENTS: "客户产权证明待补充",
    PauseReason.CUSTOMER_REQUEST: "客户要求暂缓现场勘查",
    PauseReason.GOVERNMENT_APPROVAL: "等待规划许可审批",
    PauseReason.FORCE_MAJEURE: "暴雨天气无法施工",
}


# A share of the identity and number spaces: (k, m) draws only values that are k modulo m, so
# that m writer processes (generate_load --jobs m) never produce the same identity or number and
# cannot collide on a unique index inside concurrent transactions. (0, 1) is the whole space and
# draws exactly what the code drew before shares existed (same seed, same data).
Part = tuple[int, int]
WHOLE: Part = (0, 1)


def _draw(rng: random.Random, n: int, part: Part) -> int:
    k, m = part
    return rng.randrange(n // m) * m + k


def resident_id(rng: random.Random, part: Part = WHOLE) -> str:
    born = date(1955, 1, 1) + timedelta(days=rng.randrange(50 * 365))
    body = f"{rng.choice(BIRTH_PLACES)}{born:%Y%m%d}{_draw(rng, 1000, part):03d}"
    return body + ric.calc_check_digit(body + "0")


def org_code(rng: random.Random, part: Part = WHOLE) -> str:
    """A 9-character organisation code (GB 11714) with its check character."""
    body = "".join(rng.choice("0123456789") for _ in range(7))
    body += rng.choice("0123456789") if part == WHOLE else str(_draw(rng, 10, part))
    total = sum(int(c) * w for c, w in zip(body, (3, 7, 9, 10, 5, 8, 4, 2), strict=True))
    check = 11 - total % 11
    return body + ("X" if check == 10 else "0" if check == 11 else str(check))


def credit_code(rng: random.Random, district: str, part: Part = WHOLE, division: str | None = None) -> str:
    body = "91" + (division or DISTRICT_CODES.get(district, "140100")) + org_code(rng, part)
    return body + uscc.calc_check_digit(body)


def phone(rng: random.Random) -> str:
    return rng.choice(PHONE_PREFIXES) + f"{rng.randrange(10**8):08d}"


def cheap_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))


def company_name(rng: random.Random, hv: bool) -> str:
    return "太原" + rng.choice(COMPANY_WORDS) + rng.choice(HV_KINDS if hv else COMPANY_KINDS)


def address(rng: random.Random, district: str) -> str:
    street = rng.choice(STREETS.get(district) or OTHER_STREETS[district])
    city = CITY_OF.get(district, "太原市")
    if rng.random() < 0.5:
        return f"山西省{city}{district}{street}{rng.randrange(1, 400)}号"
    return (
        f"山西省{city}{district}{street}{rng.randrange(1, 400)}号{rng.choice(SURNAMES)}"
        f"{rng.choice(BUILDINGS)}{rng.randrange(1, 30)}号楼"
    )


def province_address(rng: random.Random, city_name: str, county: str, streets: list[str]) -> str:
    """An address in a county of the province (``sunshine.ops.province``): 山西省阳泉市城区…"""
    street = rng.choice(streets)
    if rng.random() < 0.5:
        return f"山西省{city_name}市{county}{street}{rng.randrange(1, 400)}号"
    return (
        f"山西省{city_name}市{county}{street}{rng.randrange(1, 400)}号{rng.choice(SURNAMES)}"
        f"{rng.choice(BUILDINGS)}{rng.randrange(1, 30)}号楼"
    )


def number_for(on: date, rng: random.Random, part: Part = WHOLE) -> str:
    """Same format as ``services.new_number`` (YK + yymmdd + 6 digits + Luhn), from ``rng``."""
    body = f"{on:%y%m%d}{_draw(rng, 10**6, part):06d}"
    return f"YK{body}{luhn.calc_check_digit(body)}"


def match_area(text: str, areas: list[tuple[ServiceArea, list[str]]]) -> ServiceArea | None:
    """``services.match_area`` over preloaded (area, keywords) pairs (sorted by code)."""
    for area, keywords in areas:
        if any(k in text for k in keywords):
            return area
    return None


# --- reference data --------------------------------------------------------------------------


@dataclass
class People:
    managers: list[User]
    clerk: User | None = None
    engineer: User | None = None


@dataclass
class Refs:
    processes: dict[str, tuple[ProcessTemplate, list[StageTemplate]]]
    areas: list[tuple[ServiceArea, list[str]]]
    people: People
    # The counties to spread over (``sunshine.ops.province.Place``: unit, weight, managers);
    # empty: Taiyuan's districts and ``people.managers`` in turn (seed_demo).
    places: list[Any] = field(default_factory=list)

    @classmethod
    def load(cls, people: People, on: date) -> Refs:
        processes = {}
        for category in Category.values:
            process = process_in_force(category, on) or (
                ProcessTemplate.objects.filter(category=category)
                .order_by("effective_from", "version")
                .prefetch_related("stages")
                .first()
            )
            if process is None:
                raise LookupError(f"no process template for {category}; run migrate first")
            processes[category] = (process, sorted(process.stages.all(), key=lambda t: t.position))
        areas = [(a, a.keyword_list()) for a in sorted(ServiceArea.objects.all(), key=lambda a: a.code)]
        return cls(processes, areas, people)


# --- plain records (one per future row; ids are given when a batch is saved) -----------------


@dataclass(slots=True, eq=False)
class CustomerRow:
    id_type: str
    id_number: str
    name: str
    phone: str
    id: int | None = None


@dataclass(slots=True, eq=False)
class AppRow:
    number: str
    category: str
    business_type: str
    channel: str
    customer: CustomerRow
    customer_name: str
    contact_phone: str
    address: str
    area_id: int | None
    requested_capacity: Decimal
    capacity_unit: str
    key_project: bool
    customer_manager_id: int | None
    process_id: int
    accepted_at: datetime
    status: str = Status.IN_PROGRESS
    current_stage: str | None = None
    completed_at: datetime | None = None
    cancelled_at: datetime | None = None
    id: int | None = None
    unit_id: int | None = None  # None: the area's unit is not known, the top unit (services.unit_for)


@dataclass(slots=True, eq=False)
class StageRow:
    template: StageTemplate
    seq: int
    code: str
    round: int
    owner: str
    status: str = StageStatus.PENDING
    time_limit_days: int | None = None
    started_at: datetime | None = None
    started_on: date | None = None
    completed_at: datetime | None = None
    completed_on: date | None = None
    paused_working_days: int = 0
    deadline: date | None = None
    deadline_provisional: bool = False
    outcome: str | None = None
    defects: list[str] = field(default_factory=list)
    note: str = ""
    manager_id: int | None = None  # the holder of a utility stage (set when it starts, as services do)
    id: int | None = None


@dataclass(slots=True, eq=False)
class PauseRow:
    stage: StageRow
    reason_code: str
    reason: str
    started_at: datetime
    started_on: date
    paused_by_id: int | None
    ended_at: datetime | None = None
    ended_on: date | None = None
    working_days: int | None = None
    resumed_by_id: int | None = None


# An event: (type, at, actor_id, stage code, round, data).
EventRow = tuple[str, datetime, int | None, str | None, int | None, dict[str, Any]]


def _pk(user: User | None) -> int | None:
    return user.pk if user is not None else None


# --- the simulator ----------------------------------------------------------------------------


class Calendar:
    """The calendar loaded once for a whole batch (``rules.Calendar``), widened through
    ``workdays`` (as the services' calendar is) for a date outside it."""

    def __init__(self, cal: workdays.WorkCalendar) -> None:
        self.cal = cal

    def add_working_days(self, start: date, n: int) -> date:
        try:
            return self.cal.add_working_days(start, n)
        except workdays.OutOfRange:
            return workdays.add_working_days(start, n)

    def working_days_in(self, a: date, b: date) -> int:
        try:
            return self.cal.working_days_in(a, b)
        except workdays.OutOfRange:
            return workdays.working_days_in(a, b)

    def touches_provisional(self, a: date, b: date) -> bool:
        return self.cal.touches_provisional(a, b)

    def is_working_day(self, day: date) -> bool:
        return self.cal.is_working_day(day)


class Stop(Exception):
    """The next action lies after "now": the application stays as it is."""


class Simulation:
    """One application's history, following ``services`` rule for rule on plain records."""

    def __init__(self, app: AppRow, templates: list[StageTemplate], now: datetime, cal: rules.Calendar) -> None:
        self.app = app
        self.templates = templates
        self.now = now
        self.cal = cal
        self.stages: list[StageRow] = []
        self.pauses: list[PauseRow] = []
        self.events: list[EventRow] = []
        self.open_pause: PauseRow | None = None
        self.t: datetime = app.accepted_at
        self.manager: User | None = None  # actor of pauses and cancellations

    def _event(
        self, type_: EventType, at: datetime, actor: User | None, stage: StageRow | None = None, **data: Any
    ) -> None:
        # The payload checks of events.record (events.validate): a generated event is one the
        # engine could have recorded. (Plain tuples rather than events.new's Event objects: ~11
        # model instances per application were most of the generator's time.)
        validate(type_, data)
        self.events.append(
            (
                type_.value,
                at,
                actor.pk if actor is not None else None,
                stage.code if stage else None,
                stage.round if stage else None,
                data,
            )
        )

    def _add(self, start: date, n: int) -> date:
        return self.cal.add_working_days(start, n)

    def _start(self, stage: StageRow, at: datetime) -> None:
        rules.start(stage, at, at.date(), self.cal)
        if stage.owner == Owner.UTILITY:  # who holds the work while it runs (services._start)
            stage.manager_id = self.app.customer_manager_id

    def current(self) -> StageRow | None:
        for s in self.stages:
            if s.status in (StageStatus.IN_PROGRESS, StageStatus.PAUSED):
                return s
        return None

    def _advance(self, done: StageRow, at: datetime, actor: User | None) -> None:
        nxt = rules.next_pending(self.stages, done)
        if nxt is not None:
            self._start(nxt, at)
            self.app.current_stage = nxt.code
            self._event(EventType.STAGE_STARTED, at, actor, nxt, deadline=_iso(nxt.deadline))
        else:
            self.app.current_stage = None
            self.app.status = Status.COMPLETED
            self.app.completed_at = at
            self._event(EventType.COMPLETED, at, actor)

    # time: every action happens at or after the previous one and never after "now"
    def at_on(self, day: date, rng: random.Random) -> datetime:
        if day < self.t.date():
            day = self.t.date()
        candidate = datetime.combine(day, time(8, 30), tzinfo=self.t.tzinfo) + timedelta(minutes=rng.randrange(9 * 60))
        if candidate <= self.t:
            candidate = self.t + timedelta(minutes=rng.randrange(1, 20))
            if candidate.date() != day:
                candidate = self.t
        if candidate > self.now:
            raise Stop
        self.t = candidate
        return candidate

    # actions
    def intake(self, actor: User | None, data: dict[str, Any]) -> None:
        app, at = self.app, self.app.accepted_at
        self.stages = [StageRow(**vars(new)) for new in rules.initial_stages(self.templates)]
        self._event(EventType.INTAKE, at, actor, **data)
        first = self.stages[0]
        self._start(first, at)
        app.current_stage = first.code
        self._event(EventType.STAGE_STARTED, at, actor, first, deadline=_iso(first.deadline))
        if app.channel == Channel.COUNTER:
            first.status = StageStatus.COMPLETED
            first.completed_at, first.completed_on = at, at.date()
            self._event(EventType.STAGE_COMPLETED, at, actor, first, outcome=None)
            self._advance(first, at, actor)

    def complete(
        self,
        stage: StageRow,
        at: datetime,
        actor: User | None,
        *,
        outcome: str | None = None,
        defects: list[str] | None = None,
        note: str = "",
    ) -> None:
        assert stage is self.current() and stage.status == StageStatus.IN_PROGRESS
        defects = defects or []
        rules.complete(stage, at, at.date(), outcome=outcome or Outcome.PASSED, defects=defects, note=note)
        self._event(
            EventType.STAGE_COMPLETED,
            at,
            actor,
            stage,
            outcome=stage.outcome,
            defects=defects,
            note=note,
            deadline=_iso(stage.deadline),
        )
        if rules.sends_back(stage):
            self._send_back(stage, at, actor)
        else:
            self._advance(stage, at, actor)

    def _send_back(self, failed: StageRow, at: datetime, actor: User | None) -> None:
        rounds = rules.send_back(self.templates, self.stages, failed)
        assert rounds is not None, "every process has a customer stage before its reviews"
        for s in self.stages:
            if s.seq > failed.seq:
                s.seq += 2
        back, again = (StageRow(**vars(new)) for new in rounds)
        self._start(back, at)
        self.stages.extend([back, again])
        self.stages.sort(key=lambda s: s.seq)
        self.app.current_stage = back.code
        self._event(EventType.STAGE_STARTED, at, actor, back, returned_from=failed.code, defects=failed.defects)

    def skip(self, stage: StageRow, at: datetime, actor: User | None, reason: str) -> None:
        assert stage.template.optional and stage.status in (StageStatus.PENDING, StageStatus.IN_PROGRESS)
        assert self.app.status == Status.IN_PROGRESS
        was_current = rules.skip(stage, at, at.date(), reason)
        self._event(EventType.STAGE_SKIPPED, at, actor, stage, reason=reason)
        if was_current:
            self._advance(stage, at, actor)

    def pause(self, at: datetime, actor: User | None, reason_code: str, reason: str) -> None:
        stage = self.current()
        assert stage is not None and stage.owner == Owner.UTILITY and self.app.status == Status.IN_PROGRESS
        self.open_pause = PauseRow(
            stage=stage,
            reason_code=reason_code,
            reason=reason,
            started_at=at,
            started_on=at.date(),
            paused_by_id=_pk(actor),
        )
        self.pauses.append(self.open_pause)
        stage.status = StageStatus.PAUSED
        self.app.status = Status.PAUSED
        self._event(EventType.PAUSED, at, actor, stage, reason_code=reason_code, reason=reason)

    def _close_pause(self, at: datetime, actor: User | None) -> tuple[StageRow, int]:
        p = self.open_pause
        assert p is not None
        today = at.date()
        days = rules.pause_days(self.cal, p.started_on, today)
        p.ended_at, p.ended_on, p.working_days, p.resumed_by_id = at, today, days, _pk(actor)
        stage = p.stage
        rules.resume(stage, days, self.cal)
        self.open_pause = None
        return stage, days

    def resume(self, at: datetime, actor: User | None) -> None:
        assert self.app.status == Status.PAUSED
        stage, days = self._close_pause(at, actor)
        self.app.status = Status.IN_PROGRESS
        self._event(EventType.RESUMED, at, actor, stage, paused_working_days=days, deadline=_iso(stage.deadline))

    def cancel(self, at: datetime, actor: User | None, reason: str) -> None:
        assert self.app.status in (Status.IN_PROGRESS, Status.PAUSED)
        if self.open_pause is not None:
            self._close_pause(at, actor)
        stage_code = self.app.current_stage
        self.app.status = Status.CANCELLED
        self.app.cancelled_at = at
        self.app.current_stage = None
        self._event(EventType.CANCELLED, at, actor, reason=reason, stage_code=stage_code)


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None


# --- plans ------------------------------------------------------------------------------------


@dataclass
class StagePlan:
    """What happens to one round of one stage; None fields are drawn at random."""

    days: int | None = None  # working days from start to completion (pauses not counted)
    pause: tuple[int, int] | None = None  # (after working days, for working days)
    outcome: str | None = None
    skip: bool | None = None
    cancel_after: int | None = None  # cancel this many working days after the stage started


@dataclass
class Scenario:
    name: str
    category: str
    channel: str
    accepted_ago: int  # working days before today
    plans: dict[tuple[str, int], StagePlan] = field(default_factory=dict)
    random_rest: bool = False  # unlisted stages: random (True) or quick and clean (False)


FIXED_SCENARIOS = [
    # survey started 12 working days ago and still not done: overdue
    Scenario("overdue", Category.LV_RESIDENTIAL, Channel.COUNTER, 12, {("survey", 1): StagePlan(days=60)}),
    # survey paused on its 2nd working day and not resumed yet
    Scenario(
        "paused",
        Category.LV_NON_RESIDENTIAL,
        Channel.COUNTER,
        6,
        {("survey", 1): StagePlan(days=2, pause=(1, 100))},
    ),
    # design review failed; customer redesigned; second review running
    Scenario(
        "hv_failed_review",
        Category.HV_SINGLE,
        Channel.COUNTER,
        36,
        {
            ("scheme", 1): StagePlan(days=10),
            ("customer_design", 1): StagePlan(days=8),
            ("design_review", 1): StagePlan(days=5, outcome=Outcome.FAILED),
            ("customer_design", 2): StagePlan(days=5),
            ("design_review", 2): StagePlan(days=60),
        },
    ),
    Scenario(
        "completed_on_time",
        Category.LV_RESIDENTIAL,
        Channel.ONLINE,
        20,
        {
            ("acceptance", 1): StagePlan(days=1),
            ("survey", 1): StagePlan(days=2),
            ("connection", 1): StagePlan(days=1),
        },
    ),
    # scheme two days late, grid works needed and paused for 3 working days
    Scenario(
        "completed_late",
        Category.LV_NON_RESIDENTIAL,
        Channel.COUNTER,
        40,
        {
            ("survey", 1): StagePlan(days=2),
            ("scheme", 1): StagePlan(days=5),
            ("grid_works", 1): StagePlan(days=6, pause=(2, 3), skip=False),
            ("connection", 1): StagePlan(days=2),
        },
    ),
    Scenario(
        "cancelled",
        Category.LV_RESIDENTIAL,
        Channel.HOTLINE,
        15,
        {("acceptance", 1): StagePlan(days=1), ("survey", 1): StagePlan(days=10, cancel_after=1)},
    ),
    Scenario("hv_dual_in_scheme", Category.HV_DUAL, Channel.COUNTER, 20, {("scheme", 1): StagePlan(days=28)}),
]

SKIP_P = {"grid_works": 0.55, "design_review": 0.25, "mid_inspection": 0.45}
FAIL_P = {"design_review": 0.3, "mid_inspection": 0.15, "completion_inspection": 0.2}
CATEGORY_WEIGHTS = {
    Category.LV_RESIDENTIAL: 55,
    Category.LV_NON_RESIDENTIAL: 25,
    Category.HV_SINGLE: 14,
    Category.HV_DUAL: 6,
}
CHANNEL_WEIGHTS = {Channel.COUNTER: 45, Channel.ONLINE: 25, Channel.MOBILE_APP: 20, Channel.HOTLINE: 10}


def random_plan(stage: StageRow, rng: random.Random) -> StagePlan:
    code = stage.code
    if stage.owner == Owner.CUSTOMER:
        return StagePlan(days=rng.randint(2, 25), cancel_after=rng.randint(0, 10) if rng.random() < 0.02 else None)
    limit = stage.time_limit_days or 1
    if stage.template.optional and rng.random() < SKIP_P.get(code, 0.3):
        return StagePlan(skip=True)
    r = rng.random()
    if r < 0.12:
        days = limit + rng.randint(1, max(2, limit // 2 + 2))  # late
    else:
        days = rng.randint(0 if code == "acceptance" else 1, limit)
    pause = None
    if code != "acceptance" and rng.random() < 0.1:
        pause = (rng.randint(0, max(days - 1, 0)), rng.randint(1, 8))
    outcome = None
    if stage.template.has_outcome and stage.round < 3 and rng.random() < FAIL_P.get(code, 0.1):
        outcome = Outcome.FAILED
    cancel_after = rng.randint(0, days) if rng.random() < 0.015 else None
    return StagePlan(days=days, pause=pause, outcome=outcome, skip=False, cancel_after=cancel_after)


def quick_plan(stage: StageRow, rng: random.Random) -> StagePlan:
    if stage.owner == Owner.CUSTOMER:
        return StagePlan(days=rng.randint(3, 8))
    if stage.template.optional:
        return StagePlan(skip=True)
    return StagePlan(days=min(stage.time_limit_days or 1, 1 + rng.randrange(2)))


def run(
    sim: Simulation,
    rng: random.Random,
    people: People,
    plans: dict[tuple[str, int], StagePlan],
    random_rest: bool,
) -> None:
    """Play the plan until the application is closed or the next action lies after now."""
    app = sim.app
    manager = sim.manager
    try:
        while app.status in (Status.IN_PROGRESS, Status.PAUSED):
            stage = sim.current()
            assert stage is not None and stage.started_on is not None
            plan = plans.get((stage.code, stage.round)) or (
                random_plan(stage, rng) if random_rest else quick_plan(stage, rng)
            )
            actor = _actor(stage, people, manager)
            if plan.skip:
                sim.skip(
                    stage,
                    sim.at_on(sim._add(stage.started_on, rng.randint(0, 1)), rng),
                    actor,
                    "供电方案确定无需此环节",
                )
                continue
            days = plan.days if plan.days is not None else 1
            start = stage.started_on
            if plan.cancel_after is not None and plan.cancel_after <= days:
                at = sim.at_on(sim._add(start, plan.cancel_after), rng)
                sim.cancel(at, manager, "客户申请撤销报装")
                break
            done_offset = 0
            if plan.pause is not None and stage.owner == Owner.UTILITY:
                after, length = plan.pause
                reason_code = rng.choice(PauseReason.values)
                paused_at = sim.at_on(sim._add(start, after), rng)
                sim.pause(paused_at, manager, reason_code, PAUSE_TEXT[PauseReason(reason_code)])
                resumed_at = sim.at_on(sim._add(paused_at.date(), length), rng)
                sim.resume(resumed_at, manager)
                done_offset = length
            end = sim._add(start, days + done_offset)
            at = sim.at_on(end, rng)
            if stage.template.has_outcome and plan.outcome == Outcome.FAILED:
                pool = DEFECTS.get(stage.code, ["资料不全"])
                defects = rng.sample(pool, rng.randint(1, min(3, len(pool))))
                sim.complete(stage, at, actor, outcome=Outcome.FAILED, defects=defects, note="一次性告知全部问题")
            else:
                sim.complete(stage, at, actor, outcome=Outcome.PASSED if stage.template.has_outcome else None)
    except Stop:
        pass


def _actor(stage: StageRow, people: People, manager: User | None) -> User | None:
    if stage.code == "acceptance":
        return people.clerk
    if stage.template.has_outcome:
        return people.engineer
    return manager


# --- the generator ----------------------------------------------------------------------------


@dataclass(slots=True)
class Built:
    customer: CustomerRow
    app: AppRow
    stages: list[StageRow]
    pauses: list[PauseRow]
    events: list[EventRow]


class Generator:
    """Builds applications accepted within the last ``window`` working days (up to yesterday)."""

    def __init__(
        self,
        refs: Refs,
        *,
        seed: int | None,
        window: int,
        source: str,
        faker: Any = None,
        now: datetime | None = None,
        part: Part = WHOLE,
        districts: list[str] | None = None,
    ) -> None:
        self.refs = refs
        self.part = part
        self.rng = random.Random(seed)
        self.source = source
        self.faker = faker
        self.now = timezone.localtime(now or timezone.now())
        self.today = self.now.date()
        workdays.add_working_days(self.today, 60)  # widen the index past today once
        self.cal = Calendar(workdays.current())
        days: list[date] = []
        d = self.today - timedelta(days=1)
        while len(days) < window:
            if self.cal.is_working_day(d):
                days.append(d)
            d -= timedelta(days=1)
        self.recent = days  # recent[i] = the (i+1)-th working day before today
        self.used_numbers: set[str] = set()
        self.manager_index = 0
        self.categories = list(CATEGORY_WEIGHTS)
        self.category_weights = list(CATEGORY_WEIGHTS.values())
        self.channels = list(CHANNEL_WEIGHTS)
        self.channel_weights = list(CHANNEL_WEIGHTS.values())
        self.districts = districts or list(STREETS)
        self.places = refs.places
        self.place_weights = list(accumulate(p.weight for p in self.places))

    def _ago(self, n: int) -> date:
        return self.recent[min(max(n, 1), len(self.recent)) - 1]

    def _number(self, on: date) -> str:
        while True:
            n = number_for(on, self.rng, self.part)
            if n not in self.used_numbers:
                self.used_numbers.add(n)
                return n

    def _next_manager(self) -> User | None:
        managers = self.refs.people.managers
        if not managers:
            return None
        m = managers[self.manager_index % len(managers)]
        self.manager_index += 1
        return m

    def build(self, scenario: Scenario | None = None) -> Built:
        rng = self.rng
        category: str
        channel: str
        if scenario is None:
            category = rng.choices(self.categories, self.category_weights)[0]
            channel = rng.choices(self.channels, self.channel_weights)[0]
            accepted_on = self._ago(rng.randint(1, len(self.recent)))
        else:
            category, channel = scenario.category, scenario.channel
            accepted_on = self._ago(scenario.accepted_ago)
        process, templates = self.refs.processes[category]
        hv = category in (Category.HV_SINGLE, Category.HV_DUAL)
        place = None
        if self.places:
            place = rng.choices(self.places, cum_weights=self.place_weights)[0]
            district = place.county
            addr = province_address(rng, place.city_name, district, place.streets)
        else:
            district = rng.choice(self.districts)
            addr = address(rng, district)
        enterprise = category != Category.LV_RESIDENTIAL
        if self.faker is not None:
            name = self.faker.company() if enterprise else self.faker.name()
        else:
            name = company_name(rng, hv) if enterprise else cheap_name(rng)
        if enterprise:
            division = place.division if place is not None else None
            customer = CustomerRow(IdType.USCC, credit_code(rng, district, self.part, division), name, phone(rng))
        else:
            customer = CustomerRow(IdType.RESIDENT_ID, resident_id(rng, self.part), name, phone(rng))
        if category == Category.LV_RESIDENTIAL:
            capacity, unit = Decimal(rng.choice([4, 6, 8, 10, 12, 16])), CapacityUnit.KW
        elif category == Category.LV_NON_RESIDENTIAL:
            capacity, unit = Decimal(rng.randrange(20, 161, 5)), CapacityUnit.KW
        else:
            capacity = Decimal(rng.choice([315, 400, 630, 800, 1000, 1250, 1600, 2000, 2500, 3150, 5000]))
            capacity *= 2 if category == Category.HV_DUAL else 1
            unit = CapacityUnit.KVA
        if place is not None:  # one of the county's own managers, in turn
            manager = place.managers[place.turn % len(place.managers)]
            place.turn += 1
        else:
            manager = self._next_manager()
        tz = self.now.tzinfo
        accepted_at = datetime.combine(accepted_on, time(8, 30), tzinfo=tz) + timedelta(minutes=rng.randrange(9 * 60))
        area = match_area(addr, self.refs.areas)
        app = AppRow(
            number=self._number(accepted_on),
            category=category,
            business_type=BusinessType.CAPACITY_INCREASE if rng.random() < 0.15 else BusinessType.NEW_CONNECTION,
            channel=channel,
            customer=customer,
            customer_name=name,
            contact_phone=customer.phone,
            address=addr,
            area_id=area.pk if area is not None else None,
            unit_id=area.unit_id if area is not None else None,
            requested_capacity=capacity,
            capacity_unit=unit,
            key_project=hv and rng.random() < 0.3,
            customer_manager_id=_pk(manager),
            process_id=process.pk,
            accepted_at=accepted_at,
        )
        people = self.refs.people
        intake_actor = people.clerk if channel in (Channel.COUNTER, Channel.HOTLINE) else None
        sim = Simulation(app, templates, self.now, self.cal)
        sim.manager = manager
        sim.intake(
            intake_actor,
            {
                "channel": channel,
                "category": category,
                "process_version": process.version,
                "customer_manager": manager.username if manager else None,
                "possible_duplicate_of": None,
                "source": self.source,
            },
        )
        if scenario is None:
            run(sim, rng, people, {}, random_rest=True)
        else:
            run(sim, rng, people, scenario.plans, scenario.random_rest)
        return Built(customer, app, sim.stages, sim.pauses, sim.events)


# --- saving -----------------------------------------------------------------------------------
#
# Rows are written without the ORM: ids are reserved up front (PostgreSQL: nextval on each
# table's own sequence, so the sequences stay ahead of every id; SQLite: max(id) + 1 under the
# write lock that an IMMEDIATE transaction takes at BEGIN), then PostgreSQL gets COPY and SQLite
# executemany. Values are what the ORM would store: JSON as json.dumps text, datetimes aware
# (SQLite: naive UTC text, as Django's SQLite backend writes them).

# ID numbers and phones are written encrypted with their blind indexes (sunshine.pii).
CUSTOMER_FIELDS = ("id", "id_type", "id_number", "name", "phone", "created_at", "id_number_index")
APPLICATION_FIELDS = (
    "id",
    "number",
    "category",
    "business_type",
    "channel",
    "status",
    "current_stage",
    "customer",
    "customer_name",
    "contact_phone",
    "address",
    "area",
    "unit",
    "requested_capacity",
    "capacity_unit",
    "key_project",
    "customer_manager",
    "process",
    "possible_duplicate_of",
    "accepted_at",
    "completed_at",
    "cancelled_at",
    "audit_head",
    "contact_phone_index",
)
STAGE_FIELDS = (
    "id",
    "application",
    "template",
    "seq",
    "code",
    "round",
    "owner",
    "status",
    "time_limit_days",
    "started_at",
    "started_on",
    "completed_at",
    "completed_on",
    "paused_working_days",
    "deadline",
    "deadline_provisional",
    "outcome",
    "defects",
    "note",
    "manager",
)
PAUSE_FIELDS = (
    "id",
    "application",
    "stage",
    "reason_code",
    "reason",
    "started_at",
    "started_on",
    "ended_at",
    "ended_on",
    "working_days",
    "paused_by",
    "resumed_by",
)
EVENT_FIELDS = ("id", "application", "type", "at", "actor", "stage", "round", "data", "prev_hash", "hash")
MOMENT_FIELDS = ("id", "stage", "rung_code", "due_at", "deadline", "fired_at")
TABLES: tuple[tuple[type[Model], tuple[str, ...]], ...] = (
    (Customer, CUSTOMER_FIELDS),
    (Application, APPLICATION_FIELDS),
    (StageInstance, STAGE_FIELDS),
    (Pause, PAUSE_FIELDS),
    (Event, EVENT_FIELDS),
    (RungMoment, MOMENT_FIELDS),
)
LOOKUP_CHUNK = 2000  # values per IN (...) query, under SQLite's variable limit


def _columns(model: type[Model], fields: tuple[str, ...]) -> str:
    qn = connection.ops.quote_name
    return ", ".join(qn(_column(model, f)) for f in fields)


def _pkcol(model: type[Model]) -> str:
    return _column(model, model._meta.pk.name) if model._meta.pk else "id"


def _column(model: type[Model], name: str) -> str:
    field = model._meta.get_field(name)
    assert isinstance(field, Field) and field.column
    return field.column


def _chunks(items: list[str], size: int = LOOKUP_CHUNK) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _utc_text(value: datetime | None) -> str | None:
    """An aware datetime as Django's SQLite backend stores it (naive UTC, ``str()``)."""
    return None if value is None else str(value.astimezone(UTC).replace(tzinfo=None))


def _same(value: datetime | None) -> datetime | None:
    return value


class _Writer:
    """Id reservation and row writing for one database backend."""

    datetime: Callable[[datetime | None], datetime | str | None] = staticmethod(_same)

    def __init__(self, cursor: CursorWrapper) -> None:
        self.cursor = cursor

    def reserve(self, model: type[Model], n: int) -> list[int]:
        raise NotImplementedError

    def write(self, model: type[Model], fields: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
        raise NotImplementedError


class _PostgresWriter(_Writer):
    sequences: dict[str, str] = {}

    def reserve(self, model: type[Model], n: int) -> list[int]:
        if n == 0:
            return []
        table = model._meta.db_table
        if table not in self.sequences:
            self.cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [table, _pkcol(model)])
            self.sequences[table] = self.cursor.fetchone()[0]
        self.cursor.execute("SELECT nextval(%s::regclass) FROM generate_series(1, %s)", [self.sequences[table], n])
        return sorted(r[0] for r in self.cursor.fetchall())

    def write(self, model: type[Model], fields: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        table = connection.ops.quote_name(model._meta.db_table)
        raw = self.cursor.cursor  # the psycopg cursor under Django's wrapper
        with raw.copy(f"COPY {table} ({_columns(model, fields)}) FROM STDIN") as copy:
            write_row = copy.write_row
            for row in rows:
                write_row(row)


class _SQLiteWriter(_Writer):
    datetime = staticmethod(_utc_text)

    def reserve(self, model: type[Model], n: int) -> list[int]:
        # Identifiers come from the models' metadata, never from input.
        table, qn = model._meta.db_table, connection.ops.quote_name
        self.cursor.execute(
            f"SELECT MAX(COALESCE((SELECT MAX({qn(_pkcol(model))}) FROM {qn(table)}), 0), "  # noqa: S608
            "COALESCE((SELECT seq FROM sqlite_sequence WHERE name = %s), 0))",
            [table],
        )
        first = int(self.cursor.fetchone()[0]) + 1
        return list(range(first, first + n))

    def write(self, model: type[Model], fields: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        table = connection.ops.quote_name(model._meta.db_table)
        marks = ", ".join(["%s"] * len(fields))
        sql = f"INSERT INTO {table} ({_columns(model, fields)}) VALUES ({marks})"  # noqa: S608
        self.cursor.executemany(sql, rows)


def _writer(cursor: CursorWrapper) -> _Writer:
    if connection.vendor == "postgresql":
        return _PostgresWriter(cursor)
    if connection.vendor == "sqlite":
        return _SQLiteWriter(cursor)
    raise RuntimeError(f"synthetic data cannot be written to {connection.vendor}")


def _resolve_customers(built: list[Built]) -> list[CustomerRow]:
    """One customer per identity; an identity already in the database is reused. Returns the new."""
    by_identity: dict[tuple[str, str], CustomerRow] = {}
    for b in built:
        c = by_identity.setdefault((b.customer.id_type, b.customer.id_number), b.customer)
        b.app.customer = b.customer = c
    # One query per identity type so that the (id_type, id_number_index) unique index serves it.
    for id_type in {t for t, _ in by_identity}:
        number_of = {id_index(n): n for t, n in by_identity if t == id_type}
        for chunk in _chunks(list(number_of)):
            found = Customer.objects.filter(id_type=id_type, id_number_index__in=chunk)
            for ix, pk in found.values_list("id_number_index", "pk"):
                by_identity[(id_type, number_of[ix])].id = pk
    return [c for c in by_identity.values() if c.id is None]


def _renumber_taken(built: list[Built], rng: random.Random, part: Part) -> None:
    """Numbers: regenerate the few that are already taken in the database."""
    numbers = [b.app.number for b in built]
    taken: set[str] = set()
    for chunk in _chunks(numbers):
        taken.update(Application.objects.filter(number__in=chunk).values_list("number", flat=True))
    in_batch = set(numbers)
    todo = [b for b in built if b.app.number in taken]
    while todo:
        fresh = {}
        for b in todo:
            number = number_for(b.app.accepted_at.date(), rng, part)
            if number not in in_batch:
                in_batch.add(number)
                fresh[number] = b
        clash = set(Application.objects.filter(number__in=list(fresh)).values_list("number", flat=True))
        for number, b in fresh.items():
            if number not in clash:
                b.app.number = number
        todo = [b for b in todo if b.app.number in taken]


def rung_moments(built: list[Built], now: datetime) -> list[tuple[StageRow, str, datetime, date, datetime | None]]:
    """The rung moments the supervision reaction would have stored for these applications: every
    running utility stage of an open application gets its category's rungs from its deadline
    (``rungs.moments``; no generated application is under leader supervision). A moment already
    due counts as fired at its moment (history: the generator writes no rung events or notices,
    as it writes no intake notices), so the first sweep after a load fires only what falls due
    after it (the reactions' rows are written here instead of outbox entries for a worker: a
    million entries would take the workers hours to drain)."""
    out = []
    for b in built:
        if b.app.status != Status.IN_PROGRESS:
            continue
        for s in b.stages:
            if s.status != StageStatus.IN_PROGRESS or s.owner != Owner.UTILITY:
                continue
            if s.deadline is None or s.started_on is None:
                continue
            planned = rungs.moments(
                deadline=s.deadline, started_on=s.started_on, category=b.app.category, supervised=False
            )
            for code, (_rung, at) in planned.items():
                out.append((s, code, at, s.deadline, at if at <= now else None))
    return out


def save_batch(built: list[Built], rng: random.Random, part: Part = WHOLE, *, moments: bool = False) -> None:
    """Insert one batch in one transaction: a fixed number of queries whatever its size.

    ``part``: the generator's share (numbers drawn again for taken ones stay in it). ``moments``:
    also store the running stages' rung moments (``rung_moments``; ``seed_demo`` stores them
    through the engine's ``moments.backfill`` instead and lets its sweep fire the overdue ones)."""
    dumps = json.dumps
    now = timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        w = _writer(cursor)
        dt = w.datetime
        created = dt(now)
        fresh = _resolve_customers(built)
        _renumber_taken(built, rng, part)
        for c, pk in zip(fresh, w.reserve(Customer, len(fresh)), strict=True):
            c.id = pk
        for b, pk in zip(built, w.reserve(Application, len(built)), strict=True):
            b.app.id = pk
        stage_ids = iter(w.reserve(StageInstance, sum(len(b.stages) for b in built)))
        for b in built:
            for s in b.stages:
                s.id = next(stage_ids)
        pause_ids = iter(w.reserve(Pause, sum(len(b.pauses) for b in built)))
        event_ids = iter(w.reserve(Event, sum(len(b.events) for b in built)))
        planned = rung_moments(built, now) if moments else []
        moment_ids = iter(w.reserve(RungMoment, len(planned)))

        # The audit chain of each application (audit.py), as the engine would have written it.
        chains: dict[int | None, list[tuple[str, str, str]]] = {}
        for b in built:
            prev, links = "", []
            for type_, at, actor_id, stage, round_, data in b.events:
                h, text = _event_hash(prev, b.app.id or 0, type_, at, actor_id, stage, round_, data)
                links.append((prev, h, text))
                prev = h
            chains[b.app.id] = links

        w.write(
            Customer,
            CUSTOMER_FIELDS,
            [
                (c.id, c.id_type, id_enc, c.name, phone_enc, created, id_index(c.id_number))
                for c, id_enc, phone_enc in zip(
                    fresh, encrypt_many(c.id_number for c in fresh), encrypt_many(c.phone for c in fresh), strict=True
                )
            ],
        )
        apps = [b.app for b in built]
        top_unit = default_unit_id()
        w.write(
            Application,
            APPLICATION_FIELDS,
            [
                (
                    a.id,
                    a.number,
                    a.category,
                    a.business_type,
                    a.channel,
                    a.status,
                    a.current_stage,
                    a.customer.id,
                    a.customer_name,
                    phone_enc,
                    a.address,
                    a.area_id,
                    a.unit_id if a.unit_id is not None else top_unit,
                    a.requested_capacity,
                    a.capacity_unit,
                    a.key_project,
                    a.customer_manager_id,
                    a.process_id,
                    None,
                    dt(a.accepted_at),
                    dt(a.completed_at),
                    dt(a.cancelled_at),
                    chains[a.id][-1][1] if chains[a.id] else "",
                    phone_index(a.contact_phone),
                )
                for a, phone_enc in zip(apps, encrypt_many(a.contact_phone for a in apps), strict=True)
            ],
        )
        w.write(
            StageInstance,
            STAGE_FIELDS,
            [
                (
                    s.id,
                    app_id,
                    s.template.pk,
                    s.seq,
                    s.code,
                    s.round,
                    s.owner,
                    s.status,
                    s.time_limit_days,
                    dt(s.started_at),
                    s.started_on,
                    dt(s.completed_at),
                    s.completed_on,
                    s.paused_working_days,
                    s.deadline,
                    s.deadline_provisional,
                    s.outcome,
                    dumps(s.defects) if s.defects else "[]",
                    s.note,
                    s.manager_id,
                )
                for b in built
                for app_id in (b.app.id,)
                for s in b.stages
            ],
        )
        w.write(
            Pause,
            PAUSE_FIELDS,
            [
                (
                    next(pause_ids),
                    app_id,
                    p.stage.id,
                    p.reason_code,
                    p.reason,
                    dt(p.started_at),
                    p.started_on,
                    dt(p.ended_at),
                    p.ended_on,
                    p.working_days,
                    p.paused_by_id,
                    p.resumed_by_id,
                )
                for b in built
                for app_id in (b.app.id,)
                for p in b.pauses
            ],
        )
        w.write(
            Event,
            EVENT_FIELDS,
            [
                (next(event_ids), app_id, type_, dt(at), actor_id, stage, round_, text, prev, h)
                for b in built
                for app_id in (b.app.id,)
                for (type_, at, actor_id, stage, round_, _data), (prev, h, text) in zip(
                    b.events, chains[app_id], strict=True
                )
            ],
        )
        w.write(
            RungMoment,
            MOMENT_FIELDS,
            [(next(moment_ids), s.id, code, dt(at), deadline, dt(fired)) for s, code, at, deadline, fired in planned],
        )


_JSON_SCALARS = frozenset({str, int, float, bool, type(None)})


def _plain(value: Any) -> bool:
    if type(value) in _JSON_SCALARS:
        return True
    if type(value) is list:
        return all(type(v) in _JSON_SCALARS for v in value)
    return False


def _event_hash(
    prev: str,
    application_id: int,
    type_: str,
    at: datetime,
    actor_id: int | None,
    stage: str | None,
    round_: int | None,
    data: dict[str, Any],
) -> tuple[str, str]:
    """``audit.event_hash`` and the data as JSON text (what is stored), without the JSON round
    trip of ``audit`` when the data is already plain JSON (the simulator's always is: strings,
    numbers, None, lists of those), and with one ``dumps`` for both: that was a third of the
    generator's time. Anything else goes through ``audit.event_hash`` itself."""
    if not all(_plain(v) for v in data.values()):
        return event_hash(prev, application_id, type_, at, actor_id, stage, round_, data), json.dumps(data)
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    content = "\n".join(
        [
            prev,
            str(application_id),
            type_,
            # audit._stamp (%Y-%m-%dT%H:%M:%S.%fZ), a third of the time of strftime
            at.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z",
            "" if actor_id is None else str(actor_id),
            stage or "",
            "" if round_ is None else str(round_),
            text,
        ]
    )
    return hashlib.sha256(content.encode()).hexdigest(), text


def max_ids() -> dict[type[Model], int]:
    """The highest id of each table written here (rows above it are new)."""
    qn = connection.ops.quote_name
    out = {}
    with connection.cursor() as cursor:
        for model, _fields in TABLES:
            pk = qn(_pkcol(model))
            cursor.execute(f"SELECT COALESCE(MAX({pk}), 0) FROM {qn(model._meta.db_table)}")  # noqa: S608
            out[model] = int(cursor.fetchone()[0])
    return out


def skip_reference_checks() -> bool:
    """PostgreSQL, superuser: skip the per-row foreign-key triggers for this session.

    Every reference written by ``save_batch`` points at a row it wrote in the same transaction or
    read from the database, so the triggers (one lookup and one row lock per reference, about
    40 per application) only cost time; ``check_references`` checks the loaded rows afterwards
    in one set-based query per foreign key, as pg_restore --disable-triggers users do.
    """
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('is_superuser') = 'on'")
        if not cursor.fetchone()[0]:
            return False
        cursor.execute("SET session_replication_role = replica")
    return True


def check_references(since: dict[type[Model], int]) -> list[str]:
    """Restore the triggers and list any dangling reference among rows with ids above ``since``."""
    qn = connection.ops.quote_name
    problems = []
    with connection.cursor() as cursor:
        cursor.execute("RESET session_replication_role")
        for model, _fields in TABLES:
            for f in model._meta.concrete_fields:
                if not isinstance(f, ForeignKey):
                    continue
                parent = f.related_model._meta
                cursor.execute(
                    f"SELECT COUNT(*) FROM {qn(model._meta.db_table)} c "  # noqa: S608
                    f"WHERE c.{qn(_pkcol(model))} > %s AND c.{qn(f.column)} IS NOT NULL "
                    f"AND NOT EXISTS (SELECT 1 FROM {qn(parent.db_table)} p "
                    f"WHERE p.{qn(_column(f.related_model, f.target_field.name))} = c.{qn(f.column)})",
                    [since[model]],
                )
                if n := cursor.fetchone()[0]:
                    problems.append(f"{model._meta.db_table}.{f.column}: {n} dangling")
    return problems


def analyze() -> None:
    """Refresh the planner's statistics after a large load (PostgreSQL)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for model, _fields in TABLES:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
