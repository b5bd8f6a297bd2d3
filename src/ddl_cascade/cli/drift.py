"""`ddl-cascade db drift --env ENV`: what changed in an environment's schema outside its migrations (db/drift.py).

Exit codes: 0 no drift; 1 drift (a change, or a problem that leaves the expected schema uncertain), or a recorded
migration fails when replayed; 2 bad input (unknown environment, unreachable database, no history table) as one
sentence, password redacted.
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from ddl_cascade.cli.common import ConfigOpt, JsonOpt, emit_json, load_config
from ddl_cascade.cli.db import ChildOpt, db_app


@db_app.command()
def drift(
    env: Annotated[str, typer.Option("--env", help="The environment to check (a table "
                                     "environments.NAME of cascade.toml).")],
    child: ChildOpt = None,
    config: ConfigOpt = None,
    json: JsonOpt = False,
) -> None:
    """List what changed in ENV's schema outside its migrations: its live schema against the schema the migrations
    its history records build on a throwaway server. Read-only on ENV."""
    from ddl_cascade.db import drift as drifts
    from ddl_cascade.db import migrations as migration_sets
    from ddl_cascade.db import target as targets
    from ddl_cascade.db.results import DriftReport

    cfg = load_config(config)
    tgt = targets.from_options(cfg, None, env)
    migration_set = migration_sets.for_target(cfg, child, env)
    with targets.database_errors(None):
        found = drifts.drift(migration_set, tgt)
    report = DriftReport(tgt.environment, tgt.display, found.replayed, found.live_version, found.expected_version,
                         found.changes, found.problems, found.ok)
    if json:
        emit_json(report)
    else:
        from ddl_cascade.render.drift import drift_lines
        from ddl_cascade.render.terminal import write

        if migration_set.delivered is not None:
            typer.echo(migration_set.delivered.describe())
        write(drift_lines(report))
    if not report.ok:
        raise typer.Exit(1)
