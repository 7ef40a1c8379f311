"""The full-text index over SearchDocument.body (already segmented into words by jieba):

- SQLite: an FTS5 table with external content, kept in step by triggers; ranked with bm25().
- PostgreSQL: a GIN index on the tsvector built verbatim from the words (array_to_tsvector, so no text-search
  configuration or locale decides how Chinese is split); ranked with ts_rank.
"""

from django.db import migrations

SQLITE = [
    "CREATE VIRTUAL TABLE portal_search_fts USING fts5("
    "body, content='portal_searchdocument', content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER portal_search_ai AFTER INSERT ON portal_searchdocument BEGIN "
    "INSERT INTO portal_search_fts(rowid, body) VALUES (new.id, new.body); END",
    "CREATE TRIGGER portal_search_ad AFTER DELETE ON portal_searchdocument BEGIN "
    "INSERT INTO portal_search_fts(portal_search_fts, rowid, body) VALUES ('delete', old.id, old.body); END",
    "CREATE TRIGGER portal_search_au AFTER UPDATE ON portal_searchdocument BEGIN "
    "INSERT INTO portal_search_fts(portal_search_fts, rowid, body) VALUES ('delete', old.id, old.body); "
    "INSERT INTO portal_search_fts(rowid, body) VALUES (new.id, new.body); END",
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS portal_search_au",
    "DROP TRIGGER IF EXISTS portal_search_ad",
    "DROP TRIGGER IF EXISTS portal_search_ai",
    "DROP TABLE IF EXISTS portal_search_fts",
]
POSTGRESQL = [
    "CREATE INDEX portal_search_body_gin ON portal_searchdocument "
    "USING gin (array_to_tsvector(string_to_array(body, ' ')))",
]
POSTGRESQL_REVERSE = ["DROP INDEX IF EXISTS portal_search_body_gin"]


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    statements = {"sqlite": SQLITE, "postgresql": POSTGRESQL}.get(schema_editor.connection.vendor, [])
    for statement in statements:
        schema_editor.execute(statement)


def backwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    statements = {"sqlite": SQLITE_REVERSE, "postgresql": POSTGRESQL_REVERSE}.get(schema_editor.connection.vendor, [])
    for statement in statements:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("portal", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
