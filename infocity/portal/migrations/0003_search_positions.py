"""PostgreSQL: index the stored words with their positions (``to_tsvector('simple', body)``: the words are already
space-separated, so the parser keeps them as they are, in any server locale) so ts_rank can rank by how often and
where the words occur; ``array_to_tsvector`` of migration 0002 had no positions and ranked every match alike."""

from django.db import migrations

FORWARD = [
    "DROP INDEX IF EXISTS portal_search_body_gin",
    "CREATE INDEX portal_search_body_gin ON portal_searchdocument USING gin (to_tsvector('simple'::regconfig, body))",
]
BACKWARD = [
    "DROP INDEX IF EXISTS portal_search_body_gin",
    "CREATE INDEX portal_search_body_gin ON portal_searchdocument "
    "USING gin (array_to_tsvector(string_to_array(body, ' ')))",
]


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        for statement in FORWARD:
            schema_editor.execute(statement)


def backwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        for statement in BACKWARD:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("portal", "0002_search_index")]
    operations = [migrations.RunPython(forwards, backwards)]
