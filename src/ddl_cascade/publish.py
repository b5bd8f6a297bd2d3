"""Publish: split the source folder's history and move the delivery branch to it (issue 2; in progress)."""

from __future__ import annotations

from ddl_cascade.errors import CascadeError


def publish(config, push: bool = False, force: bool = False):
    raise CascadeError("publish is not implemented yet.")
