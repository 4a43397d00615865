"""Small queries every page asks, with their SQL built once per process.

Building a query through the ORM (filters, joins, the SQL compiler) costs several times what the
database then takes to answer a small indexed one, and pages ask the same few on every request:
the user's unread notifications, which surfaces have an active account, the studio form's key,
the gallery's page of rows. `sql` keeps each one's SQL and parameters by a `shape` the caller
names (everything the query depends on); `rows` runs it on a cursor, as values (no model
instances)."""

from django.core.exceptions import EmptyResultSet
from django.db import connection

_SQL = {}
LIMIT = 2000  # shapes kept per process (they include user ids); all are dropped past this


def sql(shape, queryset):
    """(sql, params) of `queryset()`, built once per `shape`; None when nothing can match."""
    if shape not in _SQL:
        if len(_SQL) >= LIMIT:
            _SQL.clear()
        try:
            _SQL[shape] = queryset().query.sql_with_params()
        except EmptyResultSet:  # .none(), or a filter nothing can match
            _SQL[shape] = None
    return _SQL[shape]


def rows(shape, queryset):
    """The rows of `queryset()` (a values or values_list query) as tuples, its SQL built once
    per `shape`. Values come as the database gives them, without the ORM's conversions: fit for
    comparing and counting, not for display."""
    built = sql(shape, queryset)
    if built is None:
        return []
    with connection.cursor() as cursor:
        cursor.execute(*built)
        return cursor.fetchall()
