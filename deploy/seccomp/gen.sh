#!/bin/sh
# Derives deploy/seccomp/nginx-infer.json from podman's default seccomp
# profile (Debian's golang-github-containers-common), changing one thing:
# bpf() and perf_event_open(), which the default allows only with
# CAP_SYS_ADMIN, are also allowed to a container holding both CAP_BPF and
# CAP_PERFMON, the capabilities the scheduler-delay probe's master needs.
# Everything else is the default, byte for byte after jq.
#
#   deploy/seccomp/gen.sh [DEFAULT_PROFILE] > deploy/seccomp/nginx-infer.json
#
# scripts/check-k8s.sh regenerates it and fails if the committed file
# differs, so the profile follows the default when Debian updates it.
set -eu

default=${1:-/usr/share/containers/seccomp.json}
probe='["bpf","perf_event_open"]'

jq --indent 2 --argjson probe "$probe" '
  # the default entry that answers EPERM without CAP_SYS_ADMIN: the
  # probe calls leave it, to be answered by the entries below instead
  .syscalls |= map(
      if .action == "SCMP_ACT_ERRNO"
         and (.excludes.caps // []) == ["CAP_SYS_ADMIN"]
         and ((.names - $probe) | length) < (.names | length)
      then .names -= $probe
      else . end)
  | .syscalls += [
      { names: $probe, action: "SCMP_ACT_ALLOW", args: [],
        comment: "nginx-infer: the probe, with CAP_BPF and CAP_PERFMON",
        includes: { caps: ["CAP_BPF", "CAP_PERFMON"] }, excludes: {} },
      { names: $probe, action: "SCMP_ACT_ERRNO", args: [],
        comment: "nginx-infer: EPERM without CAP_SYS_ADMIN nor CAP_BPF",
        includes: {}, excludes: { caps: ["CAP_SYS_ADMIN", "CAP_BPF"] },
        errnoRet: 1, errno: "EPERM" },
      { names: $probe, action: "SCMP_ACT_ERRNO", args: [],
        comment: "nginx-infer: EPERM with CAP_BPF but not CAP_PERFMON",
        includes: { caps: ["CAP_BPF"] },
        excludes: { caps: ["CAP_SYS_ADMIN", "CAP_PERFMON"] },
        errnoRet: 1, errno: "EPERM" }
    ]
' "$default"
