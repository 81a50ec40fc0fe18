"""Postal addresses: country codes, postcodes, provinces/states.

An address is a mapping (or an object with attributes) with the keys
``line1``, ``line2``, ``city``, ``region``, ``postcode`` and ``country``.
Common aliases are accepted on input (``street``, ``state``, ``province``,
``zip``, ``postal_code``, ``country_code``...); output always uses the six keys.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from crmcore.errors import ConfigurationError, FieldError, ValidationError
from crmcore.validation._common import WRONG_TYPE, clean_text, fail, field_path, type_name
from crmcore.validation._countries import (
    cn_provinces,
    country_aliases,
    country_key,
    region_key,
    us_states,
)

__all__ = [
    "ADDRESS_KEYS",
    "normalize_address",
    "normalize_country",
    "normalize_postcode",
    "normalize_region",
]

#: The keys of a normalised address, in order.
ADDRESS_KEYS = ("line1", "line2", "city", "region", "postcode", "country")

_ALIASES = {
    "street": "line1",
    "street1": "line1",
    "address1": "line1",
    "address_line1": "line1",
    "line_1": "line1",
    "street2": "line2",
    "address2": "line2",
    "address_line2": "line2",
    "line_2": "line2",
    "town": "city",
    "locality": "city",
    "state": "region",
    "province": "region",
    "county": "region",
    "zip": "postcode",
    "zipcode": "postcode",
    "zip_code": "postcode",
    "postal_code": "postcode",
    "post_code": "postcode",
    "postalcode": "postcode",
    "country_code": "country",
}

_MAX_PART = 300
_DASHES = str.maketrans({"‐": "-", "‑": "-", "–": "-", "—": "-", "−": "-"})


def normalize_country(text: str, *, field: str = "country") -> str:
    """Turn a country name, code or alias into its ISO 3166-1 alpha-2 code.

    Accepts alpha-2 and alpha-3 codes, English names, endonyms and Chinese
    names and common aliases: "中国", "China", "CHN", "PRC" -> ``"CN"``;
    "UK", "United Kingdom" -> ``"GB"``; "Deutschland" -> ``"DE"``.

    Args:
        text: the country as typed.
        field: field path used in errors.

    Returns:
        The alpha-2 code (``"XK"`` for Kosovo, a code in common use).

    Raises:
        ValidationError: ``country_empty``, ``country_unknown`` or ``wrong_type``.
    """
    if not isinstance(text, str):
        fail(field, WRONG_TYPE, f"country must be text, not {type_name(text)}")
    if len(text) > _MAX_PART:
        fail(field, "country_unknown", "unknown country", text)
    s = clean_text(text)
    if not s:
        fail(field, "country_empty", "country is empty", text)
    code = country_aliases().get(country_key(s))
    if code is None:
        fail(field, "country_unknown", "unknown country", text)
    return code


def _digits(s: str) -> str:
    return s.replace(" ", "").replace("-", "")


def _cn(s: str) -> str | None:
    d = _digits(s)
    return d if re.fullmatch(r"\d{6}", d) else None


def _us(s: str) -> str | None:
    m = re.fullmatch(r"(\d{5})(?:-?(\d{4}))?", s.replace(" ", ""))
    if m is None:
        return None
    return m[1] if m[2] is None else f"{m[1]}-{m[2]}"


_GB_RE = re.compile(
    r"GIR0AA|(?:[A-PR-UWYZ](?:\d{1,2}|[A-HK-Y]\d{1,2}|\d[A-HJKPSTUW]|[A-HK-Y]\d[ABEHMNPRVWXY]))"
    r"\d[ABD-HJLNP-UW-Z]{2}"
)


def _gb(s: str) -> str | None:
    d = _digits(s)
    return f"{d[:-3]} {d[-3:]}" if _GB_RE.fullmatch(d) else None


def _five(s: str) -> str | None:
    d = _digits(s)
    return d if re.fullmatch(r"\d{5}", d) else None


def _jp(s: str) -> str | None:
    m = re.fullmatch(r"(\d{3})(\d{4})", _digits(s.removeprefix("〒").strip()))
    return f"{m[1]}-{m[2]}" if m else None


def _ca(s: str) -> str | None:
    d = _digits(s)
    ok = re.fullmatch(r"[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z]\d[ABCEGHJ-NPRSTV-Z]\d", d)
    return f"{d[:3]} {d[3:]}" if ok else None


def _in(s: str) -> str | None:
    d = _digits(s)
    return d if re.fullmatch(r"[1-9]\d{5}", d) else None


def _br(s: str) -> str | None:
    m = re.fullmatch(r"(\d{5})(\d{3})", _digits(s))
    return f"{m[1]}-{m[2]}" if m else None


def _au(s: str) -> str | None:
    d = _digits(s)
    return d if re.fullmatch(r"\d{4}", d) else None


def _generic(s: str) -> str | None:
    return s if re.fullmatch(r"[A-Z0-9](?:[A-Z0-9 \-]{0,10}[A-Z0-9])?", s) else None


_POSTCODE_RULES: dict[str, tuple[Callable[[str], str | None], str]] = {
    "CN": (_cn, "6 digits"),
    "US": (_us, "ZIP code 12345 or ZIP+4 12345-6789"),
    "GB": (_gb, "UK postcode such as SW1A 1AA"),
    "DE": (_five, "5 digits"),
    "FR": (_five, "5 digits"),
    "JP": (_jp, "7 digits, NNN-NNNN"),
    "CA": (_ca, "A1A 1A1"),
    "IN": (_in, "6-digit PIN code"),
    "BR": (_br, "CEP NNNNN-NNN"),
    "AU": (_au, "4 digits"),
}


def normalize_postcode(
    text: str | int, country: str | None = None, *, field: str = "postcode"
) -> str:
    """Validate and format a postcode for a country.

    Known formats: CN (6 digits), US (ZIP / ZIP+4), GB (outward + space +
    inward, upper case), DE and FR (5 digits), JP (NNN-NNNN), CA (A1A 1A1),
    IN (PIN), BR (NNNNN-NNN), AU (4 digits). Other or unknown countries get
    a generic check: letters, digits, spaces and dashes, at most 12.

    Args:
        text: the postcode as typed (full-width digits are folded).
        country: alpha-2 code (or any spelling :func:`normalize_country` knows).
        field: field path used in errors.

    Returns:
        The postcode in its country's standard form.

    Raises:
        ValidationError: ``postcode_empty``, ``postcode_invalid`` or ``wrong_type``.
        ConfigurationError: ``country`` is not a known country.
    """
    if isinstance(text, int) and not isinstance(text, bool):
        text = str(text)
    if not isinstance(text, str):
        fail(field, WRONG_TYPE, f"postcode must be text, not {type_name(text)}")
    if len(text) > _MAX_PART:
        fail(field, "postcode_invalid", "postcode is too long", text)
    code = None
    if country is not None:
        try:
            code = normalize_country(country)
        except ValidationError:
            raise ConfigurationError(f"unknown country {country!r} for postcodes") from None
    s = clean_text(text).translate(_DASHES).upper()
    if not s:
        fail(field, "postcode_empty", "postcode is empty", text)
    check, shape = _POSTCODE_RULES.get(code or "", (_generic, "letters and digits"))
    result = check(s)
    if result is None:
        where = f" for {code}" if code else ""
        fail(field, "postcode_invalid", f"not a valid postcode{where} (expected {shape})", text)
    return result


def normalize_region(text: str, country: str | None, *, field: str = "region") -> str:
    """Normalise a province/state for a country.

    CN: the standard name of the 34 provincial-level divisions ("广东" ->
    "广东省", "Guangdong" -> "广东省", "北京" -> "北京市", "内蒙古" ->
    "内蒙古自治区"). US: the USPS code ("California" -> "CA"). Other
    countries: cleaned text.

    Args:
        text: the region as typed.
        country: alpha-2 code of the address, if known.
        field: field path used in errors.

    Returns:
        The normalised region.

    Raises:
        ValidationError: ``region_unknown`` (CN/US only), ``region_empty`` or
            ``wrong_type``.
    """
    if not isinstance(text, str):
        fail(field, WRONG_TYPE, f"region must be text, not {type_name(text)}")
    if len(text) > _MAX_PART:
        fail(field, "region_unknown", "region is too long", text)
    s = clean_text(text)
    if not s:
        fail(field, "region_empty", "region is empty", text)
    if country == "CN":
        found = cn_provinces().get(s) or cn_provinces().get(region_key(s))
        if found is None:
            fail(field, "region_unknown", "not a Chinese province-level division", text)
        return found
    if country == "US":
        state = us_states().get(region_key(s))
        if state is None:
            fail(field, "region_unknown", "not a US state or territory", text)
        return state
    return s


def _read(address: object, field: str) -> tuple[dict[str, Any], list[FieldError]]:
    values: dict[str, Any] = dict.fromkeys(ADDRESS_KEYS)
    errors: list[FieldError] = []
    base = field_path(field)
    conflicts: set[str] = set()
    if isinstance(address, Mapping):
        for raw_key, value in address.items():
            key = str(raw_key)
            canonical = key if key in ADDRESS_KEYS else _ALIASES.get(key.lower())
            if canonical is None:
                errors.append(
                    FieldError(f"{base}.{key}", "address_unknown_field", "unknown address field")
                )
                continue
            if values[canonical] is not None and value is not None and values[canonical] != value:
                errors.append(
                    FieldError(
                        f"{base}.{canonical}",
                        "address_conflict",
                        f"{canonical} is given twice with different values",
                    )
                )
                conflicts.add(canonical)
                continue
            if value is not None:
                values[canonical] = value
    elif isinstance(address, (str, bytes, int, float)) or address is None:
        fail(field, WRONG_TYPE, f"address must be a mapping or object, not {type_name(address)}")
    else:
        for key in ADDRESS_KEYS:
            values[key] = getattr(address, key, None)
    for key in conflicts:
        values[key] = None
    return values, errors


def normalize_address(
    address: Mapping[str, Any] | object,
    *,
    default_country: str | None = None,
    field: str = "address",
) -> dict[str, str | None]:
    """Normalise a postal address and report every problem at once.

    Trims and cleans every part; country -> ISO alpha-2; region -> standard
    form for CN and US; postcode -> the country's format. Empty parts become
    ``None``.

    Args:
        address: a mapping or an object (attrs instance...) with address parts.
        default_country: country assumed when the address has none.
        field: field path used in errors (``"$.address.postcode"``...).

    Returns:
        A dict with the keys line1, line2, city, region, postcode, country.

    Raises:
        ValidationError: every part's problem (codes of :func:`normalize_country`,
            :func:`normalize_region`, :func:`normalize_postcode`, plus
            ``address_unknown_field``, ``address_conflict``, ``address_too_long``
            and ``wrong_type``).
    """
    values, errors = _read(address, field)
    base = field_path(field)
    out: dict[str, str | None] = dict.fromkeys(ADDRESS_KEYS)

    def run(key: str, fn: Callable[[], str]) -> None:
        try:
            out[key] = fn()
        except ValidationError as exc:
            errors.extend(exc.errors)

    for key in ("line1", "line2", "city"):
        value = values[key]
        if value is None:
            continue
        if not isinstance(value, str):
            errors.append(FieldError(f"{base}.{key}", WRONG_TYPE, f"{key} must be text"))
            continue
        if len(value) > _MAX_PART:
            errors.append(FieldError(f"{base}.{key}", "address_too_long", f"{key} is too long"))
            continue
        out[key] = clean_text(value) or None
    country = values["country"]
    if country is not None and not (isinstance(country, str) and not country.strip()):
        run("country", lambda: normalize_country(country, field=f"{base}.country"))
    elif default_country is not None:
        out["country"] = normalize_country(default_country, field=f"{base}.country")
    code = out["country"]
    region = values["region"]
    if region is not None and not (isinstance(region, str) and not region.strip()):
        run("region", lambda: normalize_region(region, code, field=f"{base}.region"))
    postcode = values["postcode"]
    if postcode is not None and not (isinstance(postcode, str) and not postcode.strip()):
        run(
            "postcode",
            lambda: normalize_postcode(postcode, code, field=f"{base}.postcode"),
        )
    if errors:
        raise ValidationError(errors)
    return out
