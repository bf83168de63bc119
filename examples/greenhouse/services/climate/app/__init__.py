"""gh-climate: summarises the greenhouse climate from gh-sensors (no database of its own)."""
