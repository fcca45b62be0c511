#!/usr/bin/env bash
# The demo: installs what is needed, builds, then starts maglev-vppsim (VPP's
# lb plugin, simulated), real local HTTP backends (one of them failing) and
# maglevd with examples/demo.yaml, and maglevd-frontend (the web dashboard),
# and tells you what to type next.
# Ctrl-C stops everything and removes the demo's temporary files.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

./scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target maglevd maglevc maglev-vppsim maglevd-frontend

run=$(mktemp -d /tmp/maglev-demo.XXXXXX)
pids=()
cleanup() {
  trap - INT TERM EXIT
  echo
  echo "demo: stopping..."
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$run"
  echo "demo: stopped, $run removed"
}
trap cleanup INT TERM EXIT

sock="$run/vpp-api.sock"
"$root/build/bin/maglev-vppsim" --socket "$sock" >"$run/vppsim.log" 2>&1 &
pids+=($!)
python3 "$root/scripts/demo_backends.py" --fail 127.0.1.3 \
  127.0.1.1 127.0.1.2 127.0.1.3 127.0.1.4 >"$run/backends.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done

"$root/build/bin/maglevd" --config "$root/examples/demo.yaml" --grpc-addr 127.0.0.1:9090 \
  --metrics-addr 127.0.0.1:9091 --vpp-api-addr "$sock" --log-format text \
  >"$run/maglevd.log" 2>&1 &
pids+=($!)
# The dashboard, with the admin surface on (demo credentials).
MAGLEV_FRONTEND_USER=admin MAGLEV_FRONTEND_PASSWORD=demo \
  "$root/build/bin/maglevd-frontend" --server demo=127.0.0.1:9090 --listen 127.0.0.1:8080 \
  --log-format text >"$run/frontend.log" 2>&1 &
pids+=($!)
sleep 1

cat <<EOT

  vpp-maglev demo is running:
    maglev-vppsim  socket $sock           (log: $run/vppsim.log)
    backends       127.0.1.1-4:8080, 127.0.1.3 answers 503
    maglevd        gRPC 127.0.0.1:9090, metrics http://127.0.0.1:9091/metrics
                   (log: $run/maglevd.log)
    dashboard      http://127.0.0.1:8080/view/   (log: $run/frontend.log)
                   admin: http://127.0.0.1:8080/admin/  user admin, password demo

  In another terminal, try:
    build/bin/maglevc show frontends
    build/bin/maglevc show frontends web
    build/bin/maglevc show backends web2
    build/bin/maglevc show vpp info
    build/bin/maglevc show vpp lb state
    build/bin/maglevc set backend web0 disable
    build/bin/maglevc set backend web1 disable      # primary pool empty: fallback takes over
    build/bin/maglevc show frontends web
    build/bin/maglevc set backend web0 enable
    build/bin/maglevc watch events
    build/bin/maglevc                                # interactive shell: Tab and ? help

  Following maglevd's log here; Ctrl-C stops the demo.

EOT
tail -n +1 -f "$run/maglevd.log" &
pids+=($!)
wait "${pids[2]}"
