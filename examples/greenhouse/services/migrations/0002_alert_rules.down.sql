DROP TABLE IF EXISTS gh.alert_rules;
