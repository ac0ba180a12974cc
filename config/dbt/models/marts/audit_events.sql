-- Incremental: audit events appended by time (`at` is a reserved word, hence quoted); `loaded_by` shows which dbt run wrote a row,
-- so a full refresh (every row rewritten) is visible.
{{ config(materialized='incremental') }}
{% for department in var('departments') %}
select
    '{{ department }}' as department,
    "at" as event_at,
    actor,
    action,
    '{{ invocation_id }}' as loaded_by
from {{ source(department, 'audit_log') }}
where not _fivetran_deleted
{% if is_incremental() %}
  and "at" > (select coalesce(max(event_at), timestamp '1970-01-01') from {{ this }})
{% endif %}
{% if not loop.last %}union all{% endif %}
{% endfor %}
