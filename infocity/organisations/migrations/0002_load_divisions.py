"""Load the shipped GB/T 2260 division list (data/divisions.csv) so every database has it."""

from django.db import migrations


def load(apps, schema_editor):
    from infocity.organisations.divisions import sync_divisions

    sync_divisions(apps.get_model("organisations", "Division"))


class Migration(migrations.Migration):
    dependencies = [("organisations", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
