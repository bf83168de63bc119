"""gh-alerts: temperature alert rules (gh.alert_rules), new in greenhouse v2."""
