DROP TABLE IF EXISTS gh.readings;
