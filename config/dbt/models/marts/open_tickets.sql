-- Tickets not closed yet, across departments.
{% for department in var('departments') %}
select
    '{{ department }}' as department,
    id as ticket_id,
    title,
    priority,
    status,
    opened_at
from {{ source(department, 'tickets') }}
where not _fivetran_deleted and status <> 'closed'
{% if not loop.last %}union all{% endif %}
{% endfor %}
