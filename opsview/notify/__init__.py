"""Notifications: the channels (e-mail, Slack, Teams, signed webhooks), each delivery, its retries and its log."""
