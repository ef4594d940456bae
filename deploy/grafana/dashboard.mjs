// Writes the Grafana dashboard, k8s/dashboards/nginx-infer.json, on
// stdout: edit here, then
//   node deploy/grafana/dashboard.mjs > k8s/dashboards/nginx-infer.json
// scripts/check-k8s.sh fails when the two differ.  Every metric a query
// names must be in deploy/metric-names.txt (checked there too).

const ds = { type: "prometheus", uid: "${datasource}" };
const M = 'namespace=~"$namespace", model=~"$model"';
const N = 'namespace=~"$namespace"';
const R = "$__rate_interval";
let id = 1, y = 0;
const panels = [];
function row(title) { panels.push({ type: "row", id: id++, title, collapsed: false, gridPos: { h: 1, w: 24, x: 0, y }, panels: [] }); y += 1; }
let x = 0, rowH = 0;
function panel(p, w = 8, h = 8) {
  if (x + w > 24) { x = 0; y += rowH; rowH = 0; }
  const refs = "ABCDEFGH";
  const targets = p.targets.map((t, i) => ({ datasource: ds, refId: refs[i], editorMode: "code", range: !t.instant, instant: !!t.instant, ...t }));
  const out = {
    id: id++, type: p.type || "timeseries", title: p.title, description: p.description, datasource: ds,
    gridPos: { h, w, x, y }, targets,
    fieldConfig: { defaults: { unit: p.unit || "short", ...(p.defaults || {}) }, overrides: [] },
    options: p.options || (p.type === "stat" ? { reduceOptions: { calcs: ["lastNotNull"], fields: "", values: false }, colorMode: "value", graphMode: "area", textMode: "auto" } : { legend: { displayMode: "list", placement: "bottom", showLegend: true }, tooltip: { mode: "multi", sort: "desc" } }),
  };
  if (p.type === "heatmap") { out.options = { calculate: false, yAxis: { unit: p.unit || "short" }, cellGap: 1, color: { mode: "scheme", scheme: "Oranges" }, legend: { show: true }, tooltip: { show: true, yHistogram: true } }; out.fieldConfig = { defaults: {}, overrides: [] }; }
  panels.push(out);
  x += w; rowH = Math.max(rowH, h);
}
function endRow() { y += rowH; x = 0; rowH = 0; }
const thr = (v, color = "red") => ({ thresholds: { mode: "absolute", steps: [{ color: "green", value: null }, { color, value: v }] }, custom: { thresholdsStyle: { mode: "line+area" } } });
const q = (p, metric, by = "model", sel = M) => `histogram_quantile(${p}, sum by (${by}, le) (rate(${metric}_bucket{${sel}}[${R}])))`;

row("Golden signals: traffic, errors, latency, saturation");
panel({ title: "Traffic", unit: "reqps", description: "Requests answered and rows predicted per second, by model.", targets: [
  { expr: `sum by (model) (rate(nginx_infer_requests_total{${M}}[${R}]))`, legendFormat: "{{model}} requests" },
  { expr: `sum by (model) (rate(nginx_infer_predictions_total{${M}}[${R}]))`, legendFormat: "{{model}} rows" } ] }, 6);
panel({ title: "Errors by status", unit: "reqps", description: "Non-200 answers per second. 4xx are the clients' errors; only 5xx spend the availability budget.", targets: [
  { expr: `sum by (model, code) (rate(nginx_infer_requests_total{${M}, code!="200"}[${R}]))`, legendFormat: "{{model}} {{code}}" } ] }, 6);
panel({ title: "Latency (request head to last byte)", unit: "s", description: "p50, p90, p99 of nginx_infer_request_duration_seconds. The line is the SLO: p99 under 10 ms.", defaults: thr(0.01), targets: [
  { expr: q(0.5, "nginx_infer_request_duration_seconds"), legendFormat: "{{model}} p50" },
  { expr: q(0.9, "nginx_infer_request_duration_seconds"), legendFormat: "{{model}} p90" },
  { expr: q(0.99, "nginx_infer_request_duration_seconds"), legendFormat: "{{model}} p99" } ] }, 6);
panel({ title: "Saturation: requests in flight", unit: "short", description: "Requests being served now, summed over pods. CPU throttling and run-queue delay are below.", targets: [
  { expr: `sum by (model) (nginx_infer_requests_in_flight{${M}})`, legendFormat: "{{model}}" } ] }, 6);
endRow();

row("SLOs: 99.9% without 5xx, 99% within 10 ms (k8s/prometheusrule.yaml)");
panel({ title: "5xx ratio (5m)", unit: "percentunit", description: "nginx_infer:request_errors:ratio_rate5m; the line is the budget, 0.1%.", defaults: thr(0.001), targets: [
  { expr: `nginx_infer:request_errors:ratio_rate5m{${M}}`, legendFormat: "{{namespace}} {{model}}" } ] }, 6);
panel({ title: "Availability budget burn rate", unit: "short", description: "Error ratio over the budget (0.1%). 14.4 over 1h pages; 6 over 6h pages; 1 spends the budget exactly in 30 days.", defaults: thr(6), targets: [
  { expr: `nginx_infer:request_errors:ratio_rate1h{${M}} / 0.001`, legendFormat: "{{model}} 1h" },
  { expr: `nginx_infer:request_errors:ratio_rate6h{${M}} / 0.001`, legendFormat: "{{model}} 6h" } ] }, 6);
panel({ title: "Latency budget burn rate", unit: "short", description: "Share of requests over 10 ms over the budget (1%).", defaults: thr(6), targets: [
  { expr: `nginx_infer:request_slow:ratio_rate1h{${M}} / 0.01`, legendFormat: "{{model}} 1h" },
  { expr: `nginx_infer:request_slow:ratio_rate6h{${M}} / 0.01`, legendFormat: "{{model}} 6h" } ] }, 6);
panel({ type: "stat", title: "Last 24 hours", unit: "percentunit", description: "Requests answered without a 5xx, and within 10 ms, over the last day.", defaults: { decimals: 3 }, targets: [
  { expr: `1 - max(nginx_infer:request_errors:ratio_rate1d{${M}})`, legendFormat: "without 5xx" },
  { expr: `1 - max(nginx_infer:request_slow:ratio_rate1d{${M}})`, legendFormat: "within 10 ms" } ] }, 6);
endRow();

row("Inference and queue time");
panel({ title: "Inference time (in the model)", unit: "s", description: "p50 and p99 of nginx_infer_inference_duration_seconds: evaluation only.", targets: [
  { expr: q(0.5, "nginx_infer_inference_duration_seconds"), legendFormat: "{{model}} p50" },
  { expr: q(0.99, "nginx_infer_inference_duration_seconds"), legendFormat: "{{model}} p99" } ] });
panel({ title: "Queue time (thread pool)", unit: "s", description: "p99 wait for a thread-pool thread (infer_thread_pool); empty when every request runs inline.", targets: [
  { expr: q(0.99, "nginx_infer_queue_duration_seconds"), legendFormat: "{{model}} p99" },
  { expr: `sum by (model) (rate(nginx_infer_queue_duration_seconds_count{${M}}[${R}]))`, legendFormat: "{{model}} queued/s" } ] });
panel({ title: "Share of request time in the model", unit: "percentunit", description: "Time evaluating over time serving: low means parsing, the network or waiting dominate.", targets: [
  { expr: `sum by (model) (rate(nginx_infer_inference_duration_seconds_sum{${M}}[${R}])) / sum by (model) (rate(nginx_infer_request_duration_seconds_sum{${M}}[${R}]))`, legendFormat: "{{model}}" } ] });
panel({ title: "Errors by reason", unit: "reqps", description: "nginx_infer_errors_total: why requests were refused.", targets: [
  { expr: `sum by (model, reason) (rate(nginx_infer_errors_total{${M}}[${R}]))`, legendFormat: "{{model}} {{reason}}" } ] });
panel({ title: "Requests per worker", unit: "reqps", description: "Balance of the load over each pod's workers.", targets: [
  { expr: `sum by (pod, worker) (rate(nginx_infer_worker_requests_total{${N}}[${R}]))`, legendFormat: "{{pod}} worker {{worker}}" } ] });
panel({ title: "Latency heatmap", type: "heatmap", unit: "s", description: "Request durations, all selected models.", targets: [
  { expr: `sum by (le) (increase(nginx_infer_request_duration_seconds_bucket{${M}}[${R}]))`, legendFormat: "{{le}}", format: "heatmap" } ] });
endRow();

row("Batch sizes");
panel({ title: "Rows per request", unit: "short", description: "Mean and p99 of nginx_infer_batch_size.", targets: [
  { expr: `sum by (model) (rate(nginx_infer_batch_size_sum{${M}}[${R}])) / sum by (model) (rate(nginx_infer_batch_size_count{${M}}[${R}]))`, legendFormat: "{{model}} mean" },
  { expr: q(0.99, "nginx_infer_batch_size"), legendFormat: "{{model}} p99" } ] }, 12);
panel({ title: "Batch size distribution", type: "heatmap", description: "Requests by rows per request.", targets: [
  { expr: `sum by (le) (increase(nginx_infer_batch_size_bucket{${M}}[${R}]))`, legendFormat: "{{le}}", format: "heatmap" } ] }, 12);
endRow();

row("Prediction drift");
panel({ title: "Prediction quantiles", unit: "short", description: "p10, p50, p90 of each request's first output (infer_prediction_buckets). A move that traffic does not explain is drift in the inputs or the model.", targets: [
  { expr: q(0.1, "nginx_infer_prediction"), legendFormat: "{{model}} p10" },
  { expr: q(0.5, "nginx_infer_prediction"), legendFormat: "{{model}} p50" },
  { expr: q(0.9, "nginx_infer_prediction"), legendFormat: "{{model}} p90" } ] });
panel({ title: "Mean prediction: now and a week ago", unit: "short", description: "The hour's mean first output, beside the same hour a week before.", targets: [
  { expr: `sum by (model) (rate(nginx_infer_prediction_sum{${M}}[1h])) / sum by (model) (rate(nginx_infer_prediction_count{${M}}[1h]))`, legendFormat: "{{model}} now" },
  { expr: `sum by (model) (rate(nginx_infer_prediction_sum{${M}}[1h] offset 1w)) / sum by (model) (rate(nginx_infer_prediction_count{${M}}[1h] offset 1w))`, legendFormat: "{{model}} a week ago" } ] });
panel({ title: "Prediction distribution", type: "heatmap", description: "Requests by first output.", targets: [
  { expr: `sum by (le) (increase(nginx_infer_prediction_bucket{${M}}[${R}]))`, legendFormat: "{{le}}", format: "heatmap" } ] });
endRow();

row("CPU: run-queue delay and throttling");
panel({ title: "Run-queue delay p99, per worker", unit: "s", description: "How long a worker waited for a CPU once runnable (the scheduler-delay probe). High with low throttling: a busy node.", targets: [
  { expr: `histogram_quantile(0.99, sum by (pod, worker, le) (rate(nginx_infer_sched_delay_seconds_bucket{${N}}[${R}])))`, legendFormat: "{{pod}} worker {{worker}}" } ] }, 6);
panel({ title: "Time waiting for a CPU", unit: "percentunit", description: "Seconds spent runnable but not running, per second, per worker.", targets: [
  { expr: `sum by (pod, worker) (rate(nginx_infer_sched_wait_seconds_total{${N}}[${R}]))`, legendFormat: "{{pod}} worker {{worker}}" } ] }, 6);
panel({ title: "CPU throttling", unit: "short", description: "CFS periods throttled per second, and seconds throttled per second, per pod (the container's cgroup). Non-zero: raise limits.cpu or lower worker_processes.", targets: [
  { expr: `sum by (pod) (rate(nginx_infer_cpu_throttled_periods_total{${N}}[${R}]))`, legendFormat: "{{pod}} periods/s" },
  { expr: `sum by (pod) (rate(nginx_infer_cpu_throttled_seconds_total{${N}}[${R}]))`, legendFormat: "{{pod}} s/s" } ] }, 6);
panel({ type: "stat", title: "Probe source", unit: "short", description: "Where run-queue delay comes from: bpf (the probe), schedstat (the fallback: no CAP_BPF/CAP_PERFMON or seccomp), none. Pods per source.", targets: [
  { expr: `count by (source) (nginx_infer_sched_probe_source{${N}} == 1)`, legendFormat: "{{source}}" } ] }, 6);
endRow();

row("Traces: the OTLP exporter (infer_otel)");
const drop = (w) => `sum by (pod) (rate(nginx_infer_otel_spans_dropped_total{${N}}[${w}])) / (sum by (pod) (rate(nginx_infer_otel_spans_exported_total{${N}}[${w}])) + sum by (pod) (rate(nginx_infer_otel_spans_dropped_total{${N}}[${w}])))`;
panel({ title: "Spans exported and dropped", unit: "short", description: "Spans the collector accepted, and spans lost by reason, per second, summed over pods. queue_full or failed: the collector is down, slow or unreachable; rejected: it refused them (its message is in the error log); shutdown: a reload's last flush outlasted infer_otel_timeout; too_large: a request's spans bigger than a whole batch.", targets: [
  { expr: `sum(rate(nginx_infer_otel_spans_exported_total{${N}}[${R}]))`, legendFormat: "exported/s" },
  { expr: `sum by (reason) (rate(nginx_infer_otel_spans_dropped_total{${N}}[${R}]))`, legendFormat: "dropped/s {{reason}}" } ] }, 6);
panel({ title: "Spans dropped, share per pod (5m)", unit: "percentunit", description: "Dropped over exported plus dropped. The line is NginxInferTraceSpansDropped's 5%, held for 10 minutes. One pod alone: its collector name did not resolve when nginx started (the error log says so); nginx -s reload resolves it again.", defaults: thr(0.05, "orange"), targets: [
  { expr: drop("5m"), legendFormat: "{{pod}}" } ] }, 6);
panel({ title: "Export requests by outcome", unit: "reqps", description: "OTLP POSTs per second by outcome, summed over pods. retryable, timeout, network_error are retried for up to 60 s, then their spans are dropped as failed; rejected drops at once. Anything but ok: look at the collector.", targets: [
  { expr: `sum by (outcome) (rate(nginx_infer_otel_exports_total{${N}}[${R}]))`, legendFormat: "{{outcome}}" } ] }, 6);
panel({ title: "Export latency", unit: "s", description: "p50 and p99 of nginx_infer_otel_export_duration_seconds, a batch sent to the collector's answer. One batch is in flight at a time: rising toward infer_otel_timeout (5 s), the queue fills and spans drop as queue_full; move the collector closer or give it more CPU.", targets: [
  { expr: `histogram_quantile(0.5, sum by (le) (rate(nginx_infer_otel_export_duration_seconds_bucket{${N}}[${R}])))`, legendFormat: "p50" },
  { expr: `histogram_quantile(0.99, sum by (le) (rate(nginx_infer_otel_export_duration_seconds_bucket{${N}}[${R}])))`, legendFormat: "p99" } ] }, 6);
endRow();

row("Fleet");
panel({ type: "table", title: "Models loaded", description: "nginx_infer_model_info, per pod.", options: { showHeader: true }, targets: [
  { expr: `nginx_infer_model_info{${M}}`, format: "table", instant: true } ] }, 12);
panel({ type: "stat", title: "Pods by module version", unit: "short", targets: [
  { expr: `count by (version) (nginx_infer_build_info{${N}})`, legendFormat: "{{version}}", instant: true } ] }, 6);
panel({ type: "stat", title: "Counters' age (oldest pod)", unit: "s", description: "Since the metrics zone was laid out; survives nginx -s reload.", targets: [
  { expr: `max(time() - nginx_infer_start_time_seconds{${N}})`, legendFormat: "age", instant: true } ] }, 6);
endRow();

const dash = {
  uid: "nginx-infer", title: "nginx-infer: inference in nginx", description: "ngx_http_infer_module: golden signals, SLOs, inference and queue time, batch sizes, prediction drift, run-queue delay and throttling, trace export.",
  tags: ["nginx-infer", "inference", "slo"], editable: true, graphTooltip: 1, schemaVersion: 39, version: 1, refresh: "30s",
  time: { from: "now-6h", to: "now" }, timezone: "", fiscalYearStartMonth: 0, liveNow: false, weekStart: "",
  annotations: { list: [{ builtIn: 1, datasource: { type: "grafana", uid: "-- Grafana --" }, enable: true, hide: true, iconColor: "rgba(0, 211, 255, 1)", name: "Annotations & Alerts", type: "dashboard" },
    { datasource: ds, enable: true, iconColor: "red", name: "SLO alerts", expr: 'ALERTS{alertname=~"NginxInfer.*", alertstate="firing"}', titleFormat: "{{alertname}}", textFormat: "{{model}}", step: "60s" }] },
  templating: { list: [
    { type: "datasource", name: "datasource", label: "Prometheus", query: "prometheus", current: {}, hide: 0, refresh: 1, options: [] },
    { type: "query", name: "namespace", label: "Namespace", datasource: ds, query: { query: "label_values(nginx_infer_build_info, namespace)", refId: "ns" }, definition: "label_values(nginx_infer_build_info, namespace)", refresh: 2, includeAll: true, multi: true, current: {}, options: [], sort: 1, hide: 0 },
    { type: "query", name: "model", label: "Model", datasource: ds, query: { query: 'label_values(nginx_infer_model_info{namespace=~"$namespace"}, model)', refId: "model" }, definition: 'label_values(nginx_infer_model_info{namespace=~"$namespace"}, model)', refresh: 2, includeAll: true, multi: true, current: {}, options: [], sort: 1, hide: 0 } ] },
  panels,
};
process.stdout.write(JSON.stringify(dash, null, 2) + "\n");
