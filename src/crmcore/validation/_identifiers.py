"""Identifiers: Chinese resident ID, unified social credit code, IBAN, and a registry.

Every identifier is normalised the same way before it is checked: NFKC
(folds full-width), upper case, spaces and dashes removed. Resident ID
numbers are personal data: their errors never carry the value.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from enum import Enum

import attrs

from crmcore.errors import ConfigurationError, CrmError, FieldError, ValidationError
from crmcore.validation._common import WRONG_TYPE, clean_text, fail, field_path, type_name
from crmcore.validation._countries import cn_province_codes, country_names

__all__ = [
    "IbanInfo",
    "IdentifierRegistry",
    "IdentifierValidator",
    "NationalIdInfo",
    "Sex",
    "UsccInfo",
    "default_registry",
    "normalize_identifier_text",
    "validate_iban",
    "validate_national_id",
    "validate_uscc",
]

_MAX_INPUT = 128
_STRIP_RE = re.compile(r"[\s\-‐‑–—−_./]+")

#: A validator: takes the raw text, returns a result (an info object or the
#: normalised string), raises ValidationError (or ValueError) when invalid.
IdentifierValidator = Callable[[str], object]


def normalize_identifier_text(text: str) -> str:
    """NFKC, upper case, no spaces/dashes/dots: the comparable form of an identifier.

    Idempotent: upper-casing can undo NFKC (``"ǰ"`` -> ``"J"`` + combining caron)
    and removing a space can bring a combining mark next to a new base
    (``"è¸"``), so the three steps repeat until nothing changes.

    Args:
        text: any string.

    Returns:
        The comparable form (possibly empty).
    """
    s = _STRIP_RE.sub("", clean_text(text)).upper()
    if s.isascii():
        return s
    for _ in range(8):
        again = _STRIP_RE.sub("", unicodedata.normalize("NFKC", s)).upper()
        if again == s:
            break
        s = again
    return s


def _prepare(text: object, field: str, label: str, code: str, *, redact: bool) -> str:
    if not isinstance(text, str):
        fail(field, WRONG_TYPE, f"{label} must be text, not {type_name(text)}")
    if len(text) > _MAX_INPUT:
        fail(field, f"{code}_format", f"{label} is too long", text, redact=redact)
    s = normalize_identifier_text(text)
    if not s:
        fail(field, f"{code}_empty", f"{label} is empty", text, redact=redact)
    return s


# --- Chinese resident identity card (GB 11643-1999) -------------------------------

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_RE = re.compile(r"\d{17}[\dX]")
_EARLIEST_BIRTH = dt.date(1850, 1, 1)


class Sex(str, Enum):
    """Sex as encoded in an identifier."""

    MALE = "male"
    FEMALE = "female"


@attrs.frozen
class NationalIdInfo:
    """A valid resident ID number and what it encodes.

    Attributes:
        value: the normalised 18-character number.
        country: ISO country code of the issuer (``"CN"``).
        birth_date: the date of birth it encodes.
        sex: odd 17th digit male, even female.
        region_code: the 6-digit administrative division code of registration.
        province: the standard name of its province-level division.
    """

    value: str
    country: str
    birth_date: dt.date
    sex: Sex
    region_code: str
    province: str

    def __str__(self) -> str:
        return self.value

    def __repr__(self) -> str:  # never print the number itself
        return f"NationalIdInfo(country={self.country!r}, value=<redacted>)"


def cn_id_check_char(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character for the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def validate_national_id(
    text: str,
    *,
    country: str = "CN",
    today: dt.date | None = None,
    allow_legacy: bool = False,
    field: str = "national_id",
) -> NationalIdInfo:
    """Validate a Chinese resident identity card number (18 characters).

    Checks the format, the ISO 7064 MOD 11-2 check character (``X`` = 10),
    the province code and the birth date (a real date, not in the future,
    not before 1850). Error values are always redacted.

    Args:
        text: the number as typed (full-width, spaces, lower-case ``x`` are fine).
        country: only ``"CN"`` is built in; register others in an
            :class:`IdentifierRegistry`.
        today: "now" for the future-birth check (defaults to ``date.today()``).
        allow_legacy: accept the old 15-digit form and upgrade it to 18.
        field: field path used in errors.

    Returns:
        A :class:`NationalIdInfo`.

    Raises:
        ValidationError: ``national_id_empty``, ``national_id_format``,
            ``national_id_legacy``, ``national_id_checksum``,
            ``national_id_region``, ``national_id_birth_date_invalid``,
            ``national_id_birth_date_future`` or ``wrong_type``.
        ConfigurationError: ``country`` is not supported.
    """
    if str(country).upper() != "CN":
        raise ConfigurationError(
            f"no built-in national ID validator for {country!r}; register one in an "
            "IdentifierRegistry"
        )
    s = _prepare(text, field, "national ID", "national_id", redact=True)
    if len(s) == 15 and s.isdigit() and s.isascii():
        if not allow_legacy:
            fail(
                field,
                "national_id_legacy",
                "15-digit national ID is the pre-1999 form; the 18-digit form is required",
                redact=True,
            )
        first17 = s[:6] + "19" + s[6:]
        s = first17 + cn_id_check_char(first17)
    if not (s.isascii() and _ID_RE.fullmatch(s)):
        fail(
            field,
            "national_id_format",
            "national ID must be 17 digits and a check digit or X",
            redact=True,
        )
    if cn_id_check_char(s[:17]) != s[17]:
        fail(field, "national_id_checksum", "national ID check digit does not match", redact=True)
    province = cn_province_codes().get(s[:2])
    if province is None and s[:2] == "83":
        province = cn_province_codes()["71"]  # residence permits of Taiwan residents
    if province is None:
        fail(field, "national_id_region", "national ID has an unknown province code", redact=True)
    try:
        born = dt.date(int(s[6:10]), int(s[10:12]), int(s[12:14]))
    except ValueError:
        born = None
    if born is None or born < _EARLIEST_BIRTH:
        fail(
            field,
            "national_id_birth_date_invalid",
            "national ID encodes an impossible birth date",
            redact=True,
        )
    if born > (today or dt.date.today()):
        fail(
            field,
            "national_id_birth_date_future",
            "national ID encodes a birth date in the future",
            redact=True,
        )
    return NationalIdInfo(
        value=s,
        country="CN",
        birth_date=born,
        sex=Sex.MALE if int(s[16]) % 2 else Sex.FEMALE,
        region_code=s[:6],
        province=province,
    )


# --- Unified social credit code (GB 32100-2015) -----------------------------------

_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUES = {ch: i for i, ch in enumerate(_USCC_CHARS)}
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_RE = re.compile(r"[0-9A-HJ-NP-RTUWXY]{2}\d{6}[0-9A-HJ-NP-RTUWXY]{10}")
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


@attrs.frozen
class UsccInfo:
    """A valid unified social credit code and its parts.

    Attributes:
        value: the normalised 18-character code.
        registration_authority: 1st character (9 = market regulation...).
        organization_type: 2nd character.
        region_code: the 6-digit administrative division code.
        organization_code: the 9-character organisation code (characters 9-17).
    """

    value: str
    registration_authority: str
    organization_type: str
    region_code: str
    organization_code: str

    def __str__(self) -> str:
        return self.value


def uscc_check_char(first17: str) -> str:
    """The GB 32100-2015 check character for the first 17 characters."""
    total = sum(_USCC_VALUES[ch] * w for ch, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return _USCC_CHARS[(31 - total % 31) % 31]


def _org_code_ok(code: str) -> bool:
    """GB 11714 check of the embedded 9-character organisation code."""

    def value(ch: str) -> int:
        return int(ch) if ch.isdigit() else ord(ch) - 55

    total = sum(value(ch) * w for ch, w in zip(code[:8], _ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    expected = "X" if check == 10 else "0" if check == 11 else str(check)
    return code[8] == expected


def validate_uscc(
    text: str,
    *,
    check_organization_code: bool = False,
    field: str = "uscc",
) -> UsccInfo:
    """Validate a unified social credit code (统一社会信用代码).

    18 characters from the GB 32100-2015 set (digits and upper-case letters
    without I, O, Z, S, V), characters 3-8 digits, weighted MOD 31 check
    character.

    Args:
        text: the code as typed.
        check_organization_code: also verify the embedded GB 11714 organisation
            code's own check character.
        field: field path used in errors.

    Returns:
        A :class:`UsccInfo`.

    Raises:
        ValidationError: ``uscc_empty``, ``uscc_format``, ``uscc_checksum``
            or ``wrong_type``.
    """
    s = _prepare(text, field, "unified social credit code", "uscc", redact=False)
    if len(s) != 18 or not _USCC_RE.fullmatch(s):
        fail(
            field,
            "uscc_format",
            "unified social credit code must be 18 characters of 0-9 and A-Y without I, O, S, V, Z",
            text,
        )
    if uscc_check_char(s[:17]) != s[17]:
        fail(
            field,
            "uscc_checksum",
            "unified social credit code check character does not match",
            text,
        )
    if check_organization_code and not _org_code_ok(s[8:17]):
        fail(
            field,
            "uscc_checksum",
            "embedded organisation code check character does not match",
            text,
        )
    return UsccInfo(
        value=s,
        registration_authority=s[0],
        organization_type=s[1],
        region_code=s[2:8],
        organization_code=s[8:17],
    )


# --- IBAN (ISO 13616) ---------------------------------------------------------------

_IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28,
    "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
    "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
    "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20,
    "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18,
    "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24,
    "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23, "TN": 24,
    "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}  # fmt: skip
_IBAN_RE = re.compile(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}")


@attrs.frozen
class IbanInfo:
    """A valid IBAN.

    Attributes:
        value: the compact upper-case IBAN (``"DE89370400440532013000"``).
        country: its ISO country code.
        check_digits: the two check digits.
        bban: the national account number part.
    """

    value: str
    country: str
    check_digits: str
    bban: str

    @property
    def formatted(self) -> str:
        """The IBAN in groups of four, as printed on paper."""
        return " ".join(self.value[i : i + 4] for i in range(0, len(self.value), 4))

    def __str__(self) -> str:
        return self.value


def validate_iban(text: str, *, field: str = "iban") -> IbanInfo:
    """Validate an International Bank Account Number (ISO 13616, MOD 97-10).

    Args:
        text: the IBAN as typed (spaces, lower case, an ``IBAN`` prefix are fine).
        field: field path used in errors.

    Returns:
        An :class:`IbanInfo`.

    Raises:
        ValidationError: ``iban_empty``, ``iban_format``, ``iban_country``,
            ``iban_length``, ``iban_checksum`` or ``wrong_type``.
    """
    s = _prepare(text, field, "IBAN", "iban", redact=False)
    s = s.removeprefix("IBAN")
    if not (s.isascii() and _IBAN_RE.fullmatch(s)):
        fail(
            field,
            "iban_format",
            "IBAN must be a country code, 2 check digits and 11-30 letters or digits",
            text,
        )
    country = s[:2]
    if country not in country_names() and country != "XK":
        fail(field, "iban_country", "IBAN starts with an unknown country code", text)
    expected = _IBAN_LENGTHS.get(country)
    if expected is not None and len(s) != expected:
        fail(field, "iban_length", f"an IBAN from {country} has {expected} characters", text)
    digits = "".join(str(int(ch, 36)) for ch in s[4:] + s[:4])
    if int(digits) % 97 != 1:
        fail(field, "iban_checksum", "IBAN check digits do not match", text)
    return IbanInfo(value=s, country=country, check_digits=s[2:4], bban=s[4:])


# --- registry ----------------------------------------------------------------------


class IdentifierRegistry:
    """Named identifier validators; embedders register their own kinds.

    A validator takes the raw text and returns a result (an info object with a
    ``value`` attribute, or the normalised string); it signals bad input by
    raising :class:`ValidationError`, or a plain ``ValueError`` whose message
    becomes the error message (code ``"<kind>_invalid"``).

    Example:
        >>> reg = IdentifierRegistry.with_defaults()
        >>> reg.register("member_no", lambda t: t.strip().upper())
        >>> reg.normalize("member_no", " ab12 ")
        'AB12'
    """

    def __init__(self, validators: Mapping[str, IdentifierValidator] | None = None) -> None:
        self._validators: dict[str, IdentifierValidator] = dict(validators or {})
        self._lock = threading.Lock()

    @classmethod
    def with_defaults(cls) -> IdentifierRegistry:
        """A new registry holding the built-in kinds: national_id, uscc, iban."""
        return cls(
            {
                "national_id": validate_national_id,
                "uscc": validate_uscc,
                "iban": validate_iban,
            }
        )

    def register(self, kind: str, validator: IdentifierValidator, *, replace: bool = False) -> None:
        """Add a validator under ``kind``.

        Args:
            kind: the identifier's name (``"vat_id"``...).
            validator: callable taking the text.
            replace: allow replacing an existing kind.

        Raises:
            ConfigurationError: ``kind`` exists and ``replace`` is false, or
                the validator is not callable.
        """
        if not callable(validator):
            raise ConfigurationError(f"identifier validator for {kind!r} is not callable")
        with self._lock:
            if kind in self._validators and not replace:
                raise ConfigurationError(f"identifier kind {kind!r} is already registered")
            self._validators[kind] = validator

    def unregister(self, kind: str) -> None:
        """Remove ``kind`` (no error if it is absent)."""
        with self._lock:
            self._validators.pop(kind, None)

    def __contains__(self, kind: object) -> bool:
        return kind in self._validators

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._validators))

    def kinds(self) -> tuple[str, ...]:
        """The registered kinds, sorted."""
        return tuple(sorted(self._validators))

    def copy(self) -> IdentifierRegistry:
        """An independent registry with the same validators."""
        return IdentifierRegistry(self._validators)

    def validate(self, kind: str, text: object, *, field: str | None = None) -> object:
        """Validate ``text`` as ``kind`` and return the validator's result.

        Args:
            kind: a registered kind.
            text: the identifier as typed.
            field: field path used in errors (defaults to ``kind``).

        Returns:
            Whatever the validator returns (an info object or a string).

        Raises:
            ValidationError: the identifier is invalid.
            ConfigurationError: ``kind`` is not registered.
        """
        try:
            validator = self._validators[kind]
        except KeyError:
            raise ConfigurationError(f"unknown identifier kind {kind!r}") from None
        path = field_path(field or kind)
        try:
            return validator(text)  # type: ignore[arg-type]
        except ValidationError as exc:
            raise ValidationError(
                [FieldError(path, e.code, e.message, e.value) for e in exc.errors]
            ) from None
        except CrmError:
            raise
        except (ValueError, TypeError) as exc:
            message = str(exc) or f"invalid {kind}"
            raise ValidationError([FieldError(path, f"{kind}_invalid", message)]) from None

    def normalize(self, kind: str, text: object, *, field: str | None = None) -> str:
        """The normalised string of an identifier (the result's ``value``).

        Raises:
            ValidationError: the identifier is invalid.
            ConfigurationError: ``kind`` is not registered.
        """
        result = self.validate(kind, text, field=field)
        if isinstance(result, str):
            return result
        value = getattr(result, "value", None)
        if isinstance(value, str):
            return value
        return str(result)


_DEFAULT: list[IdentifierRegistry] = []
_DEFAULT_LOCK = threading.Lock()


def default_registry() -> IdentifierRegistry:
    """The process-wide registry used when none is passed (built-ins pre-registered)."""
    if not _DEFAULT:
        with _DEFAULT_LOCK:
            if not _DEFAULT:
                _DEFAULT.append(IdentifierRegistry.with_defaults())
    return _DEFAULT[0]
