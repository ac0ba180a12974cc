"""The local Fivetran's data plane: real sources, real destinations, real syncs, real dbt."""
