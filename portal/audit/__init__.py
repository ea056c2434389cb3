"""The append-only, hash-chained audit log of staff actions (PRODUCT.md §4.7)."""
