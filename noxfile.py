"""Quality gates as nox sessions: ``nox`` runs the cheap default ones, ``nox -l`` lists all."""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "venv"
nox.options.sessions = ["lint", "typecheck", "tests"]

PATHS = ["src", "tests", "benchmarks", "examples", "noxfile.py"]


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check over the whole tree."""
    session.install("ruff")
    session.run("ruff", "check", *PATHS)
    session.run("ruff", "format", "--check", *PATHS)


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict on src/ (settings in pyproject.toml)."""
    session.install("-e", ".[all]", "mypy", "hypothesis")
    session.run("mypy", "src")


@nox.session
def tests(session: nox.Session) -> None:
    """The test suite (SQL backends run when CRMCORE_TEST_*_URL are set)."""
    session.install("-e", ".[test]")
    session.run("python", "-m", "pytest", *session.posargs)


@nox.session(default=False)
def examples(session: nox.Session) -> None:
    """Run every script in examples/ against an embedded store."""
    import pathlib

    session.install("-e", ".[all]")
    for script in sorted(pathlib.Path("examples").glob("*.py")):
        session.run("python", str(script))


@nox.session(default=False)
def docs(session: nox.Session) -> None:
    """Check that every Python example in docs/*.md runs (doctest-style, as scripts)."""
    session.install("-e", ".[all]", "pytest")
    session.run("python", "-m", "pytest", "--doctest-glob=*.md", "docs", *session.posargs)


@nox.session(default=False)
def bench(session: nox.Session) -> None:
    """Run the benchmarks in benchmarks/ (slow; reports ratios, asserts nothing)."""
    import pathlib

    session.install("-e", ".[bench]")
    for script in sorted(pathlib.Path("benchmarks").glob("bench_*.py")):
        session.run("python", str(script), *session.posargs)
