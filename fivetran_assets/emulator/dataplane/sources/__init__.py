"""Source connectors of the local Fivetran: they describe, test and read source databases."""
