"""Use cases. Each takes an AsyncSession that the caller's unit of work commits; helpers
here never commit."""
