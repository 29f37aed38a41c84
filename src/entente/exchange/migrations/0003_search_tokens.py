"""Search tokens become 32-bit integers: ``SearchEntry.grams`` (text) -> ``SearchEntry.tokens``.

PostgreSQL: an ``integer[]`` with a plain GIN index (``@>``): 4 bytes a token instead of 9, no
parsing of text into a tsvector on every recheck, and ``pg_stats`` keeps the most common tokens
and their frequencies (statistics target 1000), which ``exchange.search`` reads to choose how to
run a query. Storage is EXTERNAL: hashes do not compress, so trying to would only cost time.

SQLite: the same hex words as before, the column renamed (SQLite rewrites the FTS5 triggers of
migration 0002 to the new name; the FTS5 table's own column keeps the name ``grams``).
"""

from django.db import migrations

from entente.exchange.search_models import TokenSet

SQLITE_FORWARD = ["ALTER TABLE exchange_searchentry RENAME COLUMN grams TO tokens"]
SQLITE_BACKWARD = ["ALTER TABLE exchange_searchentry RENAME COLUMN tokens TO grams"]
PG_FORWARD = [
    "DROP INDEX IF EXISTS exchange_searchentry_grams_gin",
    "ALTER TABLE exchange_searchentry ADD COLUMN tokens integer[]",
    "ALTER TABLE exchange_searchentry ALTER COLUMN tokens SET STORAGE EXTERNAL",
    # Each 8-hex-digit word read as the signed 32 bits it spells.
    "UPDATE exchange_searchentry SET tokens = ARRAY(SELECT ('x' || word)::bit(32)::integer "
    "FROM unnest(string_to_array(grams, ' ')) AS word ORDER BY 1)",
    "ALTER TABLE exchange_searchentry ALTER COLUMN tokens SET NOT NULL",
    "ALTER TABLE exchange_searchentry DROP COLUMN grams",
    "CREATE INDEX exchange_searchentry_tokens_gin ON exchange_searchentry USING gin (tokens)",
    # ANALYZE keeps up to 10 x this many most common tokens: with the default (100) only tokens
    # in more than ~5% of entries are known, and a word in 1% would be taken for a rare one.
    "ALTER TABLE exchange_searchentry ALTER COLUMN tokens SET STATISTICS 1000",
]
PG_BACKWARD = [
    "DROP INDEX IF EXISTS exchange_searchentry_tokens_gin",
    "ALTER TABLE exchange_searchentry ADD COLUMN grams text NOT NULL DEFAULT ''",
    "UPDATE exchange_searchentry SET grams = array_to_string(ARRAY(SELECT lpad(to_hex(token), 8, "
    "'0') FROM unnest(tokens) AS token ORDER BY 1), ' ')",
    "ALTER TABLE exchange_searchentry ALTER COLUMN grams DROP DEFAULT",
    "ALTER TABLE exchange_searchentry DROP COLUMN tokens",
    "CREATE INDEX exchange_searchentry_grams_gin ON exchange_searchentry "
    "USING gin (array_to_tsvector(string_to_array(grams, ' ')))",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)
    return run


class Migration(migrations.Migration):

    dependencies = [
        ('exchange', '0002_search'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(model_name='searchentry', name='grams'),
                migrations.AddField(
                    model_name='searchentry', name='tokens',
                    field=TokenSet(editable=False, verbose_name='blind index tokens'),
                    preserve_default=False),
            ],
            database_operations=[
                migrations.RunPython(
                    _run({"sqlite": SQLITE_FORWARD, "postgresql": PG_FORWARD}),
                    _run({"sqlite": SQLITE_BACKWARD, "postgresql": PG_BACKWARD})),
            ],
        ),
    ]
