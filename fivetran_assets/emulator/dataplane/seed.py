"""The demo estate's data: one SQLite database per department, deterministic for a seed.

Every department has the same tables in schema `main` (employees, payroll, expenses, tickets,
and audit_log without a primary key), with realistic types: dates, decimals, text, booleans.
"""

from __future__ import annotations

import random
import sqlite3
from datetime import date, datetime, timedelta
from pathlib import Path

DEPARTMENT_NAMES = (
    "sales",
    "marketing",
    "engineering",
    "finance",
    "support",
    "legal",
    "operations",
    "research",
)

SCHEMA = """
CREATE TABLE employees (id INTEGER PRIMARY KEY, first_name TEXT, last_name TEXT, email TEXT,
    ssn TEXT, hire_date DATE, salary NUMERIC(10,2), is_active BOOLEAN, title TEXT);
CREATE TABLE payroll (id INTEGER PRIMARY KEY, employee_id INTEGER, period_start DATE,
    gross NUMERIC(10,2), net NUMERIC(10,2));
CREATE TABLE expenses (id INTEGER PRIMARY KEY, employee_id INTEGER, category TEXT,
    amount NUMERIC(12,2), spent_on DATE, approved BOOLEAN, note TEXT);
CREATE TABLE tickets (id INTEGER PRIMARY KEY, opened_by INTEGER, title TEXT, priority TEXT,
    status TEXT, opened_at TIMESTAMP, closed_at TIMESTAMP);
CREATE TABLE audit_log (at TIMESTAMP, actor TEXT, action TEXT);
"""

FIRST = ("Ada", "Grace", "Alan", "Edsger", "Barbara", "Ken", "Margaret", "Linus", "Radia", "Tim")
LAST = ("Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Thompson", "Hamilton", "Perlman")
TITLES = ("Analyst", "Engineer", "Manager", "Director", "Associate", "Specialist")
CATEGORIES = ("travel", "meals", "software", "hardware", "training")
PRIORITIES = ("low", "medium", "high", "urgent")
STATUSES = ("open", "in_progress", "closed")
ACTIONS = ("login", "logout", "export", "update_record", "view_report")
EPOCH = date(2020, 1, 1)


def department_names(count: int) -> list[str]:
    """sales, marketing, engineering, ... then dept_09, dept_10, ..."""
    if count < 0:
        raise ValueError(f"--departments must be >= 0, got {count}")
    return [
        DEPARTMENT_NAMES[i] if i < len(DEPARTMENT_NAMES) else f"dept_{i + 1:02d}"
        for i in range(count)
    ]


def employee_row(rng: random.Random, employee_id: int, department: str) -> tuple:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    return (
        employee_id,
        first,
        last,
        f"{first.lower()}.{last.lower()}{employee_id}@{department}.example.com",
        f"{rng.randint(100, 899):03d}-{rng.randint(10, 99):02d}-{rng.randint(1000, 9999):04d}",
        (EPOCH + timedelta(days=rng.randint(0, 2000))).isoformat(),
        round(rng.uniform(40_000, 180_000), 2),
        rng.random() > 0.1,
        rng.choice(TITLES),
    )


def _timestamp(rng: random.Random) -> str:
    moment = datetime(2024, 1, 1) + timedelta(seconds=rng.randint(0, 365 * 86400))
    return moment.isoformat(sep=" ")


def create_department(path: Path, department: str, *, rows: int, seed: int) -> None:
    """Create (or replace) one department database with `rows` employees."""
    if rows < 0:
        raise ValueError(f"--rows must be >= 0, got {rows}")
    path.unlink(missing_ok=True)
    rng = random.Random(f"{seed}:{department}")
    conn = sqlite3.connect(path)
    try:
        conn.executescript(SCHEMA)
        conn.executemany(
            "INSERT INTO employees VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [employee_row(rng, i, department) for i in range(1, rows + 1)],
        )
        payroll = []
        for i in range(1, rows * 2 + 1):
            gross = round(rng.uniform(3_000, 15_000), 2)
            start = (EPOCH + timedelta(days=14 * rng.randint(0, 150))).isoformat()
            payroll.append((i, rng.randint(1, max(rows, 1)), start, gross, round(gross * 0.7, 2)))
        conn.executemany("INSERT INTO payroll VALUES (?, ?, ?, ?, ?)", payroll)
        conn.executemany(
            "INSERT INTO expenses VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    i,
                    rng.randint(1, max(rows, 1)),
                    rng.choice(CATEGORIES),
                    round(rng.uniform(5, 5_000), 2),
                    (EPOCH + timedelta(days=rng.randint(0, 1800))).isoformat(),
                    rng.random() > 0.2,
                    None if rng.random() > 0.5 else f"receipt {rng.randint(1, 99999)}",
                )
                for i in range(1, rows * 3 + 1)
            ],
        )
        tickets = []
        for i in range(1, rows + 1):
            status = rng.choice(STATUSES)
            opened = _timestamp(rng)
            closed = _timestamp(rng) if status == "closed" else None
            title = f"Ticket {i}: {rng.choice(ACTIONS).replace('_', ' ')}"
            tickets.append(
                (
                    i,
                    rng.randint(1, max(rows, 1)),
                    title,
                    rng.choice(PRIORITIES),
                    status,
                    opened,
                    closed,
                )
            )
        conn.executemany("INSERT INTO tickets VALUES (?, ?, ?, ?, ?, ?, ?)", tickets)
        conn.executemany(
            "INSERT INTO audit_log VALUES (?, ?, ?)",
            [
                (_timestamp(rng), f"user{rng.randint(1, 50)}", rng.choice(ACTIONS))
                for _ in range(rows * 2)
            ],
        )
        conn.commit()
    finally:
        conn.close()


def seed_demo(
    directory: Path, *, departments: int = 4, rows: int = 1000, seed: int = 42
) -> list[Path]:
    """Create `<directory>/<department>.sqlite` for each department; returns the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in department_names(departments):
        path = directory / f"{name}.sqlite"
        create_department(path, name, rows=rows, seed=seed)
        paths.append(path)
    return paths
