#!/bin/sh
# initdb on first start (empty volume), create the role and database from the environment,
# then run postgres in the foreground listening on every address of the container.
set -eu
: "${POSTGRES_USER:?POSTGRES_USER is required}"
: "${POSTGRES_DB:?POSTGRES_DB is required}"
: "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required}"
PGDATA="${PGDATA:-/var/lib/postgresql/data}"
mkdir -p "$PGDATA" /run/postgresql
chown -R postgres:postgres "$PGDATA" /run/postgresql
chmod 0700 "$PGDATA"
as_pg() { su postgres -s /bin/sh -c "$1"; }
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  echo "lab-postgres: initdb into $PGDATA"
  as_pg "initdb -D '$PGDATA' -U postgres --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >/dev/null"
  {
    echo "listen_addresses = '*'"
    echo "password_encryption = 'scram-sha-256'"
  } >> "$PGDATA/postgresql.conf"
  {
    echo "host all all 0.0.0.0/0 scram-sha-256"
    echo "host all all ::/0 scram-sha-256"
  } >> "$PGDATA/pg_hba.conf"
  echo "lab-postgres: initialised $PGDATA"
fi
# Converge the role, its password and the database on every start: a lab whose secrets were
# generated anew (a fresh .lab/) must still reach the data in an existing volume.
as_pg "pg_ctl -D '$PGDATA' -o \"-c listen_addresses=''\" -w start >/dev/null"
pw_sql=$(printf '%s' "$POSTGRES_PASSWORD" | sed "s/'/''/g")
# The password goes through stdin, never a command line.
printf "SELECT format('CREATE ROLE %%I LOGIN', '%s') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '%s') \\gexec\nALTER ROLE \"%s\" LOGIN PASSWORD '%s';\nSELECT format('CREATE DATABASE %%I OWNER %%I', '%s', '%s') WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '%s') \\gexec\n" \
  "$POSTGRES_USER" "$POSTGRES_USER" "$POSTGRES_USER" "$pw_sql" "$POSTGRES_DB" "$POSTGRES_USER" "$POSTGRES_DB" \
  | su postgres -s /bin/sh -c "psql -q -v ON_ERROR_STOP=1 -d postgres" >/dev/null
as_pg "pg_ctl -D '$PGDATA' -m fast -w stop >/dev/null"
echo "lab-postgres: role $POSTGRES_USER and database $POSTGRES_DB ready"
exec su postgres -s /bin/sh -c "exec postgres -D '$PGDATA'"
