#!/usr/bin/env bash
# A local Redis Cluster of three masters for the tests, on free ports, in directory DIR:
#   scripts/redis-cluster.sh start DIR   # prints its URL: redis+cluster://127.0.0.1:p1,...
#   scripts/redis-cluster.sh stop DIR    # stops it and removes DIR
set -euo pipefail
action=${1:?start or stop}; dir=${2:?a directory}

if [ "$action" = stop ]; then
  # A server writes its node file and log as it shuts down: wait for each to be gone before the
  # directory is removed, or the removal races the last write.
  pids=()
  for pidfile in "$dir"/*.pid; do
    [ -e "$pidfile" ] && pids+=("$(cat "$pidfile")")
  done
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  done
  rm -rf "$dir" 2>/dev/null || { sleep 1; rm -rf "$dir"; }
  exit 0
fi

mkdir -p "$dir"
# Three ports whose cluster bus ports (port + 10000) are free too.
read -r -a ports <<<"$(python3 - <<'PY'
import socket
found = []
while len(found) < 3:
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
    if port > 55000 or port in found:
        continue
    try:
        b = socket.socket(); b.bind(("127.0.0.1", port + 10000)); b.close()
    except OSError:
        continue
    found.append(port)
print(" ".join(map(str, found)))
PY
)"
for port in "${ports[@]}"; do
  redis-server --bind 127.0.0.1 --port "$port" --cluster-enabled yes \
    --cluster-config-file "$dir/nodes-$port.conf" --dir "$dir" --save '' --appendonly no \
    --maxmemory-policy noeviction --daemonize yes --pidfile "$dir/$port.pid" \
    --logfile "$dir/$port.log" >/dev/null
done
for port in "${ports[@]}"; do
  for _ in $(seq 1 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
done
redis-cli --cluster create "${ports[@]/#/127.0.0.1:}" --cluster-replicas 0 --cluster-yes >"$dir/create.log" 2>&1 \
  || { cat "$dir/create.log" >&2; exit 1; }
for port in "${ports[@]}"; do
  for _ in $(seq 1 100); do
    redis-cli -p "$port" cluster info 2>/dev/null | grep -q 'cluster_state:ok' && break
    sleep 0.1
  done
done
nodes=$(printf '127.0.0.1:%s,' "${ports[@]}")
echo "redis+cluster://${nodes%,}"
