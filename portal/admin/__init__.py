"""Administration pages: staff of an organization, organizations, the audit log."""
