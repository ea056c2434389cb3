"""Member organizations, their staff and the keys readers decrypt with."""
