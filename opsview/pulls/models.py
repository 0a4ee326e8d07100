"""Where each pull resumes."""

from django.db import models

from opsview.workspaces.scoping import WorkspaceOwned


class PullCursor(WorkspaceOwned):
    """Where the next pull of one kind of record from one system starts.

    ``cursor`` is the connector's own (opaque) cursor after the last page that was
    stored; it moves in the same transaction as that page's records and events.
    """

    system = models.ForeignKey("systems.System", on_delete=models.CASCADE, related_name="+")
    record_type = models.CharField(max_length=40, help_text="What is pulled, e.g. 'time_entries'.")
    cursor = models.TextField(blank=True, help_text="Empty: the next pull reads everything.")
    advanced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["system", "record_type"], name="pull_cursor_per_system_and_type"),
        ]
        ordering = ["system", "record_type"]

    def __str__(self):
        return f"{self.system} {self.record_type}"
