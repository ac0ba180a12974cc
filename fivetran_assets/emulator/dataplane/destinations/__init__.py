"""Destination connectors of the local Fivetran: they test and write warehouses."""
