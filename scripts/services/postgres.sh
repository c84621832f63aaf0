# shellcheck shell=bash
# Sourced by scripts/test.sh: makes sure a PostgreSQL answers at AUTH_TEST_POSTGRES_URL
# (default postgres://postgres@127.0.0.1:5432/test) and exports that variable.
#
# If nothing answers there, it starts a throw-away server: installs PostgreSQL with
# apt-get when initdb/pg_ctl are missing, then initdb + pg_ctl in a fixed folder under
# $TMPDIR (trust auth, loopback only) on the URL's port if free, else on a spare one, and
# creates the database. Running it again reuses that server. Quiet when all is up already.

_authd_pg_default_url="postgres://postgres@127.0.0.1:5432/test"

# Whether `psql` can run a query at URL $1.
_authd_pg_answers() {
  command -v psql >/dev/null 2>&1 &&
    PGCONNECT_TIMEOUT=3 psql "$1" -XAtqc 'SELECT 1' >/dev/null 2>&1
}

# Prints the directory holding initdb and pg_ctl, or nothing.
_authd_pg_bindir() {
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(command -v initdb)"
    return
  fi
  local dir
  dir=$(find /usr/lib/postgresql -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1)
  if [[ -n "$dir" && -x "$dir/initdb" && -x "$dir/pg_ctl" ]]; then
    echo "$dir"
  fi
}

_authd_pg_install() {
  echo "postgres.sh: installing PostgreSQL with apt-get" >&2
  local sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  $sudo apt-get update -qq >/dev/null &&
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql postgresql-client \
      >/dev/null
}

# Runs a command as the unprivileged owner of the data folder when we are root
# (initdb and postgres refuse to run as root).
_authd_pg_as_owner() {
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

_authd_pg_port_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

_authd_pg_main() {
  local url="${AUTH_TEST_POSTGRES_URL:-$_authd_pg_default_url}"
  if _authd_pg_answers "$url"; then
    export AUTH_TEST_POSTGRES_URL="$url"
    return 0
  fi

  # Split postgres://[user[:password]@]host[:port]/database[?params].
  local rest="${url#*://}" user="postgres" host port db
  if [[ "$rest" == *@* ]]; then
    user="${rest%%@*}"
    user="${user%%:*}"
    rest="${rest#*@}"
  fi
  local hostport="${rest%%/*}"
  db="${rest#*/}"
  db="${db%%\?*}"
  [[ "$db" == "$rest" || -z "$db" ]] && db="test"
  host="${hostport%:*}"
  port="${hostport##*:}"
  [[ "$port" == "$hostport" ]] && port=5432

  # A server may be up with the database missing: create it and be done.
  local admin="postgres://$user@$host:$port/postgres"
  if _authd_pg_answers "$admin"; then
    psql "$admin" -XAtqc "CREATE DATABASE \"$db\"" >/dev/null || return 1
    export AUTH_TEST_POSTGRES_URL="$url"
    return 0
  fi

  local state="${TMPDIR:-/tmp}/authd-test-postgres"
  if [[ -f "$state/port" ]]; then
    local previous
    previous="postgres://postgres@127.0.0.1:$(cat "$state/port")/$db"
    if _authd_pg_answers "$previous"; then
      export AUTH_TEST_POSTGRES_URL="$previous"
      return 0
    fi
  fi

  local bindir
  bindir=$(_authd_pg_bindir)
  if [[ -z "$bindir" ]] || ! command -v psql >/dev/null 2>&1; then
    _authd_pg_install || return 1
    bindir=$(_authd_pg_bindir)
  fi
  if [[ -z "$bindir" ]]; then
    echo "postgres.sh: no initdb/pg_ctl found even after installing PostgreSQL" >&2
    return 1
  fi
  if [[ $(id -u) -eq 0 ]] && ! id postgres >/dev/null 2>&1; then
    useradd --system --no-create-home --shell /usr/sbin/nologin postgres || return 1
  fi

  local free="$port"
  while ! _authd_pg_port_free "$free"; do
    free=$((free + 1))
  done

  rm -rf "$state"
  mkdir -p "$state" || return 1
  if [[ $(id -u) -eq 0 ]]; then
    chown postgres "$state" || return 1
  fi
  echo "postgres.sh: starting a test PostgreSQL in $state on 127.0.0.1:$free" >&2
  _authd_pg_as_owner "$bindir/initdb" -D "$state/data" -U postgres --auth=trust \
    -E UTF8 --no-locale >"$state/initdb.log" 2>&1 || {
    cat "$state/initdb.log" >&2
    return 1
  }
  _authd_pg_as_owner "$bindir/pg_ctl" -D "$state/data" -l "$state/server.log" -w -t 60 \
    -o "-p $free -c listen_addresses=127.0.0.1 -k $state -c max_connections=200" \
    start >/dev/null || {
    cat "$state/server.log" >&2
    return 1
  }
  echo "$free" >"$state/port"
  psql "postgres://postgres@127.0.0.1:$free/postgres" -XAtqc "CREATE DATABASE \"$db\"" \
    >/dev/null || return 1
  export AUTH_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$free/$db"
  echo "postgres.sh: AUTH_TEST_POSTGRES_URL=$AUTH_TEST_POSTGRES_URL" >&2
}

# Called as a condition so that the caller's `set -e` cannot leave a half-run function
# behind; every step above checks its own failure.
if _authd_pg_main; then
  _authd_pg_status=0
else
  _authd_pg_status=$?
fi
unset -f _authd_pg_answers _authd_pg_bindir _authd_pg_install _authd_pg_as_owner \
  _authd_pg_port_free _authd_pg_main
unset _authd_pg_default_url
# Expanded before it runs, so the status survives its own unset.
eval "unset _authd_pg_status; return $_authd_pg_status"
