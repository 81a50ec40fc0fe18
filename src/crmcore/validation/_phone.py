"""Phone numbers: parse with phonenumbers, validate, format as E.164.

``normalize_phone`` is on the hot path of imports and dedupe, so it parses once
and classifies the number with pre-compiled metadata patterns (the same
algorithm as ``phonenumbers.number_type``/``is_valid_number``, without the
per-call regex-cache lookups and without classifying twice). phonenumbers is
imported lazily on first use.

The normalised form of a number with an extension is the RFC 3966 style
``"+14155550132;ext=12"``, which phonenumbers parses back to the same number
and extension, so normalisation stays idempotent.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from enum import Enum
from typing import Any, NoReturn

import attrs

from crmcore.errors import ConfigurationError
from crmcore.validation._common import WRONG_TYPE, clean_text, fail, type_name

__all__ = ["PhoneInfo", "PhoneKind", "normalize_phone", "parse_phone"]

# phonenumbers refuses longer input anyway; refusing early keeps huge strings cheap.
_MAX_INPUT = 250

# Separators that never change what phonenumbers parses; dropping them first makes
# parsing ~30% faster for the usual "138 0013 8000" / "(415) 555-0132" shapes.
_COMPACT = str.maketrans("", "", " -.()")

# Extension markers phonenumbers does not know (Chinese), mapped to one it does.
_CJK_EXT_RE = re.compile(r"\s*(?:转|轉|分机号?|分機號?|内线|內線)\s*")
# "010-12345678-123": a trailing dash group is a common Chinese way to write an extension.
_DASH_EXT_RE = re.compile(r"^(.*\d)\s*[-‐‑–—－]\s*(\d{1,6})$")


class PhoneKind(str, Enum):
    """What kind of line a number is, as far as the numbering plan tells."""

    FIXED_LINE = "fixed_line"
    MOBILE = "mobile"
    FIXED_LINE_OR_MOBILE = "fixed_line_or_mobile"
    TOLL_FREE = "toll_free"
    PREMIUM_RATE = "premium_rate"
    SHARED_COST = "shared_cost"
    VOIP = "voip"
    PERSONAL_NUMBER = "personal_number"
    PAGER = "pager"
    UAN = "uan"
    VOICEMAIL = "voicemail"
    UNKNOWN = "unknown"


@attrs.frozen
class PhoneInfo:
    """A parsed, valid phone number.

    Attributes:
        e164: the number in E.164 form, without extension (``"+8613800138000"``).
        region: ISO 3166-1 alpha-2 region of the number, ``"001"`` for
            non-geographic numbers (``+800``...).
        kind: fixed line, mobile, toll free... (:class:`PhoneKind`).
        extension: the extension digits, or ``None``.
        national_format: how the number is written inside its country.
        international_format: the readable international form.
        country_code: the country calling code (``86``).
    """

    e164: str
    region: str
    kind: PhoneKind
    extension: str | None
    national_format: str
    international_format: str
    country_code: int

    @property
    def value(self) -> str:
        """The normalised form: E.164, plus ``";ext=NN"`` when there is an extension."""
        return self.e164 if self.extension is None else f"{self.e164};ext={self.extension}"

    def __str__(self) -> str:
        return self.value


_KIND_BY_ATTR = (
    ("premium_rate", PhoneKind.PREMIUM_RATE),
    ("toll_free", PhoneKind.TOLL_FREE),
    ("shared_cost", PhoneKind.SHARED_COST),
    ("voip", PhoneKind.VOIP),
    ("personal_number", PhoneKind.PERSONAL_NUMBER),
    ("pager", PhoneKind.PAGER),
    ("uan", PhoneKind.UAN),
    ("voicemail", PhoneKind.VOICEMAIL),
)

_Desc = tuple[frozenset[int], Any]  # (possible lengths or empty = any, compiled fullmatch)


def _desc(desc: Any) -> _Desc | None:
    if desc is None or not desc.national_number_pattern:
        return None
    return (
        frozenset(desc.possible_length or ()),
        re.compile(desc.national_number_pattern).fullmatch,
    )


def _hit(nsn: str, desc: _Desc | None) -> bool:
    if desc is None:
        return False
    lengths, match = desc
    if lengths and len(nsn) not in lengths:
        return False
    return match(nsn) is not None


class _Matcher:
    """Pre-compiled number patterns of one region (the metadata, cached)."""

    __slots__ = ("fixed", "general", "leading", "mobile", "same", "specials")

    def __init__(self, metadata: Any) -> None:
        self.general = _desc(metadata.general_desc)
        self.specials = tuple(
            (d, kind)
            for d, kind in ((_desc(getattr(metadata, a)), k) for a, k in _KIND_BY_ATTR)
            if d is not None
        )
        self.fixed = _desc(metadata.fixed_line)
        self.mobile = _desc(metadata.mobile)
        self.same = bool(metadata.same_mobile_and_fixed_line_pattern)
        leading = metadata.leading_digits
        self.leading = re.compile(leading).match if leading else None

    def kind(self, nsn: str) -> PhoneKind:
        """The type of ``nsn`` under this region's plan (UNKNOWN if not valid)."""
        if not _hit(nsn, self.general):
            return PhoneKind.UNKNOWN
        size = len(nsn)
        for (lengths, match), kind in self.specials:  # _hit, inlined: the hot loop
            if (not lengths or size in lengths) and match(nsn) is not None:
                return kind
        if _hit(nsn, self.fixed):
            if self.same or _hit(nsn, self.mobile):
                return PhoneKind.FIXED_LINE_OR_MOBILE
            return PhoneKind.FIXED_LINE
        if not self.same and _hit(nsn, self.mobile):
            return PhoneKind.MOBILE
        return PhoneKind.UNKNOWN

    def valid(self, nsn: str) -> bool:
        """``kind(nsn) is not UNKNOWN``, the likeliest patterns first (mobile, fixed line)."""
        if not _hit(nsn, self.general):
            return False
        if (not self.same and _hit(nsn, self.mobile)) or _hit(nsn, self.fixed):
            return True
        size = len(nsn)
        return any(
            (not lengths or size in lengths) and match(nsn) is not None
            for (lengths, match), _kind in self.specials
        )


_MATCHERS: dict[tuple[str, int], _Matcher | None] = {}


def _matcher(region: str, country_code: int) -> _Matcher | None:
    key = (region, country_code)
    try:
        return _MATCHERS[key]
    except KeyError:
        pass
    import phonenumbers

    metadata = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(country_code, region)
    m = None if metadata is None else _Matcher(metadata)
    _MATCHERS[key] = m
    return m


def _nsn(num: Any) -> str:
    """National significant number (with Italian-style leading zeros)."""
    national = str(num.national_number)
    if num.italian_leading_zero:
        zeros = num.number_of_leading_zeros
        if zeros is None:
            zeros = 1
        if zeros > 0:
            national = "0" * zeros + national
    return national


def _valid_region(cc: int, nsn: str, regions_by_code: Any) -> str | None:
    """The region ``_classify`` names for a valid number, None if it is invalid.

    The same answer as ``_classify``'s (None when its kind is UNKNOWN) without
    telling the kinds apart: for callers that only need validity.
    """
    regions: list[str] | None = regions_by_code.get(cc)
    if not regions:
        return None
    if len(regions) == 1:
        m = _matcher(regions[0], cc)
        return regions[0] if m is not None and m.valid(nsn) else None
    for region in regions:
        m = _matcher(region, cc)
        if m is None:
            continue
        if m.leading is not None:
            if m.leading(nsn):
                return region if m.valid(nsn) else None
        elif m.valid(nsn):
            return region
    return None


def _classify(cc: int, nsn: str, regions_by_code: Any) -> tuple[str | None, PhoneKind]:
    """(region, kind) of a number; kind UNKNOWN means invalid (as is_valid_number)."""
    regions = regions_by_code.get(cc)
    if not regions:
        return None, PhoneKind.UNKNOWN
    if len(regions) == 1:
        m = _matcher(regions[0], cc)
        return regions[0], (PhoneKind.UNKNOWN if m is None else m.kind(nsn))
    for region in regions:
        m = _matcher(region, cc)
        if m is None:
            continue
        if m.leading is not None:
            if m.leading(nsn):
                return region, m.kind(nsn)
        else:
            kind = m.kind(nsn)
            if kind is not PhoneKind.UNKNOWN:
                return region, kind
    return None, PhoneKind.UNKNOWN


class _Plan:
    """What the fast path needs to know about a region's numbering plan."""

    __slots__ = ("cc_text", "country_code", "idd", "national_prefix", "transform")

    def __init__(self, metadata: Any) -> None:
        self.country_code: int = metadata.country_code
        self.cc_text = str(metadata.country_code)
        idd = metadata.international_prefix
        self.idd = re.compile(idd).match if idd else None
        npfp = metadata.national_prefix_for_parsing
        self.national_prefix = re.compile(npfp).match if npfp else None
        self.transform = bool(metadata.national_prefix_transform_rule)


_PLANS: dict[str, _Plan | None] = {}


def _plan(region: str, country_code: int = 0) -> _Plan | None:
    """The plan of a default region (``country_code=0``) or of a calling code's main region."""
    key = region if not country_code else f"{region}:{country_code}"
    try:
        return _PLANS[key]
    except KeyError:
        pass
    import phonenumbers

    md = phonenumbers.PhoneMetadata
    metadata = (
        md.metadata_for_region_or_calling_code(country_code, region)
        if country_code
        else md.metadata_for_region(region)
    )
    plan = None if metadata is None else _Plan(metadata)
    _PLANS[key] = plan
    return plan


def _fast_split(compact: str, region: str | None, regions_by_code: Any) -> tuple[int, str] | None:
    """(country code, national number) of plain digits, when phonenumbers.parse
    would provably read them that way: no IDD prefix, no country code hidden in
    a national number, no national prefix that rewrites digits. Otherwise None
    (parse them). With a national prefix stripped, that reading holds only if
    the rest is a valid number, which the caller checks."""
    if compact[0] == "+":
        digits = compact[1:]
        if digits[0] == "0":
            return None
        for size in (1, 2, 3):
            cc = int(digits[:size])
            regions = regions_by_code.get(cc)
            if regions is not None:
                break
        else:
            return None
        rest = digits[size:]
        plan = _plan(regions[0], cc)
    else:
        if region is None:
            return None
        plan = _plan(region)
        if plan is None or compact.startswith(plan.cc_text):
            return None
        if plan.idd is not None and plan.idd(compact):
            return None
        cc = plan.country_code
        rest = compact
    if plan is None or not 2 <= len(rest) <= 17:
        return None
    if plan.national_prefix is not None:
        m = plan.national_prefix(rest)
        if m is not None:
            groups = m.groups()
            if plan.transform and groups and groups[-1] is not None:
                return None  # a prefix that rewrites the number: let phonenumbers do it
            # phonenumbers strips the prefix whenever what remains is a viable
            # number of a possible length; the caller accepts the stripped form
            # only if it classifies as valid, which implies both.
            rest = rest[m.end() :]
            if len(rest) < 2 or rest[0] == "0":
                return None
            return cc, rest
    return cc, rest


_PARSE_CODES = {
    0: ("phone_unknown_region", "phone number has no valid country code or default region"),
    1: ("phone_invalid", "not a phone number"),
    2: ("phone_too_short", "phone number is too short after the international prefix"),
    3: ("phone_too_short", "phone number is too short"),
    4: ("phone_too_long", "phone number is too long"),
}

# (country code, national significant number, extension, region, kind)
_Parsed = tuple[int, str, str | None, str, PhoneKind]


def _parse(text: object, region: str | None, field: str, *, need_kind: bool = True) -> _Parsed:
    """Parse and validate one number, or raise ValidationError.

    With ``need_kind=False`` the caller ignores the kind in the result: a valid
    number read on the fast path then carries ``PhoneKind.UNKNOWN`` unclassified.
    """
    if not isinstance(text, str):
        if not isinstance(text, int) or isinstance(text, bool):
            fail(field, WRONG_TYPE, f"phone number must be text, not {type_name(text)}")
        text = str(text)
    if len(text) > _MAX_INPUT:
        fail(field, "phone_too_long", "phone number is too long", text)
    import phonenumbers

    regions_by_code = phonenumbers.COUNTRY_CODE_TO_REGION_CODE
    if region is not None:
        if not isinstance(region, str):
            raise ConfigurationError(f"phone region must be an ISO code or None, not {region!r}")
        region = region.upper()
    s = text if text.isascii() and text.isprintable() else clean_text(text)
    compact = s.translate(_COMPACT)
    if compact.isascii() and (compact.isdigit() or (compact[:1] == "+" and compact[1:].isdigit())):
        split = _fast_split(compact, region, regions_by_code)
        if split is not None:
            cc, nsn = split
            if not need_kind:
                found = _valid_region(cc, nsn, regions_by_code)
                if found is not None:
                    return cc, nsn, None, found, PhoneKind.UNKNOWN
            else:
                region_code, number_kind = _classify(cc, nsn, regions_by_code)
                if region_code is not None and number_kind is not PhoneKind.UNKNOWN:
                    return cc, nsn, None, region_code, number_kind
        candidate = compact
    elif s.isascii():
        candidate = s
    else:
        candidate = _CJK_EXT_RE.sub(" ext. ", s)
    try:
        num = phonenumbers.parse(candidate, region)
    except phonenumbers.NumberParseException as exc:
        retried = _retry_dash_extension(s, region, phonenumbers)
        if retried is not None:
            return retried
        if not s.strip():
            fail(field, "phone_empty", "phone number is empty", text)
        code, message = _PARSE_CODES.get(exc.error_type, _PARSE_CODES[1])
        fail(field, code, message + _assumed(s, region), text)
    nsn = _nsn(num)
    cc = num.country_code or 0
    region_code, kind = _classify(cc, nsn, regions_by_code)
    if kind is PhoneKind.UNKNOWN or region_code is None:
        retried = _retry_dash_extension(s, region, phonenumbers)
        if retried is not None:
            return retried
        _fail_invalid(num, text, field, phonenumbers, _assumed(s, region))
    return cc, nsn, num.extension, region_code, kind


def _retry_dash_extension(s: str, region: str | None, phonenumbers: Any) -> _Parsed | None:
    """Read "010-12345678-123" as a fixed line with extension 123, if that is valid."""
    m = _DASH_EXT_RE.match(s)
    if m is None:
        return None
    try:
        num = phonenumbers.parse(m.group(1), region)
    except phonenumbers.NumberParseException:
        return None
    if num.extension is not None:
        return None
    nsn = _nsn(num)
    cc = num.country_code or 0
    region_code, kind = _classify(cc, nsn, phonenumbers.COUNTRY_CODE_TO_REGION_CODE)
    if region_code is None or kind not in (PhoneKind.FIXED_LINE, PhoneKind.FIXED_LINE_OR_MOBILE):
        return None
    return cc, nsn, m.group(2), region_code, kind


def _assumed(s: str, region: str | None) -> str:
    """The message suffix naming the region a number without a ``+`` was read in."""
    if region is None or s.lstrip()[:1] in ("+", "＋"):
        return ""
    return f" (read as a {region} number: it has no + country code)"


def _fail_invalid(
    num: Any, text: str, field: str, phonenumbers: Any, assumed: str = ""
) -> NoReturn:
    reason = phonenumbers.is_possible_number_with_reason(num)
    result = phonenumbers.ValidationResult
    if reason == result.TOO_SHORT:
        fail(field, "phone_too_short", "phone number is too short" + assumed, text)
    if reason == result.IS_POSSIBLE_LOCAL_ONLY:
        fail(field, "phone_too_short", "phone number is missing its area code" + assumed, text)
    if reason == result.TOO_LONG:
        fail(field, "phone_too_long", "phone number is too long" + assumed, text)
    if reason == result.INVALID_COUNTRY_CODE:
        fail(field, "phone_unknown_region", "unknown country calling code", text)
    fail(field, "phone_invalid", "not a valid phone number" + assumed, text)


def _check_kind(kind: PhoneKind, allowed: Collection[str] | None, text: str, field: str) -> None:
    if allowed is not None and kind.value not in allowed and kind not in allowed:
        wanted = ", ".join(sorted(str(getattr(k, "value", k)) for k in allowed))
        fail(field, "phone_kind_not_allowed", f"phone number is {kind.value}, not {wanted}", text)


def normalize_phone(
    text: str | int,
    *,
    region: str | None = "CN",
    field: str = "phone",
    kinds: Collection[str] | None = None,
) -> str:
    """Normalise a phone number to E.164 (``"+8613800138000"``).

    Accepts national forms for ``region`` ("138 0013 8000"), international forms
    with ``+`` or the region's international prefix ("0044 20 7946 0018"),
    full-width digits, and extensions ("ext. 12", "x12", "转 12",
    "010-12345678-123"). An extension is kept as ``"+E164;ext=NN"``.

    Args:
        text: the number as typed (an ``int`` is read as its digits).
        region: ISO region used for numbers written without a country code;
            ``None`` accepts only international numbers.
        field: field path used in errors.
        kinds: if given, only these :class:`PhoneKind` values are accepted
            (e.g. ``{"mobile", "fixed_line_or_mobile"}``).

    Returns:
        The E.164 form, with ``";ext=..."`` if the number had an extension.

    Raises:
        ValidationError: ``phone_empty``, ``phone_invalid``, ``phone_too_short``,
            ``phone_too_long``, ``phone_unknown_region``,
            ``phone_kind_not_allowed`` or ``wrong_type``.
    """
    cc, nsn, ext, _region, kind = _parse(text, region, field, need_kind=kinds is not None)
    if kinds is not None:
        _check_kind(kind, kinds, str(text), field)
    return f"+{cc}{nsn}" if ext is None else f"+{cc}{nsn};ext={ext}"


def parse_phone(
    text: str | int,
    *,
    region: str | None = "CN",
    field: str = "phone",
) -> PhoneInfo:
    """Parse and validate a phone number and describe it.

    Args:
        text: the number as typed.
        region: ISO region for numbers written without a country code.
        field: field path used in errors.

    Returns:
        A :class:`PhoneInfo` (E.164, region, kind, extension, formats).

    Raises:
        ValidationError: the same codes as :func:`normalize_phone`.
    """
    import phonenumbers

    cc, nsn, ext, region_code, kind = _parse(text, region, field)
    num = phonenumbers.PhoneNumber(country_code=cc, national_number=int(nsn))
    if len(nsn) > 1 and nsn[0] == "0":
        # leading zeros that belong to the number (Italy...), recorded as parse() does
        zeros = 1
        while zeros < len(nsn) - 1 and nsn[zeros] == "0":
            zeros += 1
        num.italian_leading_zero = True
        if zeros != 1:
            num.number_of_leading_zeros = zeros
    fmt = phonenumbers.PhoneNumberFormat
    return PhoneInfo(
        e164=f"+{cc}{nsn}",
        region=region_code,
        kind=kind,
        extension=ext,
        national_format=phonenumbers.format_number(num, fmt.NATIONAL),
        international_format=phonenumbers.format_number(num, fmt.INTERNATIONAL),
        country_code=cc,
    )
