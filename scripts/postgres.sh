#!/usr/bin/env bash
# Start a throw-away PostgreSQL server on 127.0.0.1 for the tests and print its URL.
#   eval "$(scripts/postgres.sh start)"   # exports TEST_POSTGRES_URL
#   scripts/postgres.sh stop
# Installs Debian's postgresql package when the server binaries are missing.
set -euo pipefail
DIR=${PGTEST_DIR:-/tmp/hatinh-bot-pg}
PORT=${PGTEST_PORT:-54329}

find_bin() {
  local name=$1
  command -v "$name" 2>/dev/null && return
  ls /usr/lib/postgresql/*/bin/"$name" 2>/dev/null | sort -V | tail -n 1
}

case "${1:-start}" in
  start)
    if [ -z "$(find_bin postgres)" ]; then
      echo "installing postgresql (Debian package)" >&2
      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; } >&2
    fi
    PG=$(find_bin postgres); INITDB=$(find_bin initdb); PGCTL=$(find_bin pg_ctl)
    RUNAS=()
    if [ "$(id -u)" = 0 ]; then
      id postgres >/dev/null 2>&1 || useradd --system --home "$DIR" postgres
      RUNAS=(runuser -u postgres --)
    fi
    if [ ! -f "$DIR/data/PG_VERSION" ]; then
      mkdir -p "$DIR"; [ "$(id -u)" = 0 ] && chown postgres "$DIR"
      "${RUNAS[@]}" "$INITDB" -D "$DIR/data" -U bot --auth=trust -E UTF8 >/dev/null
    fi
    if ! "${RUNAS[@]}" "$PGCTL" -D "$DIR/data" status >/dev/null 2>&1; then
      "${RUNAS[@]}" "$PGCTL" -D "$DIR/data" -l "$DIR/log" -w \
        -o "-h 127.0.0.1 -p $PORT -k $DIR -F" start >/dev/null
    fi
    echo "export TEST_POSTGRES_URL=postgresql+asyncpg://bot@127.0.0.1:$PORT/postgres"
    ;;
  stop)
    PGCTL=$(find_bin pg_ctl)
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$PGCTL" -D "$DIR/data" -m fast stop; else "$PGCTL" -D "$DIR/data" -m fast stop; fi
    ;;
esac
