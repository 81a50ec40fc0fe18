"""The top-level package: subpackages reachable as attributes, loaded lazily; the version."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys

import pytest


def _run(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_subpackages_are_attributes_loaded_on_first_use() -> None:
    code = (
        "import sys, crmcore; "
        "before = 'crmcore.dedupe' in sys.modules; "
        "f = crmcore.dedupe.find_duplicates; "
        "print(before, 'crmcore.dedupe' in sys.modules, f.__module__, "
        "'validation' in dir(crmcore), 'services' in dir(crmcore))"
    )
    assert _run(code) == "False True crmcore.dedupe._pipeline True True"


def test_every_subpackage_is_reachable() -> None:
    import crmcore

    for name in crmcore._SUBPACKAGES:
        assert getattr(crmcore, name).__name__ == f"crmcore.{name}"


def test_an_unknown_attribute_is_an_attribute_error() -> None:
    import crmcore

    with pytest.raises(AttributeError, match="no_such_thing"):
        crmcore.no_such_thing  # noqa: B018


def test_version_comes_from_the_installed_metadata() -> None:
    import crmcore

    assert importlib.metadata.version("crmcore") == crmcore.__version__
    assert "__version__" in crmcore.__all__


def test_no_public_name_means_two_things() -> None:
    import importlib

    import crmcore

    owners: dict[str, tuple[str, object]] = {}
    clashes = []
    for name in ("errors", "query", "storage.ports", *crmcore._SUBPACKAGES):
        module = importlib.import_module(f"crmcore.{name}")
        for export in getattr(module, "__all__", ()):
            value = getattr(module, export)
            seen = owners.setdefault(export, (name, value))
            if seen[1] is not value:
                clashes.append(f"{export}: crmcore.{seen[0]} and crmcore.{name}")
    assert clashes == []
