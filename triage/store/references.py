"""Case references: SPL-PES-07-2026-000123, per department and year (in Paris), never
reused, and without gaps as long as nothing is rolled back.

Why blocks: each number is an UPDATE of the department's counter, a round trip on
PostgreSQL for every new case. A batch's first try (which has no savepoint: anything
that fails rolls it back whole, counters included) takes the numbers its messages may
need in one UPDATE and, at its end, gives back what it did not use: it holds the
counter's row lock from its first UPDATE to its commit, so nobody took any since.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import bindparam, update
from sqlalchemy.orm import Session

from ..clock import paris_year
from .database import insert_if_absent
from .models import CounterRow, table

_BLOCKS = "triage.reference_blocks"  # session.info key: (department, year) → [next number, last taken]
_WANTED = "triage.reference_block_size"
_COUNTER = table(CounterRow).c
_THIS_COUNTER = (_COUNTER.department == bindparam("of_department")) & (_COUNTER.year == bindparam("of_year"))
_INCREMENT = update(table(CounterRow)).where(_THIS_COUNTER).values(last=_COUNTER.last + bindparam("by")) \
    .returning(_COUNTER.last)
# Gives back a block's unused end, unless a number was taken past the block meanwhile.
_GIVE_BACK = update(table(CounterRow)).where(_THIS_COUNTER, _COUNTER.last == bindparam("block_end")) \
    .values(last=bindparam("used"))


def next_reference(session: Session, department: str, now: datetime) -> str:
    """The next reference of the department's counter: from the batch's block if there is one."""
    year = paris_year(now)
    blocks: dict[tuple[str, int], list[int]] | None = session.info.get(_BLOCKS)
    if blocks is None:
        number = _take(session, department, year, 1)
    else:
        block = blocks.get((department, year))
        if block is None or block[0] > block[1]:
            end = _take(session, department, year, session.info[_WANTED])
            block = blocks[department, year] = [end - session.info[_WANTED] + 1, end]
        number, block[0] = block[0], block[0] + 1
    return f"SPL-PES-{department}-{year}-{number:06d}"


@contextmanager
def in_blocks(session: Session, size: int) -> Iterator[None]:
    """Numbers taken `size` at a time inside, the unused ones given back at the end. Only
    where nothing is rolled back alone (no savepoint), or numbers would be skipped."""
    blocks: dict[tuple[str, int], list[int]] = {}
    session.info[_BLOCKS], session.info[_WANTED] = blocks, size
    try:
        yield
        for (department, year), (following, end) in blocks.items():
            if following <= end:
                session.connection().execute(_GIVE_BACK, {"of_department": department, "of_year": year,
                                                           "block_end": end, "used": following - 1})
    finally:
        del session.info[_BLOCKS], session.info[_WANTED]


def _take(session: Session, department: str, year: int, count: int) -> int:
    """Move the counter `count` numbers on; the last one taken."""
    key = {"of_department": department, "of_year": year, "by": count}
    number = session.connection().execute(_INCREMENT, key).scalar()
    if number is None:  # the year's first case in the department
        insert_if_absent(session, CounterRow, department=department, year=year, last=0)
        number = session.connection().execute(_INCREMENT, key).scalar_one()
    return int(number)
