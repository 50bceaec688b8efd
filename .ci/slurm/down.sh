#!/usr/bin/env bash
# Stop the private SLURM cluster started by .ci/slurm/up.sh.
#
# Cancels the cluster's jobs, then stops exactly the daemons whose PIDs up.sh
# recorded in $ABAGEN_SLURM_DIR/pids/ (TERM, then KILL after 15 s), newest
# first. Never matches processes by name. Safe to run twice, or with nothing
# running. Leaves $ABAGEN_SLURM_DIR (logs) in place; up.sh replaces it.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=common.sh
source "$HERE/common.sh"

if [ ! -d "$SLURM_CI_PIDS" ] || [ -z "$(ls -A "$SLURM_CI_PIDS")" ]; then
    _log "no daemons recorded in $SLURM_CI_PIDS; nothing to stop"
fi

# Cancel jobs first, so no job step outlives slurmd.
if _live_pid slurmctld >/dev/null; then
    timeout 10 scancel --user=root 2>/dev/null || true
    for _ in $(seq 20); do
        [ -z "$(timeout 5 squeue -h -t RUNNING,COMPLETING,PENDING -o %i 2>/dev/null)" ] && break
        sleep 0.5
    done
fi

status=0
for ((i = ${#SLURM_CI_DAEMONS[@]} - 1; i >= 0; i--)); do
    name=${SLURM_CI_DAEMONS[i]}
    pidfile=$SLURM_CI_PIDS/$name.pid
    [ -f "$pidfile" ] || continue  # (also when the folder is absent)
    if ! pid=$(_live_pid "$name"); then
        rm -f "$pidfile"
        continue
    fi
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 75); do
        _live_pid "$name" >/dev/null || break
        sleep 0.2
    done
    if _live_pid "$name" >/dev/null; then
        _log "$name ($pid) ignored TERM; sending KILL"
        kill -KILL "$pid" 2>/dev/null || true
        sleep 0.5
    fi
    if _live_pid "$name" >/dev/null; then
        _log "could not stop $name ($pid)"
        status=1
    else
        _log "stopped $name ($pid)"
        rm -f "$pidfile"
    fi
done
if [ "$status" = 0 ] && _our_system_conf; then
    rm -f "$SLURM_SYSTEM_CONF"
    _log "removed $SLURM_SYSTEM_CONF"
fi
exit $status
