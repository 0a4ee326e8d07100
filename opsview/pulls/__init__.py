"""Scheduled pulls: opsview reads business states from a system through its connector.

What can be pulled (``systems.kinds``), the connector (``systems.connection``) and the
django-q2 schedule kept in step with a system's settings (``systems.schedules``) belong
to the systems app. Here: ``runs.pull`` records one pull as a sync run, storing page
after page with ``pages.store_page`` (states, one sync event per record, and the cursor,
in one transaction); ``recording`` makes those events; ``tasks.pull_system`` is what the
schedules and "Pull now" run; ``services`` holds what a person may do (queue a pull now,
audited).
"""
