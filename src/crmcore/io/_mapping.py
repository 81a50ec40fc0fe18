"""Column -> field mappings: explicit, saved as plain JSON, or suggested from headers and values.

A mapping target is a field of the entity (``"email"``), a custom field
(``"custom.tier"``), a field of a nested item (``"addresses[0].city"``: the
first address's city; ``"phones[1].number"``), or ``"full_name"``: one column
holding a whole name (``"张伟"``, ``"Anna Smith"``, ``"Smith, Anna"``), split into
``last_name`` / ``first_name`` by :func:`crmcore.validation.split_name`.
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from crmcore.errors import ConfigurationError
from crmcore.model import ENTITY_TYPES, Entity, fields_of

__all__ = ["ColumnMapping", "ColumnSuggestion", "MappingSuggestion", "suggest_mapping"]

FULL_NAME = "full_name"
_TARGET = re.compile(r"^(?P<field>[a-z_][a-z0-9_]*)(?:\[(?P<index>\d+)\])?(?:\.(?P<sub>.+))?$")
_BOOKKEEPING = frozenset({"tenant_id", "sealed", "search_keys", "deleted_at"})


def _targets(kind: type[Entity]) -> frozenset[str]:
    """The fields a column can fill: not bookkeeping, not derived (an order's total)."""
    return fields_of(kind) - _BOOKKEEPING - frozenset(kind.__crm_derived__)


def _plain_dict(value: Mapping[str, Any]) -> dict[str, Any]:
    return dict(value)


@attrs.frozen(kw_only=True)
class ColumnMapping:
    """Which column fills which field, and how text is read: plain data, saved as JSON.

    Args:
        columns: column name -> target (see the module doc); unlisted columns are ignored.
        entity: the entity type's name (``"Customer"``).
        date_order: ``"YMD"`` (the default: numeric dates with the year last
            are refused as ambiguous), ``"DMY"`` or ``"MDY"``.
        region: the default region of phone numbers (validation may override).
        defaults: field -> value for every row (``{"lifecycle_stage": "lead"}``).

    Raises:
        ConfigurationError: an unknown entity type or target field.
    """

    columns: Mapping[str, str] = attrs.field(converter=_plain_dict)
    entity: str = "Customer"
    date_order: str = "YMD"
    region: str = "CN"
    defaults: Mapping[str, Any] = attrs.field(factory=dict, converter=_plain_dict)

    def __attrs_post_init__(self) -> None:
        kind = self.entity_type
        for column, target in self.columns.items():
            check_target(kind, target, where=f"column {column!r}")
        for target in self.defaults:
            check_target(kind, target, where="defaults")

    @property
    def entity_type(self) -> type[Entity]:
        """The entity type the rows become."""
        kind = ENTITY_TYPES.get(self.entity)
        if kind is None:
            raise ConfigurationError(f"unknown entity type {self.entity!r} in the mapping")
        return kind

    def column_of(self, path: str) -> str | None:
        """The column that fills a field path (``"$.email"`` or ``"email"``), if any."""
        path = path.removeprefix("$.").split("[")[0].split(".")[0]
        for column, target in self.columns.items():
            head = target.split("[")[0].split(".")[0]
            if head == path or (target == FULL_NAME and path in ("first_name", "last_name")):
                return column
        return None

    def to_dict(self) -> dict[str, Any]:
        """Plain data (what :meth:`from_dict` reads)."""
        return {
            "entity": self.entity,
            "columns": dict(self.columns),
            "date_order": self.date_order,
            "region": self.region,
            "defaults": dict(self.defaults),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ColumnMapping:
        """A mapping from :meth:`to_dict`'s data.

        Raises:
            ConfigurationError: unknown keys, an unknown entity or field.
        """
        unknown = set(data) - {"entity", "columns", "date_order", "region", "defaults"}
        if unknown or "columns" not in data:
            raise ConfigurationError(
                f"a column mapping has 'columns' and optionally entity, date_order, region, "
                f"defaults; got {sorted(data)}"
            )
        return cls(**data)

    def to_json(self) -> str:
        """The mapping as JSON text."""
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2)

    @classmethod
    def from_json(cls, text: str) -> ColumnMapping:
        """A mapping from JSON text."""
        return cls.from_dict(json.loads(text))

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the mapping as a JSON file."""
        Path(path).write_text(self.to_json(), encoding="utf-8")

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ColumnMapping:
        """Read a mapping from a JSON file."""
        return cls.from_json(Path(path).read_text(encoding="utf-8"))

    @classmethod
    def identity(cls, columns: Iterable[str], entity: str = "Customer") -> ColumnMapping:
        """Each column named like a field of the entity maps to that field (an export's)."""
        kind = ENTITY_TYPES[entity]
        names = _targets(kind)
        chosen = {}
        for c in columns:
            if c in names or c.startswith("custom."):
                chosen[c] = c
        return cls(columns=chosen, entity=entity)


def check_target(kind: type[Entity], target: str, *, where: str) -> None:
    """Refuse a target the entity type has no place for.

    Raises:
        ConfigurationError: naming ``where`` and the target.
    """
    if target == FULL_NAME and {"first_name", "last_name"} <= fields_of(kind):
        return
    m = _TARGET.match(target)
    names = _targets(kind)
    if m is None or m["field"] not in names:
        raise ConfigurationError(
            f"{where}: {target!r} is not a field of {kind.__name__} "
            f"(fields: {', '.join(sorted(names))}; also custom.<name>"
            f"{', full_name' if 'first_name' in names else ''})"
        )
    if m["field"] == "custom" and m["index"] is not None:
        raise ConfigurationError(f"{where}: a custom field is written custom.<name>")


# -- suggestions


def _norm_header(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).strip().lower()
    return re.sub(r"[\s_\-./:：()（）*#]+", "", text)


#: target -> header spellings (Chinese and English), compared without case, spaces or punctuation
_HEADERS: dict[str, tuple[str, ...]] = {
    FULL_NAME: (
        "姓名",
        "名字",
        "客户姓名",
        "联系人",
        "联系人姓名",
        "客户名称",
        "name",
        "fullname",
        "contactname",
        "customername",
        "contact",
    ),
    "last_name": ("姓", "姓氏", "lastname", "surname", "familyname"),
    "first_name": ("名", "firstname", "givenname", "forename"),
    "phone": (
        "手机",
        "手机号",
        "手机号码",
        "电话",
        "电话号码",
        "联系电话",
        "移动电话",
        "联系方式",
        "mobile",
        "mobilephone",
        "phone",
        "phonenumber",
        "tel",
        "telephone",
        "cell",
        "cellphone",
    ),
    "email": ("邮箱", "电子邮件", "电子邮箱", "邮件", "邮箱地址", "email", "mail", "emailaddress"),
    "company": (
        "公司",
        "公司名称",
        "单位",
        "工作单位",
        "企业",
        "company",
        "companyname",
        "organization",
        "organisation",
    ),
    "addresses[0].line1": (
        "地址",
        "住址",
        "联系地址",
        "详细地址",
        "address",
        "street",
        "addressline1",
    ),
    "addresses[0].city": ("城市", "市", "city", "town"),
    "addresses[0].region": ("省", "省份", "地区", "province", "state", "region"),
    "addresses[0].postcode": ("邮编", "邮政编码", "postcode", "zip", "zipcode", "postalcode"),
    "addresses[0].country": ("国家", "国家地区", "country"),
    "date_of_birth": (
        "生日",
        "出生日期",
        "出生年月日",
        "birthday",
        "dateofbirth",
        "dob",
        "birthdate",
    ),
    "national_id": (
        "身份证",
        "身份证号",
        "身份证号码",
        "证件号码",
        "nationalid",
        "idnumber",
        "idcard",
    ),
    "gender": ("性别", "gender", "sex"),
    "tags": ("标签", "tags", "tag"),
    "source": ("来源", "渠道", "source", "leadsource"),
    "title": ("职位", "职务", "title", "jobtitle", "position"),
    "custom.note": (
        "备注",
        "说明",
        "附注",
        "note",
        "notes",
        "remark",
        "remarks",
        "comment",
        "comments",
    ),
    "custom.external_id": (
        "编号",
        "客户编号",
        "客户id",
        "外部id",
        "externalid",
        "customerid",
        "customerno",
        "code",
    ),
}
_BY_HEADER = {_norm_header(h): target for target, hs in _HEADERS.items() for h in hs}

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[\d\s\-().]{7,20}$")
_DATE = re.compile(r"^\d{1,4}[-/.年]\d{1,2}[-/.月]\d{1,4}日?$")
_NATIONAL_ID = re.compile(r"^\d{17}[\dXx]$")
_HAN_NAME = re.compile(r"^[\u4e00-\u9fff·]{2,5}$")
_LATIN_NAME = re.compile(r"^[A-Za-z][A-Za-z'\-]+(?:,?\s+[A-Za-z][A-Za-z'\-.]+){1,3}$")

_SHAPES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("email", _EMAIL),
    ("national_id", _NATIONAL_ID),
    ("date_of_birth", _DATE),
    ("phone", _PHONE),
    (FULL_NAME, _HAN_NAME),
    (FULL_NAME, _LATIN_NAME),
)


@attrs.frozen
class ColumnSuggestion:
    """A proposed target for one column.

    Attributes:
        column: the column.
        target: the proposed target, or ``None`` (no idea: left unmapped).
        confidence: 0..1; 1 for a header naming the field exactly.
        reason: why (``"header '手机'"``, ``"92% of values look like e-mail addresses"``).
    """

    column: str
    target: str | None
    confidence: float
    reason: str


@attrs.frozen
class MappingSuggestion:
    """Proposed targets for a file's columns, to confirm (or correct) before importing.

    Attributes:
        entity: the entity type's name.
        columns: one suggestion per column, in file order.
    """

    entity: str
    columns: tuple[ColumnSuggestion, ...]

    def mapping(self, *, min_confidence: float = 0.5, **overrides: str | None) -> ColumnMapping:
        """The suggested mapping, as confirmed: ``overrides`` set (or, with None, drop) a column.

        Args:
            min_confidence: suggestions below this are left out.
            overrides: column -> target (``**{"备注": "custom.note"}``).
        """
        chosen = {
            s.column: s.target
            for s in self.columns
            if s.target is not None and s.confidence >= min_confidence
        }
        for column, target in overrides.items():
            if target is None:
                chosen.pop(column, None)
            else:
                chosen[column] = target
        return ColumnMapping(columns=chosen, entity=self.entity)

    @property
    def unmapped(self) -> list[str]:
        """The columns with no suggestion."""
        return [s.column for s in self.columns if s.target is None]

    def __str__(self) -> str:
        width = max((len(s.column) for s in self.columns), default=0)
        return "\n".join(
            f"{s.column:<{width}}  -> {s.target or '(not mapped)'}  "
            f"[{s.confidence:.0%}: {s.reason}]"
            for s in self.columns
        )


def _value_shape(values: Sequence[Any]) -> tuple[str, float] | None:
    texts = [str(v).strip() for v in values if v is not None and str(v).strip()]
    if not texts:
        return None
    best: tuple[str, float] | None = None
    for target, pattern in _SHAPES:
        share = sum(1 for t in texts if pattern.match(t)) / len(texts)
        if share >= 0.6 and (best is None or share > best[1]):
            best = (target, share)
    return best


_SHAPE_NAMES = {
    "email": "e-mail addresses",
    "national_id": "resident id numbers",
    "date_of_birth": "dates",
    "phone": "phone numbers",
    FULL_NAME: "person names",
}


def _fits(kind: type[Entity], target: str) -> str | None:
    names = fields_of(kind)
    head = target.split("[")[0].split(".")[0]
    if target == FULL_NAME:
        return (
            target
            if {"first_name", "last_name"} <= names
            else ("name" if "name" in names else None)
        )
    if head in names:
        return target
    if target == "company":
        return "name" if kind.__name__ == "Account" else "custom.company"
    return None


def suggest_mapping(
    columns: Sequence[str],
    rows: Iterable[Mapping[str, Any]] = (),
    *,
    entity: str | type[Entity] = "Customer",
    sample: int = 200,
) -> MappingSuggestion:
    """Propose a target for every column, from its header and from its values.

    A header that is a field name (an export's own columns) maps to it; known
    Chinese and English headers (姓名, 手机, 电话, 邮箱, 公司, 地址, 生日, name,
    mobile, email, company...) map to their field; a column whose header says
    nothing but whose values mostly look like e-mail addresses, phone numbers,
    dates, resident ids or names is proposed from those. Each target is
    proposed for one column at most (the most confident).

    Args:
        columns: the column names.
        rows: sample rows (only the first ``sample`` are looked at).
        entity: the entity type (or its name).
        sample: how many rows to look at.
    """
    kind = entity if isinstance(entity, type) else ENTITY_TYPES[entity]
    names = _targets(kind)
    sampled: dict[str, list[Any]] = {c: [] for c in columns}
    for i, row in enumerate(rows):
        if i >= sample:
            break
        for c in columns:
            sampled[c].append(row.get(c))
    raw: list[ColumnSuggestion] = []
    for column in columns:
        header = _norm_header(column)
        if column in names or (column.startswith("custom.") and len(column) > 7):
            raw.append(ColumnSuggestion(column, column, 1.0, "header is the field's name"))
            continue
        known = _BY_HEADER.get(header)
        target = _fits(kind, known) if known else None
        if target is not None:
            raw.append(ColumnSuggestion(column, target, 0.9, f"header {column!r}"))
            continue
        shape = _value_shape(sampled[column])
        target = _fits(kind, shape[0]) if shape else None
        if shape is not None and target is not None:
            raw.append(
                ColumnSuggestion(
                    column,
                    target,
                    round(0.8 * shape[1], 2),
                    f"{shape[1]:.0%} of values look like {_SHAPE_NAMES[shape[0]]}",
                )
            )
        else:
            raw.append(ColumnSuggestion(column, None, 0.0, "no known header or value shape"))
    best: dict[str, ColumnSuggestion] = {}
    for s in raw:
        if s.target is not None and (
            s.target not in best or best[s.target].confidence < s.confidence
        ):
            best[s.target] = s
    out = []
    for s in raw:
        if s.target is not None and best[s.target] is not s:
            out.append(
                ColumnSuggestion(
                    s.column, None, 0.0, f"{s.target} is taken by {best[s.target].column!r}"
                )
            )
        else:
            out.append(s)
    full = best.get(FULL_NAME)
    if full is not None and ("first_name" in best or "last_name" in best):
        out = [
            ColumnSuggestion(s.column, None, 0.0, "first/last name columns are mapped")
            if s is full
            else s
            for s in out
        ]
    return MappingSuggestion(kind.__name__, tuple(out))
