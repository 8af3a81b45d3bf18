"""Migrations: from nothing to head and back, in agreement with the models."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from triage.errors import StoreError
from triage.store.database import SCHEMA_VERSION, current_revision, make_engine, open_store
from triage.store.models import Base
from triage.store.schema import MIGRATIONS, downgrade, head_revision, upgrade

TABLES = {"mailboxes", "messages", "decisions", "cases", "replies", "events", "counters"}


def test_an_empty_database_upgrades_to_head_and_downgrades_to_nothing(database_url):
    engine = make_engine(database_url)
    try:
        assert current_revision(engine) is None
        upgrade(engine)
        assert current_revision(engine) == head_revision()
        assert TABLES <= set(inspect(engine).get_table_names())
        downgrade(engine, "base")
        assert current_revision(engine) is None
        assert not TABLES & set(inspect(engine).get_table_names())
        upgrade(engine)
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_the_version_the_code_needs_is_the_newest_migration():
    """database.SCHEMA_VERSION is written by hand (so that opening a store needs no
    Alembic): a new migration must move it too."""
    assert SCHEMA_VERSION == head_revision()


def test_the_version_is_read_as_alembic_reads_it_at_every_revision(database_url):
    engine = make_engine(database_url)
    try:
        script = ScriptDirectory(str(MIGRATIONS))
        revisions = [r.revision for r in reversed(list(script.walk_revisions()))]
        assert len(revisions) >= 6
        for revision in revisions:
            upgrade(engine, revision)
            with engine.connect() as connection:
                assert current_revision(engine) == MigrationContext.configure(connection).get_current_revision()
            assert current_revision(engine) == revision
    finally:
        engine.dispose()


def test_opening_a_current_store_imports_no_alembic(database_url):
    """Alembic costs an idle poll more than its IMAP work: needed only to create a schema."""
    import subprocess
    import sys
    from pathlib import Path

    open_store(database_url).dispose()  # created here: the process below finds it current
    code = ("import sys; from triage.store.database import open_store; import triage.cli; "
            "open_store(sys.argv[1]).dispose(); print(sorted(m for m in sys.modules if m.startswith('alembic')))")
    done = subprocess.run([sys.executable, "-c", code, database_url], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_large_columns_are_compressed_with_lz4_on_postgresql(database_url):
    """pglz compressing the quoted history was a fifth of the server's CPU in a backlog.
    On SQLite (which compresses nothing) the migration passes without doing anything."""
    store = open_store(database_url)
    try:
        assert current_revision(store.engine) == "0007"
        if store.engine.dialect.name != "postgresql":
            downgrade(store.engine, "0006")
            assert current_revision(store.engine) == "0006"
            return
        with store.engine.connect() as connection:
            if not connection.execute(text("SELECT 'lz4' = ANY(enumvals) FROM pg_settings "
                                           "WHERE name = 'default_toast_compression'")).scalar():
                pytest.fail("this PostgreSQL has no lz4: the machines of this project's kind have it")
            methods = dict(connection.execute(text(
                "SELECT attrelid::regclass::text || '.' || attname, attcompression FROM pg_attribute "
                "WHERE attname IN ('new_text', 'quoted', 'findings') AND attrelid IN "
                "(to_regclass('messages'), to_regclass('decisions'))")).all())
            assert methods == {"messages.new_text": "l", "messages.quoted": "l", "decisions.findings": "l"}
        downgrade(store.engine, "0006")
        with store.engine.connect() as connection:
            assert set(connection.execute(text(
                "SELECT attcompression FROM pg_attribute WHERE attname = 'quoted' "
                "AND attrelid = to_regclass('messages')")).scalars()) == {""}
    finally:
        store.dispose()


def test_the_migrations_build_exactly_the_models(database_url):
    engine = make_engine(database_url)
    try:
        upgrade(engine)
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        assert differences == []
    finally:
        engine.dispose()


def test_opening_an_empty_database_creates_the_schema(database_url):
    store = open_store(database_url)
    try:
        assert current_revision(store.engine) == head_revision()
    finally:
        store.dispose()


def test_an_old_schema_is_refused_with_the_command_to_run(database_url):
    engine = make_engine(database_url)
    upgrade(engine)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0000'"))
    engine.dispose()
    with pytest.raises(StoreError, match="triage db upgrade"):
        open_store(database_url)


def test_an_unreachable_database_is_a_clear_error():
    with pytest.raises(StoreError, match="cannot open the database"):
        open_store("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")


def test_a_database_with_foreign_tables_is_not_touched(database_url):
    engine = make_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE payroll (id INTEGER PRIMARY KEY)"))
    engine.dispose()
    with pytest.raises(StoreError, match="tables that triage did not create"):
        open_store(database_url)


def test_two_processes_opening_a_new_database_at_once_both_succeed(database_url, tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    code = "import sys; from triage.store.database import open_store; open_store(sys.argv[1]).dispose()"
    runs = [subprocess.Popen([sys.executable, "-c", code, database_url], stderr=subprocess.PIPE, text=True,
                             cwd=Path(__file__).resolve().parents[2]) for _ in range(4)]
    errors = [run.communicate(timeout=120)[1] for run in runs]
    assert all(run.returncode == 0 for run in runs), errors
