#!/usr/bin/env bash
# Regenerates the upgrade fixtures in internal/app/testdata/upgrade/: a SQLite
# database and a PostgreSQL schema dump made by an OLD joist binary, so that a
# test can prove a database made by that version upgrades cleanly.
#
#   scripts/make-upgrade-fixture.sh                  # builds FIXTURE_COMMIT (default 3e3f61e)
#   scripts/make-upgrade-fixture.sh /path/to/joist   # uses that binary (set FIXTURE_COMMIT to say which)
#
# For each store it runs `joist serve` on a free 127.0.0.1 port with fixed
# credentials (below), creates everything through the real HTTP API with curl
# (tenants, keys, contacts, push jobs, schedules, webhook sources and signed
# deliveries, Stripe billing state, a scoped operator), waits until the push
# jobs and the webhook forward are `retrying` (their targets, port 9, are
# closed) with their next attempt a few seconds away, and stops it with
# SIGTERM: River finishes (fails) any attempt in flight, so no job is left
# `running`, and SQLite checkpoints its WAL into joist.db. Then:
#
#   sqlite/joist.db  the data directory's database, checkpointed and VACUUMed
#   postgres.sql     pg_dump --inserts of schema joist_upgrade_fixture (no COPY,
#                    no psql meta-commands), checked to load into another schema
#                    with psql and in one simple-protocol pgx Exec
#   README.md        what they hold (ids from this run) and how to use them
#
# Both fixtures are checked: the old binary starts on a copy of each and lists
# the tenants and the pending jobs.
#
# Needs: go (unless a binary is given), curl, jq, openssl, sqlite3, and
# PostgreSQL 15 server binaries (PG_BIN, default /usr/lib/postgresql/15/bin):
# a throwaway server is started on the first free port from
# UPGRADE_FIXTURE_PG_PORT (default 56432) as the `postgres` OS user when run
# as root, and removed on exit.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$REPO/internal/app/testdata/upgrade"
FIXTURE_COMMIT="${FIXTURE_COMMIT:-3e3f61e}"
OLD_BIN="${1:-}"
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
PG_BASE_PORT="${UPGRADE_FIXTURE_PG_PORT:-56432}"
PG_USER=postgres
PG_DB=joist_fixture

# --- Fixed inputs (documented in the README; none of this is a real secret) --
ROOT_KEY=root_upgrade_fixture_key_0123456789abcdef # 40 characters
OWNER_EMAIL=owner@example.com
OWNER_PASSWORD='correct horse battery staple'
SECRET_KEY=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff
SUPPORT_EMAIL=support@example.com
SUPPORT_PASSWORD='support staff password 42'
PG_SCHEMA=joist_upgrade_fixture
PG_CHECK_SCHEMA=joist_upgrade_check
# Port 9 (discard) is closed on 127.0.0.1: every push there fails at once.
PUSH_URL=http://127.0.0.1:9/upgrade/push
FORWARD_URL=http://127.0.0.1:9/upgrade/forward
SCHEDULE_URL=http://127.0.0.1:9/upgrade/schedule
# Standard Webhooks secret: whsec_ + base64 of these 32 bytes.
STANDARD_KEY_RAW='upgrade-fixture-standard-secret!'
STANDARD_SECRET="whsec_$(printf %s "$STANDARD_KEY_RAW" | base64 -w0)"
# Stripe keys its HMAC with the whole whsec_ string.
STRIPE_SECRET=whsec_upgrade_fixture_stripe_secret_0123
STRIPE_INSTANCE_SECRET=whsec_upgrade_fixture_instance_secret_01

# Fixed webhook bodies (only the signature timestamps vary between runs).
STANDARD_MSG_ID=msg_upgrade_fixture_0001
STANDARD_BODY='{"type":"user.updated","data":{"user_id":"user_42","plan":"pro"}}'
STRIPE_SUB_BODY='{"id":"evt_UpgradeFixture0001","object":"event","type":"customer.subscription.created","created":1767225600,"livemode":true,"api_version":"2025-03-31.basil","data":{"object":{"id":"sub_UpgradeFixture0001","object":"subscription","customer":"cus_UpgradeFixture0001","status":"active","cancel_at_period_end":false,"cancel_at":null,"canceled_at":null,"trial_end":null,"latest_invoice":"in_UpgradeFixture0001","metadata":{"joist_contact":"user_42"},"items":{"object":"list","data":[{"id":"si_UpgradeFixture0001","current_period_end":1893456000,"quantity":3,"price":{"id":"price_UpgradePro","nickname":"Pro","product":"prod_UpgradePro"}}]}}}}'
STRIPE_INVOICE_BODY='{"id":"evt_UpgradeFixture0002","object":"event","type":"invoice.paid","created":1767225660,"livemode":true,"api_version":"2025-03-31.basil","data":{"object":{"id":"in_UpgradeFixture0001","object":"invoice","customer":"cus_UpgradeFixture0001","status":"paid","amount_paid":4500,"currency":"eur","parent":{"subscription_details":{"subscription":"sub_UpgradeFixture0001","metadata":{"joist_contact":"user_42"}}}}}}'

log() { echo "make-upgrade-fixture: $*" >&2; }
die() {
	echo "make-upgrade-fixture: ERROR: $*" >&2
	exit 1
}

for tool in curl jq openssl sqlite3 base64 xxd sha256sum; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool not found"
done
[[ -x "$PG_BIN/postgres" && -x "$PG_BIN/initdb" && -x "$PG_BIN/pg_dump" && -x "$PG_BIN/psql" ]] ||
	die "PostgreSQL server binaries not found in PG_BIN=$PG_BIN"
if ! command -v go >/dev/null 2>&1; then export PATH="$PATH:/usr/local/go/bin"; fi
command -v go >/dev/null 2>&1 || die "go not found"

# --- Work directory and cleanup ----------------------------------------------
# Under /tmp (not $TMPDIR): the postgres user must reach it, socket paths stay short.
WORK="$(mktemp -d /tmp/joist-upgrade-fixture.XXXXXXXX)"
chmod 755 "$WORK"
JOIST_PIDS=()
PG_PID=""
PG_DATA="$WORK/pg/data"

is_root() { [[ "$(id -u)" -eq 0 ]]; }

# Runs a command as the PostgreSQL OS user (initdb/postgres refuse root).
as_pg() {
	if is_root; then
		(cd / && exec runuser -u "$PG_USER" -- "$@")
	else
		(cd / && exec "$@")
	fi
}

stop_pg() {
	[[ -n "$PG_PID" ]] || return 0
	local pid="" i
	[[ -f "$PG_DATA/postmaster.pid" ]] && pid="$(head -n 1 "$PG_DATA/postmaster.pid" 2>/dev/null || true)"
	[[ "$pid" =~ ^[0-9]+$ ]] || pid=""
	# Fast shutdown (SIGINT to the postmaster), escalating if it hangs.
	[[ -n "$pid" ]] && kill -INT "$pid" 2>/dev/null || true
	for i in $(seq 1 200); do
		kill -0 "$PG_PID" 2>/dev/null || break
		((i == 100)) && [[ -n "$pid" ]] && { kill -QUIT "$pid" 2>/dev/null || true; }
		sleep 0.1
	done
	kill -KILL "$PG_PID" 2>/dev/null || true
	wait "$PG_PID" 2>/dev/null || true
	PG_PID=""
}

cleanup() {
	local pid
	for pid in "${JOIST_PIDS[@]}"; do
		if kill -0 "$pid" 2>/dev/null; then
			kill -KILL "$pid" 2>/dev/null || true
			wait "$pid" 2>/dev/null || true
		fi
	done
	stop_pg
	rm -rf -- "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# --- The old binary -------------------------------------------------------------
# Built from a `git archive` of FIXTURE_COMMIT (no worktree: the repository's
# state is not touched). GO_MOD_DIR is a module that has pgx, for the loader check.
if [[ -z "$OLD_BIN" ]]; then
	log "building joist at $FIXTURE_COMMIT ..."
	mkdir -p "$WORK/src"
	git -C "$REPO" archive "$FIXTURE_COMMIT" | tar -x -C "$WORK/src"
	(cd "$WORK/src" && go build -o "$WORK/joist" ./cmd/joist)
	OLD_BIN="$WORK/joist"
	GO_MOD_DIR="$WORK/src"
	MADE_BY="joist built from commit $FIXTURE_COMMIT ($(git -C "$REPO" log -1 --format='%H, %cs' "$FIXTURE_COMMIT"))"
else
	[[ -x "$OLD_BIN" ]] || die "$OLD_BIN is not an executable"
	OLD_BIN="$(cd "$(dirname "$OLD_BIN")" && pwd)/$(basename "$OLD_BIN")"
	GO_MOD_DIR="$REPO"
	MADE_BY="the joist binary given on the command line, said to be commit $FIXTURE_COMMIT"
fi

# --- Helpers --------------------------------------------------------------------
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# JOIST_ENV: the settings of the store being made (an array of NAME=value).
# start_joist LOGFILE starts `joist serve` with only those settings (env -i:
# nothing leaks in from the caller's JOIST_*) and waits for /readyz.
start_joist() {
	local logf=$1 port i
	port="$(free_port)"
	env -i PATH="$PATH" HOME="${HOME:-/root}" \
		JOIST_ADDR="127.0.0.1:$port" JOIST_ROOT_KEY="$ROOT_KEY" JOIST_SECRET_KEY="$SECRET_KEY" \
		JOIST_OWNER_EMAIL="$OWNER_EMAIL" JOIST_OWNER_PASSWORD="$OWNER_PASSWORD" \
		"${JOIST_ENV[@]}" "$OLD_BIN" serve >>"$logf" 2>&1 &
	JOIST_PID=$!
	JOIST_PIDS+=("$JOIST_PID")
	BASE="http://127.0.0.1:$port"
	for i in $(seq 1 300); do
		kill -0 "$JOIST_PID" 2>/dev/null || { tail -n 30 "$logf" >&2; die "joist serve exited during startup"; }
		if [[ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/readyz" || true)" == 200 ]]; then
			return 0
		fi
		sleep 0.1
	done
	tail -n 30 "$logf" >&2
	die "joist serve did not become ready within 30s"
}

# stop_joist: SIGTERM (graceful: in-flight attempts finish, SQLite checkpoints).
stop_joist() {
	kill -TERM "$JOIST_PID"
	wait "$JOIST_PID" || die "joist serve exited with status $? on SIGTERM"
}

# api TENANT METHOD PATH [BODY [CURL_ARGS...]] prints the response body and
# fails unless the status is 2xx. TENANT "-" sends no Joist-Tenant header
# (root key alone: the instance, on routes that have one).
api() {
	local tenant=$1 method=$2 path=$3 body=${4-} code
	shift 3
	(($#)) && shift
	local args=(-sS -o "$WORK/resp" -w '%{http_code}' -X "$method" -H "Authorization: Bearer $ROOT_KEY")
	[[ "$tenant" != - ]] && args+=(-H "Joist-Tenant: $tenant")
	[[ -n "$body" ]] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
	code="$(curl "${args[@]}" "$@" "$BASE$path")"
	if [[ "$code" != 2* ]]; then
		echo "make-upgrade-fixture: $method $path answered $code: $(cat "$WORK/resp")" >&2
		return 1
	fi
	cat "$WORK/resp"
}

# ingest PATH BODY HEADER... posts a provider delivery; fails unless 200 and new.
ingest() {
	local path=$1 body=$2 code
	shift 2
	local args=(-sS -o "$WORK/resp" -w '%{http_code}' -X POST -H 'Content-Type: application/json')
	local h
	for h in "$@"; do args+=(-H "$h"); done
	code="$(curl "${args[@]}" --data-binary "$body" "$BASE$path")"
	[[ "$code" == 200 ]] || die "POST $path answered $code: $(cat "$WORK/resp")"
	[[ "$(jq -r .duplicate "$WORK/resp")" == false ]] || die "POST $path: a duplicate (is the database fresh?)"
	jq -r .id "$WORK/resp"
}

# rec NAME VALUE records an id of the store being made, for the README.
rec() { printf '%s\t%s\n' "$1" "$2" >>"$WORK/$STORE.ids"; }
# get STORE NAME reads it back.
get() { awk -F '\t' -v k="$2" '$1 == k { v = $2 } END { print v }' "$WORK/$1.ids"; }

# hmac_b64 HEXKEY and hmac_hex STRINGKEY sign stdin with HMAC-SHA256.
hmac_b64() { openssl dgst -sha256 -mac HMAC -macopt "hexkey:$1" -binary | base64 -w0; }
hmac_hex() { openssl dgst -sha256 -mac HMAC -macopt "key:$1" -binary | xxd -p -c 256; }

# epoch RFC3339 -> Unix seconds.
epoch() { date -u -d "$1" +%s; }

# --- What every store gets -------------------------------------------------------
populate() {
	local r acme globex

	log "[$STORE] tenants, keys, contacts"
	acme="$(api - POST /v1/tenants '{"slug":"acme","name":"Acme Clinic"}' -H 'Joist-Correlation-Id: fixture-tenant-acme' | jq -r .id)"
	globex="$(api - POST /v1/tenants '{"slug":"globex","name":"Globex Corporation"}' -H 'Joist-Correlation-Id: fixture-tenant-globex' | jq -r .id)"
	rec tenant_acme "$acme"
	rec tenant_globex "$globex"
	r="$(api - POST /v1/tenants/acme/keys '{"name":"upgrade fixture key"}')"
	rec key_acme_id "$(jq -r .id <<<"$r")"
	rec key_acme "$(jq -r .key <<<"$r")"
	# A second key, revoked (audit: key.revoke).
	r="$(api - POST /v1/tenants/acme/keys '{"name":"revoked key"}')"
	rec key_acme_revoked_id "$(jq -r .id <<<"$r")"
	api - DELETE "/v1/tenants/acme/keys/$(jq -r .id <<<"$r")" >/dev/null

	r="$(api acme PUT /v1/contacts/user_42 '{"email":"ann@example.com","name":"Ann Lee","locale":"en-GB","timezone":"Europe/Paris","metadata":{"plan":"pro","seats":3,"tags":["vip"]}}')"
	rec contact_acme_user_42 "$(jq -r .id <<<"$r")"
	r="$(api acme PUT /v1/contacts/user_43 '{"email":"bob@example.com","name":"Bob Stone"}')"
	rec contact_acme_user_43 "$(jq -r .id <<<"$r")"
	r="$(api globex PUT /v1/contacts/user_7 '{"email":"gus@globex.example","name":"Gus Grant","metadata":{"region":"eu"}}')"
	rec contact_globex_user_7 "$(jq -r .id <<<"$r")"

	log "[$STORE] operator support@example.com (support, acme only)"
	env -i PATH="$PATH" HOME="${HOME:-/root}" JOIST_SECRET_KEY="$SECRET_KEY" "${JOIST_ENV[@]}" \
		JOIST_NEW_PASSWORD="$SUPPORT_PASSWORD" \
		"$OLD_BIN" operator create "$SUPPORT_EMAIL" support --tenants acme --name "Sam Support" >"$WORK/op.out" 2>&1 ||
		{ cat "$WORK/op.out" >&2; die "joist operator create failed"; }
	rec operator_support "$(grep -o 'op_[0-9a-z]*' "$WORK/op.out" | head -n 1)"

	log "[$STORE] push jobs"
	# Fails at once (port 9): retrying. Idempotency-Key: an idempotency record.
	r="$(api acme POST /v1/jobs "{\"url\":\"$PUSH_URL\",\"body\":{\"fixture\":\"retrying\"},\"max_attempts\":25}" \
		-H 'Idempotency-Key: fixture-push-retrying' -H 'Joist-Correlation-Id: fixture-push-retrying')"
	rec job_push_retrying "$(jq -r .id <<<"$r")"
	# Due in an hour: scheduled.
	r="$(api acme POST /v1/jobs "{\"url\":\"$PUSH_URL\",\"body\":{\"fixture\":\"scheduled\"},\"delay\":\"1h\"}" \
		-H 'Joist-Correlation-Id: fixture-push-scheduled')"
	rec job_push_scheduled "$(jq -r .id <<<"$r")"
	# Unique while pending; the second enqueue is deduplicated.
	r="$(api acme POST /v1/jobs "{\"url\":\"$PUSH_URL\",\"method\":\"PUT\",\"headers\":{\"X-Fixture\":\"unique\"},\"body\":{\"fixture\":\"unique\"},\"delay\":\"2h\",\"unique_key\":\"fixture-unique-1\",\"priority\":1}" \
		-H 'Joist-Correlation-Id: fixture-push-unique')"
	rec job_push_unique "$(jq -r .id <<<"$r")"
	r="$(api acme POST /v1/jobs "{\"url\":\"$PUSH_URL\",\"body\":{\"fixture\":\"unique again\"},\"unique_key\":\"fixture-unique-1\"}")"
	[[ "$(jq -r .deduplicated <<<"$r")" == true && "$(jq -r .id <<<"$r")" == "$(get "$STORE" job_push_unique)" ]] ||
		die "the second unique_key enqueue was not deduplicated: $r"
	# A globex job, cancelled (dead-letter view; audit: job.cancel).
	r="$(api globex POST /v1/jobs "{\"url\":\"$PUSH_URL\",\"body\":{\"fixture\":\"cancelled\"},\"delay\":\"1h\"}")"
	rec job_globex_cancelled "$(jq -r .id <<<"$r")"
	api globex POST "/v1/jobs/$(jq -r .id <<<"$r")/cancel" >/dev/null

	log "[$STORE] schedules"
	r="$(api acme PUT /v1/schedules/daily-report "{\"cron\":\"0 9 * * 1-5\",\"timezone\":\"Europe/Paris\",\"missed\":\"skip\",\"job\":{\"url\":\"$SCHEDULE_URL\",\"body\":{\"report\":\"daily\"}}}")"
	rec schedule_daily_report "$(jq -r .id <<<"$r")"
	r="$(api acme PUT /v1/schedules/weekly-digest "{\"cron\":\"@weekly\",\"missed\":\"run_once\",\"paused\":true,\"job\":{\"url\":\"$SCHEDULE_URL\",\"method\":\"POST\",\"body\":{\"digest\":\"weekly\"},\"max_attempts\":3,\"timeout\":\"10s\"}}")"
	rec schedule_weekly_digest "$(jq -r .id <<<"$r")"

	log "[$STORE] webhook sources and signed deliveries"
	r="$(api acme PUT /v1/webhook-sources/standard "{\"provider\":\"standard_webhooks\",\"secrets\":[{\"secret\":\"$STANDARD_SECRET\"}],\"forward_url\":\"$FORWARD_URL\",\"contact_pointer\":\"/data/user_id\"}")"
	rec source_acme_standard "$(jq -r .id <<<"$r")"
	r="$(api acme PUT /v1/webhook-sources/stripe "{\"provider\":\"stripe\",\"secrets\":[{\"secret\":\"$STRIPE_SECRET\"}]}")"
	rec source_acme_stripe "$(jq -r .id <<<"$r")"
	# The instance's own Stripe source (root key, no Joist-Tenant).
	r="$(api - PUT /v1/webhook-sources/stripe "{\"provider\":\"stripe\",\"secrets\":[{\"secret\":\"$STRIPE_INSTANCE_SECRET\"}]}")"
	rec source_instance_stripe "$(jq -r .id <<<"$r")"

	local ts sig ev
	ts="$(date +%s)"
	sig="$(printf '%s.%s.%s' "$STANDARD_MSG_ID" "$ts" "$STANDARD_BODY" | hmac_b64 "$(printf %s "$STANDARD_KEY_RAW" | xxd -p -c 256)")"
	ev="$(ingest /in/acme/standard "$STANDARD_BODY" "webhook-id: $STANDARD_MSG_ID" "webhook-timestamp: $ts" \
		"webhook-signature: v1,$sig" 'Joist-Correlation-Id: fixture-standard-delivery')"
	rec event_standard "$ev"
	rec job_forward "$(api acme GET "/v1/webhook-events/$ev" | jq -r .forward_job_id)"

	ts="$(date +%s)"
	sig="$(printf '%s.%s' "$ts" "$STRIPE_SUB_BODY" | hmac_hex "$STRIPE_SECRET")"
	ev="$(ingest /in/acme/stripe "$STRIPE_SUB_BODY" "Stripe-Signature: t=$ts,v1=$sig")"
	rec event_stripe_subscription "$ev"
	ts="$(date +%s)"
	sig="$(printf '%s.%s' "$ts" "$STRIPE_INVOICE_BODY" | hmac_hex "$STRIPE_SECRET")"
	ev="$(ingest /in/acme/stripe "$STRIPE_INVOICE_BODY" "Stripe-Signature: t=$ts,v1=$sig")"
	rec event_stripe_invoice "$ev"

	log "[$STORE] billing customers"
	# An explicit link (audit: billing_customer.link) and an instance route
	# to globex with its contact (audit: billing_customer.route).
	api acme PUT /v1/billing/customers/cus_UpgradeFixture0002 '{"contact":"user_43"}' >/dev/null
	api - PUT /v1/billing/customers/cus_UpgradeFixture0003 '{"tenant":"globex","contact":"user_7"}' >/dev/null

	log "[$STORE] signing secrets"
	rec signing_secret_acme "$(api acme GET /v1/signing-secret | jq -c .)"
}

# wait_settled: the Stripe jobs completed and the subscription applied; the
# push job and the forward `retrying` with the next attempt >= 3 s away, so
# SIGTERM leaves them retrying.
wait_settled() {
	local r state due now ok j deadline=$((SECONDS + 90)) why
	while ((SECONDS < deadline)); do
		ok=1
		r="$(api acme GET '/v1/jobs?kind=stripe_event&limit=10')"
		[[ "$(jq '[.data[] | select(.state == "completed")] | length' <<<"$r")" == 2 ]] || { ok=0; why="stripe_event jobs: $r"; }
		r="$(api acme GET /v1/subscriptions)"
		[[ "$(jq -r '.data[0].payment_status // empty' <<<"$r")" == paid ]] || { ok=0; why="subscriptions: $r"; }
		now="$(date +%s)"
		for j in job_push_retrying job_forward; do
			r="$(api acme GET "/v1/jobs/$(get "$STORE" "$j")")"
			state="$(jq -r .state <<<"$r")"
			due="$(epoch "$(jq -r .scheduled_at <<<"$r")")"
			[[ "$state" == retrying ]] && ((due - now >= 3)) || { ok=0; why="$j: $r"; }
		done
		((ok)) && return 0
		sleep 0.2
	done
	die "[$STORE] jobs did not settle within 90s; last: $why"
}

# After the stop, read each job's River state from the database itself
# (River's names: the API shows `retryable` as `retrying`, `discarded` as `dead`).
record_states() {
	local rows
	# shellcheck disable=SC2016
	local q='SELECT j.id, j.kind, r.state, r.attempt, r.max_attempts FROM jobs j JOIN river_job r ON r.id = j.river_id ORDER BY r.id'
	if [[ "$STORE" == sqlite ]]; then
		rows="$(sqlite3 -separator $'\t' "$WORK/sqlite-data/joist.db" "$q")"
	else
		rows="$(psql_fx -At -F $'\t' -c "SET search_path = $PG_SCHEMA; $q")"
	fi
	printf '%s\n' "$rows" >"$WORK/$STORE.states"
	local qa="SELECT action || ' (' || actor_type || ')', count(*) FROM audit_log GROUP BY 1 ORDER BY 1"
	if [[ "$STORE" == sqlite ]]; then
		sqlite3 -separator $'\t' "$WORK/sqlite-data/joist.db" "$qa" >"$WORK/$STORE.audit"
	else
		psql_fx -At -F $'\t' -c "SET search_path = $PG_SCHEMA; $qa" >"$WORK/$STORE.audit"
	fi
	grep -q $'\trunning\t' "$WORK/$STORE.states" && die "[$STORE] a job was left running"
	expect_state() {
		local id
		id="$(get "$STORE" "$1")"
		awk -F '\t' -v id="$id" -v st="$2" '$1 == id && $3 == st { f = 1 } END { exit !f }' "$WORK/$STORE.states" ||
			die "[$STORE] $1 ($id) is not $2: $(grep "$id" "$WORK/$STORE.states")"
	}
	expect_state job_push_retrying retryable
	expect_state job_forward retryable
	expect_state job_push_scheduled scheduled
	expect_state job_push_unique scheduled
	expect_state job_globex_cancelled cancelled
	[[ "$(grep -c $'\tstripe_event\tcompleted\t' "$WORK/$STORE.states")" == 2 ]] || die "[$STORE] the two stripe_event jobs are not completed"
	log "[$STORE] jobs as stored:"
	sed 's/^/    /' "$WORK/$STORE.states" >&2
}

# check_serves: the old binary, started on a copy of the fixture, lists both
# tenants and acme's pending jobs.
check_serves() {
	local logf=$1 r id
	start_joist "$logf"
	r="$(api - GET /v1/tenants)"
	[[ "$(jq -r '[.data[].slug] | sort | join(",")' <<<"$r")" == acme,globex ]] || die "GET /v1/tenants: $r"
	r="$(api acme GET /v1/jobs)"
	for id in job_push_retrying job_push_scheduled job_push_unique job_forward; do
		id="$(get "$STORE" "$id")"
		jq -e --arg id "$id" '.data[] | select(.id == $id and .state != "completed")' <<<"$r" >/dev/null ||
			die "GET /v1/jobs on the loaded fixture lacks pending job $id: $r"
	done
	stop_joist
}

# --- SQLite -------------------------------------------------------------------------
STORE=sqlite
: >"$WORK/sqlite.ids"
JOIST_ENV=("JOIST_DATA=$WORK/sqlite-data")
log "[sqlite] starting joist (data in $WORK/sqlite-data)"
start_joist "$WORK/sqlite-serve.log"
populate
wait_settled
stop_joist
record_states
[[ ! -e "$WORK/sqlite-data/secret.key" ]] || die "a secret.key was generated (JOIST_SECRET_KEY was not used?)"
# The WAL is checkpointed by the clean stop; make sure, then compact.
sqlite3 "$WORK/sqlite-data/joist.db" 'PRAGMA wal_checkpoint(TRUNCATE);' >/dev/null
sqlite3 "$WORK/sqlite-data/joist.db" 'VACUUM;'
[[ "$(sqlite3 "$WORK/sqlite-data/joist.db" 'PRAGMA integrity_check;')" == ok ]] || die "sqlite integrity_check failed"
[[ "$(sqlite3 "$WORK/sqlite-data/joist.db" 'PRAGMA journal_mode;')" == wal ]] || die "joist.db is not in WAL mode"
[[ ! -s "$WORK/sqlite-data/joist.db-wal" ]] || die "joist.db-wal is not empty after the checkpoint"
mkdir -p "$OUT/sqlite"
rm -f "$OUT/sqlite/joist.db" "$OUT/sqlite/joist.db-wal" "$OUT/sqlite/joist.db-shm"
cp "$WORK/sqlite-data/joist.db" "$OUT/sqlite/joist.db"
log "[sqlite] wrote $OUT/sqlite/joist.db ($(stat -c %s "$OUT/sqlite/joist.db") bytes)"

log "[sqlite] checking the old binary starts on a copy"
mkdir -p "$WORK/sqlite-check"
cp "$OUT/sqlite/joist.db" "$WORK/sqlite-check/joist.db"
JOIST_ENV=("JOIST_DATA=$WORK/sqlite-check")
check_serves "$WORK/sqlite-check.log"

# --- PostgreSQL ---------------------------------------------------------------------
port_in_use() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" >/dev/null 2>&1; }

mkdir -p "$WORK/pg"
is_root && chown "$PG_USER:" "$WORK/pg"
as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U "$PG_USER" -A trust -E UTF8 --locale=C >"$WORK/pg/initdb.log" 2>&1 ||
	{ cat "$WORK/pg/initdb.log" >&2; die "initdb failed"; }
cat >>"$PG_DATA/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$WORK/pg'
EOF
PG_PORT=$PG_BASE_PORT
while port_in_use "$PG_PORT"; do PG_PORT=$((PG_PORT + 1)); done
# Not through as_pg: $! must be the server's own process.
if is_root; then
	(cd / && exec runuser -u "$PG_USER" -- "$PG_BIN/postgres" -D "$PG_DATA" -p "$PG_PORT") >"$WORK/pg/server.log" 2>&1 &
else
	(cd / && exec "$PG_BIN/postgres" -D "$PG_DATA" -p "$PG_PORT") >"$WORK/pg/server.log" 2>&1 &
fi
PG_PID=$!
for i in $(seq 1 300); do
	kill -0 "$PG_PID" 2>/dev/null || { cat "$WORK/pg/server.log" >&2; die "PostgreSQL exited during startup"; }
	"$PG_BIN/pg_isready" -q -h "$WORK/pg" -p "$PG_PORT" -U "$PG_USER" -t 1 && break
	((i == 300)) && die "PostgreSQL did not become ready"
	sleep 0.1
done
log "[postgres] throwaway PostgreSQL on 127.0.0.1:$PG_PORT"
psql_fx() { "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -d "$PG_DB" "$@"; }
"$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" "$PG_DB"
psql_fx -c "CREATE SCHEMA $PG_SCHEMA"
PG_URL="postgres://$PG_USER@127.0.0.1:$PG_PORT/$PG_DB?sslmode=disable"

STORE=postgres
: >"$WORK/postgres.ids"
JOIST_ENV=("JOIST_DATABASE_URL=$PG_URL" "JOIST_DATABASE_SCHEMA=$PG_SCHEMA")
log "[postgres] starting joist (schema $PG_SCHEMA)"
start_joist "$WORK/postgres-serve.log"
populate
wait_settled
stop_joist
record_states

log "[postgres] pg_dump"
"$PG_BIN/pg_dump" -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" --schema="$PG_SCHEMA" --inserts \
	--no-owner --no-privileges --no-comments "$PG_DB" >"$WORK/dump.sql"
# Newer pg_dump versions wrap the script in \restrict / \unrestrict: psql
# meta-commands, which a server does not understand. No other meta-command
# may remain, nor COPY. CREATE SCHEMA becomes IF NOT EXISTS so the file loads
# into a schema created beforehand as well as into none.
grep -v -E '^\\(restrict|unrestrict)( |$)' "$WORK/dump.sql" |
	sed -E "s/^CREATE SCHEMA $PG_SCHEMA;\$/CREATE SCHEMA IF NOT EXISTS $PG_SCHEMA;/" >"$WORK/postgres.sql"
! grep -n -E '^\\' "$WORK/postgres.sql" || die "a psql meta-command is left in the dump"
! grep -n -E '^COPY ' "$WORK/postgres.sql" || die "a COPY block is in the dump"
grep -q "^CREATE SCHEMA IF NOT EXISTS $PG_SCHEMA;\$" "$WORK/postgres.sql" || die "no CREATE SCHEMA in the dump"
log "[postgres] removed $(grep -c -E '^\\(restrict|unrestrict)( |$)' "$WORK/dump.sql" || true) \\restrict/\\unrestrict line(s)"
cp "$WORK/postgres.sql" "$OUT/postgres.sql"
log "[postgres] wrote $OUT/postgres.sql ($(stat -c %s "$OUT/postgres.sql") bytes)"

log "[postgres] checking the dump loads into $PG_CHECK_SCHEMA (psql, then one pgx simple-protocol Exec)"
psql_fx -c "CREATE SCHEMA $PG_CHECK_SCHEMA"
sed "s/$PG_SCHEMA/$PG_CHECK_SCHEMA/g" "$OUT/postgres.sql" >"$WORK/check.sql"
psql_fx -f "$WORK/check.sql" >/dev/null
# The way the Go test will run it: the whole file in one Exec, simple
# protocol, into a schema of another name.
mkdir -p "$WORK/loader"
cat >"$WORK/loader/main.go" <<'EOF'
// Loads an SQL file into PostgreSQL in one simple-protocol Exec, as pgx does.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/jackc/pgx/v5"
)

func main() {
	ctx := context.Background()
	sql, err := os.ReadFile(os.Args[2])
	if err != nil {
		panic(err)
	}
	cfg, err := pgx.ParseConfig(os.Args[1])
	if err != nil {
		panic(err)
	}
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		panic(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, string(sql)); err != nil {
		fmt.Fprintln(os.Stderr, "exec:", err)
		os.Exit(1)
	}
}
EOF
psql_fx -c "CREATE SCHEMA ${PG_CHECK_SCHEMA}_pgx"
sed "s/$PG_SCHEMA/${PG_CHECK_SCHEMA}_pgx/g" "$OUT/postgres.sql" >"$WORK/check-pgx.sql"
(cd "$GO_MOD_DIR" && GOFLAGS=-mod=readonly go run "$WORK/loader/main.go" "$PG_URL" "$WORK/check-pgx.sql")
for s in "$PG_CHECK_SCHEMA" "${PG_CHECK_SCHEMA}_pgx"; do
	n="$(psql_fx -At -c "SELECT count(*) FROM $s.river_job")"
	[[ "$n" == "$(psql_fx -At -c "SELECT count(*) FROM $PG_SCHEMA.river_job")" ]] || die "$s: river_job has $n rows"
done

log "[postgres] checking the old binary starts on $PG_CHECK_SCHEMA"
JOIST_ENV=("JOIST_DATABASE_URL=$PG_URL" "JOIST_DATABASE_SCHEMA=$PG_CHECK_SCHEMA")
check_serves "$WORK/postgres-check.log"

# --- README -------------------------------------------------------------------------
# job_table STORE: the jobs and their River states at the stop.
job_table() {
	local store=$1 name id kind state attempt max
	echo "| fixture job | id | kind | River state | attempt / max |"
	echo "|---|---|---|---|---|"
	for name in job_push_retrying job_push_scheduled job_push_unique job_forward job_globex_cancelled; do
		id="$(get "$store" "$name")"
		IFS=$'\t' read -r _ kind state attempt max < <(grep -P "^$id\t" "$WORK/$store.states")
		echo "| \`$name\` | \`$id\` | $kind | \`$state\` | $attempt / $max |"
	done
	while IFS=$'\t' read -r id kind state attempt max; do
		[[ "$kind" == stripe_event ]] && echo "| Stripe billing job | \`$id\` | $kind | \`$state\` | $attempt / $max |"
	done <"$WORK/$store.states"
}

id_table() {
	local store=$1 name
	echo "| object | id |"
	echo "|---|---|"
	for name in tenant_acme tenant_globex key_acme_id key_acme_revoked_id operator_support \
		contact_acme_user_42 contact_acme_user_43 contact_globex_user_7 schedule_daily_report schedule_weekly_digest \
		source_acme_standard source_acme_stripe source_instance_stripe event_standard \
		event_stripe_subscription event_stripe_invoice; do
		echo "| \`$name\` | \`$(get "$store" "$name")\` |"
	done
	echo "| acme tenant key (\`key_acme\`, plain) | \`$(get "$store" key_acme)\` |"
	echo "| acme signing secret (\`GET /v1/signing-secret\`: id, secret) | \`$(get "$store" signing_secret_acme | jq -r '.data[0] | .id + " " + .secret')\` |"
}

{
	cat <<EOF
# Upgrade fixtures

A database made by an **old** joist, for tests that upgrade it with the
current code. Made by \`scripts/make-upgrade-fixture.sh\` with
$MADE_BY, on $(date -u +%Y-%m-%d) (the server clock then was about
$(date -u +%Y-%m-%dT%H:%MZ)). Do not edit by hand: regenerate.

| file | what |
|---|---|
| \`sqlite/joist.db\` | the SQLite data directory's database (WAL checkpointed, VACUUMed; journal mode WAL; no \`-wal\`/\`-shm\` needed). Copy it into an empty data directory. No \`secret.key\`: set \`JOIST_SECRET_KEY\` |
| \`postgres.sql\` | \`pg_dump --schema=$PG_SCHEMA --inserts --no-owner --no-privileges --no-comments\` (pg_dump $("$PG_BIN/pg_dump" --version | awk '{print $3}'), server 15): joist's and River's tables, River's types and functions, all qualified with \`$PG_SCHEMA\`. No COPY, no psql meta-commands (the \`\\restrict\`/\`\\unrestrict\` lines newer pg_dump releases emit are removed when present); \`CREATE SCHEMA\` made \`CREATE SCHEMA IF NOT EXISTS $PG_SCHEMA\` |

## Loading

**SQLite**: copy \`sqlite/joist.db\` to \`DIR/joist.db\` and run the binary with

    JOIST_DATA=DIR
    JOIST_SECRET_KEY=$SECRET_KEY
    JOIST_ROOT_KEY=$ROOT_KEY

**PostgreSQL**: replace every \`$PG_SCHEMA\` in the file with your schema
name (it only occurs as the schema name) and execute it, e.g. in one
simple-protocol pgx \`Exec\` (checked by the script) or \`psql -v ON_ERROR_STOP=1 -f\`.
The schema may exist beforehand (empty) or not. Then run the binary with

    JOIST_DATABASE_URL=postgres://...
    JOIST_DATABASE_SCHEMA=<your schema>
    JOIST_SECRET_KEY=$SECRET_KEY
    JOIST_ROOT_KEY=$ROOT_KEY

Like any pg_dump script, the file starts with \`SET\`s for the session,
among them \`SELECT pg_catalog.set_config('search_path', '', false)\`: the
connection that ran it is left with an **empty search_path** (and
\`check_function_bodies = false\`, \`client_min_messages = warning\`,
\`row_security = off\`). Run it on a connection of its own, or reset them.

In both, set \`JOIST_ROOT_KEY\`: the fixture was made with it, so no root
key is stored, and a start without it generates one (a new \`api_keys\` row,
a \`key.create\` audit entry and the key printed on stderr). Without
\`JOIST_SECRET_KEY\` the stored secrets (signing secrets, webhook source
secrets) cannot be decrypted (on SQLite a new \`secret.key\` would even be
generated into the data directory). \`JOIST_OWNER_EMAIL\`/\`JOIST_OWNER_PASSWORD\`
are not needed (the owner exists; they are only used when no operator does).

### Things a test should know

- **Times are real**: rows carry the time the fixture was made. Whatever
  runs on it later sees old rows. Raise the retention settings or old rows
  are purged: \`JOIST_WEBHOOK_RETENTION\` (720h: the janitor, first sweep 5
  minutes after start, deletes older events, and their forward job then ends
  dead with \`event_gone\`), \`JOIST_COMPLETED_JOB_RETENTION\` (24h: River's
  cleaner deletes the completed Stripe jobs soon after start),
  \`JOIST_DEAD_JOB_RETENTION\` (168h: the cancelled globex job). For example
  \`87600h\` for each. The idempotency record cannot be saved that way: its
  \`expires_at\` (made + 7 days) is stored, and the janitor deletes it on its
  first sweep once that has passed.
- **Pending jobs run at once**: the retrying jobs' next attempt and the
  scheduled jobs' run time (now + 1h, now + 2h at creation) are in the past,
  so a started node attempts them immediately; port 9 is closed, so they
  fail and go back to \`retrying\` (or \`available\` for a few seconds while
  the backoff is short), never \`completed\`. Attempts left: the retrying
  push job has \`max_attempts\` 25, the forward 15, the scheduled ones 10.
- **Schedules**: \`daily-report\` (\`0 9 * * 1-5\`, Europe/Paris, \`missed: skip\`)
  is overdue: a start skips the missed slots and enqueues nothing (unless it
  starts within a minute after a 09:00 Paris weekday slot). \`weekly-digest\`
  is paused: nothing.
- The Standard Webhooks event's forward job is the \`job_forward\` below; its
  attempts sign with acme's signing secret, encrypted with \`JOIST_SECRET_KEY\`
  (so the same key must be set to decrypt it; the plain value is below).
- Ids are ULIDs made at run time: they differ between the two stores and
  between regenerations. Fixed strings (slugs, external ids, Stripe ids,
  webhook ids, bodies, URLs, secrets) are the same.

## What both fixtures hold

Made through the HTTP API of \`joist serve\` (curl), as root unless said:

- **Instance**: root key \`$ROOT_KEY\` (from \`JOIST_ROOT_KEY\`, not stored),
  secret key \`JOIST_SECRET_KEY=$SECRET_KEY\`.
- **Operators**: the owner \`$OWNER_EMAIL\` / \`$OWNER_PASSWORD\` (all tenants,
  made by the first start); \`$SUPPORT_EMAIL\` / \`$SUPPORT_PASSWORD\`, role
  \`support\`, name "Sam Support", tenant \`acme\` only (\`joist operator create\`).
  No sessions.
- **Tenants**: \`acme\` "Acme Clinic", \`globex\` "Globex Corporation" (and the
  hidden instance tenant \`_\` from the migrations).
- **API keys** (acme): "upgrade fixture key" (active; the plain key is below),
  "revoked key" (revoked).
- **Contacts**: acme \`user_42\` Ann Lee ann@example.com (locale en-GB,
  Europe/Paris, metadata \`{"plan":"pro","seats":3,"tags":["vip"]}\`), acme
  \`user_43\` Bob Stone bob@example.com, globex \`user_7\` Gus Grant
  gus@globex.example (metadata \`{"region":"eu"}\`).
- **Push jobs** (acme unless said), all to \`$PUSH_URL\` (closed port):
  - \`job_push_retrying\`: POST body \`{"fixture":"retrying"}\`, \`max_attempts\` 25,
    enqueued with \`Idempotency-Key: fixture-push-retrying\` (an idempotency
    record) and correlation id \`fixture-push-retrying\`; failed a few times:
    **retrying**.
  - \`job_push_scheduled\`: body \`{"fixture":"scheduled"}\`, \`delay\` 1h: **scheduled**.
  - \`job_push_unique\`: PUT, header \`X-Fixture: unique\`, priority 1, body
    \`{"fixture":"unique"}\`, \`delay\` 2h, \`unique_key\` \`fixture-unique-1\`:
    **scheduled**. A second enqueue with that key was answered
    \`deduplicated: true\` with this job, as one after the upgrade should be.
  - \`job_globex_cancelled\` (globex): \`delay\` 1h, then cancelled: **cancelled**.
- **Schedules** (acme): \`daily-report\` \`0 9 * * 1-5\` Europe/Paris, \`missed: skip\`,
  job POST \`$SCHEDULE_URL\` body \`{"report":"daily"}\`; \`weekly-digest\`
  \`@weekly\` UTC, \`missed: run_once\`, **paused**, job \`{"digest":"weekly"}\`,
  \`max_attempts\` 3, \`timeout\` 10s. Neither has run.
- **Webhook sources**:
  - acme \`standard\`: provider \`standard_webhooks\`, secret
    \`$STANDARD_SECRET\`, \`forward_url\` \`$FORWARD_URL\` (closed port),
    \`contact_pointer\` \`/data/user_id\`. One delivery to \`/in/acme/standard\`,
    \`webhook-id: $STANDARD_MSG_ID\`, correlation id \`fixture-standard-delivery\`,
    body \`$STANDARD_BODY\`: the event \`event_standard\` (type \`user.updated\`,
    on Ann's timeline as \`webhook.received\`); its forward job \`job_forward\`
    is **retrying** (event status \`pending\`).
  - acme \`stripe\`: provider \`stripe\`, secret \`$STRIPE_SECRET\`, no forward,
    billing on. Two deliveries, both applied by their \`stripe_event\` job
    (**completed**):
    \`evt_UpgradeFixture0001\` \`customer.subscription.created\` (created
    1767225600) for \`sub_UpgradeFixture0001\` of \`cus_UpgradeFixture0001\`, status
    \`active\`, price \`price_UpgradePro\` "Pro" of \`prod_UpgradePro\`, quantity 3,
    period end 2030-01-01 (1893456000), metadata \`joist_contact: user_42\`; and
    \`evt_UpgradeFixture0002\` \`invoice.paid\` (created 1767225660) for invoice
    \`in_UpgradeFixture0001\` of that subscription. So billing state: the
    live-mode (\`livemode\` true) subscription \`sub_UpgradeFixture0001\` on Ann
    (\`user_42\`, linked by metadata), \`active\`, payment \`paid\`, two history
    entries, timeline entries on Ann.
  - the instance's \`stripe\` (root key, no \`Joist-Tenant\`, ingest
    \`/in/_/stripe\`): secret \`$STRIPE_INSTANCE_SECRET\`, no events.
- **Billing customers**: acme \`cus_UpgradeFixture0001\` → \`user_42\` (metadata
  link, from the event); acme \`cus_UpgradeFixture0002\` → \`user_43\` (explicit
  link, \`PUT /v1/billing/customers\`); instance route \`cus_UpgradeFixture0003\` →
  globex, linked to globex \`user_7\` (explicit route).
- **Audit log** (action (actor type) × count, as stored):
  $(awk -F '\t' '{ printf "%s`%s` ×%s", (NR > 1 ? ", " : ""), $1, $2 }' "$WORK/sqlite.audit")

Secrets and keys in this README are fixture values, not real ones.

## SQLite ids (\`sqlite/joist.db\`)

$(id_table sqlite)

$(job_table sqlite)

## PostgreSQL ids (\`postgres.sql\`)

$(id_table postgres)

$(job_table postgres)

River states are \`river_job.state\` right after the SIGTERM stop, in River's
names: the API shows \`retryable\` as \`retrying\` (and \`discarded\` as
\`dead\`), the others as they are. \`stripe_event\` jobs are built-in
(billing); the others are \`http_push\`.

## Regenerating

    scripts/make-upgrade-fixture.sh                 # builds commit $FIXTURE_COMMIT from git (git archive, no worktree)
    scripts/make-upgrade-fixture.sh /path/to/joist  # or an already built old binary

It needs go, curl, jq, openssl, sqlite3, python3 and PostgreSQL 15
(\`PG_BIN\`, default \`/usr/lib/postgresql/15/bin\`); it starts a throwaway
PostgreSQL on the first free port from \`UPGRADE_FIXTURE_PG_PORT\` (56432),
as the \`postgres\` OS user when run as root, and removes it at the end.
It rewrites the three files here; ids and times change.
EOF
} >"$OUT/README.md"

log "done:"
ls -l "$OUT" "$OUT/sqlite" >&2
