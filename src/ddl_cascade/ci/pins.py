"""Every third-party action the generated workflows and `action.yml` use, pinned to a full commit id.

A tag can be moved by whoever controls the action's repository; a 40-hex commit id cannot, so a workflow that runs
with the children's write token never runs code nobody reviewed. The version each id was read from stays beside it,
as a comment in the written file (`# v7.0.1`), for people and for Dependabot/Renovate, which update both together.
Ids were read from each action's own repository (`git rev-parse vX.Y.Z^{commit}`); tests/test_ci_init.py checks the
shape of every entry. To update one, change its line here and regenerate the workflows with `--force`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Pin:
    action: str  # owner/name[/path]
    commit: str  # 40 hex digits
    version: str  # the tag the commit was read from

    def uses(self) -> str:
        """The `uses:` value, with the version as a trailing YAML comment."""
        return f"{self.action}@{self.commit} # {self.version}"


PINS: dict[str, Pin] = {
    "checkout": Pin("actions/checkout", "3d3c42e5aac5ba805825da76410c181273ba90b1", "v7.0.1"),
    "setup-python": Pin("actions/setup-python", "5fda3b95a4ea91299a34e894583c3862153e4b97", "v7.0.0"),
    "create-github-app-token": Pin("actions/create-github-app-token", "1b10c78c7865c340bc4f6099eb2f838309f1e8c3",
                                   "v3.1.1"),
    "cache": Pin("actions/cache", "27d5ce7f107fe9357f9df03efb73ab90386fccae", "v5.0.5"),
    "upload-artifact": Pin("actions/upload-artifact", "bbbca2ddaa5d8feaa63e36b76fdaad77386f024f", "v7.0.0"),
    "download-artifact": Pin("actions/download-artifact", "3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c", "v8.0.1"),
    "upload-sarif": Pin("github/codeql-action/upload-sarif", "8aad20d150bbac5944a9f9d289da16a4b0d87c1e", "v4.36.2"),
}
