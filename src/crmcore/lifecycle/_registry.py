"""Named guards and effects, so machines loaded from plain data can use code.

A machine stored as data names its callables: ``"requires_comment"`` or, for a
parameterised one, ``{"name": "reopen_window", "days": 7}``. A
:class:`Registry` turns those references into callables (and back, for
:meth:`Machine.to_dict`). Every registry falls back to the built-in one, which
is read-only so no tenant can change another's behaviour.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar, overload

from crmcore.errors import ConfigurationError

__all__ = ["Ref", "Registry"]

F = TypeVar("F", bound=Callable[..., Any])

#: A reference to a callable in plain data: a name, or a name with parameters.
Ref = str | Mapping[str, Any]

_REF_ATTR = "__lifecycle_ref__"


def _freeze(value: Any) -> Any:
    if isinstance(value, Mapping):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    return value


class Registry:
    """Names for guards, effects and hooks, and factories for parameterised ones.

    Args:
        parent: the registry consulted for names this one does not know; the
            built-in registry by default (pass ``None`` only for the built-in one).

    Example:
        >>> reg = Registry()
        >>> @reg.register("has_budget")
        ... def has_budget(record, ctx):
        ...     return None if record["budget"] else "no budget"
    """

    def __init__(self, parent: Registry | str | None = "builtins") -> None:
        if parent == "builtins":
            from crmcore.lifecycle._guards import BUILTINS

            parent = BUILTINS
        self._parent: Registry | None = parent if isinstance(parent, Registry) else None
        self._callables: dict[str, Callable[..., Any]] = {}
        self._factories: dict[str, Callable[..., Callable[..., Any]]] = {}
        self._built: dict[tuple[str, Any], Callable[..., Any]] = {}
        self._frozen = False

    def freeze(self) -> None:
        """Refuse any further registration."""
        self._frozen = True

    def _check_new(self, name: str) -> None:
        if self._frozen:
            raise ConfigurationError(f"lifecycle registry is read-only; cannot register {name!r}")
        if not name or not isinstance(name, str):
            raise ConfigurationError(f"lifecycle registry: invalid name {name!r}")
        if name in self._callables or name in self._factories:
            raise ConfigurationError(f"lifecycle registry: {name!r} is already registered")

    @overload
    def register(self, name: str) -> Callable[[F], F]: ...

    @overload
    def register(self, name: str, fn: F) -> F: ...

    def register(self, name: str, fn: F | None = None) -> F | Callable[[F], F]:
        """Register ``fn`` under ``name`` (usable as a decorator when ``fn`` is omitted).

        Raises:
            ConfigurationError: the name is taken or the registry is read-only.
        """

        def deco(f: F) -> F:
            self._check_new(name)
            self._callables[name] = f
            return f

        return deco(fn) if fn is not None else deco

    def register_factory(self, name: str, factory: Callable[..., Callable[..., Any]]) -> None:
        """Register a factory: ``{"name": name, **params}`` builds ``factory(**params)``.

        Raises:
            ConfigurationError: the name is taken or the registry is read-only.
        """
        self._check_new(name)
        self._factories[name] = factory

    def build(self, name: str, **params: Any) -> Callable[..., Any]:
        """The callable a factory makes for ``params`` (cached, so equal refs give one object).

        Raises:
            ConfigurationError: no factory has that name or the parameters do not fit it.
        """
        reg: Registry | None = self
        while reg is not None:
            factory = reg._factories.get(name)
            if factory is not None:
                key = (name, _freeze(params))
                built = reg._built.get(key)
                if built is None:
                    try:
                        built = factory(**params)
                    except TypeError as exc:
                        raise ConfigurationError(
                            f"lifecycle: bad parameters for {name!r}: {exc}"
                        ) from None
                    setattr(built, _REF_ATTR, {"name": name, **params})
                    reg._built[key] = built
                return built
            reg = reg._parent
        raise ConfigurationError(
            f"lifecycle: no factory named {name!r} (factories: {', '.join(self.names(True))})"
        )

    def resolve(self, ref: Ref) -> Callable[..., Any]:
        """The callable a reference names.

        Raises:
            ConfigurationError: the name is unknown or the reference is malformed.
        """
        if isinstance(ref, str):
            reg: Registry | None = self
            while reg is not None:
                fn = reg._callables.get(ref)
                if fn is not None:
                    return fn
                if ref in reg._factories:
                    return self.build(ref)
                reg = reg._parent
            raise ConfigurationError(
                f"lifecycle: unknown guard/effect {ref!r} (registered: {', '.join(self.names())})"
            )
        if isinstance(ref, Mapping) and isinstance(ref.get("name"), str):
            params = {k: v for k, v in ref.items() if k != "name"}
            return self.build(ref["name"], **params)
        raise ConfigurationError(
            f"lifecycle: a guard/effect reference must be a name or {{'name': ...}}, got {ref!r}"
        )

    def ref_of(self, fn: Callable[..., Any]) -> Ref:
        """The reference that names ``fn`` in plain data.

        Raises:
            ConfigurationError: ``fn`` is neither registered nor built by a factory.
        """
        ref = getattr(fn, _REF_ATTR, None)
        if isinstance(ref, Mapping):
            return dict(ref)
        reg: Registry | None = self
        while reg is not None:
            for name, known in reg._callables.items():
                if known is fn:
                    return name
            reg = reg._parent
        raise ConfigurationError(
            f"lifecycle: {getattr(fn, '__qualname__', fn)!r} is not registered;"
            " register it to store the machine as data"
        )

    def names(self, factories: bool = False) -> list[str]:
        """Every name this registry resolves (its own and its parents'), sorted."""
        out: set[str] = set()
        reg: Registry | None = self
        while reg is not None:
            out.update(reg._factories if factories else (*reg._callables, *reg._factories))
            reg = reg._parent
        return sorted(out)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self.names()
