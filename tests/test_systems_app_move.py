"""Moving System and ApiToken into the systems app changed Django's bookkeeping only: the tables keep
their names and rows, and the migrations that made the move send nothing to the database."""

import pytest
from django.db import migrations
from django.db.migrations.loader import MigrationLoader

from opsview.systems.models import ApiToken, System

MOVE = [
    ("systems", "0001_system_and_apitoken_from_workspaces"),
    ("workspaces", "0006_system_and_apitoken_move_to_systems"),
    ("kpis", "0004_systems_from_the_systems_app"),
    ("pulls", "0002_systems_from_the_systems_app"),
    ("queues", "0007_systems_from_the_systems_app"),
    ("records", "0004_systems_from_the_systems_app"),
    ("replay", "0005_systems_from_the_systems_app"),
    ("telemetry", "0003_systems_from_the_systems_app"),
]


def test_systems_and_tokens_keep_their_tables():
    assert (System._meta.db_table, ApiToken._meta.db_table) == ("workspaces_system", "workspaces_apitoken")


@pytest.mark.parametrize("app, name", MOVE)
def test_the_move_changes_state_only(app, name):
    migration = MigrationLoader(None, ignore_no_migrations=True).get_migration(app, name)
    for operation in migration.operations:
        assert isinstance(operation, migrations.SeparateDatabaseAndState)
        assert operation.database_operations == []
