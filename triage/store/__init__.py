"""The case store. Importing it registers every table (models and the console's), so
that the metadata Alembic compares is always whole."""

from . import console_models as _console_models  # noqa: F401 - registers the console's tables
