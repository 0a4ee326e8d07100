"""What a member may be in a workspace. permissions.py says what each role may do."""

from django.db import models


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    OPERATOR = "operator", "Operator"
    MANAGER = "manager", "Project manager"
    EXECUTIVE = "executive", "Executive"
