"""The normalise stage: raw values to columns of comparable strings, once per record.

The default normaliser leans on :mod:`crmcore.validation` for phones, e-mails,
names, dates and postcodes (a value it refuses counts as missing) and adds the
dedupe-only keys: a script-exact name, a transliterated name key in which
``张伟``, ``Zhang Wei`` and ``Wei Zhang`` meet, and a nickname-canonical key in
which ``Bob`` meets ``Robert``. The result is a :class:`Table` of numpy columns
with integer codes, so exact comparisons and term frequencies are array work.
"""

from __future__ import annotations

import datetime as _dt
import re
import unicodedata
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, Protocol

import attrs
import numpy as np
import numpy.typing as npt

from crmcore.dedupe._nicknames import canonical_token
from crmcore.dedupe._records import RawTable
from crmcore.errors import CrmError

__all__ = [
    "COLUMNS",
    "Column",
    "DefaultNormalizer",
    "RecordNormalizer",
    "Table",
    "build_table",
]

ObjArray = npt.NDArray[np.object_]
IntArray = npt.NDArray[np.int64]

#: The columns the default normaliser produces.
COLUMNS: tuple[str, ...] = (
    "name_exact",
    "name_key",
    "name_canon",
    "email",
    "phone",
    "national_id",
    "date_of_birth",
    "postcode",
    "city",
    "address",
    "company",
)


class RecordNormalizer(Protocol):
    """The normalise stage: raw columns in, normalised string columns out.

    It must be a pure function of each record's own values (a record normalises
    the same whatever else is in the batch), so the stage can run in chunks and
    in the incremental index. Missing values are ``None``.
    """

    def __call__(self, raw: RawTable) -> dict[str, list[str | None]]: ...


@attrs.frozen(eq=False)
class Column:
    """One normalised column: the values, their integer codes and value counts.

    Attributes:
        values: object array of ``str`` (``None`` where missing).
        codes: int64 array, equal codes for equal values, ``-1`` where missing.
        counts: how many records hold each code (``counts[codes[i]]``).
        text: the values with ``""`` where missing (what string scorers get).
    """

    values: ObjArray
    codes: IntArray
    counts: IntArray
    text: ObjArray

    @property
    def present(self) -> npt.NDArray[np.bool_]:
        """Where the column has a value."""
        return self.codes >= 0


def factorize(values: Sequence[str | None]) -> Column:
    """A :class:`Column` from a list of values (codes in first-seen order)."""
    lookup: dict[str, int] = {}
    codes = np.fromiter(
        (-1 if v is None else lookup.setdefault(v, len(lookup)) for v in values),
        dtype=np.int64,
        count=len(values),
    )
    arr = np.empty(len(values), dtype=object)
    arr[:] = list(values)
    present = codes[codes >= 0]
    counts = np.bincount(present, minlength=len(lookup)).astype(np.int64)
    text = np.empty(len(values), dtype=object)
    text[:] = ["" if v is None else v for v in values]
    return Column(values=arr, codes=codes, counts=counts, text=text)


@attrs.frozen(eq=False)
class Table:
    """Normalised records in canonical (id-sorted) order.

    Attributes:
        ids: record ids, sorted.
        columns: column name -> :class:`Column`.
    """

    ids: list[Hashable]
    columns: dict[str, Column]
    cache: dict[str, npt.NDArray[Any]] = attrs.field(factory=dict, repr=False)

    @property
    def n(self) -> int:
        """The number of records."""
        return len(self.ids)

    def derived(self, name: str, column: str, fn: Callable[[str], str]) -> ObjArray:
        """``fn`` of every value of ``column`` (``""`` where missing), computed once."""
        out: ObjArray | None = self.cache.get(name)
        if out is None:
            col = self.columns.get(column)
            if col is None:
                out = np.full(self.n, "", dtype=object)
                self.cache[name] = out
                return out
            memo: dict[str, str] = {}
            out = np.empty(self.n, dtype=object)
            out[:] = [
                "" if v is None else memo.get(v) or memo.setdefault(v, fn(v))
                for v in col.values.tolist()
            ]
            self.cache[name] = out
        return out

    def derived_codes(
        self, name: str, column: str, fn: Callable[[str], str], *, within: str | None = None
    ) -> IntArray:
        """Integer codes of ``fn`` of every value of ``column``, computed once per distinct value.

        Equal codes mean equal results; ``-1`` where the value is missing or
        ``fn`` gives ``""``, so ``(a == b) & (a >= 0)`` is "equal and not empty".
        With ``within``, the codes are those of column ``within`` (``-1`` when
        the result is none of its values), to compare a derived value with
        another column.
        """
        key = f"{name}|codes|{within or ''}"
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        col = self.columns.get(column)
        if col is None:
            out: IntArray = np.full(self.n, -1, dtype=np.int64)
            self.cache[key] = out
            return out
        results = [fn(str(v)) for v in _code_values(col)]
        if within is None:
            lookup: dict[str, int] = {}
            per_code = [-1 if r == "" else lookup.setdefault(r, len(lookup)) for r in results]
        else:
            target = self.columns.get(within)
            values = _code_values(target) if target is not None else []
            lookup = {str(v): c for c, v in enumerate(values)}
            per_code = [-1 if r == "" else lookup.get(r, -1) for r in results]
        table = np.asarray([*per_code, -1], dtype=np.int64)  # the last slot: missing
        out = table[col.codes]
        self.cache[key] = out
        return out

    def has(self, name: str) -> bool:
        """Whether the column exists and holds at least one value."""
        col = self.columns.get(name)
        return col is not None and bool(col.present.any())

    def value(self, name: str, i: int) -> str | None:
        """The normalised value of column ``name`` for record ``i``."""
        col = self.columns.get(name)
        if col is None:
            return None
        v = col.values[i]
        return None if v is None else str(v)


def _code_values(col: Column) -> list[object]:
    """The value of each code of ``col``, in code order."""
    first = np.zeros(col.counts.size, dtype=np.int64)
    present = np.flatnonzero(col.codes >= 0)
    first[col.codes[present]] = present
    values: list[object] = col.values[first].tolist()
    return values


def column_from_distinct(values: Sequence[str | None], owner: IntArray) -> Column:
    """The :class:`Column` of records whose value is ``values[owner[i]]``.

    The same column :func:`factorize` makes of the per-record list (codes in
    first-seen order over the records), built from the distinct values and an
    integer array instead of one dict lookup per record.
    """
    lookup: dict[str, int] = {}
    per_value = np.fromiter(
        (-1 if v is None else lookup.setdefault(v, len(lookup)) for v in values),
        dtype=np.int64,
        count=len(values),
    )
    raw_codes = per_value[owner] if owner.size else np.zeros(0, dtype=np.int64)
    present = raw_codes >= 0
    seen, first = np.unique(raw_codes[present], return_index=True)
    by_first = seen[np.argsort(first, kind="stable")]
    remap = np.full(len(lookup) + 1, -1, dtype=np.int64)  # the last slot: missing
    remap[by_first] = np.arange(by_first.size, dtype=np.int64)
    codes = remap[raw_codes]
    distinct = list(lookup)
    shown = [distinct[c] for c in by_first.tolist()]
    values_arr = np.empty(len(shown) + 1, dtype=object)
    values_arr[:] = [*shown, None]
    text_arr = np.empty(len(shown) + 1, dtype=object)
    text_arr[:] = [*shown, ""]
    counts = np.bincount(codes[present], minlength=len(shown)).astype(np.int64)
    return Column(values=values_arr[codes], codes=codes, counts=counts, text=text_arr[codes])


def build_table(ids: list[Hashable], columns: Mapping[str, Sequence[str | None]]) -> Table:
    """Factorise normalised columns into a :class:`Table`."""
    return Table(ids=ids, columns={k: factorize(v) for k, v in columns.items()})


# --------------------------------------------------------------------------- helpers

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_NON_WORD = re.compile(r"[^\w\s]+")
_SPACES = re.compile(r"\s+")
_JOINERS = re.compile(r"['’`\-‐]")


def has_cjk(text: str) -> bool:
    """Whether ``text`` contains a CJK ideograph."""
    return _CJK.search(text) is not None


def _fold(text: str) -> str:
    """Casefold, strip accents and punctuation, join ``O'Brien``/``Xiao-Ming``."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = _JOINERS.sub("", text.casefold())
    return _SPACES.sub(" ", _NON_WORD.sub(" ", text)).strip()


def _pinyin(text: str) -> list[str]:
    from pypinyin import Style, lazy_pinyin

    out: list[str] = lazy_pinyin(text, style=Style.NORMAL, errors="ignore")
    return [p for p in out if p]


def _match_key(text: str, match_key: Callable[[str], str | None]) -> str | None:
    """``name_match_key`` of a name; for non-CJK text word by word (memoised per word).

    The key of a Latin name is its words' keys sorted, so keying the words one
    by one gives the same key while a handful of given names and surnames
    replace a million full names in the memo. Any word refused falls back to
    the whole text.
    """
    words = text.split()
    if len(words) < 2 or has_cjk(text):
        return match_key(text)
    keys = [match_key(w) for w in words]
    if any(k is None for k in keys):
        return match_key(text)
    return " ".join(sorted(t for k in keys if k for t in k.split())) or None


def _name_keys(
    first: object, last: object, full: object, match_key: Callable[[str], str | None]
) -> tuple[str | None, str | None, str | None]:
    """(script-exact key, transliterated key, nickname-canonical key) of one name."""
    parts = [str(p).strip() for p in (first, last) if p is not None and str(p).strip()]
    if parts:
        text = " ".join(parts)
        if has_cjk(text):  # Chinese order: family name first, no space
            text = "".join(str(p).strip() for p in (last, first) if p is not None)
    elif full is not None and str(full).strip():
        text = str(full).strip()
    else:
        return None, None, None
    if has_cjk(text):
        script = _SPACES.sub("", unicodedata.normalize("NFKC", text))
    else:
        script = " ".join(sorted(unicodedata.normalize("NFKC", text).casefold().split()))
    key = _match_key(text, match_key)
    if not key:
        return (script or None), None, None
    tokens = key.split()
    canon = " ".join(sorted(canonical_token(t) for t in tokens))
    return (script or None), key, canon


_ADDRESS_ABBREV = {
    "street": "st",
    "road": "rd",
    "avenue": "ave",
    "av": "ave",
    "drive": "dr",
    "lane": "ln",
    "boulevard": "blvd",
    "court": "ct",
    "place": "pl",
    "square": "sq",
    "apartment": "apt",
    "flat": "apt",
    "unit": "apt",
    "building": "bldg",
    "floor": "fl",
    "north": "n",
    "south": "s",
    "east": "e",
    "west": "w",
    "number": "no",
}
_COMPANY_SUFFIXES = frozenset(
    [
        "ltd",
        "limited",
        "inc",
        "incorporated",
        "co",
        "company",
        "corp",
        "corporation",
        "llc",
        "plc",
        "gmbh",
        "ag",
        "sa",
        "bv",
        "group",
        "holdings",
    ]
)
_COMPANY_CJK_SUFFIXES = ("股份有限公司", "有限责任公司", "有限公司", "集团", "公司")


def normalize_address(text: str) -> str | None:
    """Casefolded address with punctuation gone and common words abbreviated."""
    folded = _fold(text)
    tokens = [_ADDRESS_ABBREV.get(t, t) for t in folded.split()]
    return " ".join(tokens) or None


def normalize_company(text: str) -> str | None:
    """Company name without legal-form suffixes (``Ltd``, ``有限公司``)."""
    text = unicodedata.normalize("NFKC", text).strip()
    for suffix in _COMPANY_CJK_SUFFIXES:
        if text.endswith(suffix) and len(text) > len(suffix):
            text = text[: -len(suffix)]
            break
    tokens = [t for t in _fold(text).split() if t not in _COMPANY_SUFFIXES]
    return " ".join(tokens) or None


def normalize_city(text: str) -> str | None:
    """City as a casefolded, CJK-transliterated key (``北京市`` -> ``beijing``)."""
    text = unicodedata.normalize("NFKC", text).strip()
    if has_cjk(text):
        for suffix in ("特别行政区", "自治州", "市", "县", "区"):
            if text.endswith(suffix) and len(text) > len(suffix):
                text = text[: -len(suffix)]
                break
        return "".join(_pinyin(text)) or None
    folded = _fold(text).replace(" city", "")
    return folded.replace(" ", "") or None


# ------------------------------------------------------------------ the normaliser


def _safe(fn: Callable[..., Any], cache: dict[Any, Any] | None = None) -> Callable[..., Any]:
    """``fn`` with refused input (a crmcore error) mapped to ``None``, memoised in ``cache``."""
    if cache is None:
        cache = {}

    def call(value: Any, *args: Any) -> Any:
        key = (value, *args) if args else value
        try:
            return cache[key]
        except KeyError:
            pass
        except TypeError:  # unhashable
            key = None
        try:
            out = fn(value, *args)
        except (CrmError, ValueError, TypeError):
            out = None
        if key is not None:
            if len(cache) > 200_000:
                cache.clear()
            cache[key] = out
        return out

    return call


@attrs.frozen
class DefaultNormalizer:
    """crmcore's normaliser: validation's normalisers plus the dedupe name keys.

    Args:
        region: default region for phone numbers without a country code.
        date_order: passed to ``normalize_date`` for ambiguous dates (``"DMY"``,
            ``"MDY"``, ``"YMD"``); ``None`` uses its default.
    """

    region: str = "CN"
    date_order: str | None = None
    # memo per normalising function, kept across calls (chunks) in one process
    _memo: dict[str, dict[Any, Any]] = attrs.field(
        factory=dict, init=False, repr=False, eq=False, alias="_memo"
    )

    def _cache(self, name: str) -> dict[Any, Any]:
        return self._memo.setdefault(name, {})

    @property
    def input_groups(self) -> dict[str, tuple[str, ...]]:
        """Output column -> the raw columns it is computed from (and nothing else).

        A normaliser that declares this lets the pipeline normalise each
        distinct combination of those raw values once, instead of every record
        (see :func:`crmcore.dedupe._run.normalize_distinct`).
        """
        names: tuple[str, ...] = ("first_name", "last_name", "full_name")
        groups: dict[str, tuple[str, ...]] = dict.fromkeys(
            ("name_exact", "name_key", "name_canon"), names
        )
        groups.update({c: (c,) for c in COLUMNS if c not in groups})
        return groups

    def __call__(self, raw: RawTable) -> dict[str, list[str | None]]:
        """Normalise every record of ``raw`` (see :class:`RecordNormalizer`)."""
        from crmcore import validation as v

        n = raw.n
        none: list[object] = [None] * n
        col = raw.columns.get
        out: dict[str, list[str | None]] = {}

        match_key = _safe(v.name_match_key, self._cache("name_match_key"))
        names = _safe(lambda t: _name_keys(t[0], t[1], t[2], match_key), self._cache("name_keys"))
        firsts, lasts, fulls = (
            col("first_name", none),
            col("last_name", none),
            col("full_name", none),
        )
        if any(k in raw.columns for k in ("first_name", "last_name", "full_name")):
            keys = [names(t) for t in zip(firsts, lasts, fulls, strict=True)]
            out["name_exact"] = [k[0] if k else None for k in keys]
            out["name_key"] = [k[1] if k else None for k in keys]
            out["name_canon"] = [k[2] if k else None for k in keys]

        if "email" in raw.columns:
            email_key = _safe(v.email_match_key, self._cache("email"))
            out["email"] = [None if e is None else email_key(str(e)) for e in raw.columns["email"]]
        if "phone" in raw.columns:
            region = self.region
            phone = _safe(lambda p: v.normalize_phone(p, region=region), self._cache("phone"))
            out["phone"] = [None if p is None else phone(str(p)) for p in raw.columns["phone"]]
        if "national_id" in raw.columns:
            out["national_id"] = [
                None if x is None else (re.sub(r"[\s\-]", "", str(x)).upper() or None)
                for x in raw.columns["national_id"]
            ]
        if "date_of_birth" in raw.columns:
            date = _safe(lambda d: self._date(v, d), self._cache("date"))
            out["date_of_birth"] = [
                None if d is None else date(d) for d in raw.columns["date_of_birth"]
            ]
        if "postcode" in raw.columns:
            post = _safe(v.normalize_postcode, self._cache("postcode"))
            out["postcode"] = [
                None if p is None else _str_or_none(post(str(p))) for p in raw.columns["postcode"]
            ]
        for name, fn in (
            ("city", normalize_city),
            ("address", normalize_address),
            ("company", normalize_company),
        ):
            if name in raw.columns:
                safe = _safe(fn, self._cache(name))
                out[name] = [None if x is None else safe(str(x)) for x in raw.columns[name]]
        return out

    def _date(self, v: Any, value: object) -> str | None:
        if value is None:
            return None
        if isinstance(value, _dt.datetime):
            return value.date().isoformat()
        if isinstance(value, _dt.date):
            return value.isoformat()
        try:
            if self.date_order is None:
                parsed = v.normalize_date(str(value))
            else:
                parsed = v.normalize_date(str(value), order=self.date_order)
        except (CrmError, ValueError, TypeError):
            return None
        return parsed.isoformat() if isinstance(parsed, _dt.date) else _str_or_none(parsed)


def _str_or_none(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None
