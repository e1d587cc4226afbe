#!/bin/sh
# As the official image: redis-server itself runs as user redis; any other
# command (compose runs "sh deploy/redis.sh") runs as given.
set -eu
if [ "${1:-}" = redis-server ] && [ "$(id -u)" = 0 ]; then
  chown -R redis:redis .
  exec setpriv --reuid=redis --regid=redis --init-groups "$@"
fi
exec "$@"
