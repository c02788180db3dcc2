#!/usr/bin/env bash
# Runs the whole joist test suite.
#
#   scripts/test.sh                          # gofmt + go vet + go test ./...
#   scripts/test.sh -run TestX ./internal/store/
#
# Starts one throwaway PostgreSQL (127.0.0.1, free port >= 55432, temp data
# dir, trust auth) and exports JOIST_TEST_DATABASE_URL; installs Chromium if
# missing and exports JOIST_TEST_CHROMIUM. With CI=true, a missing PostgreSQL
# or Chromium is an error; otherwise it is a warning and the affected tests
# skip themselves. The server and its temp dir are removed on exit.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

CI="${CI:-false}"
PG_BASE_PORT=55432
PG_USER=postgres
PG_DB=joist_test

PG_TMP=""
PG_DATA=""
PG_BIN=""
PG_PORT=""
PG_RUNNING=0
PG_PID=""

log()  { echo "test.sh: $*" >&2; }
warn() { echo "test.sh: WARNING: $*" >&2; }
die()  { echo "test.sh: ERROR: $*" >&2; exit 1; }

# Missing dependency: fatal in CI, a warning locally.
missing() {
	if [[ "$CI" == "true" ]]; then
		die "$*"
	fi
	warn "$* (continuing; affected tests will skip)"
}

is_root() { [[ "$(id -u)" -eq 0 ]]; }

apt_install() {
	is_root || return 1
	command -v apt-get >/dev/null 2>&1 || return 1
	log "installing $* with apt-get ..."
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null 2>&1 || return 1
	apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1
}

# Runs a command as the PostgreSQL OS user (or as ourselves when not root;
# initdb/postgres refuse to run as root).
as_pg() {
	if is_root; then
		(cd / && exec runuser -u "$PG_USER" -- "$@")
	else
		(cd / && exec "$@")
	fi
}

find_pg_bin() {
	local d
	for d in /usr/lib/postgresql/15/bin $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
		if [[ -x "$d/initdb" && -x "$d/pg_ctl" && -x "$d/postgres" ]]; then
			PG_BIN="$d"
			return 0
		fi
	done
	return 1
}

# True if something accepts TCP connections on 127.0.0.1:$1.
port_in_use() {
	timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" >/dev/null 2>&1
}

free_port() {
	local p=$1
	while ((p < PG_BASE_PORT + 1000)); do
		if ! port_in_use "$p"; then
			echo "$p"
			return 0
		fi
		p=$((p + 1))
	done
	return 1
}

# postmaster pid, from postmaster.pid (empty if none).
postmaster_pid() {
	local pid=""
	if [[ -n "$PG_DATA" && -f "$PG_DATA/postmaster.pid" ]]; then
		pid="$(head -n 1 "$PG_DATA/postmaster.pid" 2>/dev/null || true)"
	fi
	[[ "$pid" =~ ^[0-9]+$ ]] && echo "$pid"
	return 0
}

# True if process $1 exists and is not a zombie.
proc_alive() {
	local st
	[[ -n "$1" ]] && kill -0 "$1" 2>/dev/null || return 1
	st="$(ps -o stat= -p "$1" 2>/dev/null || true)"
	[[ "$st" != Z* ]]
}

# True while the background server job (runuser -> postgres) is alive.
pg_job_alive() {
	proc_alive "$PG_PID"
}

stop_pg() {
	if [[ -n "$PG_PID" ]]; then
		local pid i
		pid="$(postmaster_pid)"
		# Fast shutdown, then escalate to immediate shutdown, then SIGKILL.
		if [[ -n "$pid" ]]; then kill -INT "$pid" 2>/dev/null || true; fi
		# Wait for both the job (runuser) and the postmaster itself to be gone.
		for i in $(seq 1 300); do
			pg_job_alive || proc_alive "$pid" || break
			if ((i == 100)) && [[ -n "$pid" ]]; then kill -QUIT "$pid" 2>/dev/null || true; fi
			if ((i == 200)); then
				if [[ -n "$pid" ]]; then kill -KILL "$pid" 2>/dev/null || true; fi
				kill -KILL "$PG_PID" 2>/dev/null || true
			fi
			sleep 0.1
		done
		wait "$PG_PID" 2>/dev/null || true
		PG_PID=""
	fi
	PG_RUNNING=0
	return 0
}

cleanup() {
	stop_pg
	if [[ -n "$PG_TMP" && -d "$PG_TMP" ]]; then
		rm -rf -- "$PG_TMP" || true
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# start_pg: initdb + start a throwaway server, create $PG_DB and export
# JOIST_TEST_DATABASE_URL. Returns non-zero (after logging why) on failure.
start_pg() {
	if ! find_pg_bin; then
		apt_install postgresql-15 || apt_install postgresql || true
		find_pg_bin || { log "PostgreSQL server binaries not found"; return 1; }
	fi

	if is_root && ! id -u "$PG_USER" >/dev/null 2>&1; then
		useradd --system --user-group --home-dir /var/lib/postgresql \
			--shell /bin/sh "$PG_USER" || { log "could not create user $PG_USER"; return 1; }
	fi

	# Fixed /tmp (not $TMPDIR): the postgres user must be able to reach it
	# and unix socket paths must stay short.
	PG_TMP="$(mktemp -d /tmp/joist-pg.XXXXXXXX)" || return 1
	PG_DATA="$PG_TMP/data"
	if is_root; then
		chown "$PG_USER:" "$PG_TMP" || return 1
	fi

	if ! as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U "$PG_USER" -A trust \
		-E UTF8 --locale=C >"$PG_TMP/initdb.log" 2>&1; then
		log "initdb failed:"
		tail -n 20 "$PG_TMP/initdb.log" >&2 || true
		return 1
	fi

	cat >>"$PG_DATA/postgresql.conf" <<-EOF

		# joist scripts/test.sh
		listen_addresses = '127.0.0.1'
		unix_socket_directories = '$PG_TMP'
		max_connections = 300
		fsync = on
	EOF

	# The server runs as a child of this script (so it is always reaped) and
	# is stopped by cleanup(). If it dies during startup (e.g. another process
	# grabbed the port between the check and the bind), retry on the next port.
	# Readiness is checked through our private unix socket dir, so a foreign
	# server on the same TCP port can never be mistaken for ours.
	local attempt i port=$PG_BASE_PORT
	for attempt in 1 2 3 4 5; do
		port="$(free_port "$port")" || { log "no free port found"; return 1; }
		# Not via as_pg: $! must be the runuser/postgres pid itself.
		if is_root; then
			(cd / && exec runuser -u "$PG_USER" -- "$PG_BIN/postgres" -D "$PG_DATA" -p "$port") \
				>>"$PG_TMP/server.log" 2>&1 &
		else
			(cd / && exec "$PG_BIN/postgres" -D "$PG_DATA" -p "$port") >>"$PG_TMP/server.log" 2>&1 &
		fi
		PG_PID=$!
		for i in $(seq 1 600); do
			pg_job_alive || break
			if "$PG_BIN/pg_isready" -q -h "$PG_TMP" -p "$port" -U "$PG_USER" -t 1 &&
				"$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$port" -U "$PG_USER" -t 1; then
				PG_PORT=$port
				PG_RUNNING=1
				break 2
			fi
			sleep 0.1
		done
		if pg_job_alive; then
			log "PostgreSQL did not become ready within 60s"
			break
		fi
		stop_pg
		port=$((port + 1))
	done
	if ((PG_RUNNING == 0)); then
		log "PostgreSQL failed to start; server log:"
		tail -n 30 "$PG_TMP/server.log" >&2 || true
		return 1
	fi

	if ! "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" "$PG_DB"; then
		log "createdb $PG_DB failed"
		return 1
	fi

	export JOIST_TEST_DATABASE_URL="postgres://$PG_USER@127.0.0.1:$PG_PORT/$PG_DB?sslmode=disable"
	log "PostgreSQL ready: $JOIST_TEST_DATABASE_URL (data in $PG_TMP)"
}

setup_chromium() {
	local chromium=/usr/bin/chromium
	if [[ ! -x "$chromium" ]]; then
		apt_install chromium || true
	fi
	if [[ -x "$chromium" ]]; then
		export JOIST_TEST_CHROMIUM="$chromium"
		log "Chromium: $chromium"
		return 0
	fi
	return 1
}

# --- Go toolchain ---------------------------------------------------------
if ! command -v go >/dev/null 2>&1; then
	export PATH="$PATH:/usr/local/go/bin"
fi
command -v go >/dev/null 2>&1 || die "go not found (looked in PATH and /usr/local/go/bin)"

# --- External dependencies ------------------------------------------------
unset JOIST_TEST_DATABASE_URL JOIST_TEST_CHROMIUM
if ! start_pg; then
	stop_pg
	missing "could not start a throwaway PostgreSQL; JOIST_TEST_DATABASE_URL is not set"
fi
if ! setup_chromium; then
	missing "Chromium not found at /usr/bin/chromium; JOIST_TEST_CHROMIUM is not set"
fi

# --- Checks ---------------------------------------------------------------
log "gofmt -l ."
unformatted="$(gofmt -l .)"
if [[ -n "$unformatted" ]]; then
	echo "test.sh: these files need gofmt:" >&2
	echo "$unformatted" >&2
	exit 1
fi

log "go vet ./..."
go vet ./...

log "go test -count=1 -timeout 25m ${*:-./...}"
set +e
go test -count=1 -timeout 25m "${@:-./...}"
status=$?
set -e
exit "$status"
