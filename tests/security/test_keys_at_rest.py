"""Ingest keys and API tokens exist in plaintext only in the answer that
creates them: the database holds digests, the logs hold neither.

Keys and tokens are made every way toc offers (the pages, the API, the
management commands) and then used, with every logger at DEBUG and each SQL
statement logged with its parameters; then every row of every table (and a
pg_dump of the database, sessions decoded) and the captured logs are searched.
"""

from __future__ import annotations

import json
import logging
import re
import subprocess
from collections.abc import Iterator
from io import StringIO
from unittest import mock

import pytest
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.db import connection
from django.test import Client
from knox.crypto import hash_token

from toc.accounts.models import ApiToken
from toc.demo.loader import demo_load
from toc.systems.models import IngestKey

pytestmark = pytest.mark.django_db(transaction=True)

NEW_SECRET = re.compile(r'id="new-secret">([^<]+)<')
LOGGERS = ("", "django", "django.request", "django.db.backends", "django.security")


@pytest.fixture
def captured_logs() -> Iterator[StringIO]:
    """Everything logged, at DEBUG, SQL statements and their parameters included."""
    stream = StringIO()
    handler = logging.StreamHandler(stream)
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(
        logging.Formatter("%(name)s %(levelname)s %(message)s %(args)s")
    )
    loggers = [logging.getLogger(name) for name in LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
    logging.getLogger().addHandler(handler)
    # Django logs each query (with its parameters) only when this is on.
    debug_cursor = connection.force_debug_cursor
    connection.force_debug_cursor = True
    try:
        yield stream
    finally:
        connection.force_debug_cursor = debug_cursor
        logging.getLogger().removeHandler(handler)
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _secret_on_page(response) -> str:
    assert response.status_code == 200
    # Shown once: a page holding a secret must not be kept by a cache.
    assert "no-store" in response.headers.get("Cache-Control", "")
    return NEW_SECRET.search(response.text).group(1)


def _create_everything(client: Client) -> tuple[list[str], list[str]]:
    # The pages redirect to the page that shows the secret.
    page = client.post("/systems/nad/keys/", {"name": "via page"}, follow=True)
    keys = [_secret_on_page(page)]
    page = client.post("/account/tokens/", {"name": "via page"}, follow=True)
    tokens = [_secret_on_page(page)]
    out = StringIO()
    call_command("create_ingest_key", "nad", "--name", "via command", stdout=out)
    keys.append(out.getvalue().strip())
    out = StringIO()
    call_command("create_api_token", "demo", "--name", "via command", stdout=out)
    tokens.append(out.getvalue().strip())
    created = Client().post(
        "/api/v1/systems/nad/ingest-keys/",
        json.dumps({"name": "via api"}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {tokens[0]}"},
    )
    assert created.status_code == 201, created.content
    assert "no-store" in created.headers.get("Cache-Control", "")
    keys.append(created.json()["key"])
    return keys, tokens


def _use(keys: list[str], tokens: list[str]) -> None:
    api = Client()
    for key in keys:
        answer = api.post(
            "/api/v1/systems/nad/samples/",
            json.dumps({"samples": []}),
            content_type="application/json",
            headers={"Authorization": f"Bearer {key}"},
        )
        # Authenticated (an empty batch is the body's fault, not the key's).
        assert answer.status_code not in (401, 403), answer.content
        # A wrong key sharing the real one's first characters finds its row by
        # them, and must still be refused.
        wrong = key[:-4] + ("aaaa" if not key.endswith("aaaa") else "bbbb")
        refused = api.post(
            "/api/v1/systems/nad/samples/",
            "{}",
            content_type="application/json",
            headers={"Authorization": f"Bearer {wrong}"},
        )
        assert refused.status_code == 401
    for token in tokens:
        answer = api.get(
            "/api/v1/systems/", headers={"Authorization": f"Bearer {token}"}
        )
        assert answer.status_code == 200, answer.content


def _every_row_as_text() -> tuple[list[str], int, int]:
    rows, columns = [], 0
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            columns += len(
                connection.introspection.get_table_description(cursor, table)
            )
            quoted = connection.ops.quote_name(table)
            cursor.execute(f"SELECT t::text FROM {quoted} AS t")
            rows += [row[0] for row in cursor.fetchall()]
    # Session data is signed and encoded: a secret kept in one would not show
    # as plain text in the row.
    rows += [json.dumps(s.get_decoded()) for s in Session.objects.all()]
    return rows, len(rows), columns


def _pg_dump() -> str:
    settings = connection.settings_dict
    result = subprocess.run(
        [
            "pg_dump",
            "--data-only",
            "--host",
            settings["HOST"] or "127.0.0.1",
            "--port",
            str(settings["PORT"] or 5432),
            "--username",
            settings["USER"] or "postgres",
            settings["NAME"],
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PGPASSWORD": settings["PASSWORD"] or "", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_no_plaintext_key_or_token_in_the_database_or_the_logs(
    captured_logs,
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("The dump is PostgreSQL's (pg_dump); CI runs on PostgreSQL.")
    system = demo_load(history=False)
    client = Client()
    client.force_login(system.team.memberships.get().user)

    keys, tokens = _create_everything(client)
    assert len(set(keys)) == 3 and all(k.startswith("tocik_") for k in keys)
    assert len(set(tokens)) == 2 and all(t.startswith("tocpat_") for t in tokens)
    with mock.patch(
        "toc.accounts.models.compare_digest", wraps=__import__("hmac").compare_digest
    ) as compare:
        _use(keys, tokens)
    # Constant-time comparison of digests, for both kinds of secret.
    assert compare.call_count >= len(keys) + len(tokens)

    # Stored as digests, findable only by their first characters.
    for key in keys:
        assert IngestKey.objects.filter(digest=hash_token(key)).count() == 1
    for token in tokens:
        assert ApiToken.objects.filter(digest=hash_token(token)).count() == 1

    rows, row_count, column_count = _every_row_as_text()
    dump = _pg_dump()
    logs = captured_logs.getvalue()
    assert "SELECT" in logs  # the SQL really was captured, parameters included
    for secret in keys + tokens:
        assert not [row for row in rows if secret in row], "a secret in a row"
        assert secret not in dump, "a secret in the dump"
        assert secret not in logs, "a secret in the logs"
        # Nor most of it: only the short lookup prefix may be stored or queried.
        assert secret[16:] not in dump and secret[16:] not in logs
    print(
        f"\nscanned {row_count} rows over {column_count} columns, a {len(dump)}-byte "
        f"dump and {len(logs.splitlines())} log lines for {len(keys)} keys and "
        f"{len(tokens)} tokens"
    )
