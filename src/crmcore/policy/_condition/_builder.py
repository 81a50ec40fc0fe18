"""The Python builder: :data:`R`, :data:`P`, :data:`C` and :class:`Attr` build conditions."""

from __future__ import annotations

from decimal import Decimal

from crmcore.errors import ConfigurationError
from crmcore.policy._condition._expression import Condition
from crmcore.policy._condition._tree import Cmp, ListLit, Lit, Member, Operand, Ref
from crmcore.policy._values import (
    COLLECTIONS,
    canon,
)

_LITERAL_TYPES = (str, int, float, Decimal, bool)


def _operand(value: object) -> Operand:
    if isinstance(value, Attr):
        return value._ref()
    value = canon(value)
    if value is None or isinstance(value, _LITERAL_TYPES):
        return Lit(value)
    raise ConfigurationError(
        f"a condition literal must be text, a number, a boolean or None, not"
        f" {type(value).__name__}; pass other values through principal or context"
    )


def _collection(values: object) -> Operand:
    if isinstance(values, Attr):
        return values._ref()
    if isinstance(values, (str, bytes)) or not isinstance(values, COLLECTIONS):
        raise ConfigurationError("in_() needs a list of literals or a field")
    items = []
    for v in values:
        lit = _operand(v)
        if not isinstance(lit, Lit):
            raise ConfigurationError("a list in a condition holds literals only")
        items.append(lit.value)
    return ListLit(tuple(items))


class Attr:
    """A field of the resource, principal or context in a Python-built condition.

    ``R.owner_id == P.user_id`` and ``R.stage.in_(["won", "lost"])`` build
    :class:`Condition` objects; attribute access walks dotted paths
    (``R.amount.amount``).
    """

    __slots__ = ("_path", "_scope")

    def __init__(self, scope: str, path: tuple[str, ...]) -> None:
        self._scope = scope
        self._path = path

    def __getattr__(self, name: str) -> Attr:
        if name.startswith("_"):
            raise AttributeError(name)
        return Attr(self._scope, (*self._path, name))

    def _ref(self) -> Ref:
        if not self._path:
            raise ConfigurationError(f"{self._scope!r} needs a field: {self._scope}.<name>")
        return Ref(self._scope, self._path)

    def __repr__(self) -> str:
        return ".".join((self._scope, *self._path))

    def _cmp(self, op: str, other: object) -> Condition:
        return Condition(Cmp(op, self._ref(), _operand(other)))

    def __eq__(self, other: object) -> Condition:  # type: ignore[override]
        return self._cmp("==", other)

    def __ne__(self, other: object) -> Condition:  # type: ignore[override]
        return self._cmp("!=", other)

    def __lt__(self, other: object) -> Condition:
        return self._cmp("<", other)

    def __le__(self, other: object) -> Condition:
        return self._cmp("<=", other)

    def __gt__(self, other: object) -> Condition:
        return self._cmp(">", other)

    def __ge__(self, other: object) -> Condition:
        return self._cmp(">=", other)

    __hash__ = None  # type: ignore[assignment]

    def in_(self, values: object) -> Condition:
        """This value is one of ``values`` (a list of literals or another field)."""
        return Condition(Member(self._ref(), _collection(values)))

    def not_in(self, values: object) -> Condition:
        """This value is none of ``values``."""
        return ~self.in_(values)

    def has(self, item: object) -> Condition:
        """This collection holds ``item`` (``item in <this>``)."""
        return Condition(Member(_operand(item), self._ref()))

    def is_true(self) -> Condition:
        """This value is ``true``."""
        return self._cmp("==", True)

    def is_null(self) -> Condition:
        """This value is missing."""
        return self._cmp("==", None)

    def not_null(self) -> Condition:
        """This value is present."""
        return self._cmp("!=", None)


R = Attr("resource", ())
"""The resource (record) side of a Python-built condition: ``R.owner_id``."""
P = Attr("principal", ())
"""The principal side: ``P.user_id``, ``P.teams``, ``P.region`` (an attribute)."""
C = Attr("context", ())
"""The request context: ``C.hour``."""
