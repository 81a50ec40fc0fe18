"""The state-machine engine: :class:`State`, :class:`Transition` and :class:`Machine`.

Machines are data: immutable, comparable, storable as plain dicts. A machine
is validated and compiled once when it is built, into a table
``(state, event) -> step`` where each step already holds everything firing
needs (guards, exit hooks + effects, the field changes, entry hooks, the
history snapshot). :meth:`Machine.fire` is then a dictionary lookup, the
guard calls, one record copy and one history entry. It never touches storage:
the caller persists the returned record and history entry in its unit of work
(or passes a ``sink`` that does).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from enum import Enum
from types import MappingProxyType
from typing import Any, Literal, TypeVar

import attrs

from crmcore.errors import ConfigurationError, InvalidTransition, SchemaError
from crmcore.lifecycle._context import (
    EMPTY,
    START_EVENT,
    Effect,
    Guard,
    TransitionContext,
    TransitionResult,
    new_result,
)
from crmcore.lifecycle._records import (
    ACCESS,
    MISSING,
    Evolver,
    RecordAccess,
    access_for,
    evolve_mapping,
)

__all__ = ["Machine", "State", "Transition"]

R = TypeVar("R")


def _readonly(value: Mapping[str, Any]) -> Mapping[str, Any]:
    if isinstance(value, MappingProxyType):
        return value
    return MappingProxyType(dict(value)) if value else EMPTY


def _callables(value: Iterable[Callable[..., Any]] | Callable[..., Any]) -> tuple[Any, ...]:
    if callable(value):
        return (value,)
    return tuple(value)


def _sources(value: Iterable[str] | str) -> tuple[str, ...] | Literal["*"]:
    if value == "*":
        return "*"
    if isinstance(value, str):
        return (value,)
    return tuple(value)


def _to_state(value: State | str | Mapping[str, Any]) -> State:
    if isinstance(value, State):
        return value
    if isinstance(value, str):
        return State(value)
    if isinstance(value, Mapping):
        return State(**value)
    raise ConfigurationError(f"lifecycle: a state must be a State or a name, got {value!r}")


def _to_states(value: Iterable[State | str | Mapping[str, Any]]) -> tuple[State, ...]:
    if isinstance(value, str):
        raise ConfigurationError("lifecycle: states must be a sequence of states, not a string")
    return tuple(_to_state(v) for v in value)


def _to_transitions(value: Iterable[Transition]) -> tuple[Transition, ...]:
    out = tuple(value)
    for t in out:
        if not isinstance(t, Transition):
            raise ConfigurationError(f"lifecycle: {t!r} is not a Transition")
    return out


def _strings(value: Iterable[str] | str) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _name_of(fn: Callable[..., Any]) -> str:
    return getattr(fn, "__name__", None) or repr(fn)


@attrs.frozen
class State:
    """One state of a machine, with optional data.

    Args:
        name: the value stored in the record's state field (an identifier).
        final: no event leaves it unless the transition sets ``from_final``.
        label: a display name for diagrams (``"Closed Won"``, ``"赢单"``).
        data: free data for reports and snapshots (``{"probability": 0.5,
            "forecast_category": "best_case"}``).
        on_enter: effects run (in order) after the record enters this state.
        on_exit: effects run (in order) before the record leaves this state.
    """

    name: str
    final: bool = attrs.field(default=False, kw_only=True)
    label: str | None = attrs.field(default=None, kw_only=True)
    data: Mapping[str, Any] = attrs.field(
        default=EMPTY, converter=_readonly, kw_only=True, hash=False
    )
    on_enter: tuple[Effect, ...] = attrs.field(default=(), converter=_callables, kw_only=True)
    on_exit: tuple[Effect, ...] = attrs.field(default=(), converter=_callables, kw_only=True)


@attrs.frozen
class Transition:
    """A named event moving records from ``sources`` to ``target``.

    Args:
        event: the event name (an identifier); several transitions may share it
            when their sources differ (``advance``).
        sources: the states it fires from, or ``"*"`` for every non-final state
            other than ``target``.
        target: the state it leads to.
        guards: ``guard(record, ctx)`` callables; each returns ``None``/``True``
            to allow or a reason to refuse.
        effects: ``effect(record, ctx) -> record`` callables run in order between
            the source's exit hooks and the state change.
        label: the text shown on diagrams instead of the event name.
        from_final: allow it to leave a final state (``reopen``); without it a
            transition out of a final state is a definition error.
    """

    event: str
    sources: tuple[str, ...] | Literal["*"] = attrs.field(converter=_sources)
    target: str
    guards: tuple[Guard, ...] = attrs.field(default=(), converter=_callables, kw_only=True)
    effects: tuple[Effect, ...] = attrs.field(default=(), converter=_callables, kw_only=True)
    label: str | None = attrs.field(default=None, kw_only=True)
    from_final: bool = attrs.field(default=False, kw_only=True)


class _Enter:
    """What entering one state does, precomputed once per state and shared by its steps."""

    __slots__ = ("after", "by_type", "changes", "snapshot", "target")

    def __init__(self, target: State, field: str, snapshot_keys: tuple[str, ...]) -> None:
        self.target = target.name
        self.after: tuple[Effect, ...] = target.on_enter
        snap = {k: target.data[k] for k in snapshot_keys if k in target.data}
        self.snapshot: Mapping[str, Any] = MappingProxyType(snap) if snap else EMPTY
        self.changes: dict[str, Any] = {**snap, field: target.name}
        # Per record type (attrs/dataclass): its changes and copy function.
        self.by_type: dict[RecordAccess, tuple[dict[str, Any], Evolver]] = {}


class _Step:
    """One compiled (state, event) entry: everything firing needs, precomputed."""

    __slots__ = (
        "after",
        "before",
        "by_type",
        "changes",
        "event",
        "guards",
        "snapshot",
        "target",
        "transition",
    )

    def __init__(
        self,
        transition: Transition | None,
        event: str,
        enter: _Enter,
        before: tuple[Effect, ...],
    ) -> None:
        self.transition = transition
        self.event = event
        self.guards: tuple[Guard, ...] = transition.guards if transition else ()
        self.before = before
        self.target = enter.target
        self.after = enter.after
        self.snapshot = enter.snapshot
        self.changes = enter.changes
        self.by_type = enter.by_type

    def changes_for_mapping(self, record: Any) -> dict[str, Any]:
        """The changes for a mapping record: snapshot keys only where it has them."""
        if len(self.changes) == 1:
            return self.changes
        return {k: v for k, v in self.changes.items() if k in record or k not in self.snapshot}

    def prepare(self, acc: RecordAccess) -> tuple[dict[str, Any], Evolver]:
        """The changes restricted to the fields of ``acc``'s type, and the copier (cached)."""
        assert acc.fields is not None
        known = acc.fields
        changes = {k: v for k, v in self.changes.items() if k in known or k not in self.snapshot}
        prepared = (changes, acc.evolver(frozenset(changes)))
        self.by_type[acc] = prepared
        return prepared


@attrs.frozen(repr=False)
class Machine:
    """A declarative, immutable state machine over one field of a record.

    Args:
        name: the machine's name (``"opportunity"``), recorded in history.
        field: the record field holding the state (``"stage"``).
        states: the states in display order (``State`` objects or names).
        initial: the state new records start in.
        transitions: the events.
        entity: the entity type written in history entries (defaults to ``name``).
        snapshot: state-data keys copied on entry onto same-named record fields
            (when the record has them) and into the history entry
            (``("probability",)`` for opportunities).
        id_field: the record field holding its id, for history entries.
        description: free text.

    Raises:
        ConfigurationError: the definition is inconsistent; the message lists
            every problem (unknown or unreachable states, dead ends, duplicate
            events, events leaving final states...).

    Example:
        >>> m = Machine("door", field="status", states=["open", State("shut", final=True)],
        ...             initial="open", transitions=[Transition("close", "open", "shut")])
        >>> m.fire({"status": "open"}, "close").to_state
        'shut'
    """

    name: str
    field: str = attrs.field(kw_only=True)
    states: tuple[State, ...] = attrs.field(converter=_to_states, kw_only=True)
    initial: str = attrs.field(kw_only=True)
    transitions: tuple[Transition, ...] = attrs.field(converter=_to_transitions, kw_only=True)
    entity: str | None = attrs.field(default=None, kw_only=True)
    snapshot: tuple[str, ...] = attrs.field(default=(), converter=_strings, kw_only=True)
    id_field: str = attrs.field(default="id", kw_only=True)
    description: str = attrs.field(default="", kw_only=True)

    _by_name: Mapping[str, State] = attrs.field(init=False, eq=False)
    _table: dict[tuple[str, str], _Step] = attrs.field(init=False, eq=False)
    _events_from: dict[str, tuple[str, ...]] = attrs.field(init=False, eq=False)
    _events: tuple[str, ...] = attrs.field(init=False, eq=False)
    _starts: dict[str, _Step] = attrs.field(init=False, eq=False)
    _entity: str = attrs.field(init=False, eq=False)

    def __attrs_post_init__(self) -> None:
        by_name, table, events_from, events, enters = _compile(self)
        starts = {name: _Step(None, START_EVENT, enter, ()) for name, enter in enters.items()}
        setattr_ = object.__setattr__
        setattr_(self, "_by_name", MappingProxyType(by_name))
        setattr_(self, "_table", table)
        setattr_(self, "_events_from", events_from)
        setattr_(self, "_events", events)
        setattr_(self, "_starts", starts)
        setattr_(self, "_entity", self.entity or self.name)

    def __repr__(self) -> str:
        return (
            f"Machine({self.name!r}, field={self.field!r}, states={len(self.states)},"
            f" events={len(self._events)})"
        )

    # -- introspection -------------------------------------------------------

    @property
    def events(self) -> tuple[str, ...]:
        """Every event name, in declaration order."""
        return self._events

    @property
    def state_names(self) -> tuple[str, ...]:
        """Every state name, in declaration order."""
        return tuple(self._by_name)

    @property
    def table(self) -> Mapping[tuple[str, str], str]:
        """The compiled transition table: ``(state, event) -> target state``."""
        return MappingProxyType({k: step.target for k, step in self._table.items()})

    def state(self, name: str) -> State:
        """The :class:`State` called ``name``.

        Raises:
            ConfigurationError: the machine has no such state.
        """
        try:
            return self._by_name[name]
        except KeyError:
            raise ConfigurationError(
                f"machine {self.name!r} has no state {name!r} (states: {', '.join(self._by_name)})"
            ) from None

    def is_final(self, state: str) -> bool:
        """Whether ``state`` is a final state.

        Raises:
            ConfigurationError: the machine has no such state.
        """
        return self.state(state).final

    def events_from(self, state: str) -> tuple[str, ...]:
        """The events declared from ``state`` (guards not evaluated), in declaration order."""
        return self._events_from.get(state, ())

    def transition_for(self, state: str, event: str) -> Transition | None:
        """The transition ``event`` fires from ``state``, or ``None``."""
        step = self._table.get((state, event))
        return step.transition if step is not None else None

    def target(self, state: str, event: str) -> str | None:
        """The state ``event`` leads to from ``state``, or ``None`` if it does not fire there."""
        step = self._table.get((state, event))
        return step.target if step is not None else None

    def state_of(self, record: Any) -> str:
        """The state name stored in ``record`` (an enum member gives its value).

        Raises:
            SchemaError: the record has no state field.
        """
        return _plain(access_for(record).get(record, self.field))

    # -- firing --------------------------------------------------------------

    def fire(
        self,
        record: R,
        event: str,
        ctx: TransitionContext | None = None,
        *,
        sink: Callable[[TransitionResult[R]], R | None] | None = None,
    ) -> TransitionResult[R]:
        """Fire ``event`` on ``record`` and return the changed record with its history entry.

        Order: lookup, guards (all must allow), exit hooks of the current state,
        the transition's effects, the state change (plus snapshot fields), entry
        hooks of the new state. ``record`` itself is never modified.

        Args:
            record: an attrs/dataclass instance or a mapping with the state field.
            event: the event name.
            ctx: who/when/why; a context stamped now with no actor by default.
            sink: the storage hook, called with the result inside the caller's
                unit of work; if it returns a record, that replaces
                ``result.record``. An exception from it propagates (and rolls the
                unit of work back).

        Returns:
            The :class:`TransitionResult` (new record, states, history entry).

        Raises:
            InvalidTransition: the event does not fire from the current state, or
                a guard refused; names the state, the event, the events declared
                from that state and the guards' reasons.
            SchemaError: the record has no state field (or an effect wrote an
                unknown field).
        """
        if ctx is None:
            ctx = TransitionContext()
        acc = ACCESS.get(record.__class__) or access_for(record)
        field = self.field
        current = (
            getattr(record, field, MISSING)
            if acc.fields is not None
            else record.get(field, MISSING)  # type: ignore[attr-defined]
        )
        if current is MISSING:
            raise SchemaError(f"{type(record).__name__} record has no state field {field!r}")
        try:
            step = self._table.get((current, event))
        except TypeError:  # an unhashable value in the state field
            step = None
        if step is None:
            if isinstance(current, Enum):  # a non-str enum: look up by its value
                step = self._table.get((current.value, event))
            if step is None:
                raise self._refusal(record, acc, current, event, None)
        for guard in step.guards:
            verdict = guard(record, ctx)
            if verdict is not None and verdict is not True:
                raise self._refusal(record, acc, current, event, _reasons(step.guards, record, ctx))
        if step.before or step.after or acc.fields is None or current.__class__ is not str:
            result = self._apply(record, acc, current, step, ctx)
        else:
            # The hot path (attrs/dataclass record, plain-str state, no hooks): _apply inlined.
            prepared = step.by_type.get(acc) or step.prepare(acc)
            record = prepared[1](record, prepared[0])
            result = new_result(
                record,
                self.name,
                event,
                current,
                step.target,
                ctx.now,
                self._entity,
                getattr(record, self.id_field, None),
                ctx.actor,
                ctx.comment,
                step.snapshot,
            )
        if sink is not None:
            stored = sink(result)
            if stored is not None:
                result = TransitionResult(stored, result.history)
        return result

    def start(
        self,
        record: R,
        ctx: TransitionContext | None = None,
        *,
        state: str | None = None,
        sink: Callable[[TransitionResult[R]], R | None] | None = None,
    ) -> TransitionResult[R]:
        """Put a new record in the initial state (or ``state``), with a start history entry.

        Runs the entry hooks and snapshot of that state; no guards. The history
        entry has ``from_state=None`` and ``event=START_EVENT``.

        Args:
            record: the new record (its current state value is ignored).
            ctx: who/when/why.
            state: start somewhere else than ``initial`` (an imported deal).
            sink: the storage hook, as for :meth:`fire`.

        Returns:
            The :class:`TransitionResult`.

        Raises:
            ConfigurationError: ``state`` is not a state of the machine.
        """
        if ctx is None:
            ctx = TransitionContext()
        name = self.initial if state is None else state
        self.state(name)
        step = self._starts[name]
        result = self._apply(record, access_for(record), None, step, ctx)
        if sink is not None:
            stored = sink(result)
            if stored is not None:
                result = TransitionResult(stored, result.history)
        return result

    def _apply(
        self,
        record: Any,
        acc: RecordAccess,
        current: Any,
        step: _Step,
        ctx: TransitionContext,
    ) -> TransitionResult[Any]:
        if step.before:
            for hook in step.before:
                record = hook(record, ctx)
            acc = access_for(record)
        evolve: Evolver
        if acc.fields is None:
            changes = step.changes_for_mapping(record)
            evolve = evolve_mapping
        else:
            prepared = step.by_type.get(acc)
            if prepared is None:
                prepared = step.prepare(acc)
            changes, evolve = prepared
        if current is not None and current.__class__ is not str and isinstance(current, Enum):
            # Keep the record's enum type: write the member, not the bare string.
            changes = {**changes, self.field: current.__class__(step.target)}
            current = current.value
        record = evolve(record, changes)
        for hook in step.after:
            record = hook(record, ctx)
        acc_id = ACCESS.get(record.__class__) or access_for(record)
        return new_result(
            record,
            self.name,
            step.event,
            current,
            step.target,
            ctx.now,
            self._entity,
            acc_id.get(record, self.id_field, None),
            ctx.actor,
            ctx.comment,
            step.snapshot,
        )

    def _refusal(
        self,
        record: Any,
        acc: RecordAccess,
        current: Any,
        event: str,
        reason: str | None,
    ) -> InvalidTransition:
        state = _plain(current)
        if reason is None:
            if current is None:
                reason = "the record has no state yet (start it first)"
            elif state not in self._by_name:
                shown = repr(state) if isinstance(current, str | Enum) else state
                reason = f"{shown} is not a state of this machine"
            elif event not in self._events:
                reason = f"unknown event {event!r}"
        return InvalidTransition(
            self.name,
            state,
            event,
            self._events_from.get(state, ()),
            entity=self._entity,
            id=acc.get(record, self.id_field, None),
            reason=reason,
        )

    # -- asking --------------------------------------------------------------

    def check(
        self,
        record: Any,
        event: str,
        ctx: TransitionContext | None = None,
        *,
        can: Callable[[str], bool] | None = None,
    ) -> str | None:
        """Why ``event`` cannot fire on ``record`` now, or ``None`` if it can.

        Args:
            record: the record.
            event: the event name.
            ctx: who/when/why (guards see it).
            can: an optional permission callback ``can(event) -> bool``.

        Returns:
            ``None`` when it would fire; otherwise the reason.
        """
        acc = access_for(record)
        current = acc.get(record, self.field)
        step = self._table.get((_plain(current), event))
        if step is None:
            return str(self._refusal(record, acc, current, event, None).reason or "not allowed")
        if can is not None and not can(event):
            return "not permitted"
        if step.guards:
            return _reasons(step.guards, record, ctx if ctx is not None else TransitionContext())
        return None

    def can_fire(
        self,
        record: Any,
        event: str,
        ctx: TransitionContext | None = None,
        *,
        can: Callable[[str], bool] | None = None,
    ) -> bool:
        """Whether ``event`` would fire on ``record`` now (guards and ``can`` pass)."""
        return self.check(record, event, ctx, can=can) is None

    def allowed_events(
        self,
        record: Any,
        ctx: TransitionContext | None = None,
        *,
        can: Callable[[str], bool] | None = None,
    ) -> tuple[str, ...]:
        """The events that would fire on ``record`` now, in declaration order.

        Args:
            record: the record.
            ctx: who/when/why (guards see it).
            can: an optional permission callback ``can(event) -> bool`` (the
                policy engine plugs in here); events it refuses are left out.

        Returns:
            The event names whose guards (and ``can``) allow them.
        """
        if ctx is None:
            ctx = TransitionContext()
        current = _plain(access_for(record).get(record, self.field))
        out = []
        for event in self._events_from.get(current, ()):
            if can is not None and not can(event):
                continue
            step = self._table[(current, event)]
            if not step.guards or _reasons(step.guards, record, ctx) is None:
                out.append(event)
        return tuple(out)

    # -- data ----------------------------------------------------------------

    def to_dict(self, registry: Any = None) -> dict[str, Any]:
        """The machine as plain data (JSON-ready); callables become registry names.

        Args:
            registry: a :class:`Registry` naming custom guards/effects (built-ins
                are always known).

        Returns:
            A dict that :meth:`from_dict` turns back into an equal machine.

        Raises:
            ConfigurationError: a guard or effect is not registered.
        """
        from crmcore.lifecycle._config import machine_to_dict

        return machine_to_dict(self, registry)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], registry: Any = None) -> Machine:
        """Build a machine from plain data (a tenant's configuration).

        Args:
            data: the mapping :meth:`to_dict` produces.
            registry: a :class:`Registry` resolving custom guard/effect names
                (built-ins are always known).

        Returns:
            The validated machine.

        Raises:
            ConfigurationError: the data is malformed, names an unknown callable,
                or describes an invalid machine.
        """
        from crmcore.lifecycle._config import machine_from_dict

        return machine_from_dict(data, registry)


def _plain(state: Any) -> str:
    """A state value as the string the machine knows it by (enum members give their value)."""
    if isinstance(state, str) and not isinstance(state, Enum):
        return state
    if isinstance(state, Enum):
        return str(state.value)
    return repr(state)


def _reasons(guards: tuple[Guard, ...], record: Any, ctx: TransitionContext) -> str | None:
    """Every refusal reason of ``guards`` joined with ``"; "``, or ``None`` if all allow."""
    reasons: list[str] = []
    for guard in guards:
        verdict = guard(record, ctx)
        if verdict is None or verdict is True:
            continue
        if isinstance(verdict, str) and verdict:
            reasons.append(verdict)
        elif verdict is False or verdict == "":
            reasons.append(f"refused by {_name_of(guard)}")
        else:
            raise ConfigurationError(
                f"lifecycle: guard {_name_of(guard)} returned {verdict!r};"
                " return None/True to allow or a reason (str) to refuse"
            )
    return "; ".join(reasons) if reasons else None


def _is_name(value: object) -> bool:
    return isinstance(value, str) and value.isidentifier()


def _compile(
    m: Machine,
) -> tuple[
    dict[str, State],
    dict[tuple[str, str], _Step],
    dict[str, tuple[str, ...]],
    tuple[str, ...],
    dict[str, _Enter],
]:
    """Validate ``m`` and build its lookup tables.

    Raises:
        ConfigurationError: listing every problem found.
    """
    problems: list[str] = []
    if not _is_name(m.name):
        problems.append(f"name {m.name!r} is not an identifier")
    if not _is_name(m.field):
        problems.append(f"field {m.field!r} is not an identifier")
    by_name: dict[str, State] = {}
    for s in m.states:
        if not _is_name(s.name):
            problems.append(f"state name {s.name!r} is not an identifier")
        elif s.name in by_name:
            problems.append(f"state {s.name!r} is declared twice")
        by_name[s.name] = s
    if not by_name:
        problems.append("it has no states")
    if not m.initial:
        problems.append("the initial state is missing")
    elif m.initial not in by_name:
        problems.append(f"initial state {m.initial!r} is not one of its states")
    for key in m.snapshot:
        if not _is_name(key):
            problems.append(f"snapshot key {key!r} is not an identifier")

    def known(state: str, what: str) -> bool:
        if state in by_name:
            return True
        problems.append(f"{what} unknown state {state!r}")
        return False

    enters = {name: _Enter(s, m.field, m.snapshot) for name, s in by_name.items()}
    table: dict[tuple[str, str], _Step] = {}
    events_from: dict[str, list[str]] = {}
    events: dict[str, None] = {}
    for t in m.transitions:
        if not _is_name(t.event):
            problems.append(f"event name {t.event!r} is not an identifier")
            continue
        events[t.event] = None
        target_ok = known(t.target, f"event {t.event!r} targets")
        if t.sources == "*":
            sources = tuple(s.name for s in m.states if not s.final and s.name != t.target)
        else:
            sources = tuple(s for s in t.sources if known(s, f"event {t.event!r} leaves"))
            if not t.sources:
                problems.append(f"event {t.event!r} has no source states")
        if not target_ok:
            continue
        enter = enters[t.target]
        for src in sources:
            source = by_name[src]
            if source.final and not t.from_final:
                problems.append(
                    f"event {t.event!r} leaves final state {src!r}"
                    " (set from_final=True to allow it, e.g. for reopen)"
                )
                continue
            if (src, t.event) in table:
                problems.append(f"event {t.event!r} is declared twice from state {src!r}")
                continue
            before = source.on_exit + t.effects
            table[(src, t.event)] = _Step(t, t.event, enter, before)
            events_from.setdefault(src, []).append(t.event)

    if not problems:
        for s in m.states:
            if not s.final and s.name not in events_from:
                problems.append(
                    f"state {s.name!r} is a dead end: no event leaves it and it is not final"
                )
        seen = {m.initial}
        todo = [m.initial]
        while todo:
            src = todo.pop()
            for event in events_from.get(src, ()):
                nxt = table[(src, event)].target
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        unreachable = [s for s in by_name if s not in seen]
        if unreachable:
            problems.append(
                f"state{'s' if len(unreachable) > 1 else ''} {', '.join(map(repr, unreachable))}"
                f" cannot be reached from the initial state {m.initial!r}"
            )
    if problems:
        raise ConfigurationError(f"machine {m.name!r}: " + "; ".join(problems))
    ordered = {k: tuple(v) for k, v in events_from.items()}
    return by_name, table, ordered, tuple(events), enters
