-- Every department's live expenses, tagged with the department.
{% for department in var('departments') %}
select
    '{{ department }}' as department,
    id as expense_id,
    employee_id,
    category,
    amount,
    spent_on,
    approved
from {{ source(department, 'expenses') }}
where not _fivetran_deleted
{% if not loop.last %}union all{% endif %}
{% endfor %}
