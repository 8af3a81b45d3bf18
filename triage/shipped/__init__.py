"""Data shipped inside the wheel: the default rules/ and templates/ (mapped in pyproject.toml)."""
