#!/bin/sh
# Writes the nginx configuration for LB_UPSTREAMS and LB_PORT (a port, or address:port), then runs nginx in
# the foreground as PID 1. nginx takes SIGTERM as a fast stop; compose stops it before the gateways it
# depends on, so the gateways still drain what they hold.
set -eu
: "${LB_UPSTREAMS:?set LB_UPSTREAMS to the gateway replicas, e.g. gateway-scale:9000}"
LB_PORT=${LB_PORT:-9000}
servers=""
for u in $(printf '%s' "$LB_UPSTREAMS" | tr ',' ' '); do
  servers="$servers    server $u max_fails=1 fail_timeout=5s;\n"
done
sed -e "s|__PORT__|$LB_PORT|" -e "s|__SERVERS__|$servers|" /etc/nginx/vllm-gateway.conf.template >/tmp/nginx.conf
printf 'lb: nginx listening on %s for %s\n' "$LB_PORT" "$LB_UPSTREAMS"
exec nginx -c /tmp/nginx.conf -g 'daemon off;'
