"""The entity reference page, written from the model itself so that it cannot drift.

``docs/entities.md`` is this module's output; a test fails when the two
differ, and ``python -m crmcore.model._reference > docs/entities.md``
rewrites the page.
"""

from __future__ import annotations

import inspect
import re

import attrs

from crmcore.model._base import (
    MAX_CUSTOM_DEPTH,
    MAX_CUSTOM_KEY,
    MAX_CUSTOM_SIZE,
    MAX_CUSTOM_TEXT,
    Entity,
)
from crmcore.model._registry import COLLECTIONS

__all__ = ["entity_reference"]

#: fields every entity has, described once at the top of the page
_COMMON = tuple(a.name for a in attrs.fields(Entity))


def _default(a: attrs.Attribute) -> str:  # type: ignore[type-arg]
    if a.default is attrs.NOTHING:
        return "required"
    if isinstance(a.default, attrs.Factory):  # type: ignore[arg-type]
        factory = getattr(a.default, "factory", None)
        name = getattr(factory, "__name__", "")
        return {"dict": "`{}`", "list": "`[]`", "frozenset": "empty"}.get(name, "generated")
    return f"`{a.default!r}`"


def _type(cls: type, a: attrs.Attribute) -> str:  # type: ignore[type-arg]
    """The field's annotation as written (the same whether or not types were resolved)."""
    for klass in cls.__mro__:
        written = inspect.get_annotations(klass).get(a.name)
        if written is not None:
            text = (
                written if isinstance(written, str) else getattr(written, "__name__", str(written))
            )
            return f"`{text}`".replace("|", "\\|")
    return "`?`"


def _rst(text: str) -> str:
    """reStructuredText markup as markdown (``x`` and :class:`x` become `x`)."""
    return re.sub(r":\w+:`~?([^`]+)`", r"`\1`", text.replace("``", "`"))


def _summary(cls: type) -> str:
    doc = inspect.getdoc(cls) or ""
    return _rst(" ".join(doc.split("\n\n", 1)[0].split()))


def _description(cls: type) -> list[str]:
    """The class docstring's paragraphs, each on one line."""
    doc = inspect.getdoc(cls) or ""
    return [_rst(" ".join(p.split())) for p in doc.split("\n\n") if p.strip()]


def _attributes(cls: type) -> list[str]:
    """The ``Attributes:`` section of a Google-style docstring as markdown bullets."""
    doc = inspect.getdoc(cls) or ""
    _, _, section = doc.partition("Attributes:")
    items: list[str] = []
    for line in section.splitlines():
        if not line.strip():
            continue
        if line.startswith("    ") and not line.startswith("     ") and ":" in line:
            name, _, text = line.strip().partition(": ")
            items.append(f"- `{name}`: {text}")
        elif items:
            items[-1] += " " + line.strip()
    return [_rst(i) for i in items]


def entity_reference() -> str:
    """The markdown of ``docs/entities.md``: every stored entity type and its fields."""
    out = [
        "# Entities",
        "",
        "Every aggregate crmcore stores, with its fields. This page is generated",
        "from the model (`python -m crmcore.model._reference > docs/entities.md`);",
        "a test fails when it is out of date.",
        "",
        "Every entity also has the common fields of `Entity`:",
        "",
        *_attributes(Entity),
        "",
        f"Custom data (`custom`) is JSON: keys of at most {MAX_CUSTOM_KEY:,} characters,",
        f"text values of at most {MAX_CUSTOM_TEXT:,} characters, nesting of at most",
        f"{MAX_CUSTOM_DEPTH} levels and {MAX_CUSTOM_SIZE:,} characters in all (as JSON);",
        "a larger value is refused with a `ValidationError` naming `$.custom.<key>`.",
        "",
        "In a session each type is a collection (`s.customers`, `s.tickets`...).",
        "*Indexed* fields answer equality lookups and ordering from an index;",
        "*reference* fields hold another record's id and are re-pointed when",
        "records merge.",
        "",
        "| entity | collection | what it is |",
        "| --- | --- | --- |",
    ]
    for name, cls in COLLECTIONS.items():
        out.append(f"| [{cls.__name__}](#{cls.__name__.lower()}) | `{name}` | {_summary(cls)} |")
    for name, cls in COLLECTIONS.items():
        indexed = set(cls.__crm_indexes__)
        refs = set(cls.__crm_references__)
        out += ["", f"## {cls.__name__}", ""]
        for paragraph in _description(cls):
            out += [paragraph, ""]
        out += [f"Collection: `{name}`.", ""]
        out += ["| field | type | default | notes |", "| --- | --- | --- | --- |"]
        for a in attrs.fields(cls):
            if a.name in _COMMON:
                continue
            notes = [
                n for n, on in (("indexed", a.name in indexed), ("reference", a.name in refs)) if on
            ]
            out.append(f"| `{a.name}` | {_type(cls, a)} | {_default(a)} | {', '.join(notes)} |")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    print(entity_reference(), end="")
