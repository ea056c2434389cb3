"""Pages for reporters: no account, no JavaScript needed, nothing loaded from elsewhere."""
