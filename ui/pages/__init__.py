"""UI pages, one module per area: sign-in (auth), the user's own account, home."""
