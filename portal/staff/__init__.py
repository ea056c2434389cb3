"""Staff: sign-in with a second factor, server-side sessions, and the review pages."""
