"""Import and report routes: ``POST /imports/{entity}`` and ``GET /reports/{section}``.

Both run in the request's session, so the principal's policy, validation,
audit and encryption apply exactly as in code: an import is
:func:`crmcore.io.import_records` over the posted rows (all or nothing), a
report is one section of :mod:`crmcore.analytics` as JSON rows.
"""

from __future__ import annotations

import enum
import json
from typing import TYPE_CHECKING, Annotated, Any

import pydantic
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from crmcore.model import COLLECTIONS

if TYPE_CHECKING:
    from crmcore.api._app import _Api

__all__ = ["ApiImport", "register_data_routes"]

#: rows one import request may carry (larger files: the command line or crmcore.io)
MAX_IMPORT_ROWS = 10_000

_Cell = Annotated[str, pydantic.Field(max_length=4096)] | int | float | bool | None


class ApiImport(pydantic.BaseModel):
    """Rows to import, as a spreadsheet's: one mapping of column -> cell per row."""

    model_config = pydantic.ConfigDict(extra="forbid")

    rows: Annotated[
        list[dict[Annotated[str, pydantic.Field(min_length=1, max_length=200)], _Cell]],
        pydantic.Field(min_length=1, max_length=MAX_IMPORT_ROWS),
    ]
    mapping: dict[str, Any] | None = pydantic.Field(
        None,
        description="a saved column mapping (crmcore.io.ColumnMapping data); default: suggested",
    )
    key: Annotated[str, pydantic.Field(min_length=1, max_length=200)] | None = pydantic.Field(
        None, description='a natural key to upsert on ("email", "phone", "custom.external_id")'
    )
    dry_run: bool = pydantic.Field(False, description="check every row, write nothing")


class ApiImportError(pydantic.BaseModel):
    """One problem of one row."""

    row: int
    column: str | None
    code: str
    message: str


class ApiImportReport(pydantic.BaseModel):
    """What an import did (or, for a dry run, would do)."""

    import_id: str
    dry_run: bool
    committed: bool
    rows: int
    created: int
    updated: int
    invalid: int
    errors: list[ApiImportError]


class ApiReport(pydantic.BaseModel):
    """One report section: its title, its columns and its rows."""

    title: str
    columns: list[str]
    rows: list[dict[str, Any]]


def register_data_routes(app: FastAPI, api: _Api, errors: dict[int | str, Any]) -> None:
    """Add the import route (per entity type) and the report route to ``app``.

    ``errors``: the documented error responses every route shares.
    """
    entities = enum.Enum(  # type: ignore[misc]
        "ImportEntity", {cls.__name__: cls.__name__ for cls in _importable()}, type=str
    )

    def run_import(request: Request, entity: entities, body: ApiImport) -> JSONResponse:
        from crmcore.io import import_records

        principal = api.principal(request)
        with api.session(principal, request) as s:
            report = import_records(
                s,
                body.rows,
                body.mapping,
                entity=entity.value,
                key=body.key,
                dry_run=body.dry_run,
                transaction="file",
            )
        out = ApiImportReport(
            import_id=str(report.import_id),
            dry_run=report.dry_run,
            committed=report.committed,
            rows=report.rows,
            created=report.created,
            updated=report.updated,
            invalid=report.invalid,
            errors=[
                ApiImportError(row=e.row, column=e.column, code=e.code, message=e.message)
                for e in report.errors
            ],
        )
        return JSONResponse(out.model_dump(mode="json"))

    # the annotations are strings (postponed); FastAPI needs the local enum itself
    run_import.__annotations__.update(request=Request, entity=entities, body=ApiImport)
    app.post(
        "/imports/{entity}",
        tags=["data"],
        summary="Import rows through validation, all or nothing (dry_run: check only)",
        operation_id="import_rows",
        response_model=ApiImportReport,
        responses=errors,
    )(run_import)

    from crmcore.analytics import report_sections

    known = report_sections()
    sections = enum.Enum(  # type: ignore[misc]
        "ReportSection", {n: n for n in sorted(known)}, type=str
    )

    def report(request: Request, section: sections) -> JSONResponse:
        principal = api.principal(request)
        with api.session(principal, request) as s:
            result = known[section.value](s)
        frame = result.frame
        rows = json.loads(frame.to_json(orient="records", date_format="iso", default_handler=str))
        out = ApiReport(
            title=str(getattr(result, "title", section.value)),
            columns=[str(c) for c in frame.columns],
            rows=rows,
        )
        return JSONResponse(out.model_dump(mode="json"))

    report.__annotations__.update(request=Request, section=sections)
    app.get(
        "/reports/{section}",
        tags=["data"],
        summary="One analytics report over what the principal may read, as rows",
        operation_id="report_section",
        response_model=ApiReport,
        responses=errors,
    )(report)


def _importable() -> list[type]:
    from crmcore.model import Account, Activity, Customer, Lead, Opportunity, Product, Ticket

    wanted = (Customer, Account, Lead, Opportunity, Activity, Ticket, Product)
    return [cls for cls in COLLECTIONS.values() if cls in wanted]
