"""Embedded defaults of outside services, started and stopped by our own command."""
