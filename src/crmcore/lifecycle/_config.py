"""Machines to and from plain data (a tenant's configuration, JSON, YAML...).

The format, with defaults left out::

    {"name": "opportunity", "field": "stage", "initial": "prospecting",
     "snapshot": ["probability"],
     "states": ["prospecting", {"name": "closed_won", "final": true,
                                "data": {"probability": 1.0}}],
     "transitions": [{"event": "win", "sources": "*", "target": "closed_won",
                      "guards": ["positive_amount"]}]}

Guards, effects and hooks are names (or ``{"name": ..., **params}``) resolved
through a :class:`~crmcore.lifecycle.Registry`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from crmcore.errors import ConfigurationError
from crmcore.lifecycle._machine import Machine, State, Transition
from crmcore.lifecycle._registry import Registry

__all__ = ["machine_from_dict", "machine_to_dict"]

_MACHINE_KEYS = {
    "name",
    "field",
    "initial",
    "states",
    "transitions",
    "entity",
    "snapshot",
    "id_field",
    "description",
}
_STATE_KEYS = {"name", "final", "label", "data", "on_enter", "on_exit"}
_TRANSITION_KEYS = {"event", "sources", "target", "guards", "effects", "label", "from_final"}


def _registry(registry: Registry | None) -> Registry:
    if registry is None:
        from crmcore.lifecycle._guards import BUILTINS

        return BUILTINS
    if not isinstance(registry, Registry):
        raise ConfigurationError(f"lifecycle: registry must be a Registry, got {registry!r}")
    return registry


def _refs(reg: Registry, fns: tuple[Callable[..., Any], ...]) -> list[Any]:
    return [reg.ref_of(fn) for fn in fns]


def machine_to_dict(machine: Machine, registry: Registry | None = None) -> dict[str, Any]:
    """``machine`` as plain data (see the module docstring for the format).

    Args:
        machine: the machine.
        registry: names custom callables (built-ins are always known).

    Returns:
        A JSON-ready dict.

    Raises:
        ConfigurationError: a guard, effect or hook is not registered.
    """
    reg = _registry(registry)
    out: dict[str, Any] = {"name": machine.name, "field": machine.field}
    if machine.entity is not None:
        out["entity"] = machine.entity
    if machine.id_field != "id":
        out["id_field"] = machine.id_field
    if machine.description:
        out["description"] = machine.description
    out["initial"] = machine.initial
    if machine.snapshot:
        out["snapshot"] = list(machine.snapshot)
    states: list[Any] = []
    for s in machine.states:
        d: dict[str, Any] = {"name": s.name}
        if s.final:
            d["final"] = True
        if s.label is not None:
            d["label"] = s.label
        if s.data:
            d["data"] = dict(s.data)
        if s.on_enter:
            d["on_enter"] = _refs(reg, s.on_enter)
        if s.on_exit:
            d["on_exit"] = _refs(reg, s.on_exit)
        states.append(s.name if len(d) == 1 else d)
    out["states"] = states
    transitions: list[dict[str, Any]] = []
    for t in machine.transitions:
        td: dict[str, Any] = {
            "event": t.event,
            "sources": t.sources if t.sources == "*" else list(t.sources),
            "target": t.target,
        }
        if t.guards:
            td["guards"] = _refs(reg, t.guards)
        if t.effects:
            td["effects"] = _refs(reg, t.effects)
        if t.label is not None:
            td["label"] = t.label
        if t.from_final:
            td["from_final"] = True
        transitions.append(td)
    out["transitions"] = transitions
    return out


def _check_keys(where: str, data: Mapping[str, Any], allowed: set[str], required: set[str]) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ConfigurationError(
            f"{where}: unknown key{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}"
            f" (allowed: {', '.join(sorted(allowed))})"
        )
    missing = sorted(required - set(data))
    if missing:
        raise ConfigurationError(f"{where}: missing {', '.join(map(repr, missing))}")


def _expect(where: str, value: Any, kind: Any, what: str) -> Any:
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise ConfigurationError(f"{where}: expected {what}, got {value!r}")
    return value


def _resolve_all(where: str, reg: Registry, refs: Any) -> tuple[Callable[..., Any], ...]:
    if isinstance(refs, str | Mapping):
        refs = [refs]
    _expect(where, refs, list | tuple, "a list of names")
    out = []
    for i, ref in enumerate(refs):
        try:
            out.append(reg.resolve(ref))
        except ConfigurationError as exc:
            raise ConfigurationError(f"{where}[{i}]: {exc}") from None
    return tuple(out)


def _state(where: str, reg: Registry, data: Any) -> State:
    if isinstance(data, str):
        return State(data)
    _expect(where, data, Mapping, "a state name or mapping")
    _check_keys(where, data, _STATE_KEYS, {"name"})
    return State(
        _expect(f"{where}.name", data["name"], str, "a string"),
        final=_expect(f"{where}.final", data.get("final", False), bool, "true or false"),
        label=_expect(f"{where}.label", data.get("label"), str | None, "a string"),
        data=_expect(f"{where}.data", data.get("data", {}), Mapping, "a mapping"),
        on_enter=_resolve_all(f"{where}.on_enter", reg, data.get("on_enter", [])),
        on_exit=_resolve_all(f"{where}.on_exit", reg, data.get("on_exit", [])),
    )


def _transition(where: str, reg: Registry, data: Any) -> Transition:
    _expect(where, data, Mapping, "a mapping")
    _check_keys(where, data, _TRANSITION_KEYS, {"event", "sources", "target"})
    sources = data["sources"]
    if not isinstance(sources, str):
        _expect(f"{where}.sources", sources, list | tuple, '"*", a state name or a list')
        for i, s in enumerate(sources):
            _expect(f"{where}.sources[{i}]", s, str, "a state name")
    return Transition(
        _expect(f"{where}.event", data["event"], str, "a string"),
        sources,
        _expect(f"{where}.target", data["target"], str, "a state name"),
        guards=_resolve_all(f"{where}.guards", reg, data.get("guards", [])),
        effects=_resolve_all(f"{where}.effects", reg, data.get("effects", [])),
        label=_expect(f"{where}.label", data.get("label"), str | None, "a string"),
        from_final=_expect(f"{where}.from_final", data.get("from_final", False), bool, "a bool"),
    )


def machine_from_dict(data: Mapping[str, Any], registry: Registry | None = None) -> Machine:
    """The machine described by ``data`` (see the module docstring for the format).

    Args:
        data: the plain data.
        registry: resolves custom callable names (built-ins are always known).

    Returns:
        The validated machine.

    Raises:
        ConfigurationError: the data is malformed (the message gives the path,
            ``machine.transitions[2].target``), names an unknown callable, or
            describes an invalid machine.
    """
    reg = _registry(registry)
    where = "machine"
    _expect(where, data, Mapping, "a mapping")
    _check_keys(where, data, _MACHINE_KEYS, {"name", "field", "states", "transitions"})
    name = _expect(f"{where}.name", data["name"], str, "a string")
    where = f"machine {name!r}"
    states_data = _expect(f"{where}.states", data["states"], list | tuple, "a list")
    transitions_data = _expect(f"{where}.transitions", data["transitions"], list | tuple, "a list")
    snapshot = data.get("snapshot", [])
    _expect(f"{where}.snapshot", snapshot, list | tuple, "a list of keys")
    return Machine(
        name,
        field=_expect(f"{where}.field", data["field"], str, "a string"),
        states=[_state(f"{where}.states[{i}]", reg, s) for i, s in enumerate(states_data)],
        initial=_expect(f"{where}.initial", data.get("initial", ""), str, "a state name"),
        transitions=[
            _transition(f"{where}.transitions[{i}]", reg, t) for i, t in enumerate(transitions_data)
        ],
        entity=_expect(f"{where}.entity", data.get("entity"), str | None, "a string"),
        snapshot=snapshot,
        id_field=_expect(f"{where}.id_field", data.get("id_field", "id"), str, "a string"),
        description=_expect(f"{where}.description", data.get("description", ""), str, "a string"),
    )
