"""The period a reconciliation covers: one calendar month."""

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.utils import timezone

PERIOD_FORMAT = re.compile(r"^(\d{4})-(\d{2})$")


class BadPeriod(ValueError):
    """The text given is not a month written YYYY-MM; the message says what was wrong."""


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive: the month's last day

    @property
    def label(self):
        return f"{self.start:%Y-%m}"

    def __str__(self):
        return self.label

    @classmethod
    def of(cls, day):
        """The month ``day`` falls in."""
        last = calendar.monthrange(day.year, day.month)[1]
        return cls(date(day.year, day.month, 1), date(day.year, day.month, last))

    @classmethod
    def current(cls, now=None):
        """This month, in the workspace's time zone."""
        return cls.of(timezone.localdate(now))

    @classmethod
    def parse(cls, text):
        """``Period.parse("2026-11")``; ``BadPeriod`` naming what is wrong for anything else."""
        match = PERIOD_FORMAT.match((text or "").strip())
        if not match:
            raise BadPeriod(f"Period '{text}' is not a month written YYYY-MM, e.g. 2026-11.")
        year, month = int(match[1]), int(match[2])
        if not 1 <= month <= 12:
            raise BadPeriod(f"Period '{text}': month {month} does not exist (01 to 12).")
        if not 2000 <= year <= 2100:
            raise BadPeriod(f"Period '{text}': year {year} is outside 2000 to 2100.")
        return cls.of(date(year, month, 1))

    def previous(self):
        return Period.of(self.start - timedelta(days=1))

    def next(self):
        return Period.of(self.end + timedelta(days=1))

    def moments(self):
        """``(first moment, first moment after)`` of the period in the current time zone, for timestamps."""
        zone = timezone.get_current_timezone()
        after = self.end + timedelta(days=1)
        return datetime.combine(self.start, time(), zone), datetime.combine(after, time(), zone)
