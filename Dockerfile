# nginx with ngx_http_infer_module, on Debian's nginx.
#
#   podman build -t nginx-infer .        (or docker build)
#   make test-image                      builds and runs it here, offline:
#                                        scripts/test-image.sh
#
# The build stage is the README's recipe, unchanged: scripts/deps.sh
# installs the Debian packages, `make` builds the module against this
# image's own nginx (nginx-dev's tree and the flags Debian built nginx
# with).  The runtime stage installs that same nginx version, the
# libraries the module links (found with ldd), the module, the
# configuration of k8s/nginx.conf and the example model.
#
# The master runs as root so that it can load the scheduler-delay probe
# (with CAP_BPF and CAP_PERFMON; see k8s/deployment.yaml for the six
# capabilities it needs in all); the workers run as www-data.

ARG BASE=debian:bookworm

FROM ${BASE} AS build

# no service starts during a package's installation
RUN printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d \
 && chmod 0755 /usr/sbin/policy-rc.d

WORKDIR /src
COPY scripts/deps.sh scripts/
RUN scripts/deps.sh build
COPY . .
RUN make \
 && deploy/image/stage.sh /out


FROM ${BASE}

ARG DEBIAN_FRONTEND=noninteractive

COPY --from=build /out/packages /tmp/packages
RUN printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d \
 && chmod 0755 /usr/sbin/policy-rc.d \
 && apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends $(cat /tmp/packages) \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* /tmp/packages /usr/sbin/policy-rc.d \
    /etc/nginx/sites-enabled /etc/nginx/sites-available /etc/nginx/conf.d \
    /etc/nginx/snippets \
 && ln -sf /dev/stdout /var/log/nginx/access.log \
 && ln -sf /dev/stderr /var/log/nginx/error.log

COPY --from=build /out/ngx_http_infer_module.so /usr/lib/nginx/modules/
COPY --from=build /out/etc/nginx/ /etc/nginx/
COPY --from=build /out/healthcheck /usr/local/bin/nginx-infer-healthcheck
RUN nginx -t && rm -rf /tmp/*

# 8080: /predict, /v2/, /health, /ready; 9113: /metrics
EXPOSE 8080 9113

# SIGQUIT is nginx's graceful shutdown: in-flight requests finish
STOPSIGNAL SIGQUIT

HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD ["/usr/local/bin/nginx-infer-healthcheck"]

CMD ["nginx", "-g", "daemon off;"]
