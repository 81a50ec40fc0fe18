"""Value objects: Money, Address, EmailAddress, PhoneNumber, PersonName, OrderLine."""

from __future__ import annotations

import re
import unicodedata
import uuid
from decimal import Decimal, InvalidOperation

import attrs

from crmcore.errors import ValidationError

__all__ = [
    "Address",
    "EmailAddress",
    "Money",
    "OrderLine",
    "PersonName",
    "PhoneNumber",
    "is_cjk",
]

_CURRENCY = re.compile(r"^[A-Z]{3}$")


def _decimal(value: Decimal | int | str | float) -> Decimal:
    if isinstance(value, bool):
        raise ValidationError.single("$.amount", "invalid_decimal", "expected a number", value)
    try:
        # str() first so 0.1 becomes Decimal("0.1"), not its binary expansion
        result = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation:
        raise ValidationError.single(
            "$.amount", "invalid_decimal", "expected a number", value
        ) from None
    if not result.is_finite():
        raise ValidationError.single("$.amount", "invalid_decimal", "must be finite", value)
    return result


def _currency(value: str) -> str:
    code = value.strip().upper() if isinstance(value, str) else value
    if not isinstance(code, str) or not _CURRENCY.match(code):
        raise ValidationError.single(
            "$.currency", "invalid_currency", "expected an ISO 4217 code like 'CNY'", value
        )
    return code


@attrs.frozen(order=False)
class Money:
    """An exact amount in one currency (``Money("12.50", "CNY")``).

    Arithmetic across currencies raises a ValidationError instead of guessing
    a rate.
    """

    amount: Decimal = attrs.field(converter=_decimal)
    currency: str = attrs.field(converter=_currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        """Nothing, in ``currency``."""
        return cls(Decimal(0), currency)

    def _same(self, other: Money) -> None:
        if self.currency != other.currency:
            raise ValidationError.single(
                "$.currency",
                "currency_mismatch",
                f"cannot combine {self.currency} with {other.currency}",
            )

    def __add__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __mul__(self, factor: Decimal | int) -> Money:
        if isinstance(factor, float):
            factor = Decimal(str(factor))
        return Money(self.amount * factor, self.currency)

    __rmul__ = __mul__

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"


@attrs.frozen(kw_only=True)
class Address:
    """A postal address; ``country`` is an ISO 3166-1 alpha-2 code once normalised."""

    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    region: str | None = None
    postcode: str | None = None
    country: str | None = None
    kind: str = "home"

    def lines(self) -> list[str]:
        """The address as display lines (CN addresses read largest unit first)."""
        if self.country == "CN":
            head = "".join(p for p in (self.region, self.city) if p)
            return [p for p in (head, self.line1, self.line2, self.postcode) if p]
        tail = " ".join(p for p in (self.postcode, self.city) if p)
        return [p for p in (self.line1, self.line2, tail, self.region, self.country) if p]


@attrs.frozen(kw_only=True)
class EmailAddress:
    """An additional e-mail address with a label (``work``, ``personal``)."""

    address: str
    label: str | None = None
    verified: bool = False


@attrs.frozen(kw_only=True)
class PhoneNumber:
    """An additional phone number (E.164 once normalised) with its kind and label."""

    number: str
    kind: str | None = None
    label: str | None = None


def is_cjk(text: str) -> bool:
    """Whether ``text`` contains CJK ideographs, kana or hangul (names read family-first)."""
    for ch in text:
        name = unicodedata.name(ch, "")
        if name.startswith(("CJK", "HIRAGANA", "KATAKANA", "HANGUL")):
            return True
    return False


@attrs.frozen
class PersonName:
    """A person's name with display rules for Chinese and Western names.

    ``PersonName(family="张", given="伟").display == "张伟"`` (family first, no
    space); ``PersonName(family="Smith", given="Anna").display == "Anna Smith"``.
    """

    family: str | None = None
    given: str | None = None

    @property
    def display(self) -> str:
        """The name as people in its script write it."""
        family, given = self.family or "", self.given or ""
        if is_cjk(family + given):
            return f"{family}{given}"
        return " ".join(p for p in (given, family) if p)

    @property
    def sort_key(self) -> tuple[str, str]:
        """Family name first, for alphabetic listings."""
        return ((self.family or "").casefold(), (self.given or "").casefold())

    def __str__(self) -> str:
        return self.display


def _quantity(value: Decimal | int | str) -> Decimal:
    q = _decimal(value)
    if q <= 0:
        raise ValidationError.single("$.quantity", "invalid_quantity", "must be positive", value)
    return q


def _discount(value: Decimal | int | str) -> Decimal:
    d = _decimal(value)
    if not (0 <= d <= 1):
        raise ValidationError.single(
            "$.discount", "invalid_discount", "must be a fraction between 0 and 1", value
        )
    return d


@attrs.frozen(kw_only=True)
class OrderLine:
    """One line of an order: a product, a quantity, a unit price and a discount fraction."""

    product_id: uuid.UUID | None = None
    sku: str | None = None
    description: str = ""
    quantity: Decimal = attrs.field(default=Decimal(1), converter=_quantity)
    unit_price: Money
    discount: Decimal = attrs.field(default=Decimal(0), converter=_discount)

    @property
    def total(self) -> Money:
        """quantity x unit price x (1 - discount), not rounded."""
        return self.unit_price * (self.quantity * (1 - self.discount))
