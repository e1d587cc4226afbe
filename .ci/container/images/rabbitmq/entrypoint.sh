#!/bin/sh
# As the official image's entrypoint for any command: run it as given (compose
# runs "bash deploy/rabbitmq.sh"; Debian's rabbitmq-server drops to user
# rabbitmq by itself when started as root).
set -eu
exec "$@"
