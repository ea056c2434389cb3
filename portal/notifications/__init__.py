"""Content-free email notifications for staff: "a new report for your organization", "a reporter replied"."""
