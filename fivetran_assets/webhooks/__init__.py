"""Fivetran webhooks: signature check, receiver app and the durable event log."""
