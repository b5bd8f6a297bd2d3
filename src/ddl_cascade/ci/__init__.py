"""CI files that run ddl-cascade: `ddl-cascade ci init github [--child]` and `ci init gitlab` (docs/ci.md).

- `pins.py`: the one table of third-party actions, each pinned to a full commit id with its version.
- `render.py`: the workflow files, from the templates in `templates/` and the parent's cascade.toml.
- `files.py`: writing them: a changed file is never overwritten without `--force`; `--dry-run` only prints.
- `summary.py`: the drift workflow's job summary, from `status --json`.

This package reads the config and nothing of the cascade engine: a workflow is text made from settings.
"""
