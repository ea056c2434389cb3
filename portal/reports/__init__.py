"""Reports: what reporters send, sealed under per-report content keys."""
