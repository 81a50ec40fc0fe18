"""The error a condition raises when it cannot be parsed or compiled."""

from __future__ import annotations

from crmcore.errors import ConfigurationError


class ConditionError(ConfigurationError):
    """A condition cannot be parsed, or cannot be compiled to a filter.

    Attributes:
        source: the condition text.
        position: 0-based offset in ``source`` where the problem is (or ``None``).
        rule: the name of the rule the condition belongs to (or ``None``).
        problem: what is wrong, without the location.
    """

    code = "invalid_condition"

    def __init__(
        self,
        problem: str,
        *,
        source: str = "",
        position: int | None = None,
        rule: str | None = None,
    ) -> None:
        self.problem = problem
        self.source = source
        self.position = position
        self.rule = rule
        where = f"rule {rule!r}: " if rule else ""
        at = f" at position {position}" if position is not None else ""
        shown = f" in {source!r}" if source else ""
        super().__init__(f"{where}condition error{at}: {problem}{shown}")

    def for_rule(self, rule: str) -> ConditionError:
        """The same error, naming ``rule``."""
        return ConditionError(self.problem, source=self.source, position=self.position, rule=rule)
