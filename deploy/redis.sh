#!/bin/sh
# Redis for TorchReady: the compose "redis" service runs this script, and CI's
# smoke test runs the same script natively on a free port.
#
# No default user. Two users, each with its own databases:
#   server  - the web app and the server-side Celery: database 1 (queues) and
#             database 2 (cache), and it enqueues students' runs into database 0;
#   worker  - shared by every student's worker: database 0 only (it may not
#             SELECT, MOVE or COPY elsewhere; scripts obey the same rules), and no
#             admin commands. Celery's Redis transport needs EVALSHA.
# Passwords are stored as SHA-256 hashes; the README explains the threat model.
set -eu
: "${REDIS_SERVER_PASSWORD:?set REDIS_SERVER_PASSWORD}"
: "${REDIS_WORKER_PASSWORD:?set REDIS_WORKER_PASSWORD}"

sha() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }

acl="${REDIS_ACL_FILE:-/tmp/torchready-users.acl}"
umask 077
cat >"$acl" <<ACL
user default off
user server on #$(sha "$REDIS_SERVER_PASSWORD") ~* &* +@all
user worker on #$(sha "$REDIS_WORKER_PASSWORD") ~* &* +@all -@dangerous -select -move -copy -swapdb -function -script|flush
ACL

set -- --aclfile "$acl" \
  --port "${REDIS_PORT:-6379}" \
  --dir "${REDIS_DIR:-/data}" \
  --appendonly "${REDIS_APPENDONLY:-yes}" \
  --maxmemory "${REDIS_MAXMEMORY:-512mb}" \
  --maxmemory-policy noeviction \
  "$@"
# Students' workers reach Redis over the internet: give it TLS (a certificate
# for the public host name) and publish only the TLS port.
if [ -n "${REDIS_TLS_CERT_FILE:-}" ]; then
  set -- "$@" --tls-port "${REDIS_TLS_PORT:-6380}" \
    --tls-cert-file "$REDIS_TLS_CERT_FILE" --tls-key-file "$REDIS_TLS_KEY_FILE" \
    --tls-auth-clients no
fi
exec redis-server "$@"
