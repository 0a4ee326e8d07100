"""The one way opsview writes CSV: cells a spreadsheet would run as a formula are neutralised.

Excel, LibreOffice and Google Sheets treat a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a
formula, and a leading tab or carriage return can hide such a start; names and error messages come
from outside (a client called ``=HYPERLINK(...)``), so every text cell that starts with one of these
gets a single quote in front, which spreadsheets show as text. Numbers (int, Decimal, float) are
written as they are: a negative amount stays a number.
"""

import csv
from decimal import Decimal

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    """``value`` as a CSV cell: None is empty, numbers stay numbers, text cannot start a formula."""
    if value is None:
        return ""
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class SafeWriter:
    """A ``csv.writer`` whose rows go through ``safe_cell``; ``writerow`` returns what ``write`` returned."""

    def __init__(self, target):
        self._writer = csv.writer(target)

    def writerow(self, row):
        return self._writer.writerow([safe_cell(v) for v in row])

    def writerows(self, rows):
        for row in rows:
            self.writerow(row)


class _Lines:
    def write(self, value):
        return value


def csv_writer(target):
    """A writer into ``target`` (a file or an HttpResponse)."""
    return SafeWriter(target)


def csv_lines():
    """A writer whose ``writerow`` returns the encoded line, for a StreamingHttpResponse."""
    return SafeWriter(_Lines())
