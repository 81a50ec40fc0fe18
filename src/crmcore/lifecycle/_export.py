"""Diagrams of machines: Mermaid ``stateDiagram-v2`` and Graphviz DOT.

Labels are escaped for each format (Mermaid entity codes ``#quot;``/``#58;``,
DOT backslash escapes) and folded onto one line.

Both outputs are deterministic: states in declaration order, then edges in
transition declaration order (a ``"*"`` transition expands in state order), so
they can be committed and diffed.
"""

from __future__ import annotations

from collections.abc import Iterator

from crmcore.lifecycle._machine import Machine

__all__ = ["to_dot", "to_mermaid"]


def _edges(machine: Machine) -> Iterator[tuple[str, str, str]]:
    """``(source, target, label)`` for every compiled transition, in declaration order."""
    for t in machine.transitions:
        sources = machine.state_names if t.sources == "*" else t.sources
        for src in sources:
            if machine.transition_for(src, t.event) is t:
                yield src, t.target, t.label or t.event


def _one_line(text: str) -> str:
    return " ".join(text.split())


def to_mermaid(machine: Machine) -> str:
    """The machine as a Mermaid ``stateDiagram-v2`` (``[*]`` marks initial and final states).

    Args:
        machine: the machine.

    Returns:
        The diagram source, ending with a newline.
    """
    lines = ["stateDiagram-v2"]
    for s in machine.states:
        if s.label is not None:
            label = _one_line(s.label).replace('"', "#quot;")
            lines.append(f'    state "{label}" as {s.name}')
    lines.append(f"    [*] --> {machine.initial}")
    for src, target, label in _edges(machine):
        text = _one_line(label).replace(":", "#58;")
        lines.append(f"    {src} --> {target} : {text}")
    lines.extend(f"    {s.name} --> [*]" for s in machine.states if s.final)
    return "\n".join(lines) + "\n"


def _quote(text: str) -> str:
    escaped = _one_line(text).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def to_dot(machine: Machine) -> str:
    """The machine as a Graphviz DOT digraph (final states drawn with a double border).

    Args:
        machine: the machine.

    Returns:
        The graph source, ending with a newline.
    """
    lines = [
        f"digraph {_quote(machine.name)} {{",
        "    rankdir=LR;",
        "    node [shape=box, style=rounded];",
        '    "__start__" [shape=point, label=""];',
    ]
    for s in machine.states:
        attrs = []
        if s.label is not None:
            attrs.append(f"label={_quote(s.label)}")
        if s.final:
            attrs.append("peripheries=2")
        suffix = f" [{', '.join(attrs)}]" if attrs else ""
        lines.append(f"    {_quote(s.name)}{suffix};")
    lines.append(f'    "__start__" -> {_quote(machine.initial)};')
    for src, target, label in _edges(machine):
        lines.append(f"    {_quote(src)} -> {_quote(target)} [label={_quote(label)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"
