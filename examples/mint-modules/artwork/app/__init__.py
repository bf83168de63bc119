"""files-api: artwork seeds (Postgres rows + objects in the S3 bucket)."""
