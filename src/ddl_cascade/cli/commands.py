"""Imports every command module so each registers itself on the app."""

from ddl_cascade.cli import publish  # noqa: F401
from ddl_cascade.cli import validate  # noqa: F401
from ddl_cascade.cli import sync  # noqa: F401
from ddl_cascade.cli import db  # noqa: F401
from ddl_cascade.cli import drift  # noqa: F401
from ddl_cascade.cli import demo  # noqa: F401
from ddl_cascade.cli import schema  # noqa: F401
from ddl_cascade.cli import guard  # noqa: F401
from ddl_cascade.cli import doctor  # noqa: F401
from ddl_cascade.cli import ci  # noqa: F401
from ddl_cascade.cli import promote  # noqa: F401
from ddl_cascade.cli import report  # noqa: F401
