"""Entry points: the `hotline` command, embedded services and the worker factory (wiring only)."""
