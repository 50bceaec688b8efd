# shellcheck shell=bash disable=SC2034  # (variables used by up.sh/down.sh)
# Shared settings of .ci/slurm/up.sh and .ci/slurm/down.sh (sourced, not run).
#
# Everything the private cluster writes lives under $ABAGEN_SLURM_DIR
# (default /tmp/abagen-slurm): etc/ (slurm.conf, cgroup.conf, slurmdbd.conf),
# pids/ (one pidfile per daemon we started), log/, and the daemons' state.
# Clients find the cluster through /etc/slurm/slurm.conf, a symlink to
# $ABAGEN_SLURM_DIR/etc/slurm.conf that up.sh makes (only where no such file
# exists) and down.sh removes. SLURM_CONF alone is not enough: the Snakemake
# SLURM jobstep plugin strips SLURM_* variables before its nested `srun`.

SLURM_CI_DIR=${ABAGEN_SLURM_DIR:-/tmp/abagen-slurm}
SLURM_CI_CONF=$SLURM_CI_DIR/etc/slurm.conf
SLURM_CI_PIDS=$SLURM_CI_DIR/pids
SLURM_SYSTEM_CONF=/etc/slurm/slurm.conf
# 1: slurmdbd + a private MariaDB, so `sacct` works (the plugin's default
# status command); 0: no accounting, Snakemake must use `squeue` for status.
SLURM_CI_ACCOUNTING=${ABAGEN_SLURM_ACCOUNTING:-1}
# Ports, all bound to 127.0.0.1.
SLURM_CI_CTLD_PORT=${ABAGEN_SLURM_CTLD_PORT:-6817}
SLURM_CI_SLURMD_PORT=${ABAGEN_SLURM_SLURMD_PORT:-6818}
SLURM_CI_DBD_PORT=${ABAGEN_SLURM_DBD_PORT:-6819}
SLURM_CI_DB_PORT=${ABAGEN_SLURM_DB_PORT:-3399}
# _our_system_conf: /etc/slurm/slurm.conf is our symlink.
_our_system_conf() {
    [ -L "$SLURM_SYSTEM_CONF" ] && [ "$(readlink "$SLURM_SYSTEM_CONF")" = "$SLURM_CI_CONF" ]
}
# Start order; down.sh stops them in reverse.
SLURM_CI_DAEMONS=(munged mariadbd slurmdbd slurmctld slurmd)

export SLURM_CONF=$SLURM_CI_CONF

_log() { printf '[slurm-ci] %s\n' "$*" >&2; }

# PID recorded for daemon $1, if that process is alive (not a zombie) and is
# still the program we started (its argv[0], as PIDs can be reused).
_live_pid() {
    local name=$1 pid state argv0
    [ -f "$SLURM_CI_PIDS/$name.pid" ] || return 1
    pid=$(cat "$SLURM_CI_PIDS/$name.pid")
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    state=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1)
    [ -n "$state" ] && [ "$state" != Z ] || return 1
    argv0=$(tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | head -n 1)
    [ "$(basename "$argv0")" = "$name" ] || return 1
    echo "$pid"
}
