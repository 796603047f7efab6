#!/usr/bin/env bash
# EdgeLabeling's S3 server for integration tests and the pipeline's --s3-endpoint mode:
# a throwaway single-node Ceph (1 mon, 1 memstore OSD, no mgr) + radosgw on 127.0.0.1.
# Debian 12 ships radosgw 16.2.x. Everything lives in RAM and is gone on stop.
#
#   scripts/rgw.sh install   # apt-get the packages (root); no-op when already installed
#   scripts/rgw.sh start     # create the cluster in $RGW_DIR, start the daemons, create the S3 user
#   scripts/rgw.sh ensure    # start unless a healthy server already answers on $RGW_PORT
#   scripts/rgw.sh stop      # stop the daemons started by 'start', remove $RGW_DIR
#   scripts/rgw.sh smoke     # PUT/GET/DELETE one object with curl --aws-sigv4
#   scripts/rgw.sh env       # print export lines for the endpoint and keys
#
# Env knobs: RGW_DIR (default $TMPDIR/rgw-s3), RGW_PORT (7480), RGW_MON_PORT (40789),
#            RGW_ACCESS_KEY / RGW_SECRET_KEY (fixed test keys), RGW_MEMSTORE_BYTES (2 GiB).
# All daemons bind only to 127.0.0.1.  Everything is in RAM (memstore): data is gone on stop.
set -Eeuo pipefail

DIR=${RGW_DIR:-${TMPDIR:-/tmp}/rgw-s3}
RGW_PORT=${RGW_PORT:-7480}
MON_PORT=${RGW_MON_PORT:-40789}
ACCESS=${RGW_ACCESS_KEY:-TESTACCESSKEY0000001}
SECRET=${RGW_SECRET_KEY:-testsecretkey0000000000000000000000000001}
MEMSTORE_BYTES=${RGW_MEMSTORE_BYTES:-2147483648}
CONF="$DIR/ceph.conf"
CEPH=(ceph -c "$CONF" --connect-timeout 10)

log() { echo "[rgw-setup $(date +%T)] $*" >&2; }

install_pkgs() {
  if command -v radosgw >/dev/null && command -v ceph-mon >/dev/null && command -v ceph-osd >/dev/null && command -v curl >/dev/null; then
    log "radosgw already installed"; return 0
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends ceph-mon ceph-osd radosgw ceph-common curl >/dev/null
}

write_conf() {
  local fsid=$1
  cat >"$CONF" <<EOF
[global]
  fsid = $fsid
  mon host = [v2:127.0.0.1:$MON_PORT]
  public addr = 127.0.0.1
  cluster addr = 127.0.0.1
  ms bind ipv6 = false
  ms bind msgr1 = false
  ms bind port min = $((MON_PORT + 11))
  ms bind port max = $((MON_PORT + 60))
  auth cluster required = none
  auth service required = none
  auth client required = none
  auth allow insecure global id reclaim = false
  # daemons (radosgw) default to 'secure' mon mode, which auth=none cannot provide
  ms mon client mode = crc secure
  run dir = $DIR/run
  admin socket = $DIR/run/\$name.asok
  log file = $DIR/log/\$name.log
  pid file = $DIR/run/\$name.pid
  log to stderr = false
  err to stderr = false
  log to syslog = false
  crash dir = $DIR/crash
  osd pool default size = 1
  osd pool default min size = 1
  osd pool default pg num = 8
  osd pool default pgp num = 8
  osd pool default pg autoscale mode = off
  osd crush chooseleaf type = 0
  mon allow pool size one = true
  mon allow pool delete = true
  mon warn on pool no redundancy = false
  mon data avail warn = 2
  mon data avail crit = 1

[mon]
  mon data = $DIR/mon.\$id

[osd]
  osd data = $DIR/osd.\$id
  osd objectstore = memstore
  memstore device bytes = $MEMSTORE_BYTES
  osd op num shards = 2
  osd op num threads per shard = 1

[client]
  # CLI tools (ceph, rados, radosgw-admin): no admin socket, one shared log
  admin socket =
  log file = $DIR/log/client.log

[client.rgw.a]
  admin socket = $DIR/run/rgw.a.asok
  rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT
  rgw data = $DIR/rgw.a
  rgw thread pool size = 64
  # memstore keeps everything in RAM: let RGW garbage-collect deleted objects quickly
  rgw gc obj min wait = 60
  rgw gc processor period = 60
  log file = $DIR/log/rgw.a.log
EOF
}

bg() { # bg NAME cmd... : start a foreground daemon in the background, record its PID
  local name=$1; shift
  "$@" >>"$DIR/log/$name.out" 2>&1 </dev/null &
  echo $! >"$DIR/pids/$name"
  log "started $name pid $!"
}

alive() { # running and not a zombie (PID 1 in containers may reap late)
  [ -r "/proc/$1/stat" ] && ! awk '{ if ($3 == "Z") exit 0; exit 1 }' "/proc/$1/stat" 2>/dev/null
}

ours() { tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qE "(ceph-mon|ceph-osd|radosgw) .*-c $CONF"; }

wait_for() { # wait_for SECONDS DESC cmd...
  local t=$1 desc=$2; shift 2
  local end=$((SECONDS + t))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS > end)); then log "timeout waiting for $desc"; return 1; fi
    local f; for f in "$DIR"/pids/*; do
      alive "$(cat "$f")" || { log "$(basename "$f") exited while waiting for $desc (see $DIR/log)"; return 1; }
    done
    sleep 0.3
  done
}

osd_up() { "${CEPH[@]}" osd dump -f json 2>/dev/null | grep -q '"up":1'; }
rgw_up() { curl -s "http://127.0.0.1:$RGW_PORT/" | grep -q ListAllMyBucketsResult; }
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start() {
  command -v radosgw >/dev/null || { log "radosgw not installed; run: $0 install"; exit 1; }
  if [ -d "$DIR/pids" ] && ls "$DIR/pids"/* >/dev/null 2>&1; then
    # A cluster recorded here. If it still serves S3, refuse to clobber it; otherwise it is what a
    # killed session or a reboot left behind (its RAM-only data is already gone): clear it away.
    if rgw_up; then log "$DIR holds a running cluster on 127.0.0.1:$RGW_PORT; run '$0 stop' first"; exit 1; fi
    log "$DIR holds a stale cluster (server not answering); stopping what is left of it"
    stop
  fi
  local p; for p in "$RGW_PORT" "$MON_PORT"; do
    if port_in_use "$p"; then log "127.0.0.1:$p is already in use (set RGW_PORT / RGW_MON_PORT)"; exit 1; fi
  done
  rm -rf "$DIR"
  mkdir -p "$DIR"/{run,log,pids,crash,mon.a,osd.0,rgw.a}
  local fsid; fsid=$(cat /proc/sys/kernel/random/uuid)
  write_conf "$fsid"

  # --- monitor
  monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$MON_PORT]" "$DIR/monmap" >/dev/null
  ceph-mon -c "$CONF" --mkfs -i a --monmap "$DIR/monmap" >>"$DIR/log/mkfs.out" 2>&1
  bg mon.a ceph-mon -c "$CONF" -f -i a
  wait_for 30 "mon quorum" "${CEPH[@]}" mon stat

  # --- osd (memstore)
  local uuid; uuid=$(cat /proc/sys/kernel/random/uuid)
  local id; id=$("${CEPH[@]}" osd new "$uuid")
  [ "$id" = 0 ] || { log "unexpected osd id $id"; return 1; }
  ceph-osd -c "$CONF" -i 0 --mkfs --osd-uuid "$uuid" >>"$DIR/log/mkfs.out" 2>&1
  bg osd.0 ceph-osd -c "$CONF" -f -i 0
  wait_for 60 "osd.0 up" osd_up

  # --- radosgw (creates its pools on first start)
  bg rgw.a radosgw -c "$CONF" -f -n client.rgw.a
  wait_for 90 "radosgw http" rgw_up

  # --- S3 user with fixed keys
  radosgw-admin -c "$CONF" user create --uid=tester --display-name="Test User" \
    --access-key="$ACCESS" --secret="$SECRET" >"$DIR/user.json" 2>>"$DIR/log/admin.out"
  alive "$(cat "$DIR/pids/rgw.a")" || { log "radosgw died"; return 1; }
  log "ready"
  env_lines
}

env_lines() {
  cat <<EOF
export S3_ENDPOINT=http://127.0.0.1:$RGW_PORT
export AWS_ACCESS_KEY_ID=$ACCESS
export AWS_SECRET_ACCESS_KEY=$SECRET
export AWS_REGION=us-east-1
EOF
}

stop() {
  [ -d "$DIR/pids" ] || { log "nothing to stop in $DIR"; return 0; }
  local name pid
  # in this order: radosgw needs ~5 s to drain; an OSD whose mon is already gone waits 5 s more
  for name in rgw.a osd.0 mon.a; do
    [ -f "$DIR/pids/$name" ] || continue
    pid=$(cat "$DIR/pids/$name"); rm -f "$DIR/pids/$name"
    alive "$pid" || continue
    # after a reboot the PID may belong to someone else now: only signal our own daemons
    ours "$pid" || { log "$name pid $pid is no longer a Ceph daemon; leaving it alone"; continue; }
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 150); do alive "$pid" || break; sleep 0.1; done
    if alive "$pid"; then log "$name ($pid) ignored TERM for 15 s; KILL"; kill -KILL "$pid" 2>/dev/null || true; fi
    log "stopped $name pid $pid"
  done
  [ "${RGW_KEEP_DIR:-0}" = 1 ] || rm -rf "$DIR"
}

smoke() { # PUT + GET + DELETE an object with curl's SigV4 support; no other tools needed
  local ep="http://127.0.0.1:$RGW_PORT" auth=(--aws-sigv4 "aws:amz:us-east-1:s3" --user "$ACCESS:$SECRET")
  local empty=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
  local body="hello from rgw-setup $$" h
  h=$(printf '%s' "$body" | sha256sum | cut -d' ' -f1)
  curl -sSf -X PUT "${auth[@]}" -H "x-amz-content-sha256: $empty" "$ep/smoke-$$" >/dev/null
  printf '%s' "$body" | curl -sSf -X PUT "${auth[@]}" -H "x-amz-content-sha256: $h" --data-binary @- "$ep/smoke-$$/obj" >/dev/null
  [ "$(curl -sSf "${auth[@]}" -H "x-amz-content-sha256: $empty" "$ep/smoke-$$/obj")" = "$body" ] || { log "smoke: GET mismatch"; return 1; }
  curl -sSf -X DELETE "${auth[@]}" -H "x-amz-content-sha256: $empty" "$ep/smoke-$$/obj" >/dev/null
  curl -sSf -X DELETE "${auth[@]}" -H "x-amz-content-sha256: $empty" "$ep/smoke-$$" >/dev/null
  log "smoke test OK ($ep)"
}

case "${1:-start}" in
  install) install_pkgs ;;
  start)
    trap 'rc=$?; log "start failed (rc=$rc); logs in $DIR/log"; for f in "$DIR"/log/*.out "$DIR"/log/*.log; do [ -s "$f" ] && { echo "== $f"; tail -n 4 "$f" | cut -c1-300; }; done >&2; RGW_KEEP_DIR=1 stop; exit $rc' ERR
    start ;;
  ensure)
    if rgw_up; then log "radosgw already answers on 127.0.0.1:$RGW_PORT"; env_lines; exit 0; fi
    "$0" start ;;
  stop) stop ;;
  smoke) smoke ;;
  env) env_lines ;;
  *) echo "usage: $0 install|start|ensure|stop|smoke|env" >&2; exit 2 ;;
esac
