#!/bin/sh
# Postgres 15 from the lab's base image for the molecule scenarios: initdb on first start,
# role and database from POSTGRES_USER/POSTGRES_PASSWORD/POSTGRES_DB, password auth over TCP.
set -eu
PGBIN=/usr/lib/postgresql/15/bin
PGDATA=/var/lib/postgresql/molecule
mkdir -p "$PGDATA" /run/postgresql
chown -R postgres:postgres "$PGDATA" /run/postgresql
as_pg() { su postgres -s /bin/sh -c "$1"; }
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  as_pg "$PGBIN/initdb -D '$PGDATA' -U postgres --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >/dev/null"
  echo "listen_addresses = '*'" >> "$PGDATA/postgresql.conf"
  echo "host all all 0.0.0.0/0 scram-sha-256" >> "$PGDATA/pg_hba.conf"
  as_pg "$PGBIN/pg_ctl -D '$PGDATA' -o \"-c listen_addresses=''\" -w start >/dev/null"
  printf "CREATE ROLE \"%s\" LOGIN PASSWORD '%s';\nCREATE DATABASE \"%s\" OWNER \"%s\";\n" \
    "$POSTGRES_USER" "$POSTGRES_PASSWORD" "$POSTGRES_DB" "$POSTGRES_USER" | as_pg "psql -q -v ON_ERROR_STOP=1 -d postgres" >/dev/null
  as_pg "$PGBIN/pg_ctl -D '$PGDATA' -m fast -w stop >/dev/null"
fi
exec su postgres -s /bin/sh -c "exec $PGBIN/postgres -D '$PGDATA'"
