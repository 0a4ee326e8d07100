"""Scheduled pulls: opsview reads business states from a system through its connector.

``kinds`` says what can be pulled, in the order references need (clients and people,
then projects, then time entries and invoices); ``connection`` builds a system's
connector from its settings and credentials; ``runs.pull`` records one pull as a
sync run, storing page after page with ``pages.store_page`` (states, one sync event
per record, and the cursor, in one transaction); ``recording`` makes those events;
``schedules`` keeps one django-q2 schedule per system in step with its settings;
``tasks.pull_system`` is what the schedules and "Pull now" run; ``actions`` holds
what a person may do (queue a pull now, audited).
"""
