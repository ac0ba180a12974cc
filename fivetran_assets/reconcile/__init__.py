"""Reconcile the live Fivetran estate with the config: read, diff to a Plan, apply (no Dagster)."""
