# Helpers of the CPU-per-request benchmarks, sourced by bench/run.sh,
# bench/edge.sh and bench/tune.sh.

log()  { printf '%s\n' "$*" >&2; }
warn() { printf 'WARNING: %s\n' "$*" >&2; }

# Float arithmetic without bc: fcalc '<awk expr>'.
fcalc() { awk "BEGIN { print $1 }"; }

# Median of the numbers on stdin, one per line.
median() {
    sort -g |
        awk '{ v[NR] = $1 }
             END { if (NR == 0) print "nan";
                   else if (NR % 2) print v[(NR + 1) / 2];
                   else        print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# wrk prints times as 250.00us / 1.20ms / 1.02s / 1.00m; convert to us.
to_us() {
    awk -v t="$1" 'BEGIN {
        if (t ~ /us$/)     { sub(/us$/, "", t); print t + 0 }
        else if (t ~ /ms$/) { sub(/ms$/, "", t); print t * 1e3 }
        else if (t ~ /m$/)  { sub(/m$/, "", t);  print t * 60e6 }
        else if (t ~ /h$/)  { sub(/h$/, "", t);  print t * 3600e6 }
        else if (t ~ /s$/)  { sub(/s$/, "", t);  print t * 1e6 }
        else exit 1 }'
}

# utime+stime of a process (all its threads), in clock ticks.  The comm
# field may contain spaces: split after its closing ')'.
proc_ticks() {
    local stat
    stat=$(<"/proc/$1/stat") || return 1
    stat=${stat##*) }
    awk '{ print $12 + $13 }' <<<"$stat"
}

# CPU ticks of this shell's reaped children (cutime+cstime): after a wrk
# run returns, that includes wrk's own CPU time.
children_ticks() {
    local stat
    stat=$(<"/proc/$$/stat")
    stat=${stat##*) }
    awk '{ print $14 + $15 }' <<<"$stat"
}

# Busy ticks of the whole machine (everything but idle, iowait, steal).
machine_ticks() {
    awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 }' /proc/stat
}

# read and write system calls of a process so far: "SYSCR SYSCW"
# (/proc/PID/io; writev and a socket's writes count as writes)
proc_syscalls() {
    awk '$1 == "syscr:" { r = $2 } $1 == "syscw:" { w = $2 }
         END { print r + 0, w + 0 }' "/proc/$1/io"
}

# worker_cpu_affinity bitmask for one cpu: cpu 0 -> 1, cpu 2 -> 100.
cpu_mask() {
    local mask=1 i
    for ((i = 0; i < $1; i++)); do mask+=0; done
    printf '%s' "$mask"
}

# Ticks the machine spent in processes (user, nice, system), without the
# irq and softirq time: with the kernel's IRQ time accounting, loopback
# TCP's softirq work is charged to no process, so machine_ticks minus the
# processes measured counts it as "other" (some 50% of a cpu under wrk).
machine_task_ticks() {
    awk '$1 == "cpu" { print $2 + $3 + $4 }' /proc/stat
}
