"""The report's open cases as CSV for a French Excel, every cell safe from formulas."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .wording import COLUMN

if TYPE_CHECKING:
    from _csv import Writer as CsvWriter  # what csv.writer returns

# The line's columns and the details' (triage/wording.py), a case per row.
CSV_COLUMNS = (COLUMN["reference"], COLUMN["status"], f"{COLUMN['age']} (jours)", COLUMN["opened"], COLUMN["kind"],
               COLUMN["identifier"], COLUMN["requester"], COLUMN["address"], COLUMN["nominative"], COLUMN["phone"],
               COLUMN["missing"], COLUMN["warnings"], COLUMN["reasons"], COLUMN["excerpt"], COLUMN["raw_copy"],
               COLUMN["action"], COLUMN["last_reply"], COLUMN["taken_by"])


def render_csv(rows: Iterable[dict[str, Any]]) -> bytes:
    """Cases (triage.report_rows.report_row) as CSV: UTF-8 with BOM, ';' separators."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    write_row(writer, CSV_COLUMNS)
    for row in rows:
        write_row(writer, [row["reference"], row["status_label"], row["age_days"], row["opened_label"],
                           row["kind_label"], row["identifier"] or "", row["requester_name"], row["requester"],
                           "oui" if row["requester_nominative"] else "non", row["phone_label"],
                           ", ".join(row["missing_labels"]), ", ".join(row["warning_labels"]),
                           " | ".join(row["reasons"]), row["excerpt"], row["raw_copy"], row["action_label"],
                           row["last_reply"], row["taken_by"] or ""])
    return buffer.getvalue().encode("utf-8-sig")


# A cell starting with one of these is read by Excel or LibreOffice as a formula
# (a tab or CR before one too): "=HYPERLINK(...)" in a name would run on an agent's machine.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def write_row(writer: CsvWriter, cells: Iterable[object]) -> None:
    """Write one CSV row, every text cell protected: most come from a mail (name,
    address, excerpt, evidence...), and protecting each cell here, not column by
    column, also covers the columns added later."""
    writer.writerow([_spreadsheet_safe(cell) if isinstance(cell, str) else cell for cell in cells])


def _spreadsheet_safe(text: str) -> str:
    """A cell a spreadsheet will not run as a formula: a leading quote makes it text."""
    return "'" + text if text.startswith(FORMULA_START) else text
