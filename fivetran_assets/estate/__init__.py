"""The estate config model: load, validate and interpolate `config/` (no Dagster imports)."""
