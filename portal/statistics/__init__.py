"""Privacy-protected aggregate statistics for the Government of Canada (PRODUCT.md §3.6)."""
