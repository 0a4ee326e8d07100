"""Alerts: the rules admins set, who receives what and how, throttling and digests."""
