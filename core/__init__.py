"""Domain of hotline1022: tables, enums, ports, errors, settings and use cases.

Imports nothing of ours (enforced by import-linter, see pyproject.toml).
"""
