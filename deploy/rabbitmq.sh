#!/usr/bin/env bash
# RabbitMQ for TorchReady: the compose "rabbitmq" service runs this script, and
# the tests (tests/rabbitmq.py, the compose smoke test) run the same script natively
# for a private node on free ports.
#
# It writes the node's configuration from the environment, then starts the node:
#   vhost "students" - one durable queue per student, declared by the server;
#   vhost "server"   - the server's own Celery queues, pub/sub and remote control;
#   user "server"    - the only user RabbitMQ itself knows (internal backend): all
#                      rights on both vhosts, and tag "administrator" for the
#                      management API (closing another user's connection, which
#                      revocation does, takes that tag); it never leaves the server;
#   every other user - a student's worker, checked by the Django server's
#                      /internal/broker/ endpoints (rabbitmq_auth_backend_http,
#                      behind rabbitmq_auth_backend_cache): it may only read its
#                      own queue in "students".
# Students reach only the TLS listener (5671); 5672 and 15672 stay on the
# compose network. The README's threat model explains the rest.
set -euo pipefail
: "${RABBITMQ_SERVER_PASSWORD:?set RABBITMQ_SERVER_PASSWORD}"
: "${BROKER_AUTH_SECRET:?set BROKER_AUTH_SECRET}"

dir="${TORCHREADY_RABBITMQ_DIR:-/var/lib/rabbitmq/torchready}"
auth_url="${BROKER_AUTH_URL:-http://web:8000/internal/broker}"
cache_ttl_ms="${BROKER_AUTH_CACHE_TTL_MS:-30000}"
if [ "$cache_ttl_ms" -gt 30000 ]; then
  echo "BROKER_AUTH_CACHE_TTL_MS=$cache_ttl_ms: at most 30000 (a revoked token must stop working)" >&2
  exit 2
fi

# RabbitMQ's rabbit_password_hashing_sha256: base64(salt + sha256(salt + password)).
password_hash() {
  local salt digest
  salt=$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')
  digest=$({ printf '%b' "$(sed 's/../\\x&/g' <<<"$salt")"; printf '%s' "$1"; } | sha256sum | cut -c1-64)
  printf '%b' "$(sed 's/../\\x&/g' <<<"$salt$digest")" | base64 -w0
}

umask 077
mkdir -p "$dir"
# The shared secret travels as HTTP basic auth, so it never appears in a URL path or a log line.
auth_base="${auth_url/:\/\//://broker:${BROKER_AUTH_SECRET}@}"

cat >"$dir/rabbitmq.conf" <<CONF
listeners.tcp.default = ${AMQP_PORT:-5672}
management.tcp.port = ${MANAGEMENT_PORT:-15672}
load_definitions = $dir/definitions.json
# Users RabbitMQ knows (the server) first, then students' workers through Django.
auth_backends.1 = internal
$(if [ "$cache_ttl_ms" -gt 0 ]; then
  printf 'auth_backends.2 = cache\nauth_cache.cached_backend = http\nauth_cache.cache_ttl = %s' "$cache_ttl_ms"
else
  echo "auth_backends.2 = http"  # no cache: every question goes to Django (perf comparison)
fi)
auth_http.http_method = post
auth_http.user_path = $auth_base/user
auth_http.vhost_path = $auth_base/vhost
auth_http.resource_path = $auth_base/resource
auth_http.topic_path = $auth_base/topic
# A worker that stops answering is dropped (and its unacknowledged run redelivered).
heartbeat = 30
# Room for a class's workers, not for a flood: each connection costs memory.
connection_max = ${RABBITMQ_CONNECTION_MAX:-2000}
channel_max = 16
vm_memory_high_watermark.relative = 0.4
# There is no guest user (the definitions replace the default one); should one
# ever be created, it may log in from the node's own host only.
loopback_users.guest = true
CONF
if [ -n "${TLS_CERT_FILE:-}" ]; then
  # Copies the node's own user can read (certbot's privkey.pem is root's alone).
  for pair in "$TLS_CERT_FILE:tls-cert.pem" "${TLS_KEY_FILE:?set TLS_KEY_FILE}:tls-key.pem"; do
    if ! cp "${pair%%:*}" "$dir/${pair##*:}"; then
      echo "cannot read ${pair%%:*}: set TLS_DIR to the folder with the certificate and key" >&2
      exit 2
    fi
  done
  cat >>"$dir/rabbitmq.conf" <<CONF
listeners.ssl.default = ${AMQPS_PORT:-5671}
ssl_options.certfile = $dir/tls-cert.pem
ssl_options.keyfile = $dir/tls-key.pem
ssl_options.verify = verify_none
ssl_options.fail_if_no_peer_cert = false
ssl_options.versions.1 = tlsv1.3
ssl_options.versions.2 = tlsv1.2
CONF
fi

echo "[rabbitmq_management,rabbitmq_auth_backend_http,rabbitmq_auth_backend_cache]." \
  >"$dir/enabled_plugins"

cat >"$dir/definitions.json" <<JSON
{
  "users": [
    {
      "name": "server",
      "password_hash": "$(password_hash "$RABBITMQ_SERVER_PASSWORD")",
      "hashing_algorithm": "rabbit_password_hashing_sha256",
      "tags": "administrator"
    }
  ],
  "vhosts": [{"name": "students"}, {"name": "server"}],
  "permissions": [
    {"user": "server", "vhost": "students", "configure": ".*", "write": ".*", "read": ".*"},
    {"user": "server", "vhost": "server", "configure": ".*", "write": ".*", "read": ".*"}
  ]
}
JSON

mkdir -p "$dir/conf.d"
export RABBITMQ_CONFIG_FILE="$dir/rabbitmq"
# Only this file: not the image's conf.d defaults (a guest user reachable from anywhere).
export RABBITMQ_CONFIG_FILES="$dir/conf.d"
export RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins"
if [ "$(id -u)" = 0 ]; then
  chown -R rabbitmq:rabbitmq "$dir"
fi
# In the official image its entrypoint fixes the data folder's owner and drops to
# the rabbitmq user; Debian's rabbitmq-server drops to that user by itself.
if command -v docker-entrypoint.sh >/dev/null; then
  exec docker-entrypoint.sh rabbitmq-server
fi
exec rabbitmq-server
