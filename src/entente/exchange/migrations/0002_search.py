"""The blind search index: ``SearchEntry`` and, per database, what looks tokens up.

SQLite: an FTS5 table ``exchange_search_fts(document_id UNINDEXED, grams)`` kept in step with
``exchange_searchentry`` by triggers. A row is found again by its document id through the FTS
index itself (``document_id`` is also indexed as a token), not by rowid: the rowid of a table
without an INTEGER PRIMARY KEY may change on VACUUM.

PostgreSQL: a GIN index over ``array_to_tsvector(string_to_array(grams, ' '))``: the hex tokens
taken verbatim as lexemes (``to_tsvector``'s parser would split "1e5a0b2c" into a number and a
word). ``search.matching`` queries the very same expression.
"""

import django.db.models.deletion
from django.db import migrations, models

SQLITE_FORWARD = [
    "CREATE VIRTUAL TABLE exchange_search_fts USING fts5(document_id, grams, "
    "tokenize = 'unicode61', detail = 'column')",
    "CREATE TRIGGER exchange_searchentry_fts_ai AFTER INSERT ON exchange_searchentry BEGIN "
    "INSERT INTO exchange_search_fts (document_id, grams) VALUES (new.document_id, new.grams); END",
    "CREATE TRIGGER exchange_searchentry_fts_ad AFTER DELETE ON exchange_searchentry BEGIN "
    "DELETE FROM exchange_search_fts WHERE rowid IN (SELECT rowid FROM exchange_search_fts "
    "WHERE exchange_search_fts MATCH 'document_id : \"' || old.document_id || '\"'); END",
    "CREATE TRIGGER exchange_searchentry_fts_au AFTER UPDATE ON exchange_searchentry BEGIN "
    "DELETE FROM exchange_search_fts WHERE rowid IN (SELECT rowid FROM exchange_search_fts "
    "WHERE exchange_search_fts MATCH 'document_id : \"' || old.document_id || '\"'); "
    "INSERT INTO exchange_search_fts (document_id, grams) VALUES (new.document_id, new.grams); END",
    # Entries written before this migration (none, on a fresh install).
    "INSERT INTO exchange_search_fts (document_id, grams) "
    "SELECT document_id, grams FROM exchange_searchentry",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS exchange_searchentry_fts_au",
    "DROP TRIGGER IF EXISTS exchange_searchentry_fts_ad",
    "DROP TRIGGER IF EXISTS exchange_searchentry_fts_ai",
    "DROP TABLE IF EXISTS exchange_search_fts",
]
PG_FORWARD = [
    "CREATE INDEX exchange_searchentry_grams_gin ON exchange_searchentry "
    "USING gin (array_to_tsvector(string_to_array(grams, ' ')))",
]
PG_BACKWARD = ["DROP INDEX IF EXISTS exchange_searchentry_grams_gin"]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)
    return run


class Migration(migrations.Migration):

    dependencies = [
        ('exchange', '0001_initial'),
    ]

    operations = [
        migrations.CreateModel(
            name='SearchEntry',
            fields=[
                ('document', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='search_entry', serialize=False, to='exchange.document')),
                ('grams', models.TextField(editable=False, verbose_name='blind index tokens')),
            ],
            options={
                'verbose_name': 'search index entry',
            },
        ),
        migrations.RunPython(_run({"sqlite": SQLITE_FORWARD, "postgresql": PG_FORWARD}),
                             _run({"sqlite": SQLITE_BACKWARD, "postgresql": PG_BACKWARD})),
    ]
