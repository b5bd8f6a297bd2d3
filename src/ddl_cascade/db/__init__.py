"""Databases: a throwaway PostgreSQL server, Flyway's schema history table, the migration engine and Flyway's info.

- `server`: find PostgreSQL's server binaries and run a private, disposable server (`db verify`, the tests);
- `target`: turn `--url` / `--env` into a connection, with `${VAR}` expansion and credentials never shown;
- `history`: `flyway_schema_history` exactly as Flyway creates, fills and reads it, and Flyway's advisory lock;
- `migrations`: the migrations and callbacks one Flyway run sees (a `MigrationSet`) (shared files, optionally a child's own);
- `info`: Flyway's info states and validation, from resolved migrations and applied history rows;
- `engine`: apply pending migrations as Flyway's migrate does (transactions, callbacks, placeholders, COPY).
"""
