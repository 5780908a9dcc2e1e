"""Workflow classes: deterministic, no I/O (enforced by import-linter)."""
