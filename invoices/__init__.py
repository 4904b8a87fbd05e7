"""Invoices raised in chat, escrow and the ledger (built in a later issue)."""
