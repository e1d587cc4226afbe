#!/bin/sh
# Redis for TorchReady: the compose "redis" service runs this script, and CI's
# smoke test runs the same script natively on a free port.
#
# Redis holds only the server's cache (rate limits, log-in counters); queues live
# on RabbitMQ. No default user: one user, "server", whose password is stored as a
# SHA-256 hash. Nothing outside the compose network reaches Redis.
set -eu
: "${REDIS_SERVER_PASSWORD:?set REDIS_SERVER_PASSWORD}"

sha() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }

acl="${REDIS_ACL_FILE:-/tmp/torchready-users.acl}"
umask 077
cat >"$acl" <<ACL
user default off
user server on #$(sha "$REDIS_SERVER_PASSWORD") ~* &* +@all
ACL

set -- --aclfile "$acl" \
  --port "${REDIS_PORT:-6379}" \
  --dir "${REDIS_DIR:-/data}" \
  --appendonly "${REDIS_APPENDONLY:-yes}" \
  --maxmemory "${REDIS_MAXMEMORY:-256mb}" \
  --maxmemory-policy allkeys-lru \
  "$@"
exec redis-server "$@"
