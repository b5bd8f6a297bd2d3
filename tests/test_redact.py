"""Credentials never reach output: tokens in URLs are redacted everywhere."""

import pytest

from ddl_cascade.redact import redact, redact_data


@pytest.mark.parametrize(
    "text, expected",
    [
        ("https://x-access-token:ghp_secret@github.com/acme/a.git",
         "https://x-access-token:***@github.com/acme/a.git"),
        ("fatal: unable to access 'https://user:p%40ss@host/r.git/': 403",
         "fatal: unable to access 'https://user:***@host/r.git/': 403"),
        ("https://ghp_token@github.com/acme/a.git", "https://***@github.com/acme/a.git"),
        ("postgresql://app:hunter2@db:5432/x", "postgresql://app:***@db:5432/x"),
        ("git@github.com:acme/flyway-1-pipeline.git", "git@github.com:acme/flyway-1-pipeline.git"),
        ("/srv/git/child.git", "/srv/git/child.git"),
    ],
)
def test_redact(text, expected):
    assert redact(text) == expected
    assert "secret" not in redact(text) and "hunter2" not in redact(text)


def test_redact_data_walks_nested_structures():
    data = {"children": [{"url": "https://a:b@h/r", "n": 1}], "e": ("https://t@h",)}
    assert redact_data(data) == {"children": [{"url": "https://a:***@h/r", "n": 1}], "e": ["https://***@h"]}
