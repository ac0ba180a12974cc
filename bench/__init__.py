"""Benchmarks of fivetran-assets beside their peers and floors; `python -m bench` runs them all.

Each benchmark is a module here, runnable alone as `python -m bench.<name> --size tiny|full
[--json PATH]`, that measures ours and its baseline in one process run and reports
`bench.harness.Figure` records. `bench.registry` lists them; `bench.report` writes the results.
"""
