# Sourced by scripts/test.sh: makes sure the Redis servers the auth-store-redis tests need
# are up, and exports their URLs.
#   AUTH_TEST_REDIS_URL          standalone Redis (default redis://127.0.0.1:6379; started
#                                here if nothing answers there)
#   AUTH_TEST_REDIS_CLUSTER_URL  a throwaway 3-master cluster on loopback ports 7101-7103
#                                (override with AUTH_TEST_REDIS_CLUSTER_PORTS), started here
#                                unless a healthy one is already running from an earlier run
# Quiet on success; on failure prints what the servers said and returns non-zero.

_redis_install() {
  command -v redis-server >/dev/null && command -v redis-cli >/dev/null && return 0
  echo "redis.sh: installing redis-server with apt-get" >&2
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq >/dev/null &&
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq redis-server >/dev/null
}

_redis_ping() { # host port
  [ "$(redis-cli -h "$1" -p "$2" ping 2>/dev/null)" = "PONG" ]
}

_redis_wait() { # host port: up to 10 s for PONG
  local i
  for i in $(seq 1 100); do
    _redis_ping "$1" "$2" && return 0
    sleep 0.1
  done
  return 1
}

_redis_standalone() {
  local url="${AUTH_TEST_REDIS_URL:-redis://127.0.0.1:6379}"
  local hostport="${url#redis://}"
  hostport="${hostport#*@}"
  hostport="${hostport%%/*}"
  local host="${hostport%:*}" port="${hostport##*:}"
  [ "$port" != "$hostport" ] || port=6379
  export AUTH_TEST_REDIS_URL="$url"
  _redis_ping "$host" "$port" && return 0
  case "$host" in
    127.0.0.1 | localhost) ;;
    *)
      echo "redis.sh: nothing answers at $host:$port and it is not local; start it yourself" >&2
      return 1
      ;;
  esac
  _redis_install || return 1
  local dir="${TMPDIR:-/tmp}/authd-test-redis-$port"
  mkdir -p "$dir"
  redis-server --daemonize yes --port "$port" --bind 127.0.0.1 --dir "$dir" \
    --save "" --appendonly no --logfile "$dir/redis.log" --pidfile "$dir/redis.pid" >/dev/null
  _redis_wait "$host" "$port" || {
    echo "redis.sh: redis-server on port $port did not start:" >&2
    tail -n 20 "$dir/redis.log" >&2
    return 1
  }
}

_redis_cluster_healthy() { # ports...: every node answers, sees the cluster ok and all nodes
  local p info
  for p in "$@"; do
    # Captured, not piped into grep -q: under pipefail an early-closing grep fails the pipe.
    info="$(redis-cli -p "$p" cluster info 2>/dev/null | tr -d '\r')" || return 1
    case "$info" in *cluster_state:ok*) ;; *) return 1 ;; esac
    case "$info" in *"cluster_known_nodes:$#"*) ;; *) return 1 ;; esac
  done
}

_redis_cluster() {
  local ports="${AUTH_TEST_REDIS_CLUSTER_PORTS:-7101 7102 7103}"
  local dir="${TMPDIR:-/tmp}/authd-test-redis-cluster"
  local p nodes="" addrs=""
  for p in $ports; do
    nodes="${nodes:+$nodes,}127.0.0.1:$p"
    addrs="$addrs 127.0.0.1:$p"
  done
  export AUTH_TEST_REDIS_CLUSTER_URL="redis-cluster://$nodes"
  # shellcheck disable=SC2086
  _redis_cluster_healthy $ports && return 0

  _redis_install || return 1
  # Anything left from an earlier run (ours: we have its pid file) goes; a port taken by a
  # stranger makes redis-server fail below with a clear log.
  for p in $ports; do
    if [ -f "$dir/$p/redis.pid" ]; then
      kill "$(cat "$dir/$p/redis.pid")" 2>/dev/null || true
    fi
  done
  for p in $ports; do
    local i
    for i in $(seq 1 50); do
      _redis_ping 127.0.0.1 "$p" || break
      sleep 0.1
    done
  done
  rm -rf "$dir"
  for p in $ports; do
    mkdir -p "$dir/$p"
    redis-server --daemonize yes --port "$p" --bind 127.0.0.1 --dir "$dir/$p" \
      --cluster-enabled yes --cluster-config-file "$dir/$p/nodes.conf" \
      --save "" --appendonly no --logfile "$dir/$p/redis.log" \
      --pidfile "$dir/$p/redis.pid" >/dev/null
  done
  for p in $ports; do
    _redis_wait 127.0.0.1 "$p" || {
      echo "redis.sh: cluster node on port $p did not start:" >&2
      tail -n 20 "$dir/$p/redis.log" >&2
      return 1
    }
  done
  # shellcheck disable=SC2086
  redis-cli --cluster create $addrs --cluster-replicas 0 --cluster-yes \
    >"$dir/create.log" 2>&1 || {
    echo "redis.sh: redis-cli --cluster create failed:" >&2
    cat "$dir/create.log" >&2
    return 1
  }
  local i
  for i in $(seq 1 100); do
    # shellcheck disable=SC2086
    _redis_cluster_healthy $ports && return 0
    sleep 0.1
  done
  echo "redis.sh: the cluster on ports $ports did not reach cluster_state:ok" >&2
  return 1
}

_redis_standalone
_redis_cluster
unset -f _redis_install _redis_ping _redis_wait _redis_standalone _redis_cluster_healthy \
  _redis_cluster
