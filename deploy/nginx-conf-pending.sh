#!/bin/bash
# Runs `nginx -t` on a copy of an nginx.conf and, while it fails because
# the module does not know yet one of the directives or variables other
# engineers are adding (the names are final, the code is not merged),
# disables that one in the copy and tries again:
#   a directive's line becomes a comment "# pending: ..."
#   a variable becomes the empty string
# Anything else that fails `nginx -t` fails this script, with nginx's
# message.  Prints the disabled names, one a line, on stdout: nothing once
# the module has them all (then this script can go).
#
#   deploy/nginx-conf-pending.sh CONF [NGINX_ARGS...]
#
# CONF is edited in place: give it a copy.  NGINX defaults to nginx.
set -euo pipefail

conf=$1
shift
nginx=${NGINX:-nginx}

directives=" infer_metrics infer_metrics_zone infer_latency_buckets
    infer_prediction_buckets infer_sched_probe infer_thread_pool "
variables=" infer_model infer_model_version infer_status infer_batch_size
    infer_latency_us infer_prediction infer_trace_id infer_span_id
    infer_sched_delay_us "

for _ in $(seq 30); do
    if out=$("$nginx" -t -q -c "$conf" "$@" 2>&1); then
        exit 0
    fi

    if [[ $out =~ unknown\ directive\ \"([a-z_]+)\" ]] \
       && [[ $directives == *" ${BASH_REMATCH[1]}"[[:space:]]* ]]
    then
        name=${BASH_REMATCH[1]}
        sed -i -E "s/^([[:space:]]*)(${name}[[:space:];].*)$/\\1# pending: \\2/" \
            "$conf"

    elif [[ $out =~ unknown\ \"([a-z_]+)\"\ variable ]] \
         && [[ $variables == *" ${BASH_REMATCH[1]}"[[:space:]]* ]]
    then
        name=\$${BASH_REMATCH[1]}
        sed -i -E "s/\\\$${BASH_REMATCH[1]}([^a-z_]|$)/\\1/g" "$conf"

    else
        echo "$out" >&2
        exit 1
    fi

    echo "$name"
done

echo "nginx-conf-pending: gave up after 30 tries" >&2
exit 1
