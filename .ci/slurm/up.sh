#!/usr/bin/env bash
# Start a private single-node SLURM cluster bound to 127.0.0.1 (CI only).
#
# Needs root on Debian 12 (no systemd needed). Installs slurm-wlm and munge
# (plus slurmdbd and mariadb-server for accounting) when missing, writes the
# configuration under $ABAGEN_SLURM_DIR (default /tmp/abagen-slurm), starts
# munged, [mariadbd, slurmdbd,] slurmctld and slurmd in the background,
# records their PIDs in $ABAGEN_SLURM_DIR/pids/ and waits until the node is
# idle. Safe to run twice: a cluster that is already up is left alone.
# Stop it with .ci/slurm/down.sh.
#
# Environment: ABAGEN_SLURM_DIR, ABAGEN_SLURM_ACCOUNTING (1 = slurmdbd, the
# default; 0 = no accounting, then use `--slurm-status-command squeue`),
# ABAGEN_SLURM_CPUS (CPUs the node advertises; twice the real count),
# ABAGEN_SLURM_{CTLD,SLURMD,DBD,DB}_PORT (6817, 6818, 6819, 3399).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=common.sh
source "$HERE/common.sh"

T0=$(date +%s.%N)
elapsed() { awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

if [ "$(id -u)" != 0 ]; then
    _log "must run as root"
    exit 1
fi

# --- already up? ----------------------------------------------------------
all_up=1
any_up=0
for d in "${SLURM_CI_DAEMONS[@]}"; do
    if [ "$d" = mariadbd ] || [ "$d" = slurmdbd ]; then
        [ "$SLURM_CI_ACCOUNTING" = 1 ] || continue
    fi
    if _live_pid "$d" >/dev/null; then any_up=1; else all_up=0; fi
done
if [ "$all_up" = 1 ] && timeout 10 sinfo -h >/dev/null 2>&1; then
    _log "already running ($SLURM_CI_CONF)"
    sinfo
    exit 0
fi
if [ "$any_up" = 1 ]; then
    _log "a partial cluster is running: stopping it first"
    bash "$HERE/down.sh"
fi

# --- install ----------------------------------------------------------------
PKGS=(slurm-wlm munge)
[ "$SLURM_CI_ACCOUNTING" = 1 ] && PKGS+=(slurmdbd mariadb-server mariadb-client)
MISSING=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || MISSING+=("$p")
done
if [ ${#MISSING[@]} -gt 0 ]; then
    _log "installing ${MISSING[*]}"
    # Keep the packages' init scripts from starting system-wide daemons.
    POLICY=/usr/sbin/policy-rc.d
    OWN_POLICY=0
    if [ ! -e "$POLICY" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$POLICY"
        chmod 755 "$POLICY"
        OWN_POLICY=1
    fi
    status=0
    { apt-get update -q >/dev/null &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
            "${MISSING[@]}" >/dev/null; } || status=$?
    [ "$OWN_POLICY" = 0 ] || rm -f "$POLICY"
    [ "$status" = 0 ] || { _log "package installation failed"; exit "$status"; }
fi
T_INSTALL=$(elapsed)

# --- ports ------------------------------------------------------------------
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
PORTS=("$SLURM_CI_CTLD_PORT" "$SLURM_CI_SLURMD_PORT")
[ "$SLURM_CI_ACCOUNTING" = 1 ] && PORTS+=("$SLURM_CI_DBD_PORT" "$SLURM_CI_DB_PORT")
for port in "${PORTS[@]}"; do
    if port_busy "$port"; then
        _log "port $port on 127.0.0.1 is in use; set ABAGEN_SLURM_*_PORT"
        exit 1
    fi
done

# From here on, a failure stops whatever this script started.
UP_OK=0
cleanup() { [ "$UP_OK" = 1 ] || { _log "start failed; stopping what was started"; bash "$HERE/down.sh"; }; }
trap cleanup EXIT

# --- where clients look for slurm.conf --------------------------------------
if ! _our_system_conf && { [ -e "$SLURM_SYSTEM_CONF" ] || [ -L "$SLURM_SYSTEM_CONF" ]; }; then
    _log "$SLURM_SYSTEM_CONF exists (another cluster?); not replacing it. Jobs' nested"
    _log "srun reads it (the jobstep plugin drops SLURM_CONF), so this script cannot run here."
    exit 1
fi

# --- fresh private folder ---------------------------------------------------
if [ -e "$SLURM_CI_DIR" ]; then
    if [ ! -f "$SLURM_CI_DIR/.abagen-slurm" ]; then
        _log "$SLURM_CI_DIR exists and was not made by this script; refusing to reuse it"
        exit 1
    fi
    rm -rf "$SLURM_CI_DIR"
fi
mkdir -p "$SLURM_CI_DIR"/{etc,pids,log,ctld,spool,munge}
touch "$SLURM_CI_DIR/.abagen-slurm"
chmod 755 "$SLURM_CI_DIR" "$SLURM_CI_DIR/etc"
chown munge:munge "$SLURM_CI_DIR/munge"
chmod 755 "$SLURM_CI_DIR/munge"  # munged: socket dir must be world-executable
ETC=$SLURM_CI_DIR/etc
MUNGE_SOCKET=$SLURM_CI_DIR/munge/munge.socket

# --- configuration ------------------------------------------------------------
# Hardware as slurmd sees it; advertise 90% of the memory.
HW=$(slurmd -C | head -1)
hw() { sed -n "s/.*\b$1=\([0-9]*\).*/\1/p" <<<"$HW"; }
MEM=$(($(hw RealMemory) * 9 / 10))
# Advertise twice the CPUs the machine has (ABAGEN_SLURM_CPUS overrides): the
# workflow's jobs are short and mostly single-threaded, and a group job runs
# its jobs one after another, so more of them fit side by side than the
# core count says. SlurmdParameters=config_overrides lets slurmd accept that.
CPUS=${ABAGEN_SLURM_CPUS:-$(($(hw CPUs) * 2))}
if [ "$CPUS" = "$(hw CPUs)" ]; then
    NODE_HW="CPUs=$CPUS $(sed -n 's/.*\(Boards=.*\) RealMemory.*/\1/p' <<<"$HW")"
    OVERRIDES=""
else
    NODE_HW="CPUs=$CPUS"
    OVERRIDES="SlurmdParameters=config_overrides"
fi
# (AccountingStoragePass names the munge socket for talking to slurmdbd;
# AuthInfo only covers slurmctld/slurmd traffic.)
if [ "$SLURM_CI_ACCOUNTING" = 1 ]; then
    ACCOUNTING_LINES="AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStoragePort=$SLURM_CI_DBD_PORT
AccountingStoragePass=$MUNGE_SOCKET"
else
    ACCOUNTING_LINES="AccountingStorageType=accounting_storage/none"
fi

cat >"$ETC/slurm.conf" <<EOF
# Written by .ci/slurm/up.sh: a single-node cluster on 127.0.0.1.
ClusterName=localcluster
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$SLURM_CI_CTLD_PORT
SlurmdPort=$SLURM_CI_SLURMD_PORT
CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$MUNGE_SOCKET
StateSaveLocation=$SLURM_CI_DIR/ctld
SlurmdSpoolDir=$SLURM_CI_DIR/spool
SlurmctldPidFile=$SLURM_CI_DIR/ctld/slurmctld.pid
SlurmdPidFile=$SLURM_CI_DIR/spool/slurmd.pid
SlurmctldLogFile=$SLURM_CI_DIR/log/slurmctld.log
SlurmdLogFile=$SLURM_CI_DIR/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=512
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
MinJobAge=300
SchedulerType=sched/backfill
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=30
$ACCOUNTING_LINES
$OVERRIDES
NodeName=localhost NodeAddr=127.0.0.1 NodeHostname=localhost $NODE_HW RealMemory=$MEM State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF

cat >"$ETC/cgroup.conf" <<EOF
# Written by .ci/slurm/up.sh. Unused: proctrack/linuxproc and task/none need
# no cgroups (CI containers seldom delegate them); kept so no plugin finds a
# system-wide file instead.
ConstrainCores=no
ConstrainRAMSpace=no
ConstrainDevices=no
EOF

mkdir -p "$(dirname "$SLURM_SYSTEM_CONF")"
_our_system_conf || ln -s "$SLURM_CI_CONF" "$SLURM_SYSTEM_CONF"

# --- start --------------------------------------------------------------------
# start NAME CMD...: run CMD in its own session, in the background; its PID
# (the daemon itself, via exec) goes to pids/NAME.pid.
start() {
    local name=$1
    shift
    # shellcheck disable=SC2016  # expanded by the inner bash
    setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$SLURM_CI_PIDS/$name.pid" "$@" \
        </dev/null >"$SLURM_CI_DIR/log/$name.out" 2>&1 &
}
# wait_for WHAT SECONDS CMD...: poll CMD until it succeeds.
wait_for() {
    local what=$1 end=$((SECONDS + $2))
    shift 2
    while [ "$SECONDS" -lt "$end" ]; do
        if timeout 5 "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.2
    done
    _log "timed out waiting for $what; logs in $SLURM_CI_DIR/log:"
    tail -n 20 "$SLURM_CI_DIR"/log/* >&2 || true
    return 1
}

# munge: a private key and socket, run as user munge.
mungekey --create --keyfile="$SLURM_CI_DIR/munge/munge.key" 2>/dev/null ||
    dd if=/dev/urandom of="$SLURM_CI_DIR/munge/munge.key" bs=1 count=1024 status=none
chown munge:munge "$SLURM_CI_DIR/munge/munge.key"
chmod 600 "$SLURM_CI_DIR/munge/munge.key"
start munged setpriv --reuid=munge --regid=munge --init-groups \
    munged -F --socket="$MUNGE_SOCKET" --key-file="$SLURM_CI_DIR/munge/munge.key" \
    --log-file="$SLURM_CI_DIR/munge/munged.log" --pid-file="$SLURM_CI_DIR/munge/munged.pid" \
    --seed-file="$SLURM_CI_DIR/munge/munged.seed"
wait_for munged 20 bash -c "munge -S '$MUNGE_SOCKET' -n | unmunge -S '$MUNGE_SOCKET'"

if [ "$SLURM_CI_ACCOUNTING" = 1 ]; then
    DB=$SLURM_CI_DIR/mysql
    DB_SOCKET=$DB/mysql.sock
    DB_PASS=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
    mkdir -p "$DB"
    chown mysql:mysql "$DB"
    mariadb-install-db --no-defaults --user=mysql --datadir="$DB" --skip-test-db \
        --auth-root-authentication-method=socket >"$SLURM_CI_DIR/log/mariadb-install.out" 2>&1
    start mariadbd mariadbd --no-defaults --user=mysql --datadir="$DB" \
        --bind-address=127.0.0.1 --port="$SLURM_CI_DB_PORT" --socket="$DB_SOCKET" \
        --pid-file="$DB/mariadbd.pid" --skip-log-bin --innodb-buffer-pool-size=64M \
        --log-error="$DB/mariadbd.log"
    wait_for mariadbd 60 mariadb --no-defaults --socket="$DB_SOCKET" -u root -e "SELECT 1"
    mariadb --no-defaults --socket="$DB_SOCKET" -u root <<EOF
CREATE USER 'slurm'@'127.0.0.1' IDENTIFIED BY '$DB_PASS';
CREATE USER 'slurm'@'localhost' IDENTIFIED BY '$DB_PASS';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';
EOF
    umask 077
    cat >"$ETC/slurmdbd.conf" <<EOF
# Written by .ci/slurm/up.sh.
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCKET
DbdAddr=127.0.0.1
DbdHost=localhost
DbdPort=$SLURM_CI_DBD_PORT
CommunicationParameters=NoInAddrAny
SlurmUser=root
DebugLevel=info
LogFile=$SLURM_CI_DIR/log/slurmdbd.log
PidFile=$SLURM_CI_DIR/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$SLURM_CI_DB_PORT
StorageUser=slurm
StoragePass=$DB_PASS
StorageLoc=slurm_acct_db
EOF
    umask 022
    chmod 600 "$ETC/slurmdbd.conf"
    # (slurmdbd reads slurmdbd.conf beside $SLURM_CONF, exported by common.sh)
    start slurmdbd slurmdbd -D
    wait_for slurmdbd 60 sacctmgr -n list cluster
    # Register the cluster and give root an account before slurmctld starts.
    sacctmgr -i add cluster localcluster >/dev/null
    sacctmgr -i add account ci Cluster=localcluster Description=CI Organization=ci >/dev/null
    sacctmgr -i add user root Account=ci DefaultAccount=ci >/dev/null
fi

start slurmctld slurmctld -D -f "$SLURM_CI_CONF"
wait_for slurmctld 30 scontrol ping
start slurmd slurmd -D -N localhost -f "$SLURM_CI_CONF"

# shellcheck disable=SC2016
wait_for "node localhost idle" 60 bash -c '[ "$(sinfo -h -N -n localhost -o %T)" = idle ]'

UP_OK=1
_log "cluster up in $(elapsed) s (packages ready after $T_INSTALL s)"
_log "config: $SLURM_SYSTEM_CONF -> $SLURM_CI_CONF"
sinfo
