"""``create_app(crm, authenticate=...)``: an ASGI application over a :class:`crmcore.Crm`.

Every request is authenticated to a :class:`~crmcore.model.Principal` and runs
in one session as that principal (commit on success, roll back on error), so
tenant scope, the policy guard (row filters, field masks, refusals), the
audit trail and field encryption apply to HTTP callers exactly as they do to
code. The routes are generated from :data:`crmcore.model.COLLECTIONS`.
"""

import inspect
import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Annotated, Any, cast

import attrs
import cattrs
import pydantic
from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPBearer
from starlette.exceptions import HTTPException as StarletteHTTPException

from crmcore import Crm, Session
from crmcore.api._auth import Authenticate, bearer_tokens
from crmcore.api._data import register_data_routes
from crmcore.api._errors import api_error_body, api_error_status
from crmcore.api._schema import ApiModels, api_models
from crmcore.errors import (
    ConfigurationError,
    Conflict,
    CrmError,
    FieldError,
    PermissionDenied,
    Unauthenticated,
    ValidationError,
)
from crmcore.model import (
    COLLECTIONS,
    AuditEntry,
    Customer,
    Entity,
    MergeRecord,
    Principal,
    TransitionRecord,
    from_data,
    make_converter,
)
from crmcore.query import Filter, from_dict
from crmcore.services import (
    DEFAULT_MACHINES,
    allowed_events,
    history,
    transition,
    transition_history,
    visible_audit_entries,
    visible_transitions,
)

__all__ = ["create_app"]

#: bookkeeping written by the library itself: readable through the API (rows of records
#: the principal may read, values at its field levels), never written
READ_ONLY: frozenset[type[Entity]] = frozenset({AuditEntry, TransitionRecord})
#: not served at all: merge journals hold whole replaced records (use services.unmerge)
NOT_SERVED: frozenset[type[Entity]] = frozenset({MergeRecord})
_INTERNAL = ("sealed", "search_keys")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class ApiFieldProblem(pydantic.BaseModel):
    """One problem with one field of a request or record."""

    path: str
    code: str
    message: str


class ApiErrorDetail(pydantic.BaseModel):
    """What went wrong: the status, the error's code(s), a message, and its facts."""

    model_config = pydantic.ConfigDict(extra="allow")

    status: int
    code: str
    codes: list[str]
    message: str
    errors: list[ApiFieldProblem] | None = None


class ApiError(pydantic.BaseModel):
    """The body of every error response."""

    error: ApiErrorDetail


class ApiFind(pydantic.BaseModel):
    """A query: a filter in the :func:`crmcore.query.to_dict` form, an order, a page."""

    model_config = pydantic.ConfigDict(extra="forbid")

    where: dict[str, Any] | None = pydantic.Field(
        None,
        description='a filter as crmcore.query.to_dict data, e.g. {"eq": ["last_name", "张"]}',
    )
    order_by: (
        Annotated[str, pydantic.Field(max_length=200)]
        | Annotated[
            list[Annotated[str, pydantic.Field(max_length=200)]], pydantic.Field(max_length=16)
        ]
        | None
    ) = pydantic.Field(None, description='field names, "-" first for descending')
    limit: Annotated[int, pydantic.Field(ge=0, strict=True)] = 100
    after: Annotated[str, pydantic.Field(max_length=4096)] | None = pydantic.Field(
        None, description="the next_cursor of the previous page"
    )
    include_deleted: pydantic.StrictBool = False


class ApiTransition(pydantic.BaseModel):
    """Fire a lifecycle event on a record as of ``version``."""

    model_config = pydantic.ConfigDict(extra="forbid")

    event: Annotated[str, pydantic.Field(min_length=1, max_length=200)]
    version: Annotated[int, pydantic.Field(ge=0, le=2**62, strict=True)]
    comment: Annotated[str, pydantic.Field(max_length=4096)] | None = None


class ApiDuplicateField(pydantic.BaseModel):
    """How one field of the candidate compared with the existing record."""

    field: str
    level: str
    weight: float
    candidate: str | None = None
    existing: str | None = None


class ApiDuplicate(pydantic.BaseModel):
    """An existing customer the candidate may duplicate."""

    customer_id: uuid.UUID
    probability: float
    match_weight: float
    status: str
    fields: list[ApiDuplicateField]


_ERROR_CONTENT = {"application/json": {"schema": {"$ref": "#/components/schemas/ApiError"}}}
#: the documented error responses of every route (one shared schema, added by _openapi)
_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"description": text, "content": _ERROR_CONTENT}
    for status, text in (
        (400, "malformed query, cursor or request"),
        (401, "no valid credentials"),
        (403, "the policy refuses this principal"),
        (404, "no such record in the principal's tenant"),
        (409, "stale version, existing id or impossible transition"),
        (410, "the record's data was erased (crypto-shredded)"),
        (422, "the record or request is invalid (every field problem listed)"),
        (503, "storage or key provider unavailable"),
    )
}


def _principal(request: Request) -> Principal:
    api: _Api = request.app.state.crmcore_api
    return api.principal(request)


#: the authenticated principal of a request (a route dependency)
Who = Annotated[Principal, Depends(_principal)]


_CONVERTER = make_converter()


def _plain(entity: Entity) -> dict[str, Any]:
    """A record as JSON data, each value by its runtime type.

    A policy mask turns a value of any field into text (a masked date of
    birth reads ``"1********2"``), so values are converted by what they are,
    not by the field's declared type.
    """
    unstructure = _CONVERTER.unstructure
    return {
        a.name: unstructure(getattr(entity, a.name))
        for a in attrs.fields(type(entity))
        if a.name not in _INTERNAL
    }


def _typed(fn: Callable[..., Any], **annotations: Any) -> Callable[..., Any]:
    """``fn`` with the given parameter annotations (generated models) in its signature."""
    sig = inspect.signature(fn)
    params = [
        p.replace(annotation=annotations[p.name]) if p.name in annotations else p
        for p in sig.parameters.values()
    ]
    fn.__signature__ = sig.replace(parameters=params)  # type: ignore[attr-defined]
    return fn


def _loc(loc: Iterable[Any]) -> str:
    parts = list(loc)
    if parts and parts[0] == "body":
        path = "$"
        for p in parts[1:]:
            path += f"[{p}]" if isinstance(p, int) else f".{p}"
        return path
    return ".".join(str(p) for p in parts)


class _Api:
    """The routes of one app: a Crm, an authentication hook and the generated models."""

    def __init__(self, crm: Crm, authenticate: Authenticate, max_page_size: int) -> None:
        self.crm = crm
        self.authenticate = authenticate
        self.max_page_size = max_page_size
        self.lax = crm.policy is not None
        self.converter = make_converter()
        self.machines = {*DEFAULT_MACHINES, *crm.machines}

    # -- per request

    def principal(self, request: Request) -> Principal:
        principal = self.authenticate(request)
        if principal is None:
            raise Unauthenticated()
        if not isinstance(principal, Principal):
            raise TypeError("the authenticate hook must return a crmcore Principal or None")
        return principal

    def session(self, principal: Principal, request: Request) -> Session:
        rid = request.headers.get("x-request-id")
        return self.crm.session(
            principal, correlation_id=rid if rid and _REQUEST_ID.match(rid) else None
        )

    def limit(self, limit: int) -> int:
        if limit > self.max_page_size:
            raise ValidationError.single(
                "$.limit", "max_page_size", f"limit is at most {self.max_page_size}"
            )
        return limit

    def changes(self, cls: type[Entity], data: Mapping[str, Any]) -> dict[str, Any]:
        """Plain values of some fields of ``cls`` as typed values (every problem at once)."""
        types = {a.name: a.type for a in attrs.fields(cls)}
        out: dict[str, Any] = {}
        errors: list[FieldError] = []
        for name, value in data.items():
            try:
                out[name] = self.converter.structure(value, types[name])
            except ValidationError as exc:
                errors.extend(e.at(f"$.{name}") for e in exc.errors)
            except (cattrs.BaseValidationError, ValueError, TypeError, KeyError, ArithmeticError):
                errors.append(FieldError(f"$.{name}", "invalid", f"not a valid {name}"))
        if errors:
            raise ValidationError(errors, entity=cls.entity_name())
        return out

    def find(
        self,
        s: Session,
        cls: type[Entity],
        where: Filter | None,
        order_by: str | list[str] | None,
        limit: int,
        after: str | None,
        include_deleted: bool,
    ) -> dict[str, Any]:
        page = s.repo(cls).find(
            where,
            order_by=order_by,
            limit=self.limit(limit),
            after=after,
            include_deleted=include_deleted,
        )
        items = self.present(s, cls, page.items)
        return {"items": [_plain(e) for e in items], "next_cursor": page.next_cursor}

    def present(self, s: Session, cls: type[Entity], items: Iterable[Any]) -> list[Entity]:
        """Records as the principal may see them (bookkeeping filtered and viewed)."""
        if cls is AuditEntry:
            return list(visible_audit_entries(s, items))
        if cls is TransitionRecord:
            return list(visible_transitions(s, items))
        return list(items)


def _register_collection(app: FastAPI, api: _Api, name: str, cls: type[Entity]) -> None:
    models: ApiModels = api_models(cls, api.lax)
    label = cls.entity_name()
    tags: list[str | Any] = [name]
    writable = cls not in READ_ONLY

    def _current(s: Session, id: uuid.UUID, version: int) -> Entity:
        current = s.repo(cls).get(id)
        if current.version != version:
            raise Conflict(label, id, expected_version=version, actual_version=current.version)
        return current

    if writable:

        def create(request: Request, body: Any, principal: Who) -> JSONResponse:
            data = body.model_dump(mode="json", exclude_unset=True)
            entity = from_data(cls, data)
            with api.session(principal, request) as s:
                stored = _plain(s.repo(cls).add(entity))
            return JSONResponse(stored, status_code=201)

        app.post(
            f"/{name}",
            status_code=201,
            tags=tags,
            summary=f"Create a {label}",
            operation_id=f"{name}_create",
            response_model=None,
            responses={
                201: {"model": models.record, "description": f"the stored {label}"},
                **_ERRORS,
            },
        )(_typed(create, body=models.create))

    def list_(
        request: Request,
        principal: Who,
        limit: Annotated[int, Query(ge=0, le=api.max_page_size)] = 100,
        after: Annotated[str | None, Query(max_length=4096)] = None,
        order_by: Annotated[
            str | None, Query(max_length=1000, description='comma-separated, "-" for descending')
        ] = None,
    ) -> JSONResponse:
        order = [o.strip() for o in order_by.split(",") if o.strip()] if order_by else None
        with api.session(principal, request) as s:
            page = api.find(s, cls, None, order, limit, after, False)
        return JSONResponse(page)

    app.get(
        f"/{name}",
        tags=tags,
        summary=f"List {label} records, one page",
        operation_id=f"{name}_list",
        response_model=None,
        responses={200: {"model": models.page, "description": "one page"}, **_ERRORS},
    )(list_)

    def find(request: Request, body: ApiFind, principal: Who) -> JSONResponse:
        where = from_dict(body.where) if body.where is not None else None
        with api.session(principal, request) as s:
            page = api.find(
                s, cls, where, body.order_by, body.limit, body.after, body.include_deleted
            )
        return JSONResponse(page)

    app.post(
        f"/{name}/find",
        tags=tags,
        summary=f"Find {label} records with the query language",
        operation_id=f"{name}_find",
        response_model=None,
        responses={200: {"model": models.page, "description": "one page"}, **_ERRORS},
    )(find)

    def get(request: Request, id: uuid.UUID, principal: Who) -> JSONResponse:
        with api.session(principal, request) as s:
            shown = api.present(s, cls, [s.repo(cls).get(id)])
            if not shown:
                raise PermissionDenied(
                    "read", label, id=id, reason="the record it describes is not readable"
                )
            return JSONResponse(_plain(shown[0]))

    app.get(
        f"/{name}/{{id}}",
        tags=tags,
        summary=f"Read a {label}",
        operation_id=f"{name}_get",
        response_model=None,
        responses={200: {"model": models.record, "description": f"the {label}"}, **_ERRORS},
    )(get)

    if writable:

        def update(request: Request, id: uuid.UUID, body: Any, principal: Who) -> JSONResponse:
            data = body.model_dump(mode="json", exclude_unset=True)
            version = data.pop("version")
            typed = api.changes(cls, data)
            with api.session(principal, request) as s:
                current = _current(s, id, version)
                try:
                    changed = attrs.evolve(current, **typed)
                except (TypeError, ValueError) as exc:
                    if isinstance(exc, ValidationError):
                        raise ValidationError(exc.errors, entity=label, id=id) from None
                    raise ValidationError.single(
                        "$", "invalid", "the changes do not make a valid record", entity=label
                    ) from None
                stored = _plain(s.repo(cls).update(changed))
            return JSONResponse(stored)

        app.patch(
            f"/{name}/{{id}}",
            tags=tags,
            summary=f"Change fields of a {label} as of its version",
            operation_id=f"{name}_update",
            response_model=None,
            responses={
                200: {"model": models.record, "description": f"the stored {label}"},
                **_ERRORS,
            },
        )(_typed(update, body=models.patch))

        def delete(
            request: Request,
            id: uuid.UUID,
            principal: Who,
            version: Annotated[int | None, Query(ge=0, le=2**62)] = None,
            hard: bool = False,
        ) -> Response:
            with api.session(principal, request) as s:
                s.repo(cls).delete(id, hard=hard, expected_version=version)
            return Response(status_code=204)

        app.delete(
            f"/{name}/{{id}}",
            tags=tags,
            status_code=204,
            summary=f"Delete a {label} (soft unless hard=true)",
            operation_id=f"{name}_delete",
            response_model=None,
            responses={204: {"description": "deleted"}, **_ERRORS},
        )(delete)

    entries = api_models(AuditEntry, api.lax).record

    def audit(request: Request, id: uuid.UUID, principal: Who) -> JSONResponse:
        with api.session(principal, request) as s:
            return JSONResponse([_plain(e) for e in history(s, cls, id)])

    app.get(
        f"/{name}/{{id}}/history",
        tags=tags,
        summary=f"The audit history of a {label}, at the principal's field levels",
        operation_id=f"{name}_history",
        response_model=None,
        responses={
            200: {
                "model": list[entries],  # type: ignore[valid-type]
                "description": "audit entries, oldest first",
            },
            **_ERRORS,
        },
    )(audit)

    if cls in api.machines and writable:
        _register_transitions(app, api, name, cls, _current)


def _register_transitions(
    app: FastAPI,
    api: _Api,
    name: str,
    cls: type[Entity],
    current: Callable[[Session, uuid.UUID, int], Entity],
) -> None:
    models = api_models(cls, api.lax)
    label = cls.entity_name()
    history_model = api_models(TransitionRecord, api.lax).record

    transitions_model = pydantic.create_model(
        f"{label}Transitions",
        __doc__=f"The events the principal may fire on a {label} now, and its history.",
        allowed=(list[str], ...),
        history=(list[history_model], ...),  # type: ignore[valid-type]
    )

    def show(request: Request, id: uuid.UUID, principal: Who) -> JSONResponse:
        with api.session(principal, request) as s:
            record = s.repo(cls).get(id)
            body = {
                "allowed": list(allowed_events(s, record)),
                "history": [
                    _plain(t) for t in visible_transitions(s, transition_history(s, cls, id))
                ],
            }
        return JSONResponse(body)

    app.get(
        f"/{name}/{{id}}/transitions",
        tags=[name],
        summary=f"Allowed lifecycle events and transition history of a {label}",
        operation_id=f"{name}_transitions",
        response_model=None,
        responses={
            200: {"model": transitions_model, "description": "events and history"},
            **_ERRORS,
        },
    )(show)

    def fire(request: Request, id: uuid.UUID, body: ApiTransition, principal: Who) -> JSONResponse:
        with api.session(principal, request) as s:
            record = current(s, id, body.version)
            stored = _plain(transition(s, record, body.event, comment=body.comment))
        return JSONResponse(stored)

    app.post(
        f"/{name}/{{id}}/transitions",
        tags=[name],
        summary=f"Fire a lifecycle event on a {label}",
        operation_id=f"{name}_transition",
        response_model=None,
        responses={
            200: {"model": models.record, "description": f"the {label} in its new state"},
            **_ERRORS,
        },
    )(fire)


def _register_dedupe(app: FastAPI, api: _Api) -> None:
    models = api_models(Customer, api.lax)

    def duplicates(
        request: Request,
        body: Any,
        principal: Who,
        limit: Annotated[int, Query(ge=1, le=100)] = 10,
        min_probability: Annotated[float | None, Query(ge=0, le=1)] = None,
    ) -> JSONResponse:
        candidate = from_data(Customer, body.model_dump(mode="json", exclude_unset=True))
        from crmcore.dedupe import BlockingIndex

        with api.session(principal, request) as s:
            index = BlockingIndex()
            index.add_many(list(s.customers.stream()))  # what the principal may read, as shown
        pairs = index.possible_duplicates(candidate, min_probability=min_probability, limit=limit)
        out = [
            {
                "customer_id": str(p.right),
                "probability": p.probability,
                "match_weight": p.match_weight,
                "status": p.status.value,
                "fields": [
                    {
                        "field": f.field,
                        "level": f.level,
                        "weight": f.weight,
                        "candidate": f.left,
                        "existing": f.right,
                    }
                    for f in p.fields
                ],
            }
            for p in pairs
        ]
        return JSONResponse(out)

    app.post(
        "/customers/duplicates",
        tags=["customers"],
        summary="Existing customers a candidate may duplicate (checked before creating it)",
        operation_id="customers_duplicates",
        response_model=None,
        responses={
            200: {
                "model": list[ApiDuplicate],
                "description": "possible duplicates, strongest first",
            },
            **_ERRORS,
        },
    )(_typed(duplicates, body=models.create))


def _error_response(exc: CrmError) -> JSONResponse:
    status = api_error_status(exc)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(api_error_body(exc, status=status), status_code=status, headers=headers)


def _install_error_handlers(app: FastAPI) -> None:
    async def crm_error(_: Request, exc: Exception) -> JSONResponse:
        return _error_response(cast(CrmError, exc))

    async def request_invalid(_: Request, exc: Exception) -> JSONResponse:
        problems = [
            {
                "path": _loc(e.get("loc", ())),
                "code": str(e.get("type", "invalid")),
                "message": str(e.get("msg", "invalid")),
            }
            for e in cast(RequestValidationError, exc).errors()
        ]
        error = ValidationError([FieldError(p["path"], p["code"], p["message"]) for p in problems])
        return JSONResponse(api_error_body(error, status=422, errors=problems), status_code=422)

    async def http_error(_: Request, exc: Exception) -> JSONResponse:
        http = cast(StarletteHTTPException, exc)
        code = {400: "bad_request", 404: "not_found", 405: "method_not_allowed"}.get(
            http.status_code, "http_error"
        )
        body = {
            "error": {
                "status": http.status_code,
                "code": code,
                "codes": [code],
                "message": str(http.detail),
            }
        }
        return JSONResponse(body, status_code=http.status_code, headers=http.headers)

    async def internal(_: Request, exc: Exception) -> JSONResponse:
        body = {
            "error": {
                "status": 500,
                "code": "internal",
                "codes": ["internal"],
                "message": "internal server error",
            }
        }
        return JSONResponse(body, status_code=500)

    app.add_exception_handler(CrmError, crm_error)
    app.add_exception_handler(RequestValidationError, request_invalid)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, internal)


def _document_errors(app: FastAPI) -> None:
    """Put the ApiError schema the error responses refer to into the OpenAPI document."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = build()
            schema = ApiError.model_json_schema(ref_template="#/components/schemas/{model}")
            components = doc.setdefault("components", {}).setdefault("schemas", {})
            components.update(schema.pop("$defs", {}))
            components["ApiError"] = schema
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def create_app(
    crm: Crm,
    authenticate: Authenticate | Mapping[str, Principal],
    *,
    title: str = "crmcore",
    max_page_size: int = 1000,
) -> FastAPI:
    """An ASGI application (FastAPI) serving ``crm`` over HTTP.

    Args:
        crm: the CRM (``crmcore.connect(...)``); its policy, audit and
            encryption apply to every request.
        authenticate: maps a request to the :class:`~crmcore.model.Principal`
            it acts as, raising :class:`~crmcore.errors.Unauthenticated` (or
            returning None) to refuse it with 401; a mapping of bearer token ->
            principal is taken as :func:`bearer_tokens` of it.
        title: the OpenAPI document's title.
        max_page_size: the largest ``limit`` a find or list accepts.

    Returns:
        The app: for each collection ``POST /{c}``, ``GET /{c}``, ``POST
        /{c}/find``, ``GET|PATCH|DELETE /{c}/{id}``, ``GET /{c}/{id}/history``;
        ``GET|POST /{c}/{id}/transitions`` where a lifecycle machine moves the
        entity; ``POST /customers/duplicates``; ``POST /imports/{entity}``
        (rows through validation, all or nothing, or a dry run); ``GET
        /reports/{section}`` (an analytics report as rows); ``/openapi.json``
        and ``/docs``.
        Bookkeeping (audit entries, transition rows) is read-only and shows
        only rows of records the principal may read, values at its field
        levels; merge journals are not served.

    Raises:
        ConfigurationError: ``max_page_size`` is not positive.
    """
    if isinstance(authenticate, Mapping):
        authenticate = bearer_tokens(authenticate)
    if not callable(authenticate):
        raise ConfigurationError("authenticate must be a callable or a token -> Principal mapping")
    if type(max_page_size) is not int or max_page_size < 1:
        raise ConfigurationError("max_page_size must be a positive int")
    api = _Api(crm, authenticate, max_page_size)
    app = FastAPI(
        title=title,
        description=(
            "The crmcore HTTP API: every request runs in one session as the authenticated "
            "principal, so tenant scope, the policy, the audit trail and encryption apply."
        ),
        version="1",
        dependencies=[Depends(HTTPBearer(auto_error=False, description="a token issued to you"))],
    )
    app.state.crmcore_api = api
    _document_errors(app)
    _install_error_handlers(app)
    _register_dedupe(app, api)
    register_data_routes(app, api, dict(_ERRORS))
    for name, cls in COLLECTIONS.items():
        if cls not in NOT_SERVED:
            _register_collection(app, api, name, cls)
    return app
