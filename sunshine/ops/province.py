"""A whole province for ``generate_load`` (issue 19): 山西's 11 cities and their 117 counties and
districts (names, administrative division codes, telephone area codes as data), the unit tree
under the installation's top unit, one service area per county, and each county's staff.

``ensure_province`` creates what is missing (idempotent, reuses the demo's units and areas of
``sunshine.ops.demo.units``: the same codes); ``places`` reads it back for the generator, one
``Place`` per county with its customer managers (``load_mgrNNN``, dealt to the counties in turn,
one city after another, so that even a handful of managers spreads over several cities).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.auth.hashers import make_password

from sunshine.accounts import units
from sunshine.accounts.models import Role, ServiceArea, Unit, UnitKind, User
from sunshine.ops.demo.accounts import ensure_areas
from sunshine.ops.demo.units import ensure_units
from sunshine.ops.synthetic import STREETS, SURNAMES

# city code, city name, telephone area code, counties: (code suffix, name, division code)
SHANXI: list[tuple[str, str, str, list[tuple[str, str, str]]]] = [
    (
        "ty",
        "太原",
        "0351",
        [
            ("xiaodian", "小店区", "140105"),
            ("yingze", "迎泽区", "140106"),
            ("xinghualing", "杏花岭区", "140107"),
            ("jiancaoping", "尖草坪区", "140108"),
            ("wanbailin", "万柏林区", "140109"),
            ("jinyuan", "晋源区", "140110"),
            ("qingxu", "清徐县", "140121"),
            ("yangqu", "阳曲县", "140122"),
            ("loufan", "娄烦县", "140123"),
            ("gujiao", "古交市", "140181"),
        ],
    ),
    (
        "dt",
        "大同",
        "0352",
        [
            ("pingcheng", "平城区", "140213"),
            ("yungang", "云冈区", "140214"),
            ("xinrong", "新荣区", "140212"),
            ("yunzhou", "云州区", "140215"),
            ("yanggao", "阳高县", "140221"),
            ("tianzhen", "天镇县", "140222"),
            ("guangling", "广灵县", "140223"),
            ("lingqiu", "灵丘县", "140224"),
            ("hunyuan", "浑源县", "140225"),
            ("zuoyun", "左云县", "140226"),
        ],
    ),
    (
        "yq",
        "阳泉",
        "0353",
        [
            ("chengqu", "城区", "140302"),
            ("kuangqu", "矿区", "140303"),
            ("jiaoqu", "郊区", "140311"),
            ("pingding", "平定县", "140321"),
            ("yuxian", "盂县", "140322"),
        ],
    ),
    (
        "cz",
        "长治",
        "0355",
        [
            ("luzhou", "潞州区", "140403"),
            ("shangdang", "上党区", "140404"),
            ("tunliu", "屯留区", "140405"),
            ("lucheng", "潞城区", "140406"),
            ("xiangyuan", "襄垣县", "140423"),
            ("pingshun", "平顺县", "140425"),
            ("licheng", "黎城县", "140426"),
            ("huguan", "壶关县", "140427"),
            ("zhangzi", "长子县", "140428"),
            ("wuxiang", "武乡县", "140429"),
            ("qinxian", "沁县", "140430"),
            ("qinyuan", "沁源县", "140431"),
        ],
    ),
    (
        "jc",
        "晋城",
        "0356",
        [
            ("chengqu", "城区", "140502"),
            ("qinshui", "沁水县", "140521"),
            ("yangcheng", "阳城县", "140522"),
            ("lingchuan", "陵川县", "140524"),
            ("zezhou", "泽州县", "140525"),
            ("gaoping", "高平市", "140581"),
        ],
    ),
    (
        "sz",
        "朔州",
        "0349",
        [
            ("shuocheng", "朔城区", "140602"),
            ("pinglu", "平鲁区", "140603"),
            ("shanyin", "山阴县", "140621"),
            ("yingxian", "应县", "140622"),
            ("youyu", "右玉县", "140623"),
            ("huairen", "怀仁市", "140681"),
        ],
    ),
    (
        "jz",
        "晋中",
        "0354",
        [
            ("yuci", "榆次区", "140702"),
            ("taigu", "太谷区", "140703"),
            ("yushe", "榆社县", "140721"),
            ("zuoquan", "左权县", "140722"),
            ("heshun", "和顺县", "140723"),
            ("xiyang", "昔阳县", "140724"),
            ("shouyang", "寿阳县", "140725"),
            ("qixian", "祁县", "140727"),
            ("pingyao", "平遥县", "140728"),
            ("lingshi", "灵石县", "140729"),
            ("jiexiu", "介休市", "140781"),
        ],
    ),
    (
        "yc",
        "运城",
        "0359",
        [
            ("yanhu", "盐湖区", "140802"),
            ("linyi", "临猗县", "140821"),
            ("wanrong", "万荣县", "140822"),
            ("wenxi", "闻喜县", "140823"),
            ("jishan", "稷山县", "140824"),
            ("xinjiang", "新绛县", "140825"),
            ("jiangxian", "绛县", "140826"),
            ("yuanqu", "垣曲县", "140827"),
            ("xiaxian", "夏县", "140828"),
            ("pinglu", "平陆县", "140829"),
            ("ruicheng", "芮城县", "140830"),
            ("yongji", "永济市", "140881"),
            ("hejin", "河津市", "140882"),
        ],
    ),
    (
        "xz",
        "忻州",
        "0350",
        [
            ("xinfu", "忻府区", "140902"),
            ("dingxiang", "定襄县", "140921"),
            ("wutai", "五台县", "140922"),
            ("daixian", "代县", "140923"),
            ("fanshi", "繁峙县", "140924"),
            ("ningwu", "宁武县", "140925"),
            ("jingle", "静乐县", "140926"),
            ("shenchi", "神池县", "140927"),
            ("wuzhai", "五寨县", "140928"),
            ("kelan", "岢岚县", "140929"),
            ("hequ", "河曲县", "140930"),
            ("baode", "保德县", "140931"),
            ("pianguan", "偏关县", "140932"),
            ("yuanping", "原平市", "140981"),
        ],
    ),
    (
        "lf",
        "临汾",
        "0357",
        [
            ("yaodu", "尧都区", "141002"),
            ("quwo", "曲沃县", "141021"),
            ("yicheng", "翼城县", "141022"),
            ("xiangfen", "襄汾县", "141023"),
            ("hongtong", "洪洞县", "141024"),
            ("guxian", "古县", "141025"),
            ("anze", "安泽县", "141026"),
            ("fushan", "浮山县", "141027"),
            ("jixian", "吉县", "141028"),
            ("xiangning", "乡宁县", "141029"),
            ("daning", "大宁县", "141030"),
            ("xixian", "隰县", "141031"),
            ("yonghe", "永和县", "141032"),
            ("puxian", "蒲县", "141033"),
            ("fenxi", "汾西县", "141034"),
            ("houma", "侯马市", "141081"),
            ("huozhou", "霍州市", "141082"),
        ],
    ),
    (
        "ll",
        "吕梁",
        "0358",
        [
            ("lishi", "离石区", "141102"),
            ("wenshui", "文水县", "141121"),
            ("jiaocheng", "交城县", "141122"),
            ("xingxian", "兴县", "141123"),
            ("linxian", "临县", "141124"),
            ("liulin", "柳林县", "141125"),
            ("shilou", "石楼县", "141126"),
            ("lanxian", "岚县", "141127"),
            ("fangshan", "方山县", "141128"),
            ("zhongyang", "中阳县", "141129"),
            ("jiaokou", "交口县", "141130"),
            ("xiaoyi", "孝义市", "141181"),
            ("fenyang", "汾阳市", "141182"),
        ],
    ),
]
# Names shared by counties of several cities: their units and areas carry the city's name too.
SHARED_NAMES = frozenset({"城区", "郊区", "矿区"})
# Streets of a generated address outside Taiyuan's six districts (no county's name or keyword in
# any of them).
COMMON_STREETS = ["建设路", "解放路", "新华街", "人民路", "府前街", "文化路", "中心街", "迎宾路", "朝阳路", "东关街"]
# How many applications a county sees, relative to a rural county: urban districts more.
WEIGHTS = {"ty区": 4.0, "区": 2.0, "市": 1.5, "县": 1.0}


def weight(city: str, county: str) -> float:
    if county.endswith("区"):
        return WEIGHTS["ty区"] if city == "ty" else WEIGHTS["区"]
    return WEIGHTS["市"] if county.endswith("市") else WEIGHTS["县"]


def county_code(city: str, suffix: str) -> str:
    return f"{city}-{suffix}"


def full_name(city_name: str, county: str) -> str:
    """The start of an address in the county (after 山西省): 阳泉市城区."""
    return f"{city_name}市{county}"


def counties() -> list[tuple[str, str, str, str, str, str]]:
    """(city code, city name, area code, county unit code, county name, division code), in the
    order managers are dealt: the first county of each city, then the second of each, …"""
    out = []
    for i in range(max(len(c[3]) for c in SHANXI)):
        for city, city_name, phone, rows in SHANXI:
            if i < len(rows):
                suffix, name, division = rows[i]
                out.append((city, city_name, phone, county_code(city, suffix), name, division))
    return out


def keywords(city_name: str, county: str) -> str:
    """The area's address keywords: the full name; also the bare county name when no other
    county's full name contains it (绛县 is inside 新绛县; 城区 inside 平城区)."""
    words = [full_name(city_name, county)]
    others = [full_name(cn, n) for _c, cn, _p, rows in SHANXI for _s, n, _d in rows if (cn, n) != (city_name, county)]
    if county not in SHARED_NAMES and not any(county in o for o in others):
        words.append(county)
    return ",".join(words)


def unit_name(city_name: str, county: str) -> str:
    return f"{city_name}{county}供电公司" if county in SHARED_NAMES else f"{county}供电公司"


def manager_names(count: int) -> list[str]:
    return [f"load_mgr{i:03d}" for i in range(1, count + 1)]


def ensure_province(managers: int) -> dict[str, Unit]:
    """The province's tree, one area per county, and the staff (idempotent; what exists is kept,
    the load's own accounts are put back in place). Returns the units by code."""
    ensure_areas()
    found = ensure_units()  # 山西 at the top, the demo's cities and districts, Taiyuan's areas
    top = found["sx"]
    for city, city_name, phone, rows in SHANXI:
        unit = found.get(city) or Unit.objects.filter(code=city).first()
        if unit is None:
            unit = units.save_unit(
                Unit(
                    code=city, name=f"国网{city_name}供电公司", kind=UnitKind.CITY, parent=top, hotline=f"{phone}-12398"
                ),
                None,
            )
        found[city] = unit
        for suffix, name, _division in rows:
            code = county_code(city, suffix)
            county = found.get(code) or Unit.objects.filter(code=code).first()
            if county is None:
                county = units.save_unit(
                    Unit(code=code, name=unit_name(city_name, name), kind=UnitKind.COUNTY, parent=unit), None
                )
            found[code] = county
    area_of = _ensure_areas(found)
    _ensure_staff(found, area_of, managers)
    return found


def _ensure_areas(found: dict[str, Unit]) -> dict[str, ServiceArea]:
    """Each county's area (the demo's where it has one): unit code -> area."""
    by_unit: dict[int, ServiceArea] = {}
    for area in ServiceArea.objects.order_by("code"):
        by_unit.setdefault(area.unit_id, area)
    out = {}
    for _city, city_name, _phone, code, name, _division in counties():
        unit = found[code]
        found_area = by_unit.get(unit.pk)
        if found_area is not None:
            area = found_area
        else:
            area, _ = ServiceArea.objects.get_or_create(
                code=code,
                defaults={"name": unit_name(city_name, name), "keywords": keywords(city_name, name), "unit": unit},
            )
        out[code] = area
    return out


def _ensure_staff(found: dict[str, Unit], area_of: dict[str, ServiceArea], managers: int) -> None:
    """Customer managers dealt to the counties in turn (the first of each county is its area's
    team lead), a leader for each county and each city (``leader.<unit code>``)."""
    unusable = make_password(None)
    order = counties()
    wanted: dict[str, tuple[str, str, str]] = {}  # username -> (unit code, role, work phone)
    for i, name in enumerate(manager_names(managers)):
        _city, _cn, phone, code, _n, _d = order[i % len(order)]
        wanted[name] = (code, Role.CUSTOMER_MANAGER, f"{phone}-66{i + 1:05d}")
    for city, _cn, phone, rows in SHANXI:
        wanted[f"leader.{city}"] = (city, Role.LEADER, f"{phone}-5559000")
        for k, (suffix, _n, _d) in enumerate(rows, start=1):
            wanted[f"leader.{county_code(city, suffix)}"] = (
                county_code(city, suffix),
                Role.LEADER,
                f"{phone}-55590{k:02d}",
            )
    have = {u.username: u for u in User.objects.filter(username__in=list(wanted))}
    new = []
    for i, (username, (code, role, phone)) in enumerate(wanted.items()):
        if username not in have:
            new.append(
                User(
                    username=username,
                    password=unusable,
                    role=role,
                    last_name=SURNAMES[i % len(SURNAMES)],
                    first_name="经理" if role == Role.CUSTOMER_MANAGER else "主任",
                    work_phone=phone,
                    unit=found[code],
                )
            )
    User.objects.bulk_create(new)
    users = {u.username: u for u in User.objects.filter(username__in=list(wanted))}
    # The load's managers serve their county's area only (as a county's managers do).
    for username, (code, role, _phone) in wanted.items():
        user = users[username]
        if user.unit_id != found[code].pk or (role == Role.CUSTOMER_MANAGER and user.serves_all_areas):
            user.unit = found[code]
            user.serves_all_areas = False
            user.save(update_fields=["unit", "serves_all_areas"])
    through = User.areas.through
    mgr_pks = [users[n].pk for n in manager_names(managers)]
    linked = set(through.objects.filter(user_id__in=mgr_pks).values_list("user_id", "servicearea_id"))
    links = []
    leads: dict[str, User] = {}
    for name in manager_names(managers):
        code = wanted[name][0]
        user = users[name]
        leads.setdefault(code, user)
        if (user.pk, area_of[code].pk) not in linked:
            links.append(through(user_id=user.pk, servicearea_id=area_of[code].pk))
    through.objects.bulk_create(links)
    for code, lead in leads.items():
        area = area_of[code]
        if area.team_lead_id is None:
            area.team_lead = lead
            area.save(update_fields=["team_lead"])


@dataclass
class Place:
    """One county as the generator draws it."""

    city_name: str
    county: str
    division: str
    unit_id: int
    weight: float
    streets: list[str]
    managers: list[User] = field(default_factory=list)
    turn: int = 0


def places(managers: list[User]) -> list[Place]:
    """The counties with their managers (those without any are left out: nobody could hold their
    applications). Reads what ``ensure_province`` made."""
    unit_ids = dict(Unit.objects.filter(kind=UnitKind.COUNTY).values_list("code", "id"))
    by_unit: dict[int | None, list[User]] = {}
    for m in managers:
        by_unit.setdefault(m.unit_id, []).append(m)
    out = []
    for city, city_name, _phone, code, name, division in counties():
        pk = unit_ids.get(code)
        if pk is None or not by_unit.get(pk):
            continue
        streets = STREETS.get(name) if city == "ty" else None
        out.append(Place(city_name, name, division, pk, weight(city, name), streets or COMMON_STREETS, by_unit[pk]))
    return out
