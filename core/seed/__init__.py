"""Reference data seeded into a new database."""
