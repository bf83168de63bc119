"""gh-dashboard: an HTML page of the greenhouse climate, from gh-climate."""
