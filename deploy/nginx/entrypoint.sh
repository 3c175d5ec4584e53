#!/bin/sh
# Writes the nginx configuration for LB_UPSTREAMS and LB_PORT, then runs nginx in the foreground (PID 1,
# so `docker stop` sends it SIGTERM... nginx treats SIGTERM as a fast stop; compose stops the gateways'
# clients first, see compose.yaml).
set -eu
: "${LB_UPSTREAMS:?set LB_UPSTREAMS to the gateway replicas, e.g. gateway-scale:9000}"
LB_PORT=${LB_PORT:-9000}
servers=""
for u in $(printf '%s' "$LB_UPSTREAMS" | tr ',' ' '); do
  servers="$servers    server $u max_fails=1 fail_timeout=5s;\n"
done
sed -e "s|__PORT__|$LB_PORT|" -e "s|__SERVERS__|$servers|" /etc/nginx/vllm-gateway.conf.template >/tmp/nginx.conf
exec nginx -c /tmp/nginx.conf -g 'daemon off;'
