#!/bin/sh
# The official postgres image's contract: on the first start (an empty PGDATA) create the
# cluster with POSTGRES_USER as superuser and POSTGRES_PASSWORD, password authentication
# from the network, and the database POSTGRES_DB; then run the command.
set -eu

if [ "${1:-}" = "postgres" ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
    : "${POSTGRES_PASSWORD:?is required on the first start}"
    user="${POSTGRES_USER:-postgres}"
    database="${POSTGRES_DB:-$user}"
    pwfile="$(mktemp)"
    printf '%s' "$POSTGRES_PASSWORD" > "$pwfile"
    initdb --username="$user" --pwfile="$pwfile" --encoding=UTF8 --locale=C.UTF-8 \
        --auth-local=trust --auth-host=scram-sha-256 >/dev/null
    rm -f "$pwfile"
    echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
    if [ "$database" != "postgres" ]; then
        # A server on the socket only, with the stock config, just to create the database.
        pg_ctl --silent --wait -o "-c listen_addresses=''" start
        createdb --username="$user" "$database"
        pg_ctl --silent --wait -m fast stop
    fi
    echo "entrypoint: initialized $PGDATA (superuser $user, database $database)"
fi

exec "$@"
