"""Synthetic applications for demos and benchmarks, built in memory and bulk-inserted.

Each application's history is *simulated*: a sequence of dated actions (intake, complete,
skip, pause, resume, cancel) applied with the same rules as ``sunshine.applications.services``
(stage start, deadline projection, send-back on a failed review, pause accounting, events),
but on unsaved objects. Actions dated after "now" are not applied, so the result is exactly
the state the engine would show today: some stages on time, some overdue, some paused, some
reviews failed, some applications completed or cancelled.

``seed_demo`` and ``generate_load`` both use ``Generator`` + ``save_batch``.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from stdnum import luhn
from stdnum.cn import ric, uscc

from sunshine.accounts.models import ServiceArea, User
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
from sunshine.processes.models import Category, Owner, ProcessTemplate, StageTemplate
from sunshine.processes.selectors import process_in_force

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
BUILDINGS = ["小区", "花园", "家园", "苑", "大厦", "工业园", "产业园"]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"  # noqa: E501
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉建国志文斌宇浩凯健俊帆晨欣怡佳琪雪梅海燕晓东春晖丹"  # noqa: E501
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


def resident_id(rng: random.Random) -> str:
    born = date(1955, 1, 1) + timedelta(days=rng.randrange(50 * 365))
    body = f"{rng.choice(BIRTH_PLACES)}{born:%Y%m%d}{rng.randrange(1000):03d}"
    return body + ric.calc_check_digit(body + "0")


def org_code(rng: random.Random) -> str:
    """A 9-character organisation code (GB 11714) with its check character."""
    body = "".join(rng.choice("0123456789") for _ in range(8))
    total = sum(int(c) * w for c, w in zip(body, (3, 7, 9, 10, 5, 8, 4, 2), strict=True))
    check = 11 - total % 11
    return body + ("X" if check == 10 else "0" if check == 11 else str(check))


def credit_code(rng: random.Random, district: str) -> str:
    body = "91" + DISTRICT_CODES.get(district, "140100") + org_code(rng)
    return body + uscc.calc_check_digit(body)


def phone(rng: random.Random) -> str:
    return rng.choice(PHONE_PREFIXES) + f"{rng.randrange(10**8):08d}"


def cheap_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))


def company_name(rng: random.Random, hv: bool) -> str:
    return "太原" + rng.choice(COMPANY_WORDS) + rng.choice(HV_KINDS if hv else COMPANY_KINDS)


def address(rng: random.Random, district: str) -> str:
    street = rng.choice(STREETS[district])
    if rng.random() < 0.5:
        return f"山西省太原市{district}{street}{rng.randrange(1, 400)}号"
    return (
        f"山西省太原市{district}{street}{rng.randrange(1, 400)}号{rng.choice(SURNAMES)}"
        f"{rng.choice(BUILDINGS)}{rng.randrange(1, 30)}号楼"
    )


def number_for(on: date, rng: random.Random) -> str:
    """Same format as ``services.new_number`` (YK + yymmdd + 6 digits + Luhn), from ``rng``."""
    body = f"{on:%y%m%d}{rng.randrange(10**6):06d}"
    return f"YK{body}{luhn.calc_check_digit(body)}"


def match_area(text: str, areas: list[ServiceArea]) -> ServiceArea | None:
    """``services.match_area`` over a preloaded list (sorted by code)."""
    for area in areas:
        if any(k in text for k in area.keyword_list()):
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
    areas: list[ServiceArea]
    people: People

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
        areas = sorted(ServiceArea.objects.all(), key=lambda a: a.code)
        return cls(processes, areas, people)


# --- the simulator ----------------------------------------------------------------------------


class Stop(Exception):
    """The next action lies after "now": the application stays as it is."""


class Simulation:
    """One application's history, following ``services`` rule for rule on unsaved objects."""

    def __init__(
        self, app: Application, templates: list[StageTemplate], now: datetime, cal: workdays.WorkCalendar
    ) -> None:
        self.app = app
        self.templates = templates
        self.now = now
        self.cal = cal
        self.stages: list[StageInstance] = []
        self.pauses: list[Pause] = []
        self.events: list[Event] = []
        self.open_pause: Pause | None = None
        self.t: datetime = app.accepted_at

    # helpers mirroring services.py
    def _event(
        self, type_: str, at: datetime, actor: User | None, stage: StageInstance | None = None, **data: Any
    ) -> None:
        self.events.append(
            Event(
                application=self.app,
                type=type_,
                at=at,
                actor=actor,
                stage=stage.code if stage else None,
                round=stage.round if stage else None,
                data=data,
            )
        )

    def _add(self, start: date, n: int) -> date:
        try:
            return self.cal.add_working_days(start, n)
        except workdays.OutOfRange:
            return workdays.add_working_days(start, n)

    def _wd(self, a: date, b: date) -> int:
        try:
            return self.cal.working_days_in(a, b)
        except workdays.OutOfRange:
            return workdays.working_days_in(a, b)

    def _project(self, stage: StageInstance) -> None:
        if stage.time_limit_days is None or stage.started_on is None:
            stage.deadline = None
            stage.deadline_provisional = False
            return
        stage.deadline = self._add(stage.started_on, stage.time_limit_days + stage.paused_working_days)
        stage.deadline_provisional = self.cal.touches_provisional(stage.started_on, stage.deadline)

    def _start(self, stage: StageInstance, at: datetime) -> None:
        stage.status = StageStatus.IN_PROGRESS
        stage.started_at = at
        stage.started_on = at.date()
        if stage.owner == Owner.UTILITY:
            stage.time_limit_days = stage.template.time_limit_days
            self._project(stage)

    def current(self) -> StageInstance | None:
        for s in self.stages:
            if s.status in (StageStatus.IN_PROGRESS, StageStatus.PAUSED):
                return s
        return None

    def _advance(self, done: StageInstance, at: datetime, actor: User | None) -> None:
        following = [s for s in self.stages if s.seq > done.seq and s.status == StageStatus.PENDING]
        if following:
            nxt = following[0]
            self._start(nxt, at)
            self.app.current_stage = nxt.code
            self._event("stage_started", at, actor, nxt, deadline=_iso(nxt.deadline))
        else:
            self.app.current_stage = None
            self.app.status = Status.COMPLETED
            self.app.completed_at = at
            self._event("completed", at, actor)

    # time: every action happens at or after the previous one and never after "now"
    def at_on(self, day: date, rng: random.Random) -> datetime:
        if day < self.t.date():
            day = self.t.date()
        candidate = datetime.combine(day, time(8, 30), tzinfo=self.t.tzinfo) + timedelta(
            minutes=rng.randrange(9 * 60)
        )
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
        self.stages = [
            StageInstance(application=app, template=t, seq=i, code=t.code, round=1, owner=t.owner)
            for i, t in enumerate(self.templates, start=1)
        ]
        self._event("intake", at, actor, **data)
        first = self.stages[0]
        self._start(first, at)
        app.current_stage = first.code
        self._event("stage_started", at, actor, first, deadline=_iso(first.deadline))
        if app.channel == Channel.COUNTER:
            first.status = StageStatus.COMPLETED
            first.completed_at, first.completed_on = at, at.date()
            self._event("stage_completed", at, actor, first, outcome=None)
            self._advance(first, at, actor)

    def complete(
        self,
        stage: StageInstance,
        at: datetime,
        actor: User | None,
        *,
        outcome: str | None = None,
        defects: list[str] | None = None,
        note: str = "",
    ) -> None:
        assert stage is self.current() and stage.status == StageStatus.IN_PROGRESS
        defects = defects or []
        stage.status = StageStatus.COMPLETED
        stage.completed_at, stage.completed_on = at, at.date()
        stage.outcome = (outcome or Outcome.PASSED) if stage.template.has_outcome else None
        stage.defects = defects
        stage.note = note
        self._event(
            "stage_completed",
            at,
            actor,
            stage,
            outcome=stage.outcome,
            defects=defects,
            note=note,
            deadline=_iso(stage.deadline),
        )
        if stage.outcome == Outcome.FAILED:
            self._send_back(stage, at, actor)
        else:
            self._advance(stage, at, actor)

    def _send_back(self, failed: StageInstance, at: datetime, actor: User | None) -> None:
        before = [
            t for t in self.templates if t.position < failed.template.position and t.owner == Owner.CUSTOMER
        ]
        back_to = before[-1]
        back_round = 1 + max(s.round for s in self.stages if s.code == back_to.code)
        for s in self.stages:
            if s.seq > failed.seq:
                s.seq += 2
        back = StageInstance(
            application=self.app,
            template=back_to,
            seq=failed.seq + 1,
            code=back_to.code,
            round=back_round,
            owner=back_to.owner,
        )
        again = StageInstance(
            application=self.app,
            template=failed.template,
            seq=failed.seq + 2,
            code=failed.code,
            round=failed.round + 1,
            owner=failed.owner,
        )
        self._start(back, at)
        self.stages.extend([back, again])
        self.stages.sort(key=lambda s: s.seq)
        self.app.current_stage = back.code
        self._event("stage_started", at, actor, back, returned_from=failed.code, defects=failed.defects)

    def skip(self, stage: StageInstance, at: datetime, actor: User | None, reason: str) -> None:
        assert stage.template.optional and stage.status in (StageStatus.PENDING, StageStatus.IN_PROGRESS)
        assert self.app.status == Status.IN_PROGRESS
        was_current = stage.status == StageStatus.IN_PROGRESS
        stage.status = StageStatus.SKIPPED
        stage.completed_at, stage.completed_on = at, at.date()
        stage.note = reason
        self._event("stage_skipped", at, actor, stage, reason=reason)
        if was_current:
            self._advance(stage, at, actor)

    def pause(self, at: datetime, actor: User | None, reason_code: str, reason: str) -> None:
        stage = self.current()
        assert stage is not None and stage.owner == Owner.UTILITY and self.app.status == Status.IN_PROGRESS
        self.open_pause = Pause(
            application=self.app,
            stage=stage,
            reason_code=reason_code,
            reason=reason,
            started_at=at,
            started_on=at.date(),
            paused_by=actor,
        )
        self.pauses.append(self.open_pause)
        stage.status = StageStatus.PAUSED
        self.app.status = Status.PAUSED
        self._event("paused", at, actor, stage, reason_code=reason_code, reason=reason)

    def _close_pause(self, at: datetime, actor: User | None) -> tuple[StageInstance, int]:
        p = self.open_pause
        assert p is not None
        today = at.date()
        days = self._wd(p.started_on, today)
        p.ended_at, p.ended_on, p.working_days, p.resumed_by = at, today, days, actor
        stage = p.stage
        stage.status = StageStatus.IN_PROGRESS
        stage.paused_working_days += days
        self._project(stage)
        self.open_pause = None
        return stage, days

    def resume(self, at: datetime, actor: User | None) -> None:
        assert self.app.status == Status.PAUSED
        stage, days = self._close_pause(at, actor)
        self.app.status = Status.IN_PROGRESS
        self._event("resumed", at, actor, stage, paused_working_days=days, deadline=_iso(stage.deadline))

    def cancel(self, at: datetime, actor: User | None, reason: str) -> None:
        assert self.app.status in (Status.IN_PROGRESS, Status.PAUSED)
        if self.open_pause is not None:
            self._close_pause(at, actor)
        stage_code = self.app.current_stage
        self.app.status = Status.CANCELLED
        self.app.cancelled_at = at
        self.app.current_stage = None
        self._event("cancelled", at, actor, reason=reason, stage_code=stage_code)


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


def random_plan(stage: StageInstance, rng: random.Random) -> StagePlan:
    code = stage.code
    if stage.owner == Owner.CUSTOMER:
        return StagePlan(
            days=rng.randint(2, 25), cancel_after=rng.randint(0, 10) if rng.random() < 0.02 else None
        )
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


def quick_plan(stage: StageInstance, rng: random.Random) -> StagePlan:
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
    manager = app.customer_manager
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
                sim.complete(
                    stage, at, actor, outcome=Outcome.FAILED, defects=defects, note="一次性告知全部问题"
                )
            else:
                sim.complete(stage, at, actor, outcome=Outcome.PASSED if stage.template.has_outcome else None)
    except Stop:
        pass


def _actor(stage: StageInstance, people: People, manager: User | None) -> User | None:
    if stage.code == "acceptance":
        return people.clerk
    if stage.template.has_outcome:
        return people.engineer
    return manager


# --- the generator ----------------------------------------------------------------------------


@dataclass
class Built:
    customer: Customer
    app: Application
    stages: list[StageInstance]
    pauses: list[Pause]
    events: list[Event]


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
    ) -> None:
        self.refs = refs
        self.rng = random.Random(seed)
        self.source = source
        self.faker = faker
        self.now = timezone.localtime(now or timezone.now())
        self.today = self.now.date()
        workdays.add_working_days(self.today, 60)  # widen the index past today once
        self.cal = workdays.current()
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

    def _ago(self, n: int) -> date:
        return self.recent[min(max(n, 1), len(self.recent)) - 1]

    def _number(self, on: date) -> str:
        while True:
            n = number_for(on, self.rng)
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
        district = rng.choice(list(STREETS))
        addr = address(rng, district)
        enterprise = category != Category.LV_RESIDENTIAL
        if self.faker is not None:
            name = self.faker.company() if enterprise else self.faker.name()
        else:
            name = company_name(rng, hv) if enterprise else cheap_name(rng)
        if enterprise:
            customer = Customer(
                id_type=IdType.USCC, id_number=credit_code(rng, district), name=name, phone=phone(rng)
            )
        else:
            customer = Customer(
                id_type=IdType.RESIDENT_ID, id_number=resident_id(rng), name=name, phone=phone(rng)
            )
        if category == Category.LV_RESIDENTIAL:
            capacity, unit = Decimal(rng.choice([4, 6, 8, 10, 12, 16])), CapacityUnit.KW
        elif category == Category.LV_NON_RESIDENTIAL:
            capacity, unit = Decimal(rng.randrange(20, 161, 5)), CapacityUnit.KW
        else:
            capacity = Decimal(rng.choice([315, 400, 630, 800, 1000, 1250, 1600, 2000, 2500, 3150, 5000]))
            capacity *= 2 if category == Category.HV_DUAL else 1
            unit = CapacityUnit.KVA
        manager = self._next_manager()
        tz = self.now.tzinfo
        accepted_at = datetime.combine(accepted_on, time(8, 30), tzinfo=tz) + timedelta(
            minutes=rng.randrange(9 * 60)
        )
        app = Application(
            number=self._number(accepted_on),
            category=category,
            business_type=BusinessType.CAPACITY_INCREASE
            if rng.random() < 0.15
            else BusinessType.NEW_CONNECTION,
            channel=channel,
            status=Status.IN_PROGRESS,
            customer=customer,
            customer_name=name,
            contact_phone=customer.phone,
            address=addr,
            area=match_area(addr, self.refs.areas),
            requested_capacity=capacity,
            capacity_unit=unit,
            key_project=hv and rng.random() < 0.3,
            customer_manager=manager,
            process=process,
            accepted_at=accepted_at,
        )
        people = self.refs.people
        intake_actor = people.clerk if channel in (Channel.COUNTER, Channel.HOTLINE) else None
        sim = Simulation(app, templates, self.now, self.cal)
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


def save_batch(built: list[Built], rng: random.Random, insert_batch: int = 2000) -> None:
    """Insert one batch in one transaction: a fixed number of queries whatever its size."""
    if not connection.features.can_return_rows_from_bulk_insert:
        raise RuntimeError("this database cannot return primary keys from bulk inserts")
    with transaction.atomic():
        # Customers: one per identity; an identity already in the database is reused.
        by_identity: dict[tuple[str, str], Customer] = {}
        for b in built:
            key = (b.customer.id_type, b.customer.id_number)
            b.app.customer = by_identity.setdefault(key, b.customer)
        # One query per identity type so that the (id_type, id_number) unique index serves it.
        known: dict[tuple[str, str], int] = {}
        for id_type in {t for t, _ in by_identity}:
            numbers = [n for t, n in by_identity if t == id_type]
            for n, pk in Customer.objects.filter(id_type=id_type, id_number__in=numbers).values_list(
                "id_number", "pk"
            ):
                known[(id_type, n)] = pk
        fresh: list[Customer] = []
        for key, c in by_identity.items():
            if key in known:
                c.pk = known[key]
                c._state.adding = False
            elif c.pk is None:
                fresh.append(c)
        Customer.objects.bulk_create(fresh, batch_size=insert_batch)
        for b in built:
            b.app.customer = b.app.customer  # re-read the primary key into customer_id
        # Numbers: regenerate the few that are already taken.
        taken = set(
            Application.objects.filter(number__in=[b.app.number for b in built]).values_list(
                "number", flat=True
            )
        )
        for b in built:
            while b.app.number in taken:
                b.app.number = number_for(b.app.accepted_at.date(), rng)
                if Application.objects.filter(number=b.app.number).exists():
                    taken.add(b.app.number)
                else:
                    taken.discard(b.app.number)
                    break
        Application.objects.bulk_create([b.app for b in built], batch_size=insert_batch)
        StageInstance.objects.bulk_create(_flat(b.stages for b in built), batch_size=insert_batch)
        Pause.objects.bulk_create(_flat(b.pauses for b in built), batch_size=insert_batch)
        Event.objects.bulk_create(_flat(b.events for b in built), batch_size=insert_batch)


def _flat(lists: Iterable[list[Any]]) -> list[Any]:
    return [x for xs in lists for x in xs]
