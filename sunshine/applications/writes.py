"""Set-based raw writes for the engine's hot paths (a transition, an intake, recording events).

The ORM spends more Python building an UPDATE or a bulk INSERT than the database spends running
it (docs/engine.md, "Hot paths"). These two functions write model objects planned in memory with
one statement each, whatever their number:

- ``update_rows``: ``UPDATE t SET … FROM (VALUES (…), (…)) v WHERE t.id = v.id``;
- ``insert_rows``: ``INSERT INTO t (…) VALUES (…), (…) RETURNING id``, setting the objects' keys.

``Batch`` collects the rows of one change (updates, inserts, the outbox entry, raw statements) and
writes them in order: one statement each on SQLite, and on PostgreSQL **one statement for all of
them** (each part a data-modifying ``WITH`` clause; the outbox entry takes the keys of the events
inserted beside it from their ``RETURNING``). ``_Round`` sends statements without waiting for
each answer (libpq's pipeline mode, one Sync): the engine sends BEGIN, the lock and the read of the
stages in one round trip, and the change's statement with COMMIT in another
(``Batch.run(commit=True)``): a transition is two round trips to PostgreSQL instead of eight
(docs/engine.md, "Hot paths").

Values go through each field's ``get_db_prep_save`` (JSON, dates, encrypted fields), so the rows
are those the ORM writes; ``tests/test_fast_writes.py`` walks applications through both paths on
SQLite and PostgreSQL and compares every row and the audit chains. ``SUNSHINE_FAST_WRITES = False``
turns the ORM path back on.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any, TypeVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from django.db.models import Field, Model, signals
from django.db.models.base import ModelState

from sunshine.caching import Recent

try:  # PostgreSQL's driver (a dependency; only the PostgreSQL paths use it)
    from psycopg import errors as _pg_errors
    from psycopg import pq as _pq
    from psycopg._preparing import Prepare as _Prepare
    from psycopg._queries import PostgresQuery as _PostgresQuery
    from psycopg.generators import fetch_many as _fetch_many
    from psycopg.generators import send as _send
except ImportError:  # pragma: no cover
    _pq = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from sunshine.accounts.models import User
    from sunshine.applications.models import Application, StageInstance
    from sunshine.processes.models import StageTemplate

_M = TypeVar("_M", bound=Model)


# Fields whose value the ORM passes to psycopg unchanged on PostgreSQL (get_db_prep_save is then
# only conversions of a value that already has its type): exact classes, so a subclass (the
# encrypted columns, the blind indexes) still goes through its own preparation.
_PLAIN_ON_POSTGRES = frozenset(
    {
        models.AutoField,
        models.BigAutoField,
        models.BigIntegerField,
        models.BooleanField,
        models.CharField,
        models.DateField,
        models.ForeignKey,
        models.IntegerField,
        models.PositiveIntegerField,
        models.PositiveSmallIntegerField,
        models.SmallIntegerField,
        models.TextField,
    }
)
_PLAIN_TYPES = frozenset({str, int, bool, date, type(None)})
_IDLE = 0  # psycopg.pq.TransactionStatus.IDLE (libpq's PQTRANS_IDLE)


def _db_connection() -> Any:
    """The default connection itself, not Django's proxy (each attribute read of which is a
    thread-local look-up: thousands per intake)."""
    return connections[DEFAULT_DB_ALIAS]


#: How one column's value is read and prepared: (attname, plain field, a CharField or TextField,
#: plain DateTimeField, pre_save does more than read the attribute, the field).
_Column = tuple[str, bool, bool, bool, bool, Field]  # type: ignore[type-arg]
_TEXT = frozenset({models.CharField, models.TextField})

_PLAIN_PRE_SAVE = frozenset({Field.pre_save, models.DateField.pre_save, models.DateTimeField.pre_save})


def _columns(fields: Sequence[Field]) -> tuple[_Column, ...]:  # type: ignore[type-arg]
    """The plan of ``fields``' values (computed once per statement shape and cached with it: the
    fields' own hashing is Python code, too slow to look each one up per row)."""
    return tuple(
        (
            str(f.attname),
            type(f) in _PLAIN_ON_POSTGRES,
            type(f) in _TEXT,
            type(f) is models.DateTimeField,
            type(f).pre_save not in _PLAIN_PRE_SAVE
            or bool(getattr(f, "auto_now", False))
            or bool(getattr(f, "auto_now_add", False)),
            f,
        )
        for f in fields
    )


def _values(columns: Sequence[_Column], obj: Model, conn: Any, *, insert: bool) -> list[Any]:
    """``obj``'s values of ``columns`` as the ORM would send them: through ``pre_save`` (an insert)
    and ``get_db_prep_save``, except on PostgreSQL a plain value of a plain field, or an aware
    datetime (or None) of a DateTimeField, which goes as it is, and a dict or list of a JSONField
    without an encoder, which goes wrapped by ``adapt_json_value`` (what those calls return,
    without them)."""
    d = obj.__dict__
    out = []
    pg = conn.vendor == "postgresql"
    for attname, plain, textual, moment, saver, f in columns:
        v = f.pre_save(obj, True) if insert and saver else d[attname] if attname in d else getattr(obj, attname)
        if pg:
            kind = type(v)
            if plain and (kind in _PLAIN_TYPES or (textual and isinstance(v, str))):
                out.append(v)  # a str subclass (a choices member) of a text column: CharField returns it as it is
                continue
            if moment and (v is None or (kind is datetime and v.utcoffset() is not None)):
                out.append(v)  # an aware moment or None: what DateTimeField.get_db_prep_save returns on PostgreSQL
                continue
            if (kind is dict or kind is list) and type(f) is models.JSONField and f.encoder is None:
                out.append(conn.ops.adapt_json_value(v, None))  # JSONField.get_db_prep_save's result for them
                continue
        out.append(f.get_db_prep_save(v, conn))
    return out


def _cache_long_statements() -> None:
    """psycopg parses each statement for its ``%s`` once and keeps the result, but not for a
    statement over 4,096 characters or 50 parameters (ORM bulk inserts of varying sizes would only
    churn its cache): a change's statement is longer, and has a few shapes repeated for ever, so
    it was parsed again on every transition and intake (about a tenth of an intake's Python time).
    The bounds are raised for this process; the cache itself stays bounded (128 statements)."""
    try:
        from psycopg import _queries
    except ImportError:  # SQLite only
        return
    if hasattr(_queries, "MAX_CACHED_STATEMENT_LENGTH") and hasattr(_queries, "MAX_CACHED_STATEMENT_PARAMS"):
        _queries.MAX_CACHED_STATEMENT_LENGTH = max(_queries.MAX_CACHED_STATEMENT_LENGTH, 32768)
        _queries.MAX_CACHED_STATEMENT_PARAMS = max(_queries.MAX_CACHED_STATEMENT_PARAMS, 2000)


_cache_long_statements()


def enabled() -> bool:
    return bool(getattr(settings, "SUNSHINE_FAST_WRITES", True))


def _outermost(conn: Any = None) -> bool:
    """Inside one ``atomic`` block that opened the transaction (no savepoint, no outer block)."""
    conn = conn or _db_connection()
    return bool(conn.in_atomic_block and len(conn.atomic_blocks) == 1 and not conn.savepoint_ids)


def combined(conn: Any = None) -> bool:
    """Whether a ``Batch`` goes out as one statement (PostgreSQL with the fast writes on)."""
    return enabled() and (conn or _db_connection()).vendor == "postgresql"


class _Sender:
    """The "cursor" Django's cursor wrapper drives for a ``_Round``: ``execute`` sends the
    statement into the round's pipeline at once. Through the wrapper, every statement still goes
    past the connection's execute wrappers (the statement observer, ``observe/db.py``) and, when
    queries are logged (``CaptureQueriesContext``, DEBUG), into ``connection.queries``."""

    __slots__ = ("_query", "round")

    def __init__(self, rnd: _Round) -> None:
        self.round = rnd
        # What Django's debug cursor reads for the logged statement when the connection binds
        # client-side (``DB_PREPARE_THRESHOLD=off``): the last statement sent, as psycopg's
        # cursor keeps it.
        self._query: Any = None

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        self._query = self.round.send(sql, params)

    def close(self) -> None:
        pass


def _transformer(conn: Any, pg: Any) -> Any:
    """psycopg's adaptation context of ``pg`` as a cursor Django makes has it (its time zone
    loader), kept for the connection: a new cursor makes a new one per statement, and looks up
    each value's dumper again."""
    kept = getattr(conn, "_sunshine_transformer", None)
    if kept is not None and kept[0] is pg:
        return kept[1]
    from psycopg.adapt import Transformer

    cursor = conn.create_cursor()
    tx = Transformer(cursor)
    cursor.close()
    conn._sunshine_transformer = (pg, tx)
    return tx


def _round_gen(pgconn: Any, n: int, synced: list[bool]) -> Any:
    """Flush what was queued, then the answers of ``n`` queued requests and the Sync's
    (``synced[0]`` set once the Sync's answer is read: psycopg, interrupted by a signal while it
    waits, cancels the query, runs this generator to its end and raises again, so the caller
    must not wait for a Sync that was already read)."""
    yield from _send(pgconn)
    out = []
    for _ in range(n):
        out.append((yield from _fetch_many(pgconn)))
    yield from _fetch_many(pgconn)  # PIPELINE_SYNC
    synced[0] = True
    return out


def _drain_gen(pgconn: Any) -> Any:
    """Everything up to and with the Sync (after a failure between the requests and the Sync)."""
    yield from _send(pgconn)
    while True:
        results = yield from _fetch_many(pgconn)
        if results and results[-1].status == _PIPELINE_SYNC:
            return


if _pq is not None:
    _FATAL_ERROR = int(_pq.ExecStatus.FATAL_ERROR)
    _PIPELINE_ABORTED = int(_pq.ExecStatus.PIPELINE_ABORTED)
    _PIPELINE_SYNC = int(_pq.ExecStatus.PIPELINE_SYNC)
    _TUPLES_OK = int(_pq.ExecStatus.TUPLES_OK)
    _CONN_OK = int(_pq.ConnStatus.OK)
    _TEXT_RESULT = _pq.Format.TEXT


class _Round:
    """Statements sent to PostgreSQL in pipeline mode with one Sync: one round trip. What
    psycopg's ``Connection.pipeline()`` and cursors do for them, without their machinery (a
    cursor and an adaptation context per statement, a generator step per request to send and
    per answer to read, the answers matched to cursors): each statement is converted and dumped
    as a cursor does (``PostgresQuery``, the connection's kept adaptation context), prepared as
    psycopg decides (its ``PrepareManager``: the same names, counts and invalidations, e.g.
    after a ROLLBACK), sent through libpq at once; ``run`` sends the Sync and reads every answer.

    The transaction starts as psycopg would start it (BEGIN first when the connection is not in
    autocommit mode and no transaction is open: in the same round trip, not one of its own);
    ``commit`` ends the round with COMMIT (Django's own commit at the end of the ``atomic`` block
    then finds no transaction). The first failed statement's error is raised (a unique violation
    stays an IntegrityError, not the aborted COMMIT behind it), as Django's error.

    The round enters pipeline mode when its first statement is sent: an execute wrapper may run
    statements of its own before the statement it wraps when that is the round's first (as
    ``bench/transitions.py --explain`` does), never while the round's statements are pending."""

    def __init__(self, conn: Any) -> None:
        conn.ensure_connection()
        self.conn = conn
        self.pg = pg = conn.connection
        self.pgconn = pg.pgconn
        self.tx = _transformer(conn, pg)
        # per answer to read: None (a command, a Parse), () or psycopg's (key, prep, name) to
        # validate (a statement), in the order sent; the statements' positions in it
        self.pending: list[Any] = []
        self.statements: list[int] = []
        self.cursor = conn._prepare_cursor(_Sender(self))
        self.started = False

    def _start(self) -> None:
        self.started = True
        self.pgconn.enter_pipeline_mode()
        if not self.pg._autocommit and self.pgconn.transaction_status == _IDLE:
            self.command(self.pg._get_tx_start_command())

    def command(self, sql: bytes) -> None:
        if not self.started:
            self._start()
        self.pgconn.send_query_params(sql, None)
        self.pending.append(None)

    def send(self, sql: str, params: Sequence[Any] | None) -> Any:
        """Send one statement; returns psycopg's converted query (``_Sender._query``)."""
        if not self.started:
            self._start()
        pgq = _PostgresQuery(self.tx)
        pgq.convert(sql, params)
        prepared = self.pg._prepared
        prep, name = prepared.get(pgq)
        pgconn = self.pgconn
        if prep is _Prepare.NO:
            pgconn.send_query_params(
                pgq.query, pgq.params, param_formats=pgq.formats, param_types=pgq.types, result_format=_TEXT_RESULT
            )
        else:
            if prep is _Prepare.SHOULD:
                pgconn.send_prepare(name, pgq.query, param_types=pgq.types)
                self.pending.append(None)
            pgconn.send_query_prepared(name, pgq.params, param_formats=pgq.formats, result_format=_TEXT_RESULT)
        key = prepared.maybe_add_to_cache(pgq, prep, name)
        self.statements.append(len(self.pending))
        self.pending.append((key, prep, name) if key is not None else ())
        return pgq

    def run(self, *, commit: bool = False) -> list[list[tuple[Any, ...]]]:
        """Send COMMIT (``commit``) and the Sync, read the answers: each statement's rows."""
        if commit:
            self.command(b"COMMIT")
        if not self.started:
            return []
        pg, pgconn = self.pg, self.pgconn
        done = synced = False
        read_sync = [False]
        try:
            with self.conn.wrap_database_errors:
                pgconn.pipeline_sync()
                synced = True
                answers = pg.wait(_round_gen(pgconn, len(self.pending), read_sync))
                done = True
                error = None
                for queued, results in zip(self.pending, answers, strict=True):
                    for result in results:
                        status = result.status
                        if status == _FATAL_ERROR and error is None:
                            error = _pg_errors.error_from_result(result, encoding=pgconn._encoding)
                        elif status == _PIPELINE_ABORTED and error is None:
                            error = _pg_errors.PipelineAborted("pipeline aborted")
                    if queued:
                        pg._prepared.validate(*queued, results)
                if error is not None:
                    raise error
                out = []
                tx = self.tx
                for i in self.statements:
                    result = answers[i][0]
                    if result.status == _TUPLES_OK:
                        tx.set_pgresult(result)
                        out.append(tx.load_rows(0, result.ntuples, tuple))
                    else:
                        out.append([])
                return out
        finally:
            if pgconn.status == _CONN_OK:
                if not done and not read_sync[0]:
                    with contextlib.suppress(Exception):
                        if not synced:
                            pgconn.pipeline_sync()
                        pg.wait(_drain_gen(pgconn))
                with contextlib.suppress(Exception):
                    pgconn.exit_pipeline_mode()
                self.started = False
                if pg._prepared._to_flush:  # statements psycopg evicted from its cache
                    with self.conn.wrap_database_errors:
                        pg.wait(pg._prepared.maintain_gen(pg))

    def abandon(self) -> None:
        """After a failure while the statements were being sent: read what was sent, leave
        pipeline mode (the transaction, if it began, is rolled back by ``atomic``)."""
        if not self.started or self.pgconn.status != _CONN_OK:
            return
        with contextlib.suppress(Exception):
            self.pgconn.pipeline_sync()
            self.pg.wait(_drain_gen(self.pgconn))
        with contextlib.suppress(Exception):
            self.pgconn.exit_pipeline_mode()


@contextmanager
def _round(conn: Any) -> Iterator[_Round]:
    rnd = _Round(conn)
    try:
        yield rnd
    except BaseException:
        rnd.abandon()
        raise


@cache
def _fields(model: type[Model], names: tuple[str, ...]) -> tuple[Field, ...]:  # type: ignore[type-arg]
    return tuple(model._meta.get_field(n) for n in names)  # type: ignore[misc]


@cache
def _update_columns(model: type[Model], names: tuple[str, ...]) -> tuple[_Column, ...]:
    return _columns(_fields(model, names))


def _pg_type(field: Field) -> str:  # type: ignore[type-arg]
    target = field.target_field if field.is_relation else field  # type: ignore[attr-defined]
    db_type = target.rel_db_type(connection) if field.is_relation else field.db_type(connection)
    return str(db_type).replace(" AUTO_INCREMENT", "")


@cache
def _update_sql(model: type[Model], names: tuple[str, ...], vendor: str) -> tuple[str, str]:
    """(one VALUES row, the statement with ``{values}`` to fill) of ``update_rows``."""
    qn = connection.ops.quote_name
    fields = _fields(model, names)
    pk = model._meta.pk
    assert pk is not None
    table = qn(model._meta.db_table)
    if vendor == "postgresql":
        # VALUES gives its columns no type: each parameter is cast to its column's.
        row = "(" + ", ".join(f"%s::{_pg_type(f)}" for f in (pk, *fields)) + ")"
        alias = "v(" + ", ".join(qn(str(f.column)) for f in (pk, *fields)) + ")"
        cols = [f"v.{qn(str(f.column))}" for f in (pk, *fields)]
    else:  # SQLite names the columns of VALUES column1, column2, …
        row = "(" + ", ".join(["%s"] * (len(fields) + 1)) + ")"
        alias = "v"
        cols = [f"v.column{i}" for i in range(1, len(fields) + 2)]
    sets = ", ".join(f"{qn(str(f.column))} = {col}" for f, col in zip(fields, cols[1:], strict=True))
    return row, (
        f"UPDATE {table} SET {sets} FROM (VALUES {{values}}) AS {alias}"  # noqa: S608
        f" WHERE {table}.{qn(str(pk.column))} = {cols[0]}"
    )


def update_rows(model: type[Model], objs: Sequence[Model], names: Sequence[str]) -> None:
    """Write the fields ``names`` of ``objs`` (rows that exist) in one statement."""
    if not objs:
        return
    conn = _db_connection()
    with conn.cursor() as cursor:
        cursor.execute(*_update_statement(model, objs, tuple(names), conn))


def insert_rows(model: type[Model], objs: Sequence[Model]) -> None:
    """Insert ``objs`` (every concrete field but the key) in one statement; sets their keys."""
    if not objs:
        return
    qn = connection.ops.quote_name
    opts = model._meta
    fields = [f for f in opts.concrete_fields if not f.primary_key]
    pk = opts.pk
    assert pk is not None
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    sql = (
        f"INSERT INTO {qn(opts.db_table)} ({', '.join(qn(str(f.column)) for f in fields)})"  # noqa: S608
        f" VALUES {', '.join([row] * len(objs))} RETURNING {qn(str(pk.column))}"
    )
    params = _insert_params(objs, _columns(fields))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        keys = [r[0] for r in cursor.fetchall()]
    _set_keys(objs, keys)


def _update_statement(
    model: type[Model], objs: Sequence[Model], names: tuple[str, ...], conn: Any
) -> tuple[str, list[Any]]:
    """``update_rows``' statement and its parameters."""
    columns = _update_columns(model, names)
    sql_row, tail = _update_sql(model, names, conn.vendor)
    params: list[Any] = []
    for obj in objs:
        params.append(obj.pk)
        params.extend(_values(columns, obj, conn, insert=False))
    return tail.replace("{values}", ", ".join([sql_row] * len(objs))), params


def _insert_sql(
    model: type[Model], n: int, with_pk: bool, exprs: dict[str, str] | None = None, vendor: str = ""
) -> tuple[str, tuple[_Column, ...]]:
    """``INSERT … VALUES … RETURNING id`` of ``n`` rows and the columns whose values it takes, in
    order (``exprs``: columns given by an SQL expression instead of a parameter, one row only)."""
    items = tuple(sorted(exprs.items())) if exprs else ()
    return _insert_sql_of(model, n, with_pk, items, vendor or _db_connection().vendor)


@lru_cache(maxsize=256)
def _insert_sql_of(
    model: type[Model], n: int, with_pk: bool, expr_items: tuple[tuple[str, str], ...], vendor: str
) -> tuple[str, tuple[_Column, ...]]:
    qn = connection.ops.quote_name
    opts = model._meta
    fields = [f for f in opts.concrete_fields if with_pk or not f.primary_key]
    pk = opts.pk
    assert pk is not None
    exprs = dict(expr_items)
    params_of = [f for f in fields if f.attname not in exprs]
    row = "(" + ", ".join(exprs.get(str(f.attname), "%s") for f in fields) + ")"
    sql = (
        f"INSERT INTO {qn(opts.db_table)} ({', '.join(qn(str(f.column)) for f in fields)})"  # noqa: S608
        f" VALUES {', '.join([row] * n)} RETURNING {qn(str(pk.column))}"
    )
    return sql, _columns(params_of)


@cache
def _relations(model: type[Model]) -> tuple[tuple[str, str], ...]:
    """(name, attname) of ``model``'s concrete relations (its foreign keys)."""
    return tuple((str(f.name), str(f.attname)) for f in model._meta.concrete_fields if f.is_relation)


def _check_relations(obj: Model) -> None:
    """``Model._prepare_related_fields_for_save``, called only when it has something to do: a
    related object is cached whose key is unset or not the one in the row (otherwise it only
    reads every field)."""
    if obj._meta.private_fields:  # a generic relation: Django's own check
        obj._prepare_related_fields_for_save(operation_name="insert_rows")  # type: ignore[attr-defined]
        return
    cache_ = obj._state.fields_cache
    if not cache_:
        return
    values = obj.__dict__
    for name, attname in _relations(type(obj)):
        other = cache_.get(name)
        if other is not None and (other.pk is None or values.get(attname) != other.pk):
            obj._prepare_related_fields_for_save(operation_name="insert_rows")  # type: ignore[attr-defined]
            return


def _insert_params(objs: Sequence[Model], columns: Sequence[_Column], conn: Any = None) -> list[Any]:
    params: list[Any] = []
    conn = conn or _db_connection()
    for obj in objs:
        _check_relations(obj)
        params.extend(_values(columns, obj, conn, insert=True))
    return params


@cache
def _init_plan(model: type[Model]) -> tuple[dict[str, Any], tuple[tuple[str, Any], ...], dict[str, str]]:
    """(the defaults that are constants, (attname, factory) of the others, relation name ->
    attname) of ``model``'s concrete fields, as ``Model.__init__`` fills them."""
    static: dict[str, Any] = {}
    dynamic: list[tuple[str, Any]] = []
    for f in model._meta.concrete_fields:
        value = f.get_default()
        if type(value) in _PLAIN_TYPES or type(value) is float:
            static[str(f.attname)] = value
        else:  # a callable default (dict, list): one value per instance
            dynamic.append((str(f.attname), f.get_default))
    to_pk = {
        str(f.name): str(f.attname)
        for f in model._meta.concrete_fields
        if f.is_relation and f.target_field.primary_key  # type: ignore[attr-defined]
    }
    return static, tuple(dynamic), to_pk


def make(model: type[_M], values: dict[str, Any], related: dict[str, Model | None] | None = None) -> _M:
    """An unsaved ``model(**values, **related)`` built without ``Model.__init__``'s per-field
    work (when nothing listens to its init signals): ``values`` by attname, ``related`` by the
    relation's name (the object is kept, as assigning it does). Same attributes and state."""
    static, dynamic, relations = _init_plan(model)
    if not _plain_init(model) or (related and not related.keys() <= relations.keys()):
        return model(**values, **(related or {}))
    obj = model.__new__(model)
    d = obj.__dict__
    d.update(static)
    for attname, factory in dynamic:
        if attname not in values:
            d[attname] = factory()
    d.update(values)
    state = obj._state = ModelState()
    if related:
        cache_ = state.fields_cache
        for name, other in related.items():
            d[relations[name]] = other.pk if other is not None else None
            cache_[name] = other
            if other is not None:
                state.db = other._state.db or DEFAULT_DB_ALIAS
                if other._state.db is None:
                    other._state.db = DEFAULT_DB_ALIAS
    return obj


def _set_keys(objs: Sequence[Model], keys: Sequence[Any], alias: str = DEFAULT_DB_ALIAS) -> None:
    for obj, key in zip(objs, keys, strict=True):
        obj.pk = key
        obj._state.adding = False
        obj._state.db = alias


@dataclass
class _Part:
    model: type[Model] | None  # None: a raw statement
    objs: Sequence[Model] = ()
    names: tuple[str, ...] = ()  # an update's fields; () for an insert
    with_pk: bool = False
    keys_of: dict[str, Sequence[Model]] = field(default_factory=dict)  # JSON lists of other rows' keys
    sql: str = ""
    params: list[Any] = field(default_factory=list)

    @property
    def inserts(self) -> bool:
        return self.model is not None and not self.names


class Batch:
    """The rows of one change, written together (see the module's docstring).

    ``update``/``insert`` take model objects as ``update_rows``/``insert_rows`` do; ``keys`` inserts
    one row whose JSON columns hold the keys of objects inserted before it in the same batch (the
    outbox entry names the events written beside it); ``raw`` adds a statement of its own. ``run``
    writes every part in order and sets the inserted objects' keys. The values are read from the
    objects when ``run`` is called. On PostgreSQL the parts are one statement, so a row may not
    refer to a row inserted by the same batch unless its key was reserved (``with_pk``)."""

    def __init__(self) -> None:
        self.parts: list[_Part] = []

    def update(self, model: type[Model], objs: Sequence[Model], names: Sequence[str]) -> None:
        if objs:
            self.parts.append(_Part(model, objs, tuple(names)))

    def insert(self, model: type[Model], objs: Sequence[Model], *, with_pk: bool = False) -> None:
        """``with_pk``: the objects' keys are already chosen (reserved from the sequence)."""
        if objs:
            self.parts.append(_Part(model, objs, with_pk=with_pk))

    def keys(self, obj: Model, lists: dict[str, Sequence[Model]]) -> None:
        """Insert ``obj`` with its JSON columns ``lists`` (attname -> objects) holding the keys
        of those objects, in order."""
        self.parts.append(_Part(type(obj), [obj], keys_of=dict(lists)))

    def inserts(self, obj: Model) -> bool:
        """Whether ``obj`` is among the rows this batch inserts."""
        return any(part.inserts and any(o is obj for o in part.objs) for part in self.parts)

    def raw(self, sql: str, params: Sequence[Any]) -> None:
        self.parts.append(_Part(None, sql=sql, params=list(params)))

    @staticmethod
    def _update(part: _Part, conn: Any) -> tuple[str, list[Any]]:
        assert part.model is not None
        return _update_statement(part.model, part.objs, part.names, conn)

    def run(self, *, commit: bool = False) -> None:
        """``commit``: this is the last statement of the change, and the change is the outermost
        transaction: on PostgreSQL, COMMIT is sent with the statement (one round trip for both),
        and Django's own commit at the end of the ``atomic`` block then finds nothing to do. The
        caller must run no other statement in the block after this one (a later one would start
        and commit a transaction of its own). Elsewhere, or inside an outer transaction (a
        savepoint): ignored."""
        if not self.parts:
            return
        conn = _db_connection()
        if combined(conn):
            self._run_combined(conn, commit=commit and _outermost(conn))
            return
        with conn.cursor() as cursor:
            for part in self.parts:
                if part.model is None:
                    cursor.execute(part.sql, part.params)
                elif part.names:
                    cursor.execute(*self._update(part, conn))
                else:
                    for attname, objs in part.keys_of.items():
                        setattr(part.objs[0], attname, [o.pk for o in objs])
                    sql, columns = _insert_sql(part.model, len(part.objs), part.with_pk, vendor=conn.vendor)
                    cursor.execute(sql, _insert_params(part.objs, columns, conn))
                    _set_keys(part.objs, [r[0] for r in cursor.fetchall()], conn.alias)

    def _run_combined(self, conn: Any, *, commit: bool = False) -> None:
        """One statement: ``WITH p0 AS (…), p1 AS (… RETURNING id), … SELECT part, id …``.

        When it writes application rows, it bumps their queue stamps itself (``_stamps``)."""
        home: dict[int, int] = {}  # id() of an object inserted by this batch -> its part
        clauses: list[str] = []
        params: list[Any] = []
        returning: list[int] = []
        stamped = _stamped_parts(self.parts)
        last = -1  # the last part that writes application rows: the stamps' clause follows it
        if stamped:
            last = max(i for i, p in enumerate(self.parts) if p.model and p.model._meta.db_table == _APPLICATIONS)
        for i, part in enumerate(self.parts):
            if part.model is None:
                sql, values = part.sql, part.params
            elif part.names:
                sql, values = self._update(part, conn)
            else:
                exprs: dict[str, str] = {}
                for attname, objs in part.keys_of.items():
                    homes = {home.get(id(o)) for o in objs}
                    if homes <= {None}:  # none, or rows that had their keys before
                        setattr(part.objs[0], attname, [o.pk for o in objs])
                    elif len(homes) == 1:
                        # the keys RETURNING gave that part (its own name, p<n>: no input in it)
                        agg = f"(SELECT jsonb_agg(id ORDER BY id) FROM p{homes.pop()})"  # noqa: S608
                        exprs[attname] = f"COALESCE({agg}, '[]'::jsonb)"
                    else:
                        raise ValueError("keys of rows from several parts, or of old and new rows together")
                sql, columns = _insert_sql(part.model, len(part.objs), part.with_pk, exprs, conn.vendor)
                values = _insert_params(part.objs, columns, conn)
                home.update((id(o), i) for o in part.objs)
                returning.append(i)
            clauses.append(f"p{i} AS ({sql})")
            params.extend(values)
            if i == last and stamped:
                clauses.append(_stamps(len(stamped)))
                for scope in sorted(stamped):
                    params.extend((scope, stamped[scope]))
        tail = (
            " UNION ALL ".join(f"SELECT {i} AS part, id FROM p{i}" for i in returning)  # noqa: S608
            + " ORDER BY part, id"
            if returning
            else "SELECT 1"
        )
        statement = (STAMPED if stamped else "") + "WITH " + ", ".join(clauses) + " " + tail
        with _round(conn) as rnd:  # the statement (and COMMIT), then one Sync
            rnd.cursor.execute(statement, params)
            found = rnd.run(commit=commit)
        rows = found[0] if returning else []
        keys: dict[int, list[Any]] = {}
        for i, key in rows:
            keys.setdefault(i, []).append(key)
        for i in returning:
            _set_keys(self.parts[i].objs, keys.get(i, []), conn.alias)
        _set_locked(self.parts)


# --- the work queue's stamps, bumped by the change's own statement (PostgreSQL) ---------------

# The first characters of a statement that bumps the queue stamps of the application rows it
# writes: the table's INSERT and UPDATE triggers (migration applications 0027) skip it. Only the
# combined statement of a ``Batch`` starts with it.
STAMPED = "/* queue stamps */ "
_APPLICATIONS = "applications_application"


def _stamped_parts(parts: Sequence[_Part]) -> dict[str, int] | None:
    """What the triggers of migrations 0022/0024 would bump for the application rows ``parts``
    write (scope -> count: each row's customer manager ``m<id>`` and unit ``u<id>``, before the
    write and after it), or None when the statement writes none or cannot tell: a raw part names
    the table, or an updated row was not read by ``lock`` (its values before the write unknown).

    An updated row's values before the write are those ``lock`` read (``_locked_scopes``): the
    row is locked from then on, and the engine writes it only through its ``Batch``, which
    records what it wrote (``_set_locked``). Its values after: the part's columns from the
    object, the others as they were."""
    scopes: dict[str, int] = {}

    def count(manager: Any, unit: Any) -> None:
        if manager is not None:
            scopes[f"m{manager}"] = scopes.get(f"m{manager}", 0) + 1
        if unit is not None:
            scopes[f"u{unit}"] = scopes.get(f"u{unit}", 0) + 1

    for part in parts:
        if part.model is None:
            if _APPLICATIONS in part.sql:
                return None
            continue
        if part.model._meta.db_table != _APPLICATIONS:
            continue
        for obj in part.objs:
            if part.names:
                before = obj.__dict__.get("_locked_scopes")
                if before is None:
                    return None
                count(*before)
                count(*_after(obj, part.names, before))
            else:
                count(obj.__dict__.get("customer_manager_id"), obj.__dict__.get("unit_id"))
    return scopes or None


def _after(obj: Model, names: tuple[str, ...], before: tuple[Any, Any]) -> tuple[Any, Any]:
    """An updated application row's (customer manager, unit) after an update of ``names``."""
    manager, unit = before
    if "customer_manager" in names or "customer_manager_id" in names:
        manager = obj.__dict__.get("customer_manager_id")
    if "unit" in names or "unit_id" in names:
        unit = obj.__dict__.get("unit_id")
    return manager, unit


def _set_locked(parts: Sequence[_Part]) -> None:
    """After the statement: the updated application rows' values are the written ones."""
    for part in parts:
        if part.model is not None and part.names and part.model._meta.db_table == _APPLICATIONS:
            for obj in part.objs:
                before = obj.__dict__.get("_locked_scopes")
                if before is not None:
                    obj._locked_scopes = _after(obj, part.names, before)  # type: ignore[attr-defined]


@lru_cache(maxsize=16)
def _stamps(n: int) -> str:
    """The clause that bumps ``n`` scopes' stamps (parameters: scope, count; in scope order, as
    the triggers do), in the shard of the transaction id. It comes right after the last
    application part: PostgreSQL runs the statement's unread clauses last to first, so the
    stamps are bumped after the clauses that follow (the managers' open counts), as the triggers
    did at the end of the statement (lock order, docs/engine.md)."""
    from sunshine.applications.models import QueueStamp

    row = f"(%s, mod(txid_current(), {QueueStamp.SHARDS})::smallint, %s)"
    return (
        f"stamps AS (INSERT INTO {QueueStamp._meta.db_table} AS qs (scope, shard, n)"  # noqa: S608
        f" VALUES {', '.join([row] * n)} ON CONFLICT (scope, shard) DO UPDATE SET n = qs.n + EXCLUDED.n)"
    )


# --- the engine's lock, read in one round trip (PostgreSQL) ---------------------------------


@cache
def _reader(model: type[Model], alias: str) -> tuple[str, tuple[str, ...], tuple[tuple[int, Any], ...]]:
    """(the select list of ``model`` under ``alias``, its attnames, (position, converter) pairs):
    the values go through the converters the ORM applies (JSON, encrypted columns)."""
    qn = connection.ops.quote_name
    fields = model._meta.concrete_fields
    cols = ", ".join(f"{alias}.{qn(str(f.column))}" for f in fields)
    convs = []
    for i, f in enumerate(fields):
        col = f.get_col(alias)
        for conv in connection.ops.get_db_converters(col) + f.get_db_converters(connection):
            convs.append((i, conv, col))
    return cols, tuple(str(f.attname) for f in fields), tuple((i, (conv, col)) for i, conv, col in convs)


@cache
def _plain_init(model: type[Model]) -> bool:
    """Whether nothing listens to ``model``'s pre_init and post_init signals (then ``_build`` may
    fill an instance's attributes directly, which is what ``Model.__init__`` does for them)."""
    return not (signals.pre_init.has_listeners(model) or signals.post_init.has_listeners(model))


class _State(ModelState):
    """A built instance's state, with the columns whose conversion waits for their first read:
    attname -> (the database's value, the converter, its expression)."""

    pending: dict[str, tuple[Any, Any, Any]]


class LazyColumns:
    """A model whose columns named in ``lazy_columns`` (an encrypted phone, a JSON column) are
    converted when first read, not when ``_build`` makes the instance from a row: the engine's
    lock reads whole rows, and a transition reads neither the phone (a decryption) nor most
    stages' JSON. Such a column is absent from the instance's ``__dict__`` until then, as a
    deferred field is: Django's descriptor asks ``refresh_from_db(fields=[name])``, which converts
    the value kept in the state instead of querying. ``save()`` writes the loaded fields only (as
    with ``defer()``): an unread column is unchanged. A refresh of all fields forgets the kept
    values (then a read queries, as for any deferred field)."""

    lazy_columns: tuple[str, ...] = ()
    _state: ModelState

    def refresh_from_db(self, using: str | None = None, fields: Any = None, from_queryset: Any = None) -> None:
        pending = getattr(self._state, "pending", None)
        if pending:
            if fields is None:
                pending.clear()
            elif using is None and from_queryset is None:
                rest = []
                for name in fields:
                    if name in pending:
                        value, conv, col = pending.pop(name)
                        self.__dict__[name] = conv(value, col, connections[self._state.db or DEFAULT_DB_ALIAS])
                    else:
                        rest.append(name)
                if not rest:
                    return
                fields = rest
        super().refresh_from_db(using, fields, from_queryset)  # type: ignore[misc]


@cache
def _lazy(model: type[Model], alias: str) -> frozenset[int]:
    """The positions in ``_reader(model, alias)``'s row of ``model``'s lazy columns."""
    if not issubclass(model, LazyColumns) or not _plain_init(model):
        return frozenset()
    names = _reader(model, alias)[1]
    return frozenset(i for i, name in enumerate(names) if name in model.lazy_columns)


def _build(model: type[_M], alias: str, values: Sequence[Any], conn: Any = None) -> _M:
    """A model instance from a row of ``_reader(model, alias)``'s columns, as the ORM builds it
    (``from_db``, the fields' converters), without ``Model.__init__``'s per-field calls. The
    converters of a ``LazyColumns`` model's lazy columns run when the column is first read."""
    _cols, names, convs = _reader(model, alias)
    row = list(values)
    conn = conn or _db_connection()
    lazy = _lazy(model, alias)
    pending: dict[str, tuple[Any, Any, Any]] = {}
    for i, (conv, col) in convs:
        if i in lazy:
            pending[names[i]] = (row[i], conv, col)
        else:
            row[i] = conv(row[i], col, conn)
    if not _plain_init(model):
        return model.from_db(conn.alias, list(names), row)
    obj = model.__new__(model)
    d = obj.__dict__
    d.update(zip(names, row, strict=True))
    if pending:
        for name in pending:
            del d[name]
        state: ModelState = _State()
        state.pending = pending  # type: ignore[attr-defined]
    else:
        state = ModelState()
    obj._state = state
    state.adding = False
    state.db = conn.alias
    return obj


@cache
def _lock_sql() -> tuple[str, str]:
    from sunshine.accounts.models import User
    from sunshine.applications.models import Application, StageInstance

    qn = connection.ops.quote_name
    app_cols = _reader(Application, "a")[0]
    user_cols = _reader(User, "u")[0]
    app_t, user_t = qn(Application._meta.db_table), qn(User._meta.db_table)
    stage_t = qn(StageInstance._meta.db_table)
    return (
        f"SELECT {app_cols}, {user_cols} FROM {app_t} a LEFT JOIN {user_t} u ON u.id = a.customer_manager_id"  # noqa: S608
        " WHERE a.number = %s FOR UPDATE OF a",
        f"SELECT {_reader(StageInstance, 's')[0]} FROM {stage_t} s"  # noqa: S608
        f" WHERE s.application_id = (SELECT id FROM {app_t} WHERE number = %s) ORDER BY s.seq",
    )


#: The stage templates of each process (reference data read by every transition: a stage's
#: outcome rule, owner, names), kept per process as ``sunshine/caching.py`` says (this process's
#: edits forget them at once, through ``services``' signal receivers; another process's within
#: ``caching.SECONDS``). Shared objects: read-only.
templates: Recent[dict[int, StageTemplate]] = Recent("stage templates")


def _templates_of(process_id: int, wanted: set[int]) -> dict[int, StageTemplate]:
    from sunshine.processes.models import StageTemplate

    def load() -> dict[int, StageTemplate]:
        return {t.pk: t for t in StageTemplate.objects.filter(process_id=process_id)}

    found = templates.get(process_id, load)
    if not wanted <= found.keys():  # a template added since they were read
        templates.clear()
        found = templates.get(process_id, load)
    return found


def lock(number: str, *, stages: bool) -> tuple[Application, list[StageInstance]] | None:
    """The application ``number`` locked (``FOR UPDATE``, its customer manager joined without a
    lock) and, with ``stages``, its stage rows with their templates in timeline order; None when
    there is no such application. On PostgreSQL only (``combined()``), inside the transaction.

    Two statements in one round trip (``_Round``): the stages are read by a statement of their
    own, whose snapshot is taken after the lock is granted, so a transition that waited for a
    concurrent one sees the stages that one committed (docs/engine.md). Their templates are the
    process's, kept in memory (``templates``)."""
    from sunshine.accounts.models import User
    from sunshine.applications.models import Application, StageInstance

    lock_sql, stages_sql = _lock_sql()
    conn = _db_connection()
    with _round(conn) as rnd:  # BEGIN and both sent, then one Sync: the answers are read after it
        rnd.cursor.execute(lock_sql, [number])
        if stages:
            rnd.cursor.execute(stages_sql, [number])
        found = rnd.run()
    if not found[0]:
        return None
    row = found[0][0]
    stage_rows = found[1] if stages else []
    n_app = len(Application._meta.concrete_fields)
    app = _build(Application, "a", row[:n_app], conn)
    app._locked_scopes = (app.customer_manager_id, app.unit_id)  # type: ignore[attr-defined]  # Batch's stamps
    app._state.fields_cache["customer_manager"] = (
        _build(User, "u", row[n_app:], conn) if row[n_app] is not None else None
    )
    out = [_build(StageInstance, "s", r, conn) for r in stage_rows]
    if out:
        by_pk = _templates_of(app.process_id, {s.template_id for s in out})
        for stage in out:
            stage._state.fields_cache["template"] = by_pk[stage.template_id]
            stage._state.fields_cache["application"] = app
    return app, out


# --- an intake's reads in one round trip (PostgreSQL) ----------------------------------------


# The transaction-scoped advisory lock an intake takes on the manager it picks is this number
# ("SU", for Sunshine) shifted into the high 32 bits, plus the manager's id. No other code of the
# project takes advisory locks.
MANAGER_LOCK = 0x5355


@dataclass(frozen=True)
class IntakeRows:
    customer_pk: int
    created: bool  # the customer row was inserted by this call
    duplicate: tuple[int, str] | None  # (pk, number) of the customer's open application at that address
    application_pk: int  # reserved from the sequence: the events' audit chain needs it
    manager: User | None
    number_free: bool = True  # no application has the number that was asked about


@cache
def _intake_sql() -> tuple[str, tuple[_Column, ...], tuple[int, ...]]:
    """The statement of ``intake_rows``, the customer's columns and the positions of its identity
    among them."""
    from sunshine.accounts.models import User
    from sunshine.applications.models import Application, Customer, ManagerLoad

    qn = connection.ops.quote_name
    cust_t, app_t = qn(Customer._meta.db_table), qn(Application._meta.db_table)
    fields = tuple(f for f in Customer._meta.concrete_fields if not f.primary_key)
    names = [str(f.attname) for f in fields]
    cols = ", ".join(qn(str(f.column)) for f in fields)
    casts = ", ".join(f"%s::{_pg_type(f)}" for f in fields)
    # The customer: inserted unless it exists, then the duplicate check (one row; none when a
    # concurrent first intake of the same identity inserted it meanwhile).
    customer_part = (
        f"found AS (SELECT c.id FROM {cust_t} c WHERE c.id_type = %s AND c.id_number_index = %s),"  # noqa: S608
        f" made AS (INSERT INTO {cust_t} ({cols}) SELECT {casts} WHERE NOT EXISTS (SELECT 1 FROM found)"
        " ON CONFLICT DO NOTHING RETURNING id),"
        " cust AS (SELECT made.id AS customer_id, true AS created, NULL::bigint AS dup_id,"
        " NULL::varchar AS dup_number FROM made"
        " UNION ALL SELECT f.id, false, d.id, d.number FROM found f LEFT JOIN LATERAL"
        f" (SELECT a.id, a.number FROM {app_t} a WHERE a.customer_id = f.id AND a.address = %s"
        " AND a.status = ANY(%s) ORDER BY a.accepted_at LIMIT 1) d ON true)"
    )
    user_t = qn(User._meta.db_table)
    areas_t = qn(User.areas.through._meta.db_table)
    load_t = qn(ManagerLoad._meta.db_table)
    user_cols = _reader(User, "u")[0]
    # The candidates: active customer managers serving the area, placed in the application's unit
    # or a unit above it (%s: the unit's ancestors, nearest first); only those of the nearest unit
    # that has any (services.pick_manager: issue 19). Among them the least loaded, then the lowest
    # username, as pick_manager (the sum of the manager's ManagerLoad shards), except that one
    # being given an application by a concurrent intake right now (its transaction-scoped advisory
    # lock is held) is passed over for the next: otherwise every concurrent intake would read the
    # same counts and pick the same manager. When every candidate is busy, the first one anyway
    # (each transaction adds to its own shard of the count: no wait for the others' commit).
    # OFFSET 0 and the CTE keep the lock function from being applied before the ORDER BY; the
    # pick (with the application's key) is one materialised row, evaluated once.
    manager_part = (
        "cand AS MATERIALIZED (SELECT u.id, COALESCE((SELECT sum(ml.open_count) FROM"  # noqa: S608
        f" {load_t} ml WHERE ml.user_id = u.id), 0) AS n, u.username,"
        " array_position(%s::bigint[], u.unit_id::bigint) AS near"
        f" FROM {user_t} u"
        f" WHERE (u.serves_all_areas OR u.id IN (SELECT user_id FROM {areas_t} WHERE servicearea_id = %s))"
        " AND u.role = %s AND u.is_active AND u.accepts_assignments AND u.unit_id = ANY(%s::bigint[])),"
        " nearest AS MATERIALIZED (SELECT id FROM cand WHERE near = (SELECT min(near) FROM cand)"
        " ORDER BY n, username OFFSET 0),"
        f" pick AS MATERIALIZED (SELECT nextval(pg_get_serial_sequence('{Application._meta.db_table}', 'id'))"
        f" AS application_key, NOT EXISTS (SELECT 1 FROM {app_t} WHERE number = %s) AS number_free, {user_cols}"
        f" FROM (SELECT 1) one LEFT JOIN {user_t} u ON u.id = COALESCE("
        f"(SELECT id FROM nearest WHERE pg_try_advisory_xact_lock(({MANAGER_LOCK}::bigint << 32) + id) LIMIT 1),"
        " (SELECT id FROM nearest LIMIT 1)))"
    )
    sql = f"WITH {customer_part}, {manager_part} SELECT cust.*, pick.* FROM cust CROSS JOIN pick"  # noqa: S608
    return sql, _columns(fields), (names.index("id_type"), names.index("id_number_index"))


def intake_rows(
    customer: Model,
    address: str,
    open_statuses: Sequence[str],
    area_id: int | None,
    manager_role: str,
    unit_ids: Sequence[int],
    number: str,
) -> IntakeRows | None:
    """What an intake reads before it writes, as one statement in one round trip (with BEGIN):

    - the customer: inserted from ``customer`` (unsaved) unless one with its identity exists
      (``INSERT … ON CONFLICT DO NOTHING``: an existing customer's stored contact is never
      rewritten), and then the customer's earliest open application at ``address`` (the
      duplicate check);
    - the key of the new application (``nextval``) and the least-loaded active customer manager
      serving ``area_id`` within the application's unit (``unit_ids``: it and the units above it,
      nearest first), as ``services.pick_manager``: the nearest unit that has one, then fewest
      open applications (the sum of its ``ManagerLoad`` rows), then username; a manager another
      intake is being given at this moment is passed over for the next one when there is one;
    - whether ``number`` (the new application's, drawn at random) is still free: a number taken
      would fail the change's statement at its unique index, roll the transaction back and make
      psycopg prepare every statement of the connection again (``number_is_free``).

    None when a concurrent first intake of the same customer has not committed yet (the caller
    retries). PostgreSQL only (``combined()``)."""
    from sunshine.accounts.models import User

    sql, columns, (i_type, i_index) = _intake_sql()
    values = _insert_params([customer], columns)
    units_ = list(unit_ids)
    params = [values[i_type], values[i_index], *values, address, list(open_statuses)]
    params += [units_, area_id, manager_role, units_, number]
    with _round(_db_connection()) as rnd:  # BEGIN and the statement, then one Sync: the answer is read after it
        rnd.cursor.execute(sql, params)
        (rows,) = rnd.run()
    if not rows:
        return None
    row = rows[0]
    customer_pk, created, dup_pk, dup_number, key, free = row[:6]
    manager = _build(User, "u", row[6:]) if row[6] is not None else None
    return IntakeRows(customer_pk, created, (dup_pk, dup_number) if dup_pk else None, key, manager, free)


def number_is_free(number: str) -> bool:
    """Whether no application has ``number`` (inside the intake's transaction; the unique index
    still decides a race with a concurrent intake)."""
    from sunshine.applications.models import Application

    table = connection.ops.quote_name(Application._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT NOT EXISTS (SELECT 1 FROM {table} WHERE number = %s)", [number])  # noqa: S608
        return bool(cursor.fetchone()[0])
