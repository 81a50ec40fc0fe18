"""Mermaid and Graphviz export: exact, deterministic output."""

from __future__ import annotations

from crmcore.lifecycle import OPPORTUNITY, Machine, State, Transition, to_dot, to_mermaid

SMALL = Machine(
    "ticket_lite",
    field="status",
    states=["open", State("done", final=True, label='Done "ok"'), "waiting"],
    initial="open",
    transitions=[
        Transition("wait", "open", "waiting", label="wait: customer"),
        Transition("resume", "waiting", "open"),
        Transition("finish", "*", "done"),
        Transition("reopen", "done", "open", from_final=True),
    ],
)


def test_mermaid_exact() -> None:
    assert to_mermaid(SMALL) == (
        "stateDiagram-v2\n"
        '    state "Done #quot;ok#quot;" as done\n'
        "    [*] --> open\n"
        "    open --> waiting : wait#58; customer\n"
        "    waiting --> open : resume\n"
        "    open --> done : finish\n"
        "    waiting --> done : finish\n"
        "    done --> open : reopen\n"
        "    done --> [*]\n"
    )


def test_dot_exact() -> None:
    assert to_dot(SMALL) == (
        'digraph "ticket_lite" {\n'
        "    rankdir=LR;\n"
        "    node [shape=box, style=rounded];\n"
        '    "__start__" [shape=point, label=""];\n'
        '    "open";\n'
        '    "done" [label="Done \\"ok\\"", peripheries=2];\n'
        '    "waiting";\n'
        '    "__start__" -> "open";\n'
        '    "open" -> "waiting" [label="wait: customer"];\n'
        '    "waiting" -> "open" [label="resume"];\n'
        '    "open" -> "done" [label="finish"];\n'
        '    "waiting" -> "done" [label="finish"];\n'
        '    "done" -> "open" [label="reopen"];\n'
        "}\n"
    )


def test_exports_are_deterministic_and_cover_every_transition() -> None:
    assert to_mermaid(OPPORTUNITY) == to_mermaid(Machine.from_dict(OPPORTUNITY.to_dict()))
    assert to_dot(OPPORTUNITY) == to_dot(Machine.from_dict(OPPORTUNITY.to_dict()))
    edges = [line for line in to_mermaid(OPPORTUNITY).splitlines() if " : " in line]
    assert len(OPPORTUNITY.table) == len(edges)
    assert len(OPPORTUNITY.table) == to_dot(OPPORTUNITY).count("[label=")
