"""gh-sensors: stores greenhouse temperature readings in Postgres (gh.readings)."""
