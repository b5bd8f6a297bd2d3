"""The Flyway layer: what Flyway itself decides about migration files, reimplemented exactly.

- `migrations`: file names, versions, checksums, placeholders, `.sql.conf`, resolution and order;
- `transactions`: which statements run outside a transaction, and a script's transaction mode;
- `sqlscript`: the statement splitter (Flyway's and psql's rules for PostgreSQL scripts);
- `locations`: which folders of a tree or work tree a Flyway run reads.

`validate` and `db` both build on this layer; it knows nothing of the terminal or the database. The package
re-exports the public names of `migrations` and `transactions`, so `from ddl_cascade import flyway` then
`flyway.parse_name(...)` reads as the domain does.
"""

from ddl_cascade.flyway import migrations
from ddl_cascade.flyway.migrations import *  # noqa: F401,F403
from ddl_cascade.flyway.transactions import (  # noqa: F401
    TransactionMode,
    is_non_transactional_keywords,
    non_transactional_simplified,
    transaction_mode,
)

__all__ = [*migrations.__all__, "TransactionMode", "is_non_transactional_keywords", "non_transactional_simplified",
           "transaction_mode"]
