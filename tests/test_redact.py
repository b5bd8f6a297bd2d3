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
        ("ssh://git@github.com/acme/a.git", "ssh://git@github.com/acme/a.git"),
        # Every form libpq accepts a password in.
        ("postgresql://app:hunter2@db/x", "postgresql://app:***@db/x"),
        ("postgresql://app:hun@ter2@db/x", "postgresql://app:***@db/x"),
        ("postgresql://app:hun%40ter2@db/x", "postgresql://app:***@db/x"),
        ("cannot connect to postgres://app:a@b@c@db:5432: refused", "cannot connect to postgres://app:***@db:5432: refused"),
        ("postgresql://db/x?password=hunter2", "postgresql://db/x?password=***"),
        ("postgresql://db/x?user=app&password=hunter2&sslmode=require",
         "postgresql://db/x?user=app&password=***&sslmode=require"),
        ("postgresql://db/x?PASSWORD=hunter2#frag", "postgresql://db/x?PASSWORD=***#frag"),
        ("postgresql://db/x?sslpassword=hunter2", "postgresql://db/x?sslpassword=***"),
        ("host=db password=hunter2 user=app", "host=db password=*** user=app"),
        ("host=db password = hunter2 user=app", "host=db password = *** user=app"),
        ("host=db password='hun ter2' user=app", "host=db password=*** user=app"),
        ("host=db password='hun\\' ter2' user=app", "host=db password=*** user=app"),
        ("host=db password=hun\\ ter2 user=app", "host=db password=*** user=app"),
        ("host=db password='hunter2 never closed", "host=db password=***"),
        ("not 'host=db sslpassword=hunter2'", "not 'host=db sslpassword=***"),
        ("PGPASSWORD=hunter2 psql", "PGPASSWORD=*** psql"),
        ('password authentication failed for user "app"', 'password authentication failed for user "app"'),
        ("the password column", "the password column"),
    ],
)
def test_redact(text, expected):
    assert redact(text) == expected
    assert "secret" not in redact(text) and "hunter2" not in redact(text)
    assert "hun" not in redact(text) and "ter2" not in redact(text)


def test_redact_data_walks_nested_structures():
    data = {"children": [{"url": "https://a:b@h/r", "n": 1}], "e": ("https://t@h",)}
    assert redact_data(data) == {"children": [{"url": "https://a:***@h/r", "n": 1}], "e": ["https://***@h"]}


def test_redact_data_covers_every_password_form():
    data = {"target": "postgresql://db/x?password=hunter2", "error": ["host=db password='hun ter2'"],
            "n": {"url": "postgresql://app:hun@ter2@db/x"}}
    assert "hun" not in str(redact_data(data)) and "ter2" not in str(redact_data(data))
