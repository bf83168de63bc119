#!/bin/sh
# A tiny throwaway workload repository for the molecule scenarios (controller side).
# One service "web" (python3 -m http.server serving health.json from the base image) and
# migrations under db/migrations. Commits, each tagged:
#   rel-a  web answers {"status":"ok","db":"ok","release":"a"}; migration 0001 (create table)
#   rel-b  release "b"; migration 0002 (expand-only: add a nullable column) + its .down.sql
#   rel-c  release "c" whose container never becomes healthy (for rollback/failure paths)
#   rel-bad  child of rel-b with a migration that fails (SQL error) half way
# Fixed author/committer dates: the SHAs are the same on every machine. Idempotent: an
# existing repository is left alone (prints "unchanged").
set -eu
dest=${1:?usage: make_source_repo.sh DEST}
if [ -d "$dest/.git" ]; then
  echo "source repo $dest: unchanged"
  exit 0
fi
mkdir -p "$dest"
cd "$dest"
export GIT_AUTHOR_NAME=molecule GIT_AUTHOR_EMAIL=molecule@localhost
export GIT_COMMITTER_NAME=molecule GIT_COMMITTER_EMAIL=molecule@localhost
git init -q -b main .
mkdir -p web/app web/tests db/migrations

cat > .gitignore <<'X'
__pycache__/
X
cat > web/Dockerfile <<'X'
ARG BASE_IMAGE=cutover-lab/base:bookworm
FROM ${BASE_IMAGE}
COPY app /srv/app
WORKDIR /srv/app
EXPOSE 8080
HEALTHCHECK --interval=1s --timeout=2s --retries=60 CMD ["python3", "/srv/app/check.py"]
CMD ["python3", "-m", "http.server", "8080"]
X
cat > web/app/check.py <<'X'
"""Container health check: health.json must say status ok."""
import json
import sys
import urllib.request

with urllib.request.urlopen("http://127.0.0.1:8080/health.json", timeout=1) as response:
    sys.exit(0 if json.load(response).get("status") == "ok" else 1)
X
cat > web/tests/test_health.py <<'X'
import json
import pathlib
import unittest


class HealthFile(unittest.TestCase):
    def test_health_is_json_with_status(self) -> None:
        body = json.loads((pathlib.Path(__file__).parent.parent / "app" / "health.json").read_text())
        self.assertIn("status", body)
X
printf '{"status": "ok", "db": "ok", "release": "a"}\n' > web/app/health.json
printf '{"enabled": false, "count": 0}\n' > web/app/flags.json
cat > db/migrations/0001_create_items.sql <<'X'
CREATE TABLE IF NOT EXISTS molecule_items (id bigserial PRIMARY KEY, name text NOT NULL);
INSERT INTO molecule_items (name) VALUES ('first');
X
git add -A
GIT_AUTHOR_DATE='2026-01-01T00:00:00Z' GIT_COMMITTER_DATE='2026-01-01T00:00:00Z' git commit -q -m 'release a'
git tag rel-a

printf '{"status": "ok", "db": "ok", "release": "b"}\n' > web/app/health.json
cat > db/migrations/0002_items_note.sql <<'X'
ALTER TABLE molecule_items ADD COLUMN IF NOT EXISTS note text DEFAULT NULL;
X
cat > db/migrations/0002_items_note.down.sql <<'X'
ALTER TABLE molecule_items DROP COLUMN IF EXISTS note;
X
git add -A
GIT_AUTHOR_DATE='2026-01-02T00:00:00Z' GIT_COMMITTER_DATE='2026-01-02T00:00:00Z' git commit -q -m 'release b'
git tag rel-b

printf '{"status": "down", "db": "unreachable", "release": "c"}\n' > web/app/health.json
git add -A
GIT_AUTHOR_DATE='2026-01-03T00:00:00Z' GIT_COMMITTER_DATE='2026-01-03T00:00:00Z' git commit -q -m 'release c (never healthy)'
git tag rel-c
# rel-bad: child of rel-b whose new migration fails half way (its transaction must roll back).
git checkout -q -b bad rel-b
cat > db/migrations/0003_bad.sql <<'X'
ALTER TABLE molecule_items ADD COLUMN IF NOT EXISTS flag boolean DEFAULT NULL;
SELECT no_such_column FROM molecule_items;
X
git add -A
GIT_AUTHOR_DATE='2026-01-04T00:00:00Z' GIT_COMMITTER_DATE='2026-01-04T00:00:00Z' git commit -q -m 'bad migration'
git tag rel-bad
git checkout -q rel-b
git checkout -q -B main
git branch -q -D bad
echo "source repo $dest: created"
for t in rel-a rel-b rel-c rel-bad; do echo "$t $(git rev-parse --short=7 "$t")"; done
