# Shared helpers of the ops/ scripts (sourced, not run).
# shellcheck shell=bash
CRDS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Tools built once per machine live outside the repository.
CRDS_TOOLS_CACHE=${CRDS_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/crds-server}
TEMPORAL_CLI_VERSION=v1.5.1

say() { printf '%s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

# The Temporal CLI to use: $TEMPORAL_CLI, else the cached build.
temporal_cli() { printf '%s\n' "${TEMPORAL_CLI:-$CRDS_TOOLS_CACHE/bin/temporal}"; }

# wait_for_port HOST PORT SECONDS: until something accepts TCP connections there.
wait_for_port() {
  local host=$1 port=$2 seconds=$3 i
  for ((i = 0; i < seconds * 5; i++)); do
    (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null && return 0
    sleep 0.2
  done
  return 1
}

# free_port [N]: N (default 1) distinct TCP ports nobody listens on right now, on one line
# (all are held open until every one is chosen, so they cannot repeat).
free_port() {
  node -e 'const net=require("net");const n=Number(process.argv[1]||1);const ss=[];
    const next=()=>{if(ss.length===n){console.log(ss.map((s)=>s.address().port).join(" "));ss.forEach((s)=>s.close());return}
      const s=net.createServer();ss.push(s);s.listen(0,"127.0.0.1",next)};next()' "${1:-1}"
}

# wait_for_service PIDFILE HOST PORT SECONDS: until something accepts TCP connections there;
# fails at once if the process recorded in PIDFILE has ended (a port taken meanwhile, say).
wait_for_service() {
  local pidfile=$1 host=$2 port=$3 seconds=$4 i
  for ((i = 0; i < seconds * 5; i++)); do
    (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null && return 0
    alive "$pidfile" || return 1
    sleep 0.2
  done
  return 1
}

# alive PIDFILE: the recorded process is running.
alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# stop_pidfile PIDFILE NAME: TERM the process group recorded there, KILL after 15 s.
stop_pidfile() {
  local pidfile=$1 name=$2 pid i
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    # Each service runs in its own session (setsid): its group id is its pid.
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < 75; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then
      say "$name did not stop within 15 s: killing it"
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null
    fi
    say "stopped $name (pid $pid)"
  fi
  rm -f "$pidfile"
}

# start_service PIDFILE LOGFILE CMD...: runs CMD in the background in its own session.
start_service() {
  local pidfile=$1 logfile=$2
  shift 2
  mkdir -p "$(dirname "$pidfile")" "$(dirname "$logfile")"
  setsid "$@" >>"$logfile" 2>&1 </dev/null &
  echo $! >"$pidfile"
}
