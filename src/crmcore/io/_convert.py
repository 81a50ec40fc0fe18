"""Rows -> entities: read each mapped cell as its field's type, collecting every problem."""

from __future__ import annotations

import datetime as _dt
import enum
import functools
import json
import re
import types
import typing
import uuid
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import attrs

from crmcore.errors import FieldError, ValidationError
from crmcore.io._mapping import _TARGET, FULL_NAME, ColumnMapping
from crmcore.model import Entity, make_converter
from crmcore.validation import normalize_date, normalize_datetime, split_name

__all__ = ["ImportRowError", "RowConverter"]


@attrs.frozen
class ImportRowError:
    """One problem with one row of an import.

    Attributes:
        row: the row number in the file (spreadsheet row; the header is row 1).
        column: the column it came from (``None`` when no column fills the field).
        code: machine-readable (``invalid_phone``, ``date_ambiguous``, ``duplicate``...).
        message: what is wrong, never quoting a protected value.
        path: the field path (``"$.phone"``).
    """

    row: int
    column: str | None
    code: str
    message: str
    path: str = "$"

    def to_dict(self) -> dict[str, Any]:
        """Plain data."""
        return attrs.asdict(self)

    def __str__(self) -> str:
        where = f"column {self.column!r}" if self.column else self.path
        return f"row {self.row}, {where}: {self.message} [{self.code}]"


_TRUE = {"true", "yes", "y", "1", "是", "对", "真", "t", "x", "✓"}
_FALSE = {"false", "no", "n", "0", "否", "不", "假", "f", ""}
_GENDER_WORDS = {
    "男": "male",
    "女": "female",
    "m": "male",
    "f": "female",
    "男性": "male",
    "女性": "female",
}
_TAG_SPLIT = re.compile(r"[,;|，；、]")


def _unwrap(tp: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return tp


_TYPES: dict[type, dict[str, Any]] = {}


def _types(kind: type) -> dict[str, Any]:
    """Each attrs field's type, ``X | None`` read as ``X`` (computed once per class)."""
    found = _TYPES.get(kind)
    if found is None:
        hints = typing.get_type_hints(kind)
        found = _TYPES[kind] = {a.name: _unwrap(hints[a.name]) for a in attrs.fields(kind)}
    return found


@functools.cache
def _converter() -> Any:
    return make_converter()


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a spreadsheet number cell (13800138000.0)
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def read_value(tp: Any, value: Any, *, date_order: str, field: str) -> Any:
    """``value`` (a cell) read as type ``tp``.

    Raises:
        ValidationError: naming ``field``.
    """
    path = f"$.{field}"
    try:
        if tp is str:
            return _text(value)
        if tp is bool:
            if isinstance(value, bool):
                return value
            text = _text(value).strip().lower()
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
            raise ValidationError.single(path, "invalid_bool", "expected yes/no, true/false or 1/0")
        if tp is int:
            if isinstance(value, bool):
                raise ValueError
            number = float(value) if not isinstance(value, int) else value
            if isinstance(number, float) and not number.is_integer():
                raise ValidationError.single(path, "invalid_int", "expected a whole number")
            return int(number)
        if tp is float:
            return float(value)
        if tp is Decimal:
            return Decimal(_text(value).replace(",", ""))
        if tp is _dt.datetime:
            if isinstance(value, _dt.datetime):
                return value if value.tzinfo else value.replace(tzinfo=_dt.timezone.utc)
            return normalize_datetime(_text(value), order=date_order, field=path)
        if tp is _dt.date:
            if isinstance(value, _dt.datetime):
                return value.date()
            if isinstance(value, _dt.date):
                return value
            return normalize_date(_text(value), order=date_order, field=path)
        if tp is uuid.UUID:
            return uuid.UUID(_text(value))
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            text = _text(value).strip()
            text = _GENDER_WORDS.get(text.lower(), text)
            try:
                return tp(text.lower())
            except ValueError:
                try:
                    return tp[text.upper()]
                except KeyError:
                    choices = ", ".join(str(m.value) for m in tp)
                    raise ValidationError.single(
                        path, "invalid_choice", f"expected one of {choices}"
                    ) from None
        if typing.get_origin(tp) is frozenset:
            if isinstance(value, (list, tuple, set, frozenset)):
                return frozenset(str(v) for v in value)
            text = _text(value).strip()
            if text.startswith("["):
                return frozenset(str(v) for v in json.loads(text))
            return frozenset(t.strip() for t in _TAG_SPLIT.split(text) if t.strip())
        data = json.loads(value) if isinstance(value, str) else value
        return _converter().structure(data, tp)
    except ValidationError as exc:
        raise ValidationError([e.at(path) if e.path == "$" else e for e in exc.errors]) from None
    except (ValueError, TypeError, InvalidOperation, KeyError, json.JSONDecodeError):
        name = getattr(tp, "__name__", str(tp))
        raise ValidationError.single(path, "invalid_value", f"cannot be read as {name}") from None
    except Exception as exc:  # cattrs' exception groups
        name = getattr(tp, "__name__", str(tp))
        raise ValidationError.single(
            path, "invalid_value", f"cannot be read as {name} ({type(exc).__name__})"
        ) from None


#: result types a memoised reading may have (immutable, so rows can share them)
_SHAREABLE = (str, int, float, Decimal, _dt.date, uuid.UUID, enum.Enum, frozenset, tuple)
#: memoised cells per column before the memo starts over (bounded memory)
_MEMO_MAX = 20_000
_NOT_READ = object()
#: what reading one cell gave
_VALUE, _NAME, _ITEM, _SUB, _FAILED = (object() for _ in range(5))


class RowConverter:
    """Turns mapped rows into entities of the mapping's type.

    Args:
        mapping: the column mapping.
        extra: field -> value added to every record (``source``...), unless a column sets it.
    """

    def __init__(self, mapping: ColumnMapping, *, extra: Mapping[str, Any] | None = None) -> None:
        self.mapping = mapping
        self.kind: type[Entity] = mapping.entity_type
        self._types = _types(self.kind)
        self._extra = dict(extra or {})
        from crmcore.validation import default_rules

        self._rules = default_rules(mapping.region).get(self.kind)
        self._plan: list[tuple[str, str, str | None, str | None]] = []
        for column, target in mapping.columns.items():
            if target == FULL_NAME and "first_name" in self._types:
                self._plan.append((column, FULL_NAME, None, None))
                continue
            m = _TARGET.match(target)
            assert m is not None  # checked by the mapping
            self._plan.append((column, m["field"], m["index"], m["sub"]))
        # per plan step: cell -> what reading it gave (a value, name parts or the
        # errors); files repeat their names, dates, cities... so most cells are read once
        self._memo: list[dict[Any, Any]] = [{} for _ in self._plan]
        self._item_memo: dict[Any, Any] = {}

    def convert(
        self, row_no: int, row: Mapping[str, Any]
    ) -> tuple[Entity | None, list[ImportRowError]]:
        """The row's entity, or ``None`` and every problem of the row."""
        errors: list[ImportRowError] = []
        if "__error__" in row:
            return None, [ImportRowError(row_no, None, "unreadable", str(row["__error__"]))]
        values: dict[str, Any] = dict(self.mapping.defaults)
        nested: dict[str, dict[int, Any]] = {}
        custom: dict[str, Any] = {}
        order = self.mapping.date_order
        for step, (column, field, index, sub) in enumerate(self._plan):
            cell = row.get(column)
            if cell is None:
                continue
            if field == "custom" and sub is not None:
                custom[sub] = cell.isoformat() if isinstance(cell, _dt.date) else cell
                continue
            # text cells (every CSV cell) are memoised: 1 and True would share a key
            memo = self._memo[step] if type(cell) is str else None
            got: Any = memo.get(cell, _NOT_READ) if memo is not None else _NOT_READ
            if got is _NOT_READ:
                got = self._read(field, index, sub, cell, order)
                if memo is not None and (
                    got[0] is _FAILED or got[0] is _NAME or isinstance(got[1], _SHAREABLE)
                ):
                    if len(memo) >= _MEMO_MAX:
                        memo.clear()
                    memo[cell] = got
            kind, result = got
            if kind is _FAILED:
                errors.extend(
                    ImportRowError(row_no, column, e.code, e.message, e.path) for e in result
                )
            elif kind is _NAME:
                family, given = result
                if family:
                    values["last_name"] = family
                if given:
                    values["first_name"] = given
            elif kind is _ITEM:
                nested.setdefault(field, {})[int(index or 0)] = result
            elif kind is _SUB:
                slot = nested.setdefault(field, {}).setdefault(int(index or 0), {})
                slot[sub] = result
            else:
                values[field] = result
        for field, items in nested.items():
            tp = self._types[field]
            try:
                values[field] = self._structure(field, tp, items)
            except Exception:
                errors.append(
                    ImportRowError(
                        row_no,
                        self.mapping.column_of(field),
                        "invalid_value",
                        f"the {field} columns do not make a valid {field} item",
                        f"$.{field}",
                    )
                )
        if custom:
            values["custom"] = {**values.get("custom", {}), **custom}
        for key, value in self._extra.items():
            values.setdefault(key, value)
        if errors:
            return None, errors + self._more_errors(row_no, values, errors)
        try:
            return self.kind(**values), []
        except ValidationError as exc:
            return None, [
                ImportRowError(row_no, self.mapping.column_of(e.path), e.code, e.message, e.path)
                for e in exc.errors
            ]
        except TypeError as exc:
            return None, [ImportRowError(row_no, None, "missing_field", str(exc))]

    def _more_errors(
        self, row_no: int, values: dict[str, Any], found: list[ImportRowError]
    ) -> list[ImportRowError]:
        """The rule errors of the row's other fields, so one pass shows every problem."""
        if self._rules is None:
            return []
        from crmcore.validation import validate_record

        try:
            validate_record(self.kind(**values), self._rules)
        except ValidationError as exc:
            seen = {e.path for e in found}
            return [
                ImportRowError(row_no, self.mapping.column_of(e.path), e.code, e.message, e.path)
                for e in exc.errors
                if e.path not in seen
            ]
        except (TypeError, ValueError):
            return []
        return []

    def _read(
        self, field: str, index: str | None, sub: str | None, cell: Any, order: str
    ) -> tuple[object, Any]:
        """One cell read for one plan step: ``(kind, result)``; errors are a result too."""
        try:
            if field == FULL_NAME:
                parts = split_name(_text(cell), field="$.full_name")
                return _NAME, (parts.family, parts.given)
            if index is not None or sub is not None:
                return self._nested(field, int(index or 0), sub, cell)
            return _VALUE, read_value(self._types[field], cell, date_order=order, field=field)
        except ValidationError as exc:
            return _FAILED, tuple(exc.errors)

    def _structure(self, field: str, tp: Any, items: dict[int, Any]) -> Any:
        """The nested items as the field's type (memoised when every item is plain data)."""
        ordered = [items[i] for i in sorted(items)]
        try:
            key = (
                field,
                tuple(
                    tuple(sorted(item.items())) if isinstance(item, dict) else item
                    for item in ordered
                ),
            )
            hash(key)
        except TypeError:
            return _converter().structure(ordered, tp)
        done = self._item_memo.get(key, _NOT_READ)
        if done is _NOT_READ:
            done = _converter().structure(ordered, tp)
            if not isinstance(done, tuple):
                return done  # not known to be immutable: never shared between rows
            if len(self._item_memo) >= _MEMO_MAX:
                self._item_memo.clear()
            self._item_memo[key] = done
        return done

    def _nested(self, field: str, index: int, sub: str | None, cell: Any) -> tuple[object, Any]:
        tp = self._types[field]
        args = typing.get_args(tp)
        item_type = args[0] if args else None
        if sub is None or item_type is None or not attrs.has(item_type):
            return _ITEM, (cell if not isinstance(cell, float) else _text(cell))
        sub_types = _types(item_type)
        if sub not in sub_types:
            raise ValidationError.single(
                f"$.{field}[{index}].{sub}",
                "unknown_field",
                f"{item_type.__name__} has no field {sub!r}",
            )
        return _SUB, read_value(
            sub_types[sub],
            cell,
            date_order=self.mapping.date_order,
            field=f"{field}[{index}].{sub}",
        )


def errors_of(row_no: int, exc: ValidationError, mapping: ColumnMapping) -> list[ImportRowError]:
    """A write's validation error as row errors (each path traced back to its column)."""
    return [
        ImportRowError(row_no, mapping.column_of(e.path), e.code, e.message, e.path)
        for e in exc.errors
    ]


def field_error(row_no: int, column: str | None, error: FieldError) -> ImportRowError:
    """One field error as a row error."""
    return ImportRowError(row_no, column, error.code, error.message, error.path)
