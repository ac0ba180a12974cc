-- Every department's live employees (soft-deleted rows left out), tagged with the department.
-- email arrives hashed and ssn is blocked by the connection's schema config.
{% for department in var('departments') %}
select
    '{{ department }}' as department,
    id as employee_id,
    first_name,
    last_name,
    email as email_hash,
    hire_date,
    salary,
    is_active,
    title
from {{ source(department, 'employees') }}
where not _fivetran_deleted
{% if not loop.last %}union all{% endif %}
{% endfor %}
