ALTER TABLE artwork_seeds DROP COLUMN IF EXISTS metadata;
