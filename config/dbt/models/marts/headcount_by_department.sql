-- Active headcount and payroll cost per department.
select
    department,
    count(*) as headcount,
    sum(salary) as total_salary
from {{ ref('stg_employees') }}
where is_active
group by department
