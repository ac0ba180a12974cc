-- Approved spend per department and category.
select
    department,
    category,
    count(*) as expenses,
    sum(amount) as total_amount
from {{ ref('stg_expenses') }}
where approved
group by department, category
