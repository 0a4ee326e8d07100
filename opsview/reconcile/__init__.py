"""Reconciliation: what the time tracking, the ERP and billing say about the same work, compared."""
