// Offline checks of k8s/, run by scripts/check-k8s.sh:
//
//   node validate.mjs ROOT RENDERED OUTDIR [COMPONENT]
//
// ROOT      the repository
// RENDERED  `kubectl kustomize k8s/` output, or "-" to render here (the
//           resources, configMapGenerator, namespace and images fields,
//           without kustomize's name hashes) when there is no kubectl
// OUTDIR    where to write rules.yaml (the PrometheusRule's spec, for
//           promtool) and probes.txt ("PORT PATH HANDLER" a line, for the
//           live probe check)
// COMPONENT a kustomize Component on k8s/ (k8s/edge): RENDERED is then
//           k8s/ with it, and "-" renders it here too (its resources,
//           its replacing configMapGenerator, its patches merged by name);
//           the ConfigMap's nginx.conf must be COMPONENT/nginx.conf
//
// Prints "ok ...", "FAIL ...", "WARN ..." lines and "validate: N passed,
// M failed"; exits 1 on a failure.
//
// Schemas: every object is validated with the model class of its
// apiVersion and kind from kubernetes-models (Kubernetes) or
// @kubernetes-models/prometheus-operator (ServiceMonitor, PrometheusRule).
// Their validators check types, enums and required fields but let unknown
// fields through, so each object is validated through a Proxy that
// records which fields the validator read: a field it never read is one
// the schema does not have.

import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { dump, load, loadAll } from "js-yaml";

const [root, rendered, outdir, component] = process.argv.slice(2);
const confFile = component && existsSync(join(root, component, "nginx.conf"))
  ? join(component, "nginx.conf") : "k8s/nginx.conf";
let passed = 0, failed = 0;

function ok(cond, what, detail) {
  if (cond) { passed++; console.log(`ok   ${what}`); }
  else { failed++; console.log(`FAIL ${what}${detail ? ": " + detail : ""}`); }
  return cond;
}
function warn(what) { console.log(`WARN ${what}`); }
const read = (p) => readFileSync(join(root, p), "utf8");


// --- rendering ------------------------------------------------------------

function renderHere() {
  const k = load(read("k8s/kustomization.yaml"));
  const docs = [];
  for (const r of k.resources) docs.push(...loadAll(read(join("k8s", r))).filter(Boolean));
  for (const g of k.configMapGenerator || []) {
    const data = {};
    for (const f of g.files) data[basename(f)] = read(join("k8s", f));
    const meta = { name: g.name };
    if (g.options?.labels) meta.labels = g.options.labels;
    if (g.options?.annotations) meta.annotations = g.options.annotations;
    docs.push({ apiVersion: "v1", kind: "ConfigMap", metadata: meta, data });
  }
  for (const d of docs) {
    if (k.namespace && d.kind !== "Namespace") d.metadata.namespace = k.namespace;
    for (const l of k.labels || []) d.metadata.labels = { ...(d.metadata.labels || {}), ...l.pairs };
    for (const c of d.spec?.template?.spec?.containers || [])
      for (const i of k.images || []) if (c.image === i.name) c.image = `${i.newName}:${i.newTag}`;
  }
  if (component) applyComponent(docs, load(read(join(component, "kustomization.yaml"))));
  return docs;
}

// a strategic merge, as far as the patches here need it: objects key by
// key, lists of named objects by name, other lists replaced
function merge(into, patch) {
  for (const [k, v] of Object.entries(patch)) {
    const cur = into[k];
    if (Array.isArray(v) && Array.isArray(cur) && v.every((x) => x?.name !== undefined)) {
      for (const x of v) {
        const hit = cur.find((y) => y.name === x.name);
        if (hit) merge(hit, x); else cur.unshift(structuredClone(x));
      }
    } else if (v && typeof v === "object" && !Array.isArray(v) && cur && typeof cur === "object") {
      merge(cur, v);
    } else {
      into[k] = structuredClone(v);
    }
  }
}

// the Component's resources (kustomize gives them neither the base's
// namespace nor its labels), ConfigMaps it replaces, and its patches
function applyComponent(docs, k) {
  for (const r of k.resources || []) docs.push(...loadAll(read(join(component, r))).filter(Boolean));
  for (const g of k.configMapGenerator || []) {
    const cm = docs.find((d) => d.kind === "ConfigMap" && d.metadata.name === g.name);
    if (!cm || g.behavior !== "replace") throw new Error(`configMapGenerator ${g.name}: only "replace" of a base's ConfigMap is rendered here`);
    cm.data = Object.fromEntries(g.files.map((f) => [basename(f), read(join(component, f))]));
  }
  for (const p of k.patches || []) {
    const patch = load(read(join(component, p.path)));
    const target = docs.find((d) => d.kind === patch.kind && d.metadata.name === patch.metadata.name);
    if (!target) throw new Error(`patch ${p.path}: no ${patch.kind}/${patch.metadata.name}`);
    merge(target, { spec: patch.spec });
  }
}

const docs = rendered === "-"
  ? renderHere()
  : loadAll(readFileSync(rendered, "utf8")).filter(Boolean);
ok(docs.length > 0, `rendered k8s/${component ? " with " + component : ""}: ${docs.length} objects` +
   (rendered === "-" ? " (without kubectl: no name hashes)" : " (kubectl kustomize)"));


// --- schemas --------------------------------------------------------------

function track(v, path, seen) {
  if (v === null || typeof v !== "object") return v;
  const rec = { path, obj: v, keys: new Set(), all: false };
  seen.push(rec);
  const cache = new Map();
  return new Proxy(v, {
    get(t, k, r) {
      if (typeof k === "string") rec.keys.add(k);
      const x = Reflect.get(t, k, r);
      if (typeof k !== "string" || x === null || typeof x !== "object") return x;
      if (!cache.has(k)) cache.set(k, track(x, `${path}/${k}`, seen));
      return cache.get(k);
    },
    has(t, k) { if (typeof k === "string") rec.keys.add(k); return Reflect.has(t, k); },
    ownKeys(t) { rec.all = true; return Reflect.ownKeys(t); },
  });
}

async function modelClass(apiVersion, kind) {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  const candidates = group === "monitoring.coreos.com"
    ? [`@kubernetes-models/prometheus-operator/${apiVersion}/${kind}`]
    : [`kubernetes-models/${group ? group + "/" : ""}${version}/${kind}`];
  for (const c of candidates) {
    try { return (await import(c))[kind]; } catch { /* next */ }
  }
  return null;
}

// errors of the schema, and fields it does not have
async function schemaErrors(doc) {
  const cls = await modelClass(doc.apiVersion, doc.kind);
  if (!cls) return [`no schema for ${doc.apiVersion} ${doc.kind}`];
  const errors = [];
  const seen = [];
  try { cls.prototype.validate.call(track(doc, "", seen)); }
  catch (e) { errors.push(e.message.replace(/\s+/g, " ")); }
  for (const r of seen) {
    // an object whose keys the validator never looked at is free-form
    // (annotations, x-kubernetes-preserve-unknown-fields)
    if (r.all || Array.isArray(r.obj) || r.keys.size === 0) continue;
    for (const k of Object.keys(r.obj))
      if (!r.keys.has(k)) errors.push(`unknown field ${r.path}/${k}`);
  }
  return errors;
}

const byKind = {};
for (const d of docs) {
  const errs = await schemaErrors(d);
  ok(errs.length === 0, `schema ${d.apiVersion} ${d.kind}/${d.metadata?.name}`, errs.join("; "));
  (byKind[d.kind] ||= []).push(d);
}
const one = (kind) => (byKind[kind] || [])[0];

// the validation catches what it must: a misspelt field, a wrong type
{
  const d = structuredClone(one("Deployment"));
  d.spec.template.spec.containers[0].livenessProbe.httpGet.pathh = "/health";
  d.spec.template.spec.containers[0].readinessProbe.periodSeconds = "5";
  const errs = (await schemaErrors(d)).join("; ");
  ok(/unknown field .*httpGet\/pathh/.test(errs) && /periodSeconds must be integer/.test(errs),
     "schema self-test: a misspelt field and a string for an integer are refused", errs);
  const r = structuredClone(one("PrometheusRule"));
  r.spec.groups[0].rules[0].recrod = "x";
  ok(/unknown field .*recrod/.test((await schemaErrors(r)).join("; ")),
     "schema self-test: an unknown field in a PrometheusRule is refused");
}


// --- nginx.conf -----------------------------------------------------------

// a tree of { name, args, block } from nginx's syntax
function parseNginx(text) {
  const tokens = [];
  const re = /#[^\n]*|"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|([{};])|([^\s{};"'#]+)/g;
  for (const m of text.matchAll(re)) {
    if (m[0][0] === "#") continue;
    tokens.push(m[3] ? { p: m[3] } : { w: m[1] ?? m[2] ?? m[4] });
  }
  let i = 0;
  function block() {
    const out = [];
    let cur = [];
    while (i < tokens.length) {
      const t = tokens[i++];
      if (t.p === ";") { out.push({ name: cur[0], args: cur.slice(1) }); cur = []; }
      else if (t.p === "{") { out.push({ name: cur[0], args: cur.slice(1), block: block() }); cur = []; }
      else if (t.p === "}") return out;
      else cur.push(t.w);
    }
    return out;
  }
  return block();
}

const deployment = one("Deployment");
const pod = deployment.spec.template.spec;
const container = pod.containers[0];
const confMount = container.volumeMounts.find((m) => m.mountPath === "/etc/nginx/nginx.conf");
const confVolume = pod.volumes.find((v) => v.name === confMount?.name);
const confMap = (byKind.ConfigMap || []).find((c) => c.metadata.name === confVolume?.configMap?.name);
ok(confMap && confMap.data[confMount.subPath] !== undefined,
   "the Deployment mounts nginx.conf from a ConfigMap of the kustomization");
ok(confMap?.data["nginx.conf"] === read(confFile),
   `the ConfigMap's nginx.conf is ${confFile}`);

const conf = parseNginx(confMap.data["nginx.conf"]);
const http = conf.find((d) => d.name === "http").block;
const servers = http.filter((d) => d.name === "server").map((s) => ({
  ports: s.block.filter((d) => d.name === "listen").map((d) => Number(d.args[0].split(":").pop())),
  locations: s.block.filter((d) => d.name === "location"),
}));

// the location nginx picks for a path: exact match, else longest prefix
function locate(port, path) {
  const s = servers.find((x) => x.ports.includes(port));
  if (!s) return null;
  const exact = s.locations.find((l) => l.args[0] === "=" && l.args[1] === path);
  if (exact) return exact;
  return s.locations.filter((l) => l.args.length === 1 && path.startsWith(l.args[0]))
    .sort((a, b) => b.args[0].length - a.args[0].length)[0] || null;
}
// the location's content handler: an infer directive that is not a setting
// (infer_otel, infer_max_batch, infer_thread_pool ... tune it)
const handlers = new Set(["infer", "infer_health", "infer_ready", "infer_v2", "infer_metrics"]);
const handler = (loc) => (loc?.block || []).map((d) => d.name).find((n) => handlers.has(n));

const portOf = (p) => typeof p === "number" ? p
  : container.ports.find((x) => x.name === p)?.containerPort;

const probes = [];
for (const [kind, want] of [["livenessProbe", "infer_health"], ["readinessProbe", "infer_ready"],
                            ["startupProbe", "infer_health"]]) {
  const g = container[kind]?.httpGet;
  if (!ok(g, `${kind} is an httpGet`)) continue;
  const port = portOf(g.port);
  const loc = locate(port, g.path);
  ok(loc && loc.args.join(" ") !== "/" && handler(loc) === want,
     `${kind} ${g.path} on port ${port} is a location of nginx.conf served by ${want}`,
     loc ? `location ${loc.args.join(" ")} (${handler(loc) || "no infer handler"})` : "no location");
  probes.push(`${port} ${g.path} ${kind}`);
}
writeFileSync(join(outdir, "probes.txt"), probes.join("\n") + "\n");

// worker_processes follows the CPU limit
const workers = conf.find((d) => d.name === "worker_processes")?.args[0];
ok(String(workers) === String(container.resources.limits.cpu) &&
   String(container.resources.requests.cpu) === String(container.resources.limits.cpu),
   `worker_processes (${workers}) equals the CPU request and limit (${container.resources.limits.cpu})`);

// the metrics port serves infer_metrics at the annotated path
const ann = deployment.spec.template.metadata.annotations;
const mport = Number(ann["prometheus.io/port"]);
ok(container.ports.some((p) => p.name === "metrics" && p.containerPort === mport) &&
   handler(locate(mport, ann["prometheus.io/path"])) === "infer_metrics",
   `prometheus.io/port ${mport} and path ${ann["prometheus.io/path"]} reach infer_metrics`);
{
  const traffic = container.ports.filter((p) => p.name !== "metrics");
  ok(traffic.every((p) => !servers.find((s) => s.ports.includes(p.containerPort))?.locations
       .some((l) => handler(l) === "infer_metrics")),
     `the traffic ports (${traffic.map((p) => p.name).join(", ")}) have no metrics location`);
}

// ports, selectors and references between the objects
// the Service with the metrics port (the ServiceMonitor's), and any other
const services = byKind.Service || [];
const service = services.find((s) => s.spec.ports.some((p) => p.name === "metrics")) || services[0];
const labels = deployment.spec.template.metadata.labels;
const matches = (sel) => Object.entries(sel || {}).every(([k, v]) => labels[k] === v);
ok(matches(deployment.spec.selector.matchLabels), "the Deployment's selector matches its pods");
ok(services.every((s) => matches(s.spec.selector)),
   `the Services (${services.map((s) => s.metadata.name).join(", ")}) select the pods`);
ok(services.every((s) => s.spec.ports.every((p) => container.ports.some((c) => c.name === p.targetPort))),
   "the Services' targetPorts are the container's named ports");
// a load balancer's ports are public: none of them may reach /metrics
ok(services.filter((s) => s.spec.type === "LoadBalancer").every((s) => s.spec.ports.every((p) =>
     handler(locate(portOf(p.targetPort), "/metrics")) !== "infer_metrics")),
   "no LoadBalancer Service port reaches infer_metrics");
const sm = one("ServiceMonitor");
ok(Object.entries(sm.spec.selector.matchLabels).every(([k, v]) => service.metadata.labels[k] === v),
   "the ServiceMonitor selects the Service");
ok(sm.spec.endpoints.every((e) => service.spec.ports.some((p) => p.name === e.port) &&
   handler(locate(portOf(service.spec.ports.find((p) => p.name === e.port).targetPort), e.path)) === "infer_metrics"),
   "the ServiceMonitor scrapes infer_metrics through the Service's metrics port");
ok(matches(one("PodDisruptionBudget").spec.selector.matchLabels), "the PodDisruptionBudget selects the pods");
const hpa = one("HorizontalPodAutoscaler");
ok(hpa.spec.scaleTargetRef.kind === "Deployment" && hpa.spec.scaleTargetRef.name === deployment.metadata.name,
   "the HorizontalPodAutoscaler scales the Deployment");
ok(deployment.spec.replicas === undefined, "the Deployment leaves replicas to the autoscaler");
ok(container.resources.requests.cpu !== undefined,
   "the container requests CPU (the autoscaler's utilization needs it)");
ok(pod.volumes.filter((v) => v.configMap).every((v) =>
     (byKind.ConfigMap || []).some((c) => c.metadata.name === v.configMap.name)),
   "every ConfigMap volume names a ConfigMap of the kustomization");
ok(new Set(docs.filter((d) => d.kind !== "Namespace").map((d) => d.metadata.namespace)).size === 1 &&
   docs.filter((d) => d.kind !== "Namespace").every((d) => d.metadata.namespace === one("Namespace").metadata.name),
   `every object is in namespace ${one("Namespace").metadata.name}`);

// the probe's privileges: what the Deployment asks for, and the profile
const sc = container.securityContext;
ok(sc.capabilities.drop.includes("ALL") && ["BPF", "PERFMON"].every((c) => sc.capabilities.add.includes(c)) &&
   !sc.capabilities.add.some((c) => ["SYS_ADMIN", "ALL"].includes(c)) && sc.allowPrivilegeEscalation === false,
   `capabilities: drop ALL, add ${sc.capabilities.add.join(" ")} (no SYS_ADMIN)`);
const profileName = sc.seccompProfile.localhostProfile.replace(/^profiles\//, "");
const profilePath = join("deploy/seccomp", profileName);
let profile = null;
try { profile = JSON.parse(read(profilePath)); } catch { /* below */ }
ok(sc.seccompProfile.type === "Localhost" && profile?.defaultAction === "SCMP_ACT_ERRNO" &&
   profile.syscalls.some((s) => s.action === "SCMP_ACT_ALLOW" && s.names.includes("bpf") &&
     JSON.stringify(s.includes?.caps) === JSON.stringify(["CAP_BPF", "CAP_PERFMON"])),
   `seccomp Localhost ${sc.seccompProfile.localhostProfile} is ${profilePath}, allowing bpf() with CAP_BPF+CAP_PERFMON`);

// the kind cluster mounts that profile where kubelets look for it
{
  const kind = load(read("k8s/kind.yaml"));
  const mounts = kind.nodes.map((n) => (n.extraMounts || []).find((m) =>
    m.containerPath === "/var/lib/kubelet/seccomp/profiles"));
  ok(kind.kind === "Cluster" && kind.apiVersion === "kind.x-k8s.io/v1alpha4" && mounts.every((m) => m &&
       existsSync(join(m.hostPath.replace("@REPO@", root), profileName))),
     `k8s/kind.yaml: every node (${kind.nodes.length}) mounts deploy/seccomp at the kubelet's seccomp root`);
}


// --- rules and dashboard ----------------------------------------------------

const rule = one("PrometheusRule");
writeFileSync(join(outdir, "rules.yaml"), dump({ groups: rule.spec.groups }, { lineWidth: -1 }));
const records = new Set(rule.spec.groups.flatMap((g) => g.rules).filter((r) => r.record).map((r) => r.record));
const alerts = rule.spec.groups.flatMap((g) => g.rules).filter((r) => r.alert).map((r) => r.alert);
ok(alerts.length === 5, `the PrometheusRule has ${records.size} recording rules and ${alerts.length} alerts`);
{
  const tests = read("deploy/prometheus/rules-test.yaml");
  const untested = alerts.filter((a) => !tests.includes(`alertname: ${a}`));
  ok(untested.length === 0, "deploy/prometheus/rules-test.yaml fires every alert", `untested: ${untested}`);
}

const KEYWORDS = new Set(["and", "or", "unless", "by", "without", "on", "ignoring", "group_left",
  "group_right", "offset", "bool", "inf", "nan", "Inf", "NaN", "atan2"]);

// the metric names in a PromQL expression
function metricNames(expr) {
  let s = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""');
  s = s.replace(/\{[^}]*\}/g, " ").replace(/\[[^\]]*\]/g, " ");
  s = s.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ");
  s = s.replace(/\$\{?[A-Za-z_]\w*\}?/g, " ");
  const names = [];
  for (const m of s.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const before = s[m.index - 1];
    if (before && /[0-9.]/.test(before)) continue;           // 1e3, 1w
    if (s.slice(m.index + m[0].length).trimStart().startsWith("(")) continue;  // a function
    if (KEYWORDS.has(m[0])) continue;
    names.push(m[0]);
  }
  return names;
}

const dashboard = JSON.parse(read("k8s/dashboards/nginx-infer.json"));
const exprs = [];
for (const p of dashboard.panels) for (const t of p.targets || []) exprs.push(["dashboard", p.title, t.expr]);
for (const v of dashboard.templating.list) {
  const q = typeof v.query === "string" ? v.query : v.query?.query;
  const m = v.type === "query" && /^label_values\((.*),\s*\w+\)$/.exec(q);
  if (m) exprs.push(["dashboard", `variable ${v.name}`, m[1]]);
}
for (const a of dashboard.annotations.list) if (a.expr) exprs.push(["dashboard", `annotation ${a.name}`, a.expr]);
for (const r of rule.spec.groups.flatMap((g) => g.rules)) exprs.push(["rules", r.record || r.alert, r.expr]);

ok(dashboard.panels.every((p) => p.type === "row" || p.datasource?.uid === "${datasource}") &&
   new Set(dashboard.panels.map((p) => p.id)).size === dashboard.panels.length,
   `dashboard: ${dashboard.panels.length} panels with unique ids, all on the $datasource variable`);

// deploy/metric-names.txt, and the module's family table
const listed = new Map();
for (const line of read("deploy/metric-names.txt").split("\n")) {
  if (!line.trim() || line.startsWith("#")) continue;
  const [name, type, state] = line.trim().split(/\s+/);
  listed.set(name, { type, pending: state === "pending" });
}
// the block's families (src/infer_metrics.c) and the host's, read at
// scrape time (src/infer_prom_host.c: the probe, cgroup throttling)
const table = new Map();
for (const [file, head] of [["src/infer_metrics.c", "infer_metrics_families[INFER_MF_N] = {"],
                            ["src/infer_prom_host.c", "infer_prom_host_families[INFER_PH_N] = {"]]) {
  const src = read(file);
  const start = src.indexOf(head);
  const body = src.slice(start, src.indexOf("\n};", start));
  const before = table.size;
  for (const m of body.matchAll(/^\s{4}\{\s*"([a-z_]+)",[\s\S]*?INFER_MT_([A-Z]+)/gm))
    table.set("nginx_infer_" + m[1], { COUNTER: "counter", GAUGE: "gauge", HISTOGRAM: "histogram", INFO: "gauge" }[m[2]]);
  ok(start >= 0 && table.size > before, `${file}: ${table.size - before} families in the module's table`);
}

const used = new Set();
const unknown = [];
for (const [where, what, expr] of exprs) {
  for (const n of metricNames(expr)) {
    if (records.has(n) || n === "ALERTS") continue;        // ours, Prometheus' own
    const base = n.replace(/_(bucket|sum|count)$/, "");
    const hit = listed.has(n) ? n : listed.get(base)?.type === "histogram" ? base : null;
    if (hit) used.add(hit); else unknown.push(`${n} (${where}: ${what})`);
  }
}
ok(unknown.length === 0, `the dashboard's and the rules' ${exprs.length} queries name only deploy/metric-names.txt and recording rules`,
   unknown.join(", "));
for (const [name, { type, pending }] of listed) {
  const t = table.get(name);
  if (pending && !t) warn(`${name}: pending, not in the module's table yet`);
  else ok(t === type, `${name} is a ${type} of the module`, t ? `the module has a ${t}` : "not in src/infer_metrics.c");
  if (!used.has(name)) warn(`${name} is listed but no query uses it`);
}

console.log(`validate: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
