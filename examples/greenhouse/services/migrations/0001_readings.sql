-- greenhouse v1: sensor readings. Expand-only; schema gh is created by the DBA.
CREATE TABLE IF NOT EXISTS gh.readings (id bigserial PRIMARY KEY, sensor text NOT NULL, celsius numeric(6,2) NOT NULL, taken_at timestamptz NOT NULL DEFAULT now());
