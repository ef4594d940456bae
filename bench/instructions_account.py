#!/usr/bin/python3
"""Where a case's instructions go, against its baseline, by stage.

bench/instructions.sh dumps one callgrind profile per case.  This reads two
of them, takes each function's own (exclusive) instructions per request,
and sums the differences into stages by the function's name, so that the
stages add up to the whole difference.  nginx's functions are named only
when the nginx binary has its symbols (Debian's is stripped: make bench
builds one from the same source and configure arguments, see
bench/instructions.sh); unnamed code lands in "unnamed".

  instructions_account.py CASE.cg BASE.cg REQUESTS [LABEL]
"""

import collections
import re
import sys

# first match wins; the patterns are function names (callgrind's fn=)
STAGES = [
    ("parse the body (JSON)",
     r"^infer_(request_parse|json_scan|whole_|json_parse|v2_parse|json_stream)"
     r"|^ngx_http_infer_(simple_parse|simple_feed|simple_accepts|feed_body"
     r"|v2_parse|v2_feed)"),
    ("evaluate the model",
     r"^infer_(model_eval|linear_|xgb_)|^__expf"),
    ("write the response JSON",
     r"^infer_(json_write|json_float|json_format|json_put|format_uint64"
     r"|buf_|v2_write)|^ngx_http_infer_(simple_respond|buf$)"),
    ("send it (module)",
     r"^ngx_http_infer_send"),
    ("metrics",
     r"^infer_metrics_"),
    ("trace ids and traceparent",
     r"^infer_trace_|^ngx_http_infer_trace_"),
    ("spans (OTLP)",
     r"^infer_otel_|^ngx_http_infer_otel_|^deflate|^crc32|^adler32"
     r"|^(send|compress_block|longest_match|fill_window|build_tree"
     r"|pqdownheap|gen_bitlen|_tr_)"),
    ("log variables (module)",
     r"^ngx_http_infer_var"),
    ("request lifecycle (module)",
     r"^ngx_http_infer_|^infer_schedlat_|^clock_gettime|^__vdso"),
    ("nginx: access log",
     r"^ngx_http_log_|^ngx_escape_json|^ngx_http_variable_"
     r"|^ngx_http_get_indexed_variable|^ngx_http_get_flushed_variable"
     r"|^ngx_vslprintf|^ngx_sprintf|^ngx_http_time|^ngx_time_update"
     r"|^ngx_write_fd|^ngx_http_map_uri"),
    ("nginx: read the body",
     r"^ngx_http_(read_client_request_body|do_read_client_request_body"
     r"|request_body_|read_discarded|discard)|^ngx_unix_recv"
     r"|^ngx_http_read_request_header"),
    ("nginx: headers out",
     r"^ngx_http_(send_header|header_filter|[a-z_]+_header_filter"
     r"|top_header_filter)|^ngx_list_push"),
    ("nginx: body out",
     r"^ngx_http_(output_filter|write_filter|[a-z_]+_body_filter"
     r"|send_response|send_special)|^ngx_output_chain|^ngx_chain_"
     r"|^ngx_linux_sendfile|^ngx_writev|^ngx_alloc_chain"),
    ("nginx: phases and location",
     r"^ngx_http_core_|^ngx_http_(handler|update_location_config"
     r"|rewrite_handler|script_|complex_value|set_content_type"
     r"|test_content_type|finalize_request|terminate|post_action"
     r"|run_posted|request_handler|set_exten|auth_basic|access_|limit_"
     r"|realip|index_|static_|random_index|try_files|mirror|block_reading"
     r"|discard_)|^ngx_filename_cmp"),
    ("pool and memory",
     r"^ngx_(palloc|pnalloc|pcalloc|pmemalign|pfree|memalign|alloc|calloc"
     r"|create_pool|destroy_pool|reset_pool)|malloc|^_int_|^free$|^cfree"
     r"|^unlink_chunk|^memalign|^posix_memalign|^__mem|^memcpy|^memset"
     r"|^memmove|^tcache|^__libc_"),
]

_compiled = [(name, re.compile(pat)) for name, pat in STAGES]


def stage_of(fn):
    name = fn.split("'")[0]
    if name.startswith("0x"):
        return "unnamed"
    for stage, pat in _compiled:
        if pat.search(name):
            return stage
    return "nginx: other"


def exclusive(path):
    """Each function's own instructions in a callgrind profile."""
    names, own = {}, collections.Counter()
    fn, in_call = None, False

    def name(kind, rest):
        m = re.match(r"\((\d+)\)(?: (.*))?", rest)
        if not m:
            return rest
        if m.group(2) is not None:
            names[kind, m.group(1)] = m.group(2)
        return names.get((kind, m.group(1)), rest)

    with open(path) as f:
        for line in f:
            if line.startswith("fn="):
                fn = name("fn", line[3:].rstrip("\n"))
            elif line.startswith("cfn="):
                name("fn", line[4:].rstrip("\n"))
            elif line.startswith("calls="):
                in_call = True
            elif line[:1].isdigit() or line[:1] in "+-*":
                parts = line.split()
                if len(parts) >= 2 and fn is not None:
                    if in_call:
                        in_call = False         # a call's inclusive cost
                    else:
                        own[fn] += int(parts[1])
    return own


def main():
    case, base, requests = sys.argv[1], sys.argv[2], int(sys.argv[3])
    label = sys.argv[4] if len(sys.argv) > 4 else "case - baseline"
    a, b = exclusive(case), exclusive(base)

    by_stage = collections.Counter()
    top = collections.defaultdict(collections.Counter)
    for fn in set(a) | set(b):
        d = (a[fn] - b[fn]) / requests
        s = stage_of(fn)
        by_stage[s] += d
        top[s][fn.split("'")[0]] += d

    total = sum(by_stage.values())
    print("  %s: %+.0f instructions a request" % (label, total))
    for s, d in sorted(by_stage.items(), key=lambda kv: -abs(kv[1])):
        if abs(d) < 5:
            continue
        big = [f for f, v in top[s].most_common(3) if v >= 10]
        print("    %-30s %+6.0f   %s" % (s, d, ", ".join(big)))


if __name__ == "__main__":
    main()
