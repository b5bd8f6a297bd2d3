"""The one typed error users can act on.

A `CascadeError` is bad input: a usage, config or repository error. The CLI prints it as one sentence on stderr and
exits 2. Anything else that escapes is a bug and keeps its traceback.
"""


class CascadeError(Exception):
    """Bad input the user can fix; the message is one sentence naming the file, key or child."""


class ConfigError(CascadeError):
    """cascade.toml is missing or wrong."""
