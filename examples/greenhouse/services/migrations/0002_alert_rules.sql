-- greenhouse v2: alert rules for gh-alerts. Expand-only; schema gh is created by the DBA.
CREATE TABLE IF NOT EXISTS gh.alert_rules (id bigserial PRIMARY KEY, sensor text NOT NULL, above_celsius numeric(6,2) NOT NULL);
