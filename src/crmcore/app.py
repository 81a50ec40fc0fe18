"""The facade: ``connect()`` builds a :class:`Crm`; ``crm.session(principal)`` is a unit of work.

This is the one composition root. Each session wraps every repository of its
unit of work in the layers of DESIGN.md::

    SessionRepository (tenant scope, stamping, validation)
      -> policy guard -> audit -> field encryption -> adapter (memory | SQL)

so a caller of the session can never reach the unguarded adapter by accident.
"""

from __future__ import annotations

import datetime as _dt
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from types import MappingProxyType, TracebackType
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast, overload

import attrs

from crmcore._progress import ProgressFn, make_progress
from crmcore.errors import (
    ConfigurationError,
    CrmError,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from crmcore.model import (
    Account,
    Activity,
    Agent,
    ArticleFeedback,
    ArticleSearchEntry,
    ArticleVersion,
    AuditEntry,
    Campaign,
    CampaignCost,
    CampaignEvent,
    CampaignMember,
    CampaignVariant,
    ChannelSuppression,
    Consent,
    ContactRole,
    Customer,
    Entity,
    EscalationRecord,
    ImportBatch,
    ImportJob,
    KnowledgeArticle,
    Lead,
    MergeRecord,
    Opportunity,
    Order,
    OutboxEvent,
    Principal,
    Product,
    Segment,
    SegmentEntry,
    SurveyRequest,
    SurveyResponse,
    Ticket,
    TransitionRecord,
    WebhookDelivery,
    WebhookSubscription,
    replace_trusted,
    stamp_new,
    utcnow,
)
from crmcore.query import Filter, Page, all_of, eq, is_null, resolve_times, where
from crmcore.query.adapter import OrderSpec
from crmcore.storage.aggregate import GroupKey, Measure
from crmcore.storage.memory import MemoryStore
from crmcore.storage.ports import (
    UNSEEN_VALUES,
    Authorizer,
    CommitErrorHook,
    Layer,
    Repository,
    Store,
    UnitOfWork,
    UnseenValues,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from crmcore.audit import AuditLayer
    from crmcore.crypto import Encryption
    from crmcore.events import OutboxLayer
    from crmcore.lifecycle import Machine
    from crmcore.policy import Policy
    from crmcore.validation import EntityValidation

__all__ = ["Crm", "Session", "SessionRepository", "connect"]

E = TypeVar("E", bound=Entity)
S = TypeVar("S")

#: a hook that checks and normalises a record before it is written; raises ValidationError
Validator = Callable[[Entity], Entity]


def _check_keys_outlive_the_process(encryption: Encryption) -> None:
    """Refuse durable data whose keys would vanish with the process (unreadable on restart)."""
    for keyring in (encryption.keyring, encryption.index_keyring):
        if keyring is not None and keyring.default_store:
            raise ConfigurationError(
                "the encryption keyring keeps its keys in this process only, so data "
                "written now could not be decrypted after a restart; give it a durable "
                "store: Keyring(provider, store=SqlKeyStore(url)) (pass InMemoryKeyStore() "
                "explicitly if the keys are saved some other way, e.g. export_wrapped())"
            )


def connect(
    url: str = "memory://",
    *,
    engine: Engine | None = None,
    clock: Callable[[], _dt.datetime] | None = None,
    validators: Mapping[type[Entity], Validator] | None = None,
    validation: EntityValidation | bool = True,
    region: str = "CN",
    layers: Sequence[Layer] = (),
    policy: Policy | None = None,
    audit: bool | AuditLayer = False,
    encryption: Encryption | None = None,
    events: bool | OutboxLayer = False,
    machines: Mapping[type[Entity], Machine] | None = None,
    create_schema: bool = True,
    **store_options: Any,
) -> Crm:
    """Open a CRM on a storage backend.

    Args:
        url: ``"memory://"``, ``"sqlite:///crm.db"`` (the embedded default),
            ``"postgresql+psycopg://..."`` or ``"mysql+pymysql://..."``.
        engine: an existing SQLAlchemy Engine to use instead of ``url``.
        clock: returns the current aware UTC time (inject for tests).
        validators: per entity type, a function that normalises and checks a
            record before it is written (runs after ``validation``'s rules).
        validation: the rules every add and update passes before anything is
            written (:class:`crmcore.validation.EntityValidation`); ``True``
            (the default) applies :func:`crmcore.validation.default_rules`
            for ``region``: phones to E.164, e-mails, names, resident ids...;
            ``False`` writes records as given.
        region: the default region for phone numbers and addresses.
        layers: extra repository layers, outermost first, applied around the
            adapter in every session (inside the built-in ones).
        policy: permissions (:class:`crmcore.policy.Policy`): every session
            of a non-system principal checks single-record actions, filters
            every query and masks fields through it.
        audit: record every change in the hash-chained audit trail
            (:mod:`crmcore.audit`), in the same unit of work; encrypted fields
            are recorded as changed, never with their values. An
            :class:`crmcore.audit.AuditLayer` instead of ``True`` configures it
            (``AuditLayer(key=..., checkpoints=...)``: a keyed chain and signed
            head checkpoints).
        encryption: field-level encryption (:class:`crmcore.crypto.Encryption`):
            protected fields are stored as ciphertext plus blind indexes.
        events: write domain events to the transactional outbox
            (:mod:`crmcore.events`) in the same unit of work; an
            :class:`crmcore.events.OutboxLayer` instead of ``True`` configures it.
            A relay (:mod:`crmcore.relay`) publishes them.
        machines: per entity type, the lifecycle machine to use instead of the
            built-in one (see :mod:`crmcore.services`).
        create_schema: on a new SQL database, create the schema at head.
        store_options: passed to the SQL store (pool size, echo...).

    Raises:
        ConfigurationError: the URL cannot be served, or encryption would keep
            the keys of durable data in this process only (give the keyring a
            store, such as :class:`crmcore.crypto.SqlKeyStore`).
    """
    if encryption is not None and not url.startswith("memory:"):
        _check_keys_outlive_the_process(encryption)
    store: Store
    if engine is not None:
        from crmcore.storage.sql import SqlStore

        store = SqlStore(engine, create_schema=create_schema, **store_options)
    elif url.startswith("memory:"):
        if store_options:
            raise ConfigurationError(f"memory:// takes no options, got {sorted(store_options)}")
        store = MemoryStore(url)
    elif url.split(":", 1)[0].split("+", 1)[0] in (
        "sqlite",
        "postgresql",
        "postgres",
        "mysql",
        "mariadb",
    ):
        from crmcore.storage.sql import SqlStore

        store = SqlStore(url, create_schema=create_schema, **store_options)
    else:
        raise ConfigurationError(f"no storage adapter for URL {url!r}")
    built: list[Layer] = []
    authorizer: Authorizer | None = None
    if policy is not None:
        from crmcore.policy import PolicyGuard

        guard = PolicyGuard(policy)
        built.append(guard)
        authorizer = guard.authorize
    if audit:
        from crmcore.audit import AuditLayer

        redact = encryption.redacted_fields() if encryption is not None else {}
        if isinstance(audit, AuditLayer):  # keyed and/or checkpointed, as configured
            built.append(attrs.evolve(audit, redact={**redact, **audit.redact}))
        else:
            built.append(AuditLayer(redact=redact))
    if events:
        from crmcore.events import OutboxLayer

        built.append(events if isinstance(events, OutboxLayer) else OutboxLayer())
    inner: list[Layer] = [encryption] if encryption is not None else []
    hooks = _validators(validation, region, validators or {}, machines or {})
    starts = _initial_checks(machines or {}) if validation is not False else {}
    return Crm(
        store,
        clock=clock,
        validators=hooks,
        initial_checks=starts,
        layers=(*built, *layers, *inner),
        policy=policy,
        authorizer=authorizer,
        machines=machines,
    )


def _validators(
    validation: EntityValidation | bool,
    region: str,
    extra: Mapping[type[Entity], Validator],
    machines: Mapping[type[Entity], Machine],
) -> dict[type[Entity], Validator]:
    from crmcore.lifecycle import OPPORTUNITY, stamp_stage
    from crmcore.model import Opportunity

    hooks: dict[type[Entity], Validator] = {}
    if validation is not False:
        from crmcore.validation import EntityValidation, default_rules

        config = validation if not isinstance(validation, bool) else None
        config = config or EntityValidation(rules=default_rules(region))
        # the session refuses NUL and lone surrogates on every write, validation on
        # or off (``_refuse_bad_text``): its hooks need not scan the record again
        hooks = attrs.evolve(config, refuse_bad_text=False).validators()
    deals = machines.get(Opportunity, OPPORTUNITY)
    stages: dict[type[Entity], Validator] = {Opportunity: lambda e: stamp_stage(e, deals)}
    if validation is not False:
        # a state the record's machine lacks would leave it stuck: refuse it at write
        from crmcore.services import DEFAULT_MACHINES

        for kind, machine in {**DEFAULT_MACHINES, **machines}.items():
            check = _state_check(machine)
            first = stages.get(kind)
            stages[kind] = check if first is None else _chain(check, first)
    for kind, fn in (*stages.items(), *extra.items()):
        first = hooks.get(kind)
        hooks[kind] = fn if first is None else _chain(first, fn)
    return hooks


#: entity types whose new records must start in their machine's initial state
_STARTS_AT_INITIAL: tuple[type[Entity], ...] = (Lead, Opportunity, Ticket, Campaign)


def _initial_checks(machines: Mapping[type[Entity], Machine]) -> dict[type[Entity], Validator]:
    from crmcore.services import DEFAULT_MACHINES

    every = {**DEFAULT_MACHINES, **machines}
    return {kind: _initial_check(every[kind]) for kind in _STARTS_AT_INITIAL if kind in every}


def _initial_check(machine: Machine) -> Validator:
    from crmcore.lifecycle import check_initial_state

    return lambda entity: check_initial_state(entity, machine)


def _state_check(machine: Machine) -> Validator:
    from crmcore.lifecycle import check_state

    return lambda entity: check_state(entity, machine)


def _as_is(values: Mapping[str, Any]) -> Mapping[str, Any]:
    return values


def _chain(first: Validator, second: Validator) -> Validator:
    return _Chain(first, second)


class _Chain:
    """``second(first(entity))``; ``owned`` passes a record the caller owns to ``first.owned``."""

    __slots__ = ("_first", "_first_owned", "_second")

    def __init__(self, first: Validator, second: Validator) -> None:
        self._first = first
        self._second = second
        self._first_owned: Validator = getattr(first, "owned", first)

    def __call__(self, entity: Any) -> Any:
        return self._second(self._first(entity))

    def owned(self, entity: Any) -> Any:
        return self._second(self._first_owned(entity))


class Crm:
    """A CRM over one store: the factory of sessions.

    Args:
        store: the storage backend.
        clock: the time source for stamps.
        validators: per entity type, a pre-write hook.
        layers: repository layers wrapped around the adapter, outermost first.
        policy: the policy the guard layer enforces.
        authorizer: decides actions that are more than a repository call
            (``transition:<event>``, ``merge``) for use cases; ``connect(policy=)``
            passes the policy's; by default the one of ``policy``, if any.
            None allows everything.
        machines: per entity type, the lifecycle machine (a tenant's own
            opportunity stages...); the built-in machines otherwise.
        initial_checks: per entity type, a check a new record passes after
            validation (its state is its machine's initial one), skipped in
            restore mode.
    """

    def __init__(
        self,
        store: Store,
        *,
        clock: Callable[[], _dt.datetime] | None = None,
        validators: Mapping[type[Entity], Validator] | None = None,
        layers: Sequence[Layer] = (),
        policy: Policy | None = None,
        authorizer: Authorizer | None = None,
        machines: Mapping[type[Entity], Machine] | None = None,
        initial_checks: Mapping[type[Entity], Validator] | None = None,
    ) -> None:
        self.store = store
        self.clock = clock or utcnow
        self.validators: dict[type[Entity], Validator] = dict(validators or {})
        self.initial_checks: dict[type[Entity], Validator] = dict(initial_checks or {})
        self.layers: tuple[Layer, ...] = tuple(layers)
        self.policy = policy
        if authorizer is None and policy is not None:
            from crmcore.policy import PolicyGuard

            authorizer = PolicyGuard(policy).authorize
        self.authorizer = authorizer
        #: per entity type, the lifecycle machine that moves it (empty: the built-in ones)
        self.machines: Mapping[type[Entity], Machine] = MappingProxyType(dict(machines or {}))

    def session(
        self,
        principal: Principal | None = None,
        *,
        correlation_id: str | None = None,
        context: Mapping[str, Any] | None = None,
        restore: bool = False,
    ) -> Session:
        """A unit of work acting as ``principal`` (default: the system principal).

        Use it as a context manager: it commits when the block ends normally
        and rolls back when it raises.

        Args:
            principal: who acts; confines the session to its tenant.
            correlation_id: recorded in audit entries (a request id); one is made up if omitted.
            context: facts policy conditions may read (``context.hour``...).
            restore: restore mode, for records that already have a history
                (a backup, a migration from another system): ``add`` and
                ``add_many`` keep the records' own ``created_at``,
                ``updated_at`` and ``version`` instead of stamping new ones,
                and a new record may be in any state its machine has (not
                only the initial one). Validation still applies.
        """
        return Session(
            self,
            principal or Principal.system_principal(),
            correlation_id,
            context or {},
            restore=restore,
        )

    def close(self) -> None:
        """Release the store's connections."""
        self.store.close()

    def __enter__(self) -> Crm:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Crm({self.store.url!r})"


class _Collection(Generic[E]):
    """A session attribute that hands out the layered repository of one entity type."""

    def __init__(self, entity_type: type[E]) -> None:
        self.entity_type = entity_type

    @overload
    def __get__(self, session: None, owner: type[Session]) -> _Collection[E]: ...

    @overload
    def __get__(self, session: Session, owner: type[Session]) -> SessionRepository[E]: ...

    def __get__(
        self, session: Session | None, owner: type[Session]
    ) -> SessionRepository[E] | _Collection[E]:
        if session is None:
            return self
        return session.repo(self.entity_type)


class Session:
    """One unit of work as one principal: commit on success, roll back on error.

    Repositories: ``customers``, ``accounts``, ``contact_roles``, ``leads``,
    ``opportunities``, ``activities``, ``tickets``, ``campaigns``,
    ``campaign_members``, ``campaign_events``, ``segments``, ``products``,
    ``orders``, ``consents``, ``articles``, ``survey_responses``,
    ``transitions``, ``merges``, ``audit_entries``, and those of the modules:
    ``agents``, ``escalations`` (service desk), ``article_versions``,
    ``article_feedback``, ``article_search_entries``, ``survey_requests``
    (knowledge base, surveys), ``segment_entries``, ``channel_suppressions``,
    ``campaign_variants``, ``campaign_costs`` (marketing), ``outbox_events``,
    ``webhook_subscriptions``, ``webhook_deliveries`` (events),
    ``import_jobs``, ``import_batches`` (imports); or ``repo(EntityType)``.
    """

    customers = _Collection(Customer)
    accounts = _Collection(Account)
    contact_roles = _Collection(ContactRole)
    leads = _Collection(Lead)
    opportunities = _Collection(Opportunity)
    activities = _Collection(Activity)
    tickets = _Collection(Ticket)
    campaigns = _Collection(Campaign)
    campaign_members = _Collection(CampaignMember)
    campaign_events = _Collection(CampaignEvent)
    segments = _Collection(Segment)
    products = _Collection(Product)
    orders = _Collection(Order)
    consents = _Collection(Consent)
    articles = _Collection(KnowledgeArticle)
    survey_responses = _Collection(SurveyResponse)
    transitions = _Collection(TransitionRecord)
    merges = _Collection(MergeRecord)
    audit_entries = _Collection(AuditEntry)
    import_jobs = _Collection(ImportJob)
    import_batches = _Collection(ImportBatch)
    outbox_events = _Collection(OutboxEvent)
    webhook_subscriptions = _Collection(WebhookSubscription)
    webhook_deliveries = _Collection(WebhookDelivery)
    article_versions = _Collection(ArticleVersion)
    article_feedback = _Collection(ArticleFeedback)
    article_search_entries = _Collection(ArticleSearchEntry)
    survey_requests = _Collection(SurveyRequest)
    segment_entries = _Collection(SegmentEntry)
    channel_suppressions = _Collection(ChannelSuppression)
    campaign_variants = _Collection(CampaignVariant)
    campaign_costs = _Collection(CampaignCost)
    agents = _Collection(Agent)
    escalations = _Collection(EscalationRecord)

    def __init__(
        self,
        crm: Crm,
        principal: Principal,
        correlation_id: str | None,
        context: Mapping[str, Any],
        *,
        restore: bool = False,
    ) -> None:
        self.crm = crm
        self._principal = principal
        self._restore = restore
        self._correlation_id = correlation_id or str(uuid.uuid4())
        self._context: Mapping[str, Any] = MappingProxyType(dict(context))
        self._uow: UnitOfWork | None = None
        self._repos: dict[type[Entity], SessionRepository[Any]] = {}
        self._before_commit: list[Callable[[], None]] = []
        self._after_commit: list[Callable[[], None]] = []
        self._on_rollback: list[Callable[[], None]] = []
        self._commit_errors: list[CommitErrorHook] = []
        self._extensions: dict[str, Any] = {}

    # -- the unit-of-work context (crmcore.storage.ports.UnitOfWorkContext)

    @property
    def principal(self) -> Principal:
        """Who acts in this session."""
        return self._principal

    @property
    def tenant_id(self) -> str:
        """The tenant every read and write of this session is confined to."""
        return self._principal.tenant_id

    @property
    def restore(self) -> bool:
        """Restore mode: adds keep their own times and version, and any known state."""
        return self._restore

    @property
    def correlation_id(self) -> str:
        """Recorded in audit entries (a request id); made up if the caller gave none."""
        return self._correlation_id

    @property
    def context(self) -> Mapping[str, Any]:
        """Facts policy conditions may read (``context.hour``...)."""
        return self._context

    @property
    def machines(self) -> Mapping[type[Entity], Machine]:
        """Per entity type, the lifecycle machine configured for this CRM."""
        return self.crm.machines

    def authorize(self, action: str, record: Entity) -> None:
        """Raise PermissionDenied unless the CRM's policy lets the principal do ``action``.

        For use cases whose action is more than a repository call
        (``transition:<event>``, ``merge``); without a policy, or for the system
        principal, everything is allowed.
        """
        authorizer = self.crm.authorizer
        if authorizer is not None and not self._principal.system:
            authorizer(self._principal, action, record, self._context)

    def can(self, action: str, record: Entity) -> bool:
        """Whether :meth:`authorize` would let ``action`` on ``record`` through."""
        try:
            self.authorize(action, record)
        except PermissionDenied:
            return False
        return True

    def field_view(self, entity: str) -> Callable[[Mapping[str, Any]], Mapping[str, Any]]:
        """Show ``{field: value}`` of ``entity`` at the principal's field levels (policy)."""
        policy = self.crm.policy
        if policy is None or self._principal.system:
            return _as_is
        access = policy.field_access(self._principal, entity)
        return _as_is if access.unrestricted else access.mask

    def now(self) -> _dt.datetime:
        """The current time from the CRM's clock (checked to be aware, in UTC).

        Raises:
            ConfigurationError: the clock returned a naive datetime.
        """
        now = self.crm.clock()
        if now.tzinfo is None:
            raise ConfigurationError("the clock must return aware datetimes")
        return now.astimezone(_dt.timezone.utc)

    def _unit(self) -> UnitOfWork:
        if self._uow is None:
            self._uow = self.crm.store.begin()
        return self._uow

    def inner(self, entity_type: type[E]) -> Repository[E]:
        """The adapter's repository of ``entity_type``, below every layer of this session.

        It bypasses tenant scope, validation, policy, audit and encryption;
        layers use it for their bookkeeping and use cases for what they have
        already authorised. Application code wants ``s.customers``.
        """
        return self._unit().repository(entity_type)

    def repo(self, entity_type: type[E]) -> SessionRepository[E]:
        """The layered repository of ``entity_type``."""
        repo = self._repos.get(entity_type)
        if repo is None:
            inner: Repository[Any] = self.inner(entity_type)
            for layer in reversed(self.crm.layers):
                inner = layer(inner, self)
            repo = self._repos[entity_type] = SessionRepository(inner, self)
        return cast(SessionRepository[E], repo)

    def extension(self, name: str, factory: Callable[[], S]) -> S:
        """Per-session state of a layer, made by ``factory`` on first use."""
        if name not in self._extensions:
            self._extensions[name] = factory()
        return cast(S, self._extensions[name])

    def before_commit(self, hook: Callable[[], None]) -> None:
        """Run ``hook`` just before every commit, inside the unit of work."""
        self._before_commit.append(hook)

    def after_commit(self, hook: Callable[[], None]) -> None:
        """Run ``hook`` once, after the next successful commit."""
        self._after_commit.append(hook)

    def on_rollback(self, hook: Callable[[], None]) -> None:
        """Run ``hook`` after every rollback."""
        self._on_rollback.append(hook)

    def on_commit_error(self, hook: CommitErrorHook) -> None:
        """Let a layer translate an error its own writes cause at commit."""
        self._commit_errors.append(hook)

    def commit(self) -> None:
        """Commit everything so far; the session stays usable for more work."""
        if self._uow is None:
            return
        try:
            for hook in list(self._before_commit):
                hook()
            self._uow.commit()
        except CrmError as exc:
            for translate in self._commit_errors:
                translated = translate(exc)
                if translated is not None:
                    self.rollback()
                    raise translated from None
            raise
        callbacks, self._after_commit = self._after_commit, []
        for cb in callbacks:
            cb()

    def flush(self) -> None:
        """Hand the writes staged so far to the store's open transaction, to keep memory bounded.

        For bulk loads that stay all or nothing (a restore, a dry run, a
        whole-file import): on SQL stores the staged records are written into a
        transaction that stays open until :meth:`commit` (or undone by
        :meth:`rollback`); the in-memory store keeps them staged as before.
        """
        flush = getattr(self._uow, "flush", None) if self._uow is not None else None
        if flush is not None:
            flush()

    def rollback(self) -> None:
        """Discard everything not yet committed."""
        if self._uow is not None:
            self._uow.rollback()
        self._after_commit = []
        for hook in list(self._on_rollback):
            hook()

    def close(self) -> None:
        """Roll back anything uncommitted and release the unit of work."""
        if self._uow is not None:
            self._uow.close()
            self._uow = None
        self._repos.clear()

    def __enter__(self) -> Session:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc_type is None:
                self.commit()
            else:
                self.rollback()
        finally:
            self.close()

    def __repr__(self) -> str:
        return f"Session({self.principal.user_id!r}@{self.tenant_id!r})"


_READ_ONLY: frozenset[type[Entity]] = frozenset({AuditEntry})
#: records checked between two progress reports of ``add_many``
_PROGRESS_STEP = 1000


def _refuse_bad_text(entity: Entity) -> None:
    """Refuse text no backend stores alike (NUL, lone surrogates), validation on or off.

    One predicate for every backend (:func:`crmcore._text.bad_text_reason`, walked
    over every text value, tag and custom key), so memory, SQLite, PostgreSQL and
    MariaDB give the same ``invalid_text`` error instead of storing it, refusing
    it at commit or raising a driver's UnicodeEncodeError (issue #13).

    Raises:
        ValidationError: code ``invalid_text`` per offending value, naming its path.
    """
    from crmcore.validation import bad_text_errors

    bad = bad_text_errors(entity)
    if bad:
        raise ValidationError(bad, entity=type(entity).entity_name(), id=entity.id)


class SessionRepository(Generic[E]):
    """The outermost layer: tenant scope, stamps, validation, soft delete, friendly finds.

    Tenant isolation lives here, below no rule: a record of another tenant is
    "not found", and every query is confined to the session's tenant.
    """

    def __init__(self, inner: Repository[E], session: Session) -> None:
        self._inner = inner
        self._session = session
        self.entity_type: type[E] = inner.entity_type
        self._name = self.entity_type.__name__
        self._validate = session.crm.validators.get(self.entity_type)
        # a hook that may write into the session's own freshly stamped copy (no second copy)
        self._validate_owned = getattr(self._validate, "owned", self._validate)
        self._restore = session.restore
        #: records check() returned, by id: add()/add_many() of that same object skips re-checking
        self._checked: dict[uuid.UUID, E] = {}
        self._start = None if self._restore else session.crm.initial_checks.get(self.entity_type)

    # -- writes

    def _writable(self, action: str, id: object = None) -> None:
        if self.entity_type in _READ_ONLY:
            raise PermissionDenied(
                action,
                self._name,
                id=id,
                reason="the audit trail is append-only; entries are written by the audit layer",
                principal=self._session.principal.user_id,
            )

    def _stamp_new(self, entity: E, now: _dt.datetime) -> E:
        if self._checked and self._checked.pop(entity.id, None) is entity:
            return entity  # the very object check() returned: already stamped and validated
        self._writable("create", entity.id)
        if not isinstance(entity, self.entity_type):
            raise ConfigurationError(
                f"{self._name} repository cannot store a {type(entity).__name__}"
            )
        tenant = self._session.tenant_id
        if entity.tenant_id not in ("", tenant):
            raise PermissionDenied(
                "create",
                self._name,
                id=entity.id,
                reason=f"record belongs to tenant {entity.tenant_id!r}, session to {tenant!r}",
                principal=self._session.principal.user_id,
            )
        if self._restore:  # keep the record's own history: times and version as given
            stamped = replace_trusted(entity, tenant_id=tenant, version=max(entity.version, 1))
        else:
            stamped = stamp_new(entity, tenant_id=tenant, now=now)
        _refuse_bad_text(stamped)
        # ``stamped`` is a copy made just now, held by no one else
        checked = cast(E, self._validate_owned(stamped)) if self._validate_owned else stamped
        return cast(E, self._start(checked)) if self._start else checked

    def add(self, entity: E) -> E:
        """Store a new record (stamped with tenant, times and version 1) and return it.

        A new lead, opportunity, ticket or campaign must be in its machine's
        initial state (code ``not_initial_state``) when validation is on; in
        restore mode (``crm.session(restore=True)``) the record keeps its own
        ``created_at``, ``updated_at`` and ``version`` and may be in any state.

        Raises:
            ValidationError: the record breaks a field rule (every problem listed).
            AlreadyExists: its id is taken.
        """
        return self._inner.add(self._stamp_new(entity, self._session.now()))

    def check(self, entity: E) -> E:
        """``entity`` as :meth:`add` would store it (stamped, normalised, checked); writes nothing.

        For bulk loaders that want each record's problems before one ``add_many``:
        adding the very object returned does not check it again (a changed
        copy is checked as usual).

        Raises:
            ValidationError: the record breaks a field rule (every problem listed).
        """
        checked = self._stamp_new(entity, self._session.now())
        if len(self._checked) >= 100_000:
            self._checked.clear()
        self._checked[checked.id] = checked
        return checked

    def add_many(
        self, entities: Iterable[E], *, progress: ProgressFn | bool | None = None
    ) -> list[E]:
        """Store many new records in one go; if any is invalid, none is written.

        Args:
            entities: the new records.
            progress: ``progress("add_many", done, total)`` as records are
                stamped and checked (every 1,000 and at the end); ``True`` draws
                a tqdm bar (see ``crmcore._progress``). The rows reach the
                database at the session's commit.
        """
        now = self._session.now()
        stamp = self._stamp_new
        report = make_progress(progress)
        if report is None:
            return self._inner.add_many([stamp(e, now) for e in entities])
        items = list(entities)
        total = len(items)
        checked: list[E] = []
        for at in range(0, total, _PROGRESS_STEP):
            checked += [stamp(e, now) for e in items[at : at + _PROGRESS_STEP]]
            report("add_many", len(checked), total)
        return self._inner.add_many(checked)

    def update(self, entity: E) -> E:
        """Store a changed record; its ``version`` must be the stored one.

        Returns:
            The stored record with ``version`` incremented and ``updated_at`` set.

        Raises:
            Conflict: someone else updated it since it was read.
            NotFound: no such record in this tenant.
            ValidationError: the change breaks a field rule.
        """
        self._writable("update", entity.id)
        current = self._get_in_tenant(entity.id, include_deleted=True)
        changed = replace_trusted(
            entity,
            tenant_id=current.tenant_id,
            created_at=current.created_at,
            updated_at=self._session.now(),
        )
        offered: dict[type[Entity], UnseenValues[E]] = self._session.extension(UNSEEN_VALUES, dict)
        unseen = offered.get(self.entity_type)
        _refuse_bad_text(changed)
        kept: Mapping[str, Any] = {}
        if unseen is not None:  # masks and hidden values never stand in for stored ones
            changed, kept = unseen.restore(changed)
        if self._validate:
            changed = cast(E, self._validate(changed))
            if kept:  # validated as stored: keep them exactly as stored
                changed = replace_trusted(changed, **kept)
        return self._inner.update(changed)

    def delete(
        self, id: uuid.UUID, *, hard: bool = False, expected_version: int | None = None
    ) -> None:
        """Delete a record: soft by default (hidden, restorable), or for good with ``hard``.

        Raises:
            NotFound: no such record in this tenant.
            Conflict: ``expected_version`` is given and stale.
        """
        self._writable("delete", id)
        current = self._get_in_tenant(id, include_deleted=hard)
        if hard:
            self._inner.delete(id, expected_version=expected_version)
            return
        if expected_version is not None and expected_version != current.version:
            current = attrs.evolve(current, version=expected_version)
        now = self._session.now()
        self._inner.update(attrs.evolve(current, deleted_at=now, updated_at=now))

    def restore(self, id: uuid.UUID) -> E:
        """Undo a soft delete.

        Raises:
            NotFound: no such record in this tenant.
        """
        self._writable("update", id)
        current = self._get_in_tenant(id, include_deleted=True)
        if current.deleted_at is None:
            return current
        return self._inner.update(
            attrs.evolve(current, deleted_at=None, updated_at=self._session.now())
        )

    # -- reads

    def _get_in_tenant(self, id: uuid.UUID | str, *, include_deleted: bool) -> E:
        if not isinstance(id, uuid.UUID):
            try:
                id = uuid.UUID(str(id))
            except ValueError:
                raise NotFound(self._name, id) from None
        entity = self._inner.get(id)
        if entity.tenant_id != self._session.tenant_id or (
            entity.deleted_at is not None and not include_deleted
        ):
            raise NotFound(self._name, id)
        return entity

    def get(self, id: uuid.UUID | str, *, include_deleted: bool = False) -> E:
        """The record with that id.

        Raises:
            NotFound: no such record in this tenant (or soft-deleted).
        """
        return self._get_in_tenant(id, include_deleted=include_deleted)

    def get_many(self, ids: Iterable[uuid.UUID], *, include_deleted: bool = False) -> list[E]:
        """The records among ``ids`` that exist in this tenant, in the order asked."""
        tenant = self._session.tenant_id
        return [
            e
            for e in self._inner.get_many(ids)
            if e.tenant_id == tenant and (include_deleted or e.deleted_at is None)
        ]

    def _scope(
        self, where_: Filter | None, include_deleted: bool, equals: dict[str, Any]
    ) -> Filter:
        parts = [eq("tenant_id", self._session.tenant_id)]
        if not include_deleted:
            parts.append(is_null("deleted_at"))
        # relative times (query.ago) are resolved against this session's clock (read only
        # when the filter holds one)
        return resolve_times(all_of(*parts, where(where_, **equals)), self._session.now)

    def find(
        self,
        where: Filter | None = None,
        *,
        order_by: OrderSpec = None,
        limit: int | None = None,
        after: str | None = None,
        include_deleted: bool = False,
        **equals: Any,
    ) -> Page[E]:
        """Records matching a filter and/or ``field=value`` equalities, one page.

        ``custom__tier="gold"`` filters on ``custom.tier``. Pass the returned
        page's ``next_cursor`` as ``after`` to get the next page.

        Raises:
            QueryError: unknown field, value of the wrong type, bad cursor.
        """
        scoped = self._scope(where, include_deleted, equals)
        return self._inner.find(scoped, order_by=order_by, limit=limit, after=after)

    def first(
        self, where: Filter | None = None, *, order_by: OrderSpec = None, **equals: Any
    ) -> E | None:
        """The first matching record, or None."""
        page = self.find(where, order_by=order_by, limit=1, **equals)
        return page.items[0] if page.items else None

    def count(
        self, where: Filter | None = None, *, include_deleted: bool = False, **equals: Any
    ) -> int:
        """How many records match."""
        return self._inner.count(self._scope(where, include_deleted, equals))

    def stream(
        self,
        where: Filter | None = None,
        *,
        order_by: OrderSpec = None,
        batch_size: int = 1000,
        include_deleted: bool = False,
        **equals: Any,
    ) -> Iterator[E]:
        """Every matching record, fetched ``batch_size`` at a time."""
        scoped = self._scope(where, include_deleted, equals)
        return self._inner.stream(scoped, order_by=order_by, batch_size=batch_size)

    def aggregate(
        self,
        where: Filter | None = None,
        *,
        group_by: Sequence[GroupKey] = (),
        measures: Mapping[str, Measure],
        include_deleted: bool = False,
        **equals: Any,
    ) -> list[dict[str, Any]]:
        """Groups of matching records with their measures, computed by the engine.

        ``group_by`` names fields or :func:`crmcore.storage.aggregate.bucket`
        periods; ``measures`` maps output names to ``count()``, ``sum_(f)``...
        (:mod:`crmcore.storage.aggregate`). Returns dicts sorted by the group
        keys (missing first).

        Raises:
            QueryError: an unknown or non-scalar field, a sum of text...
            PermissionDenied: a grouped or measured field the principal may
                not read in full, or an encrypted one (only ``count()`` runs).
        """
        scoped = self._scope(where, include_deleted, equals)
        return self._inner.aggregate(scoped, group_by=group_by, measures=measures)

    def __iter__(self) -> Iterator[E]:
        return self.stream()

    def __repr__(self) -> str:
        return f"<{self._name} repository of {self._session!r}>"
