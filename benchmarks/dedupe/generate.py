"""Realistic customer records with known duplicates, for dedupe benchmarks and tests.

``generate(n, profile=..., seed=...)`` returns ``(records, truth)``: flat
mappings with crmcore's logical fields (``id``, ``first_name``, ``last_name``,
``full_name``, ``email``, ``phone``, ``national_id``, ``date_of_birth``,
``postcode``, ``city``, ``address``, ``company``) and ``truth[id]`` = the
real-world person behind each record.

What makes it hard, as in real CRM exports:

* Chinese names in characters and in pinyin, in both orders (张伟 / Zhang Wei /
  WEI ZHANG), sometimes in ``full_name`` only; very common names (张伟, 王芳)
  held by many different people;
* Western names with typos, swapped first/last, nicknames (Bob/Robert,
  Bill/William, Liz/Elizabeth...), common surnames (Smith, Jones);
* phones and e-mails in different formats (``+86 138-0013-8000`` vs
  ``13800138000``, upper case and gmail dots), or changed outright;
* moved addresses, missing fields, dates in several written forms;
* relatives who share a surname, address and landline but are different people.

Profiles: ``chinese`` (mostly Chinese), ``western`` (mostly Western),
``mixed`` (half and half), ``noisy`` (mixed, with far more missing values,
typos and changed contact details) are CRM-shaped. ``typos`` is shaped like the
public benchmarks of personal records (FEBRL and its kin): up to 9 duplicates
of one person, each made from the original with 2-5 corruptions spread over
its fields (inserted, deleted, substituted and transposed characters, OCR
confusions, phonetic spellings, initials and abbreviations, dropped values,
swapped first/last names, transposed digits in birth dates, ids, phones and
postcodes). ``generate_linkage(n)`` makes the two-file form of it: files A and
B, each person at most once per file, B's records corrupted the same way.

Run ``python benchmarks/dedupe/generate.py 1000 chinese`` to print a sample.
"""

from __future__ import annotations

import datetime as dt
import random
import re
import string
import sys
from collections.abc import Callable
from typing import Any

__all__ = ["LINKAGE", "PROFILES", "generate", "generate_linkage", "true_pairs"]

Record = dict[str, Any]

# ----------------------------------------------------------------------- vocabularies

# (surname, weight): a heavy head like real Chinese surname frequencies
_CN_SURNAMES = [
    ("王", 72),
    ("李", 70),
    ("张", 66),
    ("刘", 53),
    ("陈", 45),
    ("杨", 31),
    ("黄", 24),
    ("赵", 21),
    ("吴", 20),
    ("周", 19),
    ("徐", 15),
    ("孙", 14),
    ("马", 13),
    ("朱", 12),
    ("胡", 12),
    ("郭", 11),
    ("何", 10),
    ("高", 9),
    ("林", 9),
    ("罗", 8),
    ("郑", 8),
    ("梁", 8),
    ("谢", 6),
    ("宋", 6),
    ("唐", 6),
    ("许", 5),
    ("韩", 5),
    ("冯", 5),
    ("邓", 5),
    ("曹", 5),
    ("彭", 4),
    ("曾", 4),
    ("肖", 4),
    ("田", 4),
    ("董", 4),
    ("袁", 3),
    ("潘", 3),
    ("于", 3),
    ("蒋", 3),
    ("蔡", 3),
    ("余", 3),
    ("杜", 3),
    ("叶", 3),
    ("程", 3),
    ("苏", 2),
    ("魏", 2),
    ("吕", 2),
    ("丁", 2),
    ("任", 2),
    ("沈", 2),
    ("姚", 2),
    ("卢", 2),
    ("姜", 2),
    ("崔", 2),
    ("钟", 2),
    ("谭", 2),
    ("陆", 2),
    ("汪", 2),
    ("范", 2),
    ("金", 2),
    ("石", 2),
    ("廖", 2),
    ("贾", 2),
    ("夏", 2),
    ("韦", 2),
    ("付", 2),
    ("方", 2),
    ("白", 2),
    ("邹", 2),
    ("孟", 1),
    ("熊", 1),
    ("秦", 1),
    ("邱", 1),
    ("江", 1),
    ("尹", 1),
    ("薛", 1),
    ("欧阳", 1),
    ("司马", 1),
    ("诸葛", 1),
    ("上官", 1),
]
_CN_GIVEN_CHARS = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红娥玲芬燕彬鹏辉斌宇浩凯"
    "健俊帆帅旭宁龙林欢阳建国峰亮成志新海波晨雪梅琳晶莉婷慧颖佳嘉欣怡子涵梓轩思雨"
)
_CN_COMMON_GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰"]
_CN_CITIES = [
    ("北京", "Beijing", "100"),
    ("上海", "Shanghai", "200"),
    ("广州", "Guangzhou", "510"),
    ("深圳", "Shenzhen", "518"),
    ("杭州", "Hangzhou", "310"),
    ("成都", "Chengdu", "610"),
    ("武汉", "Wuhan", "430"),
    ("南京", "Nanjing", "210"),
    ("西安", "Xi'an", "710"),
    ("重庆", "Chongqing", "400"),
    ("天津", "Tianjin", "300"),
    ("苏州", "Suzhou", "215"),
]
_CN_DISTRICTS = [
    "朝阳",
    "海淀",
    "东城",
    "西城",
    "浦东",
    "徐汇",
    "天河",
    "南山",
    "福田",
    "西湖",
    "武侯",
    "江汉",
]
_CN_ROADS = [
    "人民",
    "中山",
    "建国",
    "解放",
    "和平",
    "长安",
    "新华",
    "光明",
    "青年",
    "胜利",
    "文化",
    "科技",
]
_CN_MOBILE_PREFIX = [
    "138",
    "139",
    "137",
    "136",
    "135",
    "158",
    "159",
    "150",
    "151",
    "186",
    "188",
    "189",
    "133",
    "177",
    "199",
]
_CN_EMAIL_DOMAINS = [
    "qq.com",
    "163.com",
    "126.com",
    "sina.com",
    "gmail.com",
    "outlook.com",
    "foxmail.com",
]
_CN_COMPANIES = [
    "华为技术有限公司",
    "腾讯科技有限公司",
    "阿里巴巴集团",
    "中国平安保险股份有限公司",
    "小米科技有限责任公司",
    "京东集团",
    "百度在线网络技术有限公司",
    "美团",
]

_W_FIRST = [
    ("Robert", 30),
    ("William", 28),
    ("Elizabeth", 22),
    ("James", 30),
    ("John", 32),
    ("Michael", 28),
    ("David", 26),
    ("Richard", 18),
    ("Joseph", 16),
    ("Thomas", 18),
    ("Charles", 14),
    ("Christopher", 14),
    ("Daniel", 16),
    ("Matthew", 14),
    ("Anthony", 10),
    ("Margaret", 10),
    ("Jennifer", 16),
    ("Patricia", 12),
    ("Susan", 10),
    ("Jessica", 12),
    ("Sarah", 14),
    ("Karen", 10),
    ("Nancy", 8),
    ("Lisa", 10),
    ("Emily", 12),
    ("Emma", 12),
    ("Olivia", 10),
    ("Sophia", 8),
    ("Catherine", 8),
    ("Andrew", 12),
    ("Edward", 8),
    ("Benjamin", 10),
    ("Samuel", 8),
    ("Nicholas", 8),
    ("Rebecca", 8),
    ("Victoria", 6),
    ("Stephen", 8),
    ("Timothy", 6),
    ("Kenneth", 6),
    ("Laura", 8),
    ("Hannah", 6),
    ("Oliver", 8),
    ("George", 8),
    ("Harry", 6),
    ("Jack", 8),
    ("Amelia", 6),
    ("Isla", 4),
    ("Chloe", 6),
    ("Lucy", 6),
    ("Mohammed", 6),
    ("Ahmed", 4),
    ("Fatima", 4),
    ("Priya", 4),
    ("Raj", 4),
    ("José", 4),
    ("María", 4),
    ("Zoë", 2),
    ("Renée", 2),
    ("François", 2),
]
_W_LAST = [
    ("Smith", 60),
    ("Johnson", 40),
    ("Williams", 38),
    ("Brown", 36),
    ("Jones", 36),
    ("Garcia", 20),
    ("Miller", 24),
    ("Davis", 24),
    ("Rodriguez", 14),
    ("Martinez", 14),
    ("Wilson", 18),
    ("Anderson", 16),
    ("Taylor", 20),
    ("Thomas", 14),
    ("Moore", 12),
    ("Jackson", 12),
    ("Martin", 12),
    ("Lee", 14),
    ("Thompson", 12),
    ("White", 12),
    ("Harris", 10),
    ("Clark", 10),
    ("Lewis", 10),
    ("Robinson", 10),
    ("Walker", 10),
    ("Young", 8),
    ("Allen", 8),
    ("King", 8),
    ("Wright", 8),
    ("Scott", 8),
    ("Hill", 8),
    ("Green", 8),
    ("Adams", 8),
    ("Baker", 8),
    ("Nelson", 6),
    ("Carter", 6),
    ("Mitchell", 6),
    ("Roberts", 6),
    ("Turner", 6),
    ("Phillips", 6),
    ("Campbell", 6),
    ("Evans", 6),
    ("Edwards", 6),
    ("Collins", 6),
    ("Stewart", 6),
    ("Morris", 6),
    ("O'Brien", 4),
    ("McDonald", 4),
    ("Van der Berg", 2),
    ("Müller", 3),
    ("Schmidt", 3),
    ("Patel", 8),
    ("Khan", 6),
    ("Singh", 6),
    ("Nguyen", 6),
    ("Kim", 4),
    ("Müller", 2),
]
_NICKNAMES = {
    "Robert": ["Bob", "Rob", "Bobby"],
    "William": ["Bill", "Will", "Billy"],
    "Elizabeth": ["Liz", "Beth", "Lizzie"],
    "James": ["Jim", "Jimmy"],
    "John": ["Johnny", "Jack"],
    "Michael": ["Mike", "Mick"],
    "David": ["Dave"],
    "Richard": ["Rick", "Dick", "Rich"],
    "Joseph": ["Joe"],
    "Thomas": ["Tom", "Tommy"],
    "Charles": ["Charlie", "Chuck"],
    "Christopher": ["Chris"],
    "Daniel": ["Dan", "Danny"],
    "Matthew": ["Matt"],
    "Anthony": ["Tony"],
    "Margaret": ["Maggie", "Peggy", "Meg"],
    "Jennifer": ["Jen", "Jenny"],
    "Patricia": ["Pat", "Trish"],
    "Susan": ["Sue"],
    "Jessica": ["Jess"],
    "Catherine": ["Kate", "Cathy"],
    "Andrew": ["Andy", "Drew"],
    "Edward": ["Ed", "Ted"],
    "Benjamin": ["Ben"],
    "Samuel": ["Sam"],
    "Nicholas": ["Nick"],
    "Rebecca": ["Becky"],
    "Victoria": ["Vicky"],
    "Stephen": ["Steve"],
    "Timothy": ["Tim"],
    "Kenneth": ["Ken"],
}
_W_CITIES = [
    ("London", "SW1A"),
    ("Manchester", "M1"),
    ("Birmingham", "B1"),
    ("Leeds", "LS1"),
    ("Glasgow", "G1"),
    ("Bristol", "BS1"),
    ("Edinburgh", "EH1"),
    ("Liverpool", "L1"),
]
_W_STREETS = [
    "High",
    "Station",
    "Church",
    "Park",
    "Victoria",
    "Green",
    "Manor",
    "King",
    "Queen",
    "Mill",
    "London",
    "Grange",
    "Oak",
    "Elm",
    "Kings",
    "New",
]
_W_STREET_KINDS = ["Street", "Road", "Avenue", "Lane", "Drive", "Close"]
_W_EMAIL_DOMAINS = [
    "gmail.com",
    "outlook.com",
    "yahoo.co.uk",
    "hotmail.com",
    "icloud.com",
    "btinternet.com",
]
_W_COMPANIES = [
    "Acme Ltd",
    "Globex Corporation",
    "Initech Inc",
    "Umbrella plc",
    "Stark Industries",
    "Wayne Enterprises Ltd",
    "Hooli",
    "Tesco plc",
]

_ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
_ID_CHECK = "10X98765432"


class Profile:
    """How a dataset looks: who is in it and how messy the duplicates are."""

    def __init__(
        self,
        *,
        chinese: float,
        dup_rate: float,
        missing: float,
        typo: float,
        change_contact: float,
        move: float,
        relatives: float,
    ) -> None:
        self.chinese = chinese  # share of people with Chinese names
        self.dup_rate = dup_rate  # share of people with at least one duplicate record
        self.missing = missing  # chance each optional field is missing in a record
        self.typo = typo  # chance of a typo in a name/email/date of a duplicate
        self.change_contact = change_contact  # chance a duplicate has a new phone/e-mail
        self.move = move  # chance a duplicate has moved address
        self.relatives = relatives  # share of people with a relative in the data


PROFILES: dict[str, Profile] = {
    "chinese": Profile(
        chinese=0.9,
        dup_rate=0.3,
        missing=0.2,
        typo=0.1,
        change_contact=0.2,
        move=0.2,
        relatives=0.1,
    ),
    "western": Profile(
        chinese=0.1,
        dup_rate=0.3,
        missing=0.2,
        typo=0.15,
        change_contact=0.2,
        move=0.2,
        relatives=0.1,
    ),
    "mixed": Profile(
        chinese=0.5,
        dup_rate=0.3,
        missing=0.2,
        typo=0.12,
        change_contact=0.2,
        move=0.2,
        relatives=0.1,
    ),
    "noisy": Profile(
        chinese=0.5,
        dup_rate=0.35,
        missing=0.4,
        typo=0.3,
        change_contact=0.35,
        move=0.35,
        relatives=0.15,
    ),
}


def _weighted(rng: random.Random, items: list[tuple[str, int]]) -> str:
    values = [v for v, _ in items]
    weights = [w for _, w in items]
    return rng.choices(values, weights=weights)[0]


def _pinyin(text: str, surname: bool = False) -> str:
    from pypinyin import Style, lazy_pinyin

    overrides = {"曾": "zeng", "单": "shan", "解": "xie", "仇": "qiu"}
    if surname and text in overrides:
        return overrides[text]
    return "".join(lazy_pinyin(text, style=Style.NORMAL))


def _national_id(rng: random.Random, dob: dt.date, area: str) -> str:
    body = f"{area}{rng.randint(100, 999)}{dob:%Y%m%d}{rng.randint(100, 999)}"[:17]
    body = body.ljust(17, "0")
    total = sum(int(c) * w for c, w in zip(body, _ID_WEIGHTS, strict=True))
    return body + _ID_CHECK[total % 11]


def _typo(rng: random.Random, text: str) -> str:
    if len(text) < 3:
        return text
    i = rng.randrange(1, len(text) - 1)
    kind = rng.random()
    letters = string.ascii_lowercase
    if kind < 0.3:  # substitute
        return text[:i] + rng.choice(letters) + text[i + 1 :]
    if kind < 0.55:  # delete
        return text[:i] + text[i + 1 :]
    if kind < 0.8:  # insert
        return text[:i] + rng.choice(letters) + text[i:]
    return text[: i - 1] + text[i] + text[i - 1] + text[i + 1 :]  # transpose


def _cn_mobile(rng: random.Random) -> str:
    return rng.choice(_CN_MOBILE_PREFIX) + f"{rng.randint(0, 99_999_999):08d}"


def _uk_mobile(rng: random.Random) -> str:
    return "+447" + rng.choice("1234579") + f"{rng.randint(0, 99_999_999):08d}"


def _format_phone(rng: random.Random, e164: str, chinese: bool) -> str:
    if chinese:
        d = e164[-11:]
        forms = [
            d,
            f"+86 {d[:3]}-{d[3:7]}-{d[7:]}",
            f"{d[:3]} {d[3:7]} {d[7:]}",
            f"+86{d}",
            f"0086 {d}",
            f"(+86) {d[:3]} {d[3:7]} {d[7:]}",
            f"{d[:3]}-{d[3:7]}-{d[7:]}",
        ]
    else:
        d = e164[3:]
        forms = [
            e164,
            f"+44 {d[:4]} {d[4:]}",
            f"0044 {d}",
            f"+44 ({d[:4]}) {d[4:]}",
            f"+44-{d[:4]}-{d[4:]}",
        ]
    return rng.choice(forms)


def _format_date(rng: random.Random, d: dt.date, chinese: bool) -> str:
    forms = [
        d.isoformat(),
        f"{d.year}/{d.month}/{d.day}",
        f"{d:%Y%m%d}",
        f"{d.year}.{d.month:02d}.{d.day:02d}",
    ]
    forms.append(f"{d.year}年{d.month}月{d.day}日" if chinese else f"{d.day} {d:%B} {d.year}")
    return rng.choice(forms)


def _email_variant(rng: random.Random, email: str) -> str:
    local, _, domain = email.partition("@")
    r = rng.random()
    if r < 0.35:
        return email.upper() if rng.random() < 0.3 else local.capitalize() + "@" + domain
    if r < 0.55 and domain == "gmail.com" and len(local) > 3:
        i = rng.randrange(1, len(local) - 1)
        return f"{local[:i]}.{local[i:]}@{domain}"
    if r < 0.7:
        return f"{local}+crm@{domain}"
    return f" {email} "


# mailbox -> owner (reset per dataset): two people never share an address
_TAKEN_EMAILS: dict[str, int] = {}


class _Person:
    def __init__(
        self, rng: random.Random, chinese: bool, relative_of: _Person | None = None
    ) -> None:
        self.chinese = chinese
        if chinese:
            if relative_of is not None and relative_of.chinese:
                self.family = relative_of.family
            else:
                self.family = _weighted(rng, _CN_SURNAMES)
            if rng.random() < 0.35:
                self.given = rng.choice(_CN_COMMON_GIVEN)
            else:
                k = rng.choice([1, 2, 2])
                self.given = "".join(rng.choice(_CN_GIVEN_CHARS) for _ in range(k))
            self.family_py = _pinyin(self.family, surname=True).capitalize()
            self.given_py = _pinyin(self.given).capitalize()
        else:
            if relative_of is not None and not relative_of.chinese:
                self.family = relative_of.family
            else:
                self.family = _weighted(rng, _W_LAST)
            self.given = _weighted(rng, _W_FIRST)
            self.family_py, self.given_py = self.family, self.given
        start = dt.date(1950, 1, 1).toordinal()
        self.dob = dt.date.fromordinal(start + rng.randrange(0, 20_000))
        self._home(rng, relative_of)
        if relative_of is not None and rng.random() < 0.5:
            self.phone = relative_of.phone  # a shared landline/family phone
        else:
            self.phone = "+86" + _cn_mobile(rng) if chinese else _uk_mobile(rng)
        self.email = self._email(rng)
        self.national_id = (
            _national_id(rng, self.dob, self.area) if chinese and rng.random() < 0.8 else None
        )
        companies = _CN_COMPANIES if chinese else _W_COMPANIES
        self.company = rng.choice(companies) if rng.random() < 0.3 else None

    def _home(self, rng: random.Random, relative_of: _Person | None) -> None:
        if relative_of is not None:
            self.city, self.city_alt, self.postcode = (
                relative_of.city,
                relative_of.city_alt,
                relative_of.postcode,
            )
            self.address, self.area = relative_of.address, relative_of.area
            return
        self.move(rng)

    def move(self, rng: random.Random) -> None:
        if self.chinese:
            city, city_py, prefix = rng.choice(_CN_CITIES)
            self.city, self.city_alt = city, city_py
            self.postcode = prefix + f"{rng.randint(0, 999):03d}"
            self.area = f"{rng.randint(11, 65)}{rng.randint(1, 99):02d}{rng.randint(1, 99):02d}"
            district, road = rng.choice(_CN_DISTRICTS), rng.choice(_CN_ROADS)
            number, block, room = rng.randint(1, 999), rng.randint(1, 30), rng.randint(101, 2808)
            self.address = f"{district}区{road}路{number}号{block}栋{room}室"
        else:
            city, prefix = rng.choice(_W_CITIES)
            self.city, self.city_alt = city, city.upper()
            letters = "ABDEFGHJLNPQRSTUWXYZ"
            inward = f"{rng.randint(1, 9)}{rng.choice(letters)}{rng.choice(letters)}"
            self.postcode = f"{prefix} {inward}"
            self.area = "110101"
            self.address = (
                f"{rng.randint(1, 250)} {rng.choice(_W_STREETS)} {rng.choice(_W_STREET_KINDS)}"
            )

    def _email(self, rng: random.Random) -> str:
        """A mailbox of this person's own: never one another person already holds."""
        base = (
            f"{self.given_py}.{self.family_py}"
            if rng.random() < 0.5
            else f"{self.given_py[0]}{self.family_py}"
        )
        base = base.lower().replace(" ", "").replace("'", "")
        base = base.encode("ascii", "ignore").decode() or "user"
        domains = _CN_EMAIL_DOMAINS if self.chinese else _W_EMAIL_DOMAINS
        domain = rng.choice(domains)
        local = base + str(rng.randint(1, 9999)) if rng.random() < 0.7 else base
        while f"{local}@{domain}" in _TAKEN_EMAILS and _TAKEN_EMAILS[f"{local}@{domain}"] != id(
            self
        ):
            local = base + str(rng.randint(1, 99999))
        _TAKEN_EMAILS[f"{local}@{domain}"] = id(self)
        return f"{local}@{domain}"


def _name_fields(rng: random.Random, p: _Person, variant: bool, typo: float) -> dict[str, Any]:
    out: dict[str, Any] = {"first_name": None, "last_name": None, "full_name": None}
    if p.chinese:
        form = rng.random() if variant else rng.random() * 0.6
        if form < 0.45:
            out["first_name"], out["last_name"] = p.given, p.family
        elif form < 0.6:
            out["full_name"] = p.family + p.given
        elif form < 0.75:
            out["first_name"], out["last_name"] = p.given_py, p.family_py
        elif form < 0.85:
            out["full_name"] = f"{p.family_py} {p.given_py}"
        elif form < 0.93:
            out["full_name"] = f"{p.given_py} {p.family_py}"
        else:
            out["full_name"] = f"{p.family_py.upper()} {p.given_py}"
        return out
    given, family = p.given, p.family
    if variant:
        if given in _NICKNAMES and rng.random() < 0.3:
            given = rng.choice(_NICKNAMES[given])
        if rng.random() < typo:
            given = _typo(rng, given) if rng.random() < 0.5 else given
            family = _typo(rng, family) if given == p.given else family
        if rng.random() < 0.1:
            given, family = family, given  # swapped first/last
        if rng.random() < 0.1:
            given, family = given.upper(), family.upper()
    if rng.random() < 0.2:
        out["full_name"] = f"{given} {family}"
    else:
        out["first_name"], out["last_name"] = given, family
    return out


def _record(rng: random.Random, p: _Person, prof: Profile, variant: bool) -> Record:
    rec: Record = _name_fields(rng, p, variant, prof.typo)
    miss = prof.missing * (1.0 if variant else 0.5)
    phone = p.phone
    email = p.email
    if variant and rng.random() < prof.change_contact:
        if rng.random() < 0.5:
            phone = "+86" + _cn_mobile(rng) if p.chinese else _uk_mobile(rng)
        else:
            email = p._email(rng)
    rec["phone"] = None if rng.random() < miss else _format_phone(rng, phone, p.chinese)
    if rec["phone"] is not None and variant and rng.random() < prof.typo * 0.3:
        digits = list(rec["phone"])
        idxs = [i for i, c in enumerate(digits) if c.isdigit()]
        i = rng.choice(idxs[-6:])
        digits[i] = rng.choice("0123456789")
        rec["phone"] = "".join(digits)
    if rng.random() < miss:
        rec["email"] = None
    else:
        rec["email"] = _email_variant(rng, email) if variant and rng.random() < 0.5 else email
        if variant and rng.random() < prof.typo * 0.5:
            local, _, dom = rec["email"].strip().partition("@")
            rec["email"] = _typo(rng, local) + "@" + dom
    dob = p.dob
    if variant and rng.random() < prof.typo * 0.3:
        dob = (
            dob.replace(day=dob.month, month=dob.day)
            if dob.day <= 12
            else dob + dt.timedelta(days=1)
        )
    rec["date_of_birth"] = None if rng.random() < miss * 1.5 else _format_date(rng, dob, p.chinese)
    rec["national_id"] = p.national_id if p.national_id and rng.random() > miss * 1.5 else None
    home = p
    if variant and rng.random() < prof.move:
        home = _Person.__new__(_Person)
        home.chinese = p.chinese
        _Person.move(home, rng)
    if rng.random() < miss:
        rec["address"] = rec["postcode"] = rec["city"] = None
    else:
        rec["address"] = home.address
        rec["postcode"] = home.postcode if rng.random() > miss else None
        rec["city"] = home.city_alt if rng.random() < 0.3 else home.city
    rec["company"] = p.company if p.company and rng.random() > miss else None
    return rec


# ------------------------------------------------------------ typo-heavy profiles

# more names than the CRM profiles use, so that name collisions between
# different people are as rare as in a real population register
_T_FIRST_MORE = [
    "Aaron", "Abigail", "Adrian", "Alan", "Albert", "Alexander", "Alice", "Alison", "Amanda",
    "Amber", "Amy", "Angela", "Anna", "Annabel", "Arthur", "Ashley", "Barbara", "Bethany",
    "Bradley", "Brandon", "Brenda", "Brian", "Bruce", "Caitlin", "Callum", "Cameron", "Carl",
    "Caroline", "Carol", "Charlotte", "Christine", "Claire", "Connor", "Craig", "Cynthia",
    "Deborah", "Declan", "Dennis", "Derek", "Diana", "Donald", "Dorothy", "Douglas", "Dylan",
    "Eleanor", "Eliza", "Ellie", "Eric", "Ethan", "Evelyn", "Fiona", "Florence", "Frances",
    "Frank", "Freya", "Gareth", "Gavin", "Gemma", "Georgia", "Gerald", "Gillian", "Gordon",
    "Grace", "Graham", "Gregory", "Harriet", "Heather", "Helen", "Henry", "Holly", "Hugh",
    "Ian", "Imogen", "Isaac", "Isabel", "Jacob", "Jade", "Jake", "Janet", "Jasmine", "Jason",
    "Jeffrey", "Jeremy", "Joan", "Joanne", "Jonathan", "Jordan", "Joshua", "Joyce", "Judith",
    "Julia", "Julian", "Justin", "Katie", "Keith", "Kevin", "Kieran", "Kimberly", "Kirsty",
    "Lauren", "Leah", "Leo", "Leon", "Liam", "Louise", "Lucas", "Luke", "Lydia", "Malcolm",
    "Marcus", "Marion", "Mark", "Martin", "Mary", "Megan", "Melissa", "Michelle", "Mildred",
    "Molly", "Nathan", "Neil", "Niamh", "Noah", "Norman", "Owen", "Paige", "Pamela", "Patrick",
    "Paul", "Pauline", "Peter", "Philip", "Phoebe", "Rachel", "Raymond", "Reece", "Roger",
    "Rosemary", "Ruby", "Russell", "Ruth", "Ryan", "Sandra", "Scott", "Sean", "Shane", "Sharon",
    "Shirley", "Simon", "Sophie", "Stanley", "Stella", "Stuart", "Teresa", "Theo", "Tracy",
    "Trevor", "Tyler", "Vanessa", "Vincent", "Walter", "Wayne", "Wendy", "Yvonne", "Zachary",
]  # fmt: skip
_T_SURNAME_HEADS = [
    "Ash", "Black", "Brad", "Brom", "Cald", "Cart", "Craw", "Dun", "East", "Fair", "Fern",
    "Gold", "Grim", "Hal", "Hart", "Hol", "Kings", "Lang", "Lind", "Mar", "Mid", "Nor", "Pen",
    "Red", "Ros", "Sand", "Shel", "Stan", "Sum", "Thorn", "Wake", "West", "Whit", "Wood",
]  # fmt: skip
_T_SURNAME_TAILS = [
    "ford", "ley", "ton", "wood", "field", "by", "well", "combe", "ham", "worth", "den",
    "bridge", "more", "wick", "stone", "hurst",
]  # fmt: skip
_T_TOWNS = [
    "Ashford", "Bedford", "Bolton", "Bradford", "Cambridge", "Canterbury", "Carlisle",
    "Chester", "Colchester", "Coventry", "Derby", "Doncaster", "Durham", "Exeter",
    "Gloucester", "Harrogate", "Hereford", "Ipswich", "Lancaster", "Leicester", "Lincoln",
    "Luton", "Norwich", "Nottingham", "Oxford", "Peterborough", "Plymouth", "Portsmouth",
    "Preston", "Reading", "Salisbury", "Sheffield", "Southampton", "Stockport", "Swindon",
    "Wakefield", "Warrington", "Winchester", "Worcester", "York",
]  # fmt: skip
_T_STREET_KINDS = {
    "Street": "St",
    "Road": "Rd",
    "Avenue": "Ave",
    "Lane": "Ln",
    "Drive": "Dr",
    "Close": "Cl",
    "Crescent": "Cres",
    "Place": "Pl",
    "Court": "Ct",
    "Terrace": "Tce",
}
_OCR = [
    ("rn", "m"), ("m", "rn"), ("cl", "d"), ("d", "cl"), ("l", "1"), ("1", "l"), ("i", "l"),
    ("o", "0"), ("0", "o"), ("5", "s"), ("s", "5"), ("8", "b"), ("b", "8"), ("g", "9"),
    ("9", "g"), ("e", "c"), ("c", "e"), ("u", "v"), ("v", "u"), ("2", "z"), ("z", "2"),
    ("h", "b"), ("n", "h"), ("vv", "w"), ("w", "vv"), ("6", "b"), ("7", "1"),
]  # fmt: skip
_PHONETIC = [
    ("ph", "f"), ("f", "ph"), ("ck", "k"), ("c", "k"), ("k", "c"), ("ee", "ea"), ("ea", "ee"),
    ("ie", "y"), ("y", "ie"), ("ey", "y"), ("ou", "ow"), ("son", "sen"), ("sen", "son"),
    ("mc", "mac"), ("mac", "mc"), ("th", "t"), ("ai", "ay"), ("ay", "ai"), ("s", "z"),
    ("z", "s"), ("wh", "w"), ("gh", ""), ("ll", "l"), ("tt", "t"), ("nn", "n"), ("ss", "s"),
    ("er", "ar"), ("or", "er"), ("ine", "ene"), ("ei", "ie"), ("ie", "ei"), ("x", "ks"),
    ("qu", "kw"), ("j", "g"), ("ch", "sh"), ("v", "f"), ("an", "en"), ("en", "an"),
]  # fmt: skip
_KEYBOARD_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm", "1234567890")


def _keyboard_neighbour(rng: random.Random, c: str) -> str:
    low = c.lower()
    for row in _KEYBOARD_ROWS:
        i = row.find(low)
        if i >= 0:
            near = [row[j] for j in (i - 1, i + 1) if 0 <= j < len(row)]
            out = rng.choice(near)
            return out.upper() if c.isupper() else out
    return c


def _edit(rng: random.Random, text: str, alphabet: str = string.ascii_lowercase) -> str:
    """One insert, delete, substitution (often a keyboard neighbour) or transposition."""
    if len(text) < 2:
        return text
    # the first character is spared most of the time, as in real keying errors
    i = rng.randrange(0 if rng.random() < 0.15 else 1, len(text))
    kind = rng.random()
    if kind < 0.3:
        c = _keyboard_neighbour(rng, text[i]) if rng.random() < 0.6 else rng.choice(alphabet)
        return text[:i] + c + text[i + 1 :]
    if kind < 0.55:
        return text[:i] + text[i + 1 :]
    if kind < 0.8:
        return text[:i] + rng.choice(alphabet) + text[i:]
    if i == 0:
        i = 1
    return text[: i - 1] + text[i] + text[i - 1] + text[i + 1 :]


def _rewrite(rng: random.Random, text: str, table: list[tuple[str, str]]) -> str:
    """One OCR or phonetic rewrite that applies to ``text`` (or a plain edit if none does)."""
    low = text.lower()
    options = [(a, b) for a, b in table if a in low]
    if not options:
        return _edit(rng, text)
    a, b = rng.choice(options)
    starts = [m.start() for m in re.finditer(re.escape(a), low)]
    i = rng.choice(starts)
    piece = b.upper() if text[i : i + len(a)].isupper() else b
    if text[i : i + 1].isupper() and piece:
        piece = piece[0].upper() + piece[1:]
    return text[:i] + piece + text[i + len(a) :]


def _digits_transposed(rng: random.Random, text: str) -> str:
    """Two neighbouring digits swapped (a different string when they differ)."""
    spots = [
        i
        for i in range(len(text) - 1)
        if text[i].isdigit() and text[i + 1].isdigit() and text[i] != text[i + 1]
    ]
    if not spots:
        return text
    i = rng.choice(spots)
    return text[:i] + text[i + 1] + text[i] + text[i + 2 :]


def _digit_edit(rng: random.Random, text: str) -> str:
    return _edit(rng, text, string.digits) if rng.random() < 0.5 else _digits_transposed(rng, text)


def _corrupt_text(rng: random.Random, text: str) -> str:
    r = rng.random()
    if r < 0.5:
        return _edit(rng, text)
    if r < 0.75:
        return _rewrite(rng, text, _OCR)
    return _rewrite(rng, text, _PHONETIC)


def _corrupt_date(rng: random.Random, d: dt.date) -> dt.date:
    """A birth date keyed wrongly: transposed digits, day/month swapped, one digit off."""
    iso = d.isoformat()
    for _ in range(10):
        r = rng.random()
        if r < 0.45:
            cand = _digits_transposed(rng, iso)
        elif r < 0.6 and d.day <= 12 and d.day != d.month:
            return d.replace(day=d.month, month=d.day)
        else:
            i = rng.choice([2, 3, 5, 6, 8, 9])
            cand = iso[:i] + rng.choice(string.digits) + iso[i + 1 :]
        try:
            out = dt.date.fromisoformat(cand)
        except ValueError:
            continue
        if out != d and 1900 <= out.year <= 2010:
            return out
    return d


class _Registrant:
    """A person of the typo-heavy profiles: the fields population registers hold."""

    def __init__(self, rng: random.Random, chinese: bool) -> None:
        self.chinese = chinese
        if chinese:
            p = _Person(rng, True)
            self.given, self.family = p.given_py, p.family_py
            self.national_id: str | None = p.national_id
        else:
            if rng.random() < 0.55:
                self.given = _weighted(rng, _W_FIRST)
            else:
                self.given = rng.choice(_T_FIRST_MORE)
            if rng.random() < 0.45:
                self.family = _weighted(rng, _W_LAST)
            else:
                self.family = rng.choice(_T_SURNAME_HEADS) + rng.choice(_T_SURNAME_TAILS)
            self.national_id = (
                f"{rng.randint(100, 999)}{rng.randint(100, 999)}{rng.randint(100, 999)}"
                if rng.random() < 0.9
                else None
            )
        start = dt.date(1930, 1, 1).toordinal()
        self.dob = dt.date.fromordinal(start + rng.randrange(0, 28_000))
        self.phone = _uk_mobile(rng) if not chinese else "+86" + _cn_mobile(rng)
        letters = "ABDEFGHJLNPQRSTUWXYZ"
        self.town = rng.choice(_T_TOWNS)
        outward = self.town[:2].upper() + str(rng.randint(1, 29))
        self.postcode = f"{outward} {rng.randint(1, 9)}{rng.choice(letters)}{rng.choice(letters)}"
        self.number = str(rng.randint(1, 399))
        street = rng.choice(_W_STREETS + _T_SURNAME_HEADS)
        self.street = f"{street} {rng.choice(list(_T_STREET_KINDS))}"
        self.email: str | None = None
        if rng.random() < 0.5:
            local = f"{self.given[0]}{self.family}{rng.randint(1, 999)}".lower()
            self.email = f"{local}@{rng.choice(_W_EMAIL_DOMAINS)}"


def _registrant_record(rng: random.Random, p: _Registrant) -> Record:
    """The original record of a person: clean, a few values missing."""

    def maybe(value: Any, keep: float) -> Any:
        return value if rng.random() < keep else None

    return {
        "first_name": p.given,
        "last_name": p.family,
        "full_name": None,
        "email": p.email,
        "phone": maybe(p.phone, 0.85),
        "national_id": maybe(p.national_id, 0.9),
        "date_of_birth": maybe(p.dob.isoformat(), 0.95),
        "postcode": maybe(p.postcode, 0.9),
        "city": maybe(p.town, 0.95),
        "address": maybe(f"{p.number} {p.street}", 0.92),
        "company": None,
    }


#: the fields a corruption can hit, with how often each is picked
_CORRUPTIBLE = [
    ("first_name", 4),
    ("last_name", 4),
    ("date_of_birth", 3),
    ("national_id", 2),
    ("address", 3),
    ("city", 2),
    ("postcode", 2),
    ("phone", 2),
    ("email", 1),
]


def _corrupt_field(rng: random.Random, field: str, value: Any, p: _Registrant) -> Any:
    """One corruption of one field's value (``None``: the value went missing)."""
    if value is None:
        return None
    if rng.random() < 0.12:
        return None  # lost on the way
    if field == "first_name":
        r = rng.random()
        if r < 0.12:
            return value[0]  # initial only
        if r < 0.22 and p.given in _NICKNAMES:
            return rng.choice(_NICKNAMES[p.given])
        return _corrupt_text(rng, value)
    if field == "last_name":
        return _corrupt_text(rng, value)
    if field == "date_of_birth":
        return _corrupt_date(rng, dt.date.fromisoformat(value)).isoformat()
    if field in ("national_id", "phone"):
        return _digit_edit(rng, value)
    if field == "postcode":
        r = rng.random()
        if r < 0.3:
            return value.replace(" ", "")
        if r < 0.6:
            return _digit_edit(rng, value)
        return _rewrite(rng, value, _OCR)
    if field == "address":
        number, _, street = value.partition(" ")
        r = rng.random()
        if r < 0.25:
            return f"{_digit_edit(rng, number)} {street}"
        if r < 0.45:
            head, _, kind = street.rpartition(" ")
            short = _T_STREET_KINDS.get(kind, kind)
            return f"{number} {head}" if rng.random() < 0.4 else f"{number} {head} {short}"
        return f"{number} {_corrupt_text(rng, street)}"
    if field == "email":
        local, _, domain = value.partition("@")
        return f"{_edit(rng, local)}@{domain}"
    return _corrupt_text(rng, value)


def _duplicate(rng: random.Random, p: _Registrant, original: Record) -> Record:
    """A duplicate made from the original: 2-5 corruptions, at most 2 per field."""
    rec = dict(original)
    # a duplicate may hold values the original lacked (another clerk, another form)
    fresh = _registrant_record(rng, p)
    for k, v in fresh.items():
        if rec[k] is None and rng.random() < 0.5:
            rec[k] = v
    hits: dict[str, int] = {}
    fields = [f for f, _ in _CORRUPTIBLE]
    weights = [w for _, w in _CORRUPTIBLE]
    budget = rng.randint(2, 5)
    tries = 0
    while budget > 0 and tries < 40:
        tries += 1
        field = rng.choices(fields, weights=weights)[0]
        if rec.get(field) is None or hits.get(field, 0) >= 2:
            continue
        new = _corrupt_field(rng, field, rec[field], p)
        if new == rec[field]:
            continue
        rec[field] = new
        hits[field] = hits.get(field, 0) + 1
        budget -= 1
    if rng.random() < 0.1 and rec["first_name"] and rec["last_name"]:
        rec["first_name"], rec["last_name"] = rec["last_name"], rec["first_name"]
    if rng.random() < 0.15 and rec["first_name"] and rec["last_name"]:
        rec["full_name"] = f"{rec['first_name']} {rec['last_name']}"
        rec["first_name"] = rec["last_name"] = None
    if rng.random() < 0.1:
        rec["first_name"], rec["last_name"] = (
            None if v is None else v.upper() for v in (rec["first_name"], rec["last_name"])
        )
    return rec


class TypoProfile:
    """The typo-heavy profiles' knobs (see the module docstring)."""

    def __init__(self, *, chinese: float, dup_rate: float, max_copies: int) -> None:
        self.chinese = chinese  # share of people with (pinyin) Chinese names
        self.dup_rate = dup_rate  # share of people with duplicates
        self.max_copies = max_copies  # most duplicates one person has


TYPOS = TypoProfile(chinese=0.15, dup_rate=0.5, max_copies=9)
#: the two-file profile: share of people in both files, corrupted like TYPOS
LINKAGE = {"overlap": 0.8, "chinese": 0.15}


def _generate_typos(n: int, seed: int) -> tuple[list[Record], dict[str, int]]:
    prof = TYPOS
    rng = random.Random(f"typos:{seed}")
    _TAKEN_EMAILS.clear()
    records: list[Record] = []
    owners: list[int] = []
    pid = 0
    # copies 1..max_copies with a long tail (a Zipf-like spread, as in FEBRL)
    copy_weights = [1.0 / k for k in range(1, prof.max_copies + 1)]
    while len(records) < n:
        person = _Registrant(rng, rng.random() < prof.chinese)
        original = _registrant_record(rng, person)
        copies = 0
        if rng.random() < prof.dup_rate:
            copies = rng.choices(range(1, prof.max_copies + 1), weights=copy_weights)[0]
        records.append(original)
        owners.append(pid)
        for _ in range(copies):
            if len(records) >= n:
                break
            records.append(_duplicate(rng, person, original))
            owners.append(pid)
        pid += 1
    return _shuffled(rng, records, owners, "r")


def _shuffled(
    rng: random.Random, records: list[Record], owners: list[int], prefix: str
) -> tuple[list[Record], dict[str, int]]:
    order = list(range(len(records)))
    rng.shuffle(order)
    out: list[Record] = []
    truth: dict[str, int] = {}
    for new_pos, old in enumerate(order):
        rid = f"{prefix}{new_pos:07d}"
        out.append({"id": rid, **records[old]})
        truth[rid] = owners[old]
    return out, truth


def generate_linkage(n: int, *, seed: int = 0) -> tuple[list[Record], list[Record], dict[str, int]]:
    """Two files to link: about ``n`` records each, a person at most once per file.

    File A holds the original records, file B a corrupted copy of each person
    it shares with A (``LINKAGE["overlap"]`` of them) plus people of its own.

    Returns:
        ``(records_a, records_b, truth)``; ids start with ``a`` and ``b``, and
        ``truth`` maps the ids of both files to the person.
    """
    rng = random.Random(f"linkage:{seed}")
    _TAKEN_EMAILS.clear()
    overlap = float(LINKAGE["overlap"])
    a: list[Record] = []
    b: list[Record] = []
    own_a: list[int] = []
    own_b: list[int] = []
    pid = 0
    while len(a) < n or len(b) < n:
        person = _Registrant(rng, rng.random() < float(LINKAGE["chinese"]))
        original = _registrant_record(rng, person)
        r = rng.random()
        in_a = r < overlap + (1 - overlap) / 2
        in_b = r < overlap or not in_a
        if in_a and len(a) < n:
            a.append(original)
            own_a.append(pid)
        if in_b and len(b) < n:
            b.append(_duplicate(rng, person, original) if in_a else original)
            own_b.append(pid)
        pid += 1
    recs_a, truth = _shuffled(rng, a, own_a, "a")
    recs_b, truth_b = _shuffled(rng, b, own_b, "b")
    truth.update(truth_b)
    return recs_a, recs_b, truth


def generate(
    n: int, *, profile: str = "mixed", seed: int = 0
) -> tuple[list[Record], dict[str, int]]:
    """About ``n`` records of one profile, and the person behind each record.

    Args:
        n: number of records wanted (the result has exactly ``n``).
        profile: one of :data:`PROFILES`, or ``"typos"``.
        seed: random seed; the same seed gives the same data.

    Returns:
        ``(records, truth)`` where ``truth[record id]`` is the person number.
    """
    if profile == "typos":
        return _generate_typos(n, seed)
    prof = PROFILES[profile]
    rng = random.Random(f"{profile}:{seed}")
    _TAKEN_EMAILS.clear()
    records: list[Record] = []
    owners: list[int] = []
    people: list[_Person] = []
    while len(records) < n:
        relative = people[-1] if people and rng.random() < prof.relatives else None
        chinese = relative.chinese if relative is not None else rng.random() < prof.chinese
        person = _Person(rng, chinese, relative)
        pid = len(people)
        people.append(person)
        copies = 1
        if rng.random() < prof.dup_rate:
            copies += rng.choices([1, 2, 3], weights=[70, 22, 8])[0]
        for c in range(copies):
            if len(records) >= n:
                break
            records.append(_record(rng, person, prof, variant=c > 0))
            owners.append(pid)
    order = list(range(len(records)))
    rng.shuffle(order)
    out: list[Record] = []
    truth: dict[str, int] = {}
    for new_pos, old in enumerate(order):
        rid = f"r{new_pos:07d}"
        rec = {"id": rid, **records[old]}
        out.append(rec)
        truth[rid] = owners[old]
    return out, truth


def true_pairs(truth: dict[str, int]) -> set[tuple[str, str]]:
    """Every pair of record ids (sorted) that belong to the same person."""
    by_owner: dict[int, list[str]] = {}
    for rid, owner in truth.items():
        by_owner.setdefault(owner, []).append(rid)
    pairs = set()
    for ids in by_owner.values():
        ids.sort()
        for i in range(len(ids)):
            for j in range(i + 1, len(ids)):
                pairs.add((ids[i], ids[j]))
    return pairs


def main(argv: list[str]) -> None:
    n = int(argv[1]) if len(argv) > 1 else 20
    profile = argv[2] if len(argv) > 2 else "mixed"
    records, truth = generate(n, profile=profile, seed=1)
    show: Callable[[Record], str] = lambda r: " | ".join(str(v) for v in r.values())  # noqa: E731
    by_owner: dict[int, list[Record]] = {}
    for r in records:
        by_owner.setdefault(truth[r["id"]], []).append(r)
    for recs in list(by_owner.values())[:40]:
        for r in recs:
            print(show(r))
        print()
    print(f"{len(records)} records, {len(true_pairs(truth))} true pairs")


if __name__ == "__main__":
    main(sys.argv)
