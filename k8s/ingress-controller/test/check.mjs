// The offline checks of k8s/ingress-controller/, run by scripts/check-k8s.sh
// from build/k8s-validate (for its js-yaml and kubernetes-models):
//
//   node check.mjs ROOT OUTDIR KEY=VALUE...
//
// - the ConfigMap and the Ingresses validate against the Kubernetes
//   schemas, and the manifests, the Helm values and Dockerfile agree (the
//   ConfigMap and models named in values.yaml exist, the models are
//   mounted where infer_model looks, the metrics port is exposed,
//   snippets are enabled, the module is loaded by the name Dockerfile
//   installs it under);
// - test/controller.conf, the shape of the controller's generated
//   configuration, gets the committed snippets where the controller puts
//   them: OUTDIR/nginx.conf.  OUTDIR/nginx-flat.conf is the same with each
//   location snippet's nested location unwrapped (`infer example;` alone
//   before the controller's proxy_pass), to show why ingress.yaml nests.
//   KEY=VALUE pairs fill the fixture's @KEY@ (ports, paths); MODULE,
//   MODELS and METRICS replace the module's path, the models' directory
//   and the metrics port in the snippets.
//
// Prints "ok ...", "FAIL ..." and "controller: N passed, M failed".

import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { load, loadAll } from "js-yaml";

const [root, outdir, ...pairs] = process.argv.slice(2);
const vars = Object.fromEntries(pairs.map((p) => [p.slice(0, p.indexOf("=")), p.slice(p.indexOf("=") + 1)]));
const dir = "k8s/ingress-controller";
const read = (p) => readFileSync(join(root, dir, p), "utf8");
let passed = 0, failed = 0;
function ok(cond, what, detail) {
  if (cond) { passed++; console.log(`ok   ${what}`); }
  else { failed++; console.log(`FAIL ${what}${detail ? ": " + detail : ""}`); }
  return cond;
}

const kust = load(read("kustomization.yaml"));
const docs = kust.resources.flatMap((r) => loadAll(read(r)).filter(Boolean));
const values = load(read("values.yaml")).controller;
const dockerfile = read("Dockerfile");

for (const d of docs) {
  const [group, version] = d.apiVersion.includes("/") ? d.apiVersion.split("/") : ["", d.apiVersion];
  let err = null;
  try {
    const cls = (await import(`kubernetes-models/${group ? group + "/" : ""}${version}/${d.kind}`))[d.kind];
    new cls(d).validate();
  } catch (e) { err = e.message.replace(/\s+/g, " "); }
  ok(!err, `schema ${d.apiVersion} ${d.kind}/${d.metadata.namespace}/${d.metadata.name}`, err);
}

const config = docs.find((d) => d.kind === "ConfigMap" && d.metadata.name === values.customConfigMap);
ok(config, `values.yaml's customConfigMap ${values.customConfigMap} is nginx-config.yaml's ConfigMap`);
const main = config?.data["main-snippets"] || "";
const http = config?.data["http-snippets"] || "";
ok(/^load_module modules\/ngx_http_infer_module\.so;$/m.test(main) &&
   /COPY --from=build \/out\/ngx_http_infer_module\.so \/usr\/lib\/nginx\/modules\//.test(dockerfile),
   "main-snippets loads modules/ngx_http_infer_module.so, where Dockerfile puts it (nginx.org's /etc/nginx/modules is /usr/lib/nginx/modules)");

const models = kust.configMapGenerator.find((g) => g.name === "nginx-infer-models");
const vol = values.volumes.find((v) => v.configMap?.name === models?.name);
const mount = values.volumeMounts.find((m) => m.name === vol?.name);
const declared = [...http.matchAll(/^\s*infer_model\s+(\S+)\s+(\S+)/gm)].map((m) => m[2]);
ok(models?.options?.disableNameSuffixHash && vol && mount && declared.length > 0 &&
   declared.every((p) => models.files.some((f) => join(mount.mountPath, f.split("/").pop()) === p)),
   `every infer_model file (${declared.join(", ")}) is in the models ConfigMap, mounted at ${mount?.mountPath}`);

const mport = Number(/listen\s+(\d+);/.exec(http)?.[1]);
ok(values.customPorts.some((p) => p.containerPort === mport) &&
   values.pod.annotations["prometheus.io/port"] === String(mport) && mport !== 9113,
   `the module's metrics port ${mport} is a container port and the scrape annotation, apart from the controller's 9113`);

const ingresses = docs.filter((d) => d.kind === "Ingress");
const snippets = ingresses.filter((i) => i.metadata.annotations?.["nginx.org/location-snippets"]);
ok(values.enableSnippets === true && snippets.length > 0,
   `enableSnippets is on for the ${snippets.length} Ingresses with location-snippets`);
const master = ingresses.filter((i) => i.metadata.annotations?.["nginx.org/mergeable-ingress-type"] === "master");
ok(master.length === 1 && ingresses.every((i) => i === master[0] ||
     (i.metadata.annotations?.["nginx.org/mergeable-ingress-type"] === "minion" &&
      i.spec.rules.every((r) => r.host === master[0].spec.rules[0].host) && !i.spec.tls)),
   "one master Ingress holds the host and TLS, the others are its minions");
ok(snippets.every((i) => i.spec.rules.every((r) => r.http.paths.every((p) => p.pathType === "Prefix"))),
   "the minions with snippets use Prefix paths (nginx nests no location in an exact one)");

const icTag = /ARG IC_IMAGE=\S+:(\S+)/.exec(dockerfile)?.[1];
ok(icTag && values.image.tag === icTag, `values.yaml's image tag is Dockerfile's controller version (${icTag})`);

// the fixture, with the snippets where the controller inserts them
let fixture = readFileSync(join(root, dir, "test/controller.conf"), "utf8");
const sub = (s) => {
  let t = s;
  if (vars.MODULE) t = t.replace("modules/ngx_http_infer_module.so", vars.MODULE);
  if (vars.MODELS) t = t.replaceAll("/etc/nginx/models/", vars.MODELS.replace(/\/?$/, "/"));
  if (vars.METRICS) t = t.replace(`listen ${mport};`, `listen 127.0.0.1:${vars.METRICS};`);
  return t;
};
fixture = fixture.replace("@MAIN_SNIPPETS@", sub(main)).replace("@HTTP_SNIPPETS@", sub(http));
for (const [k, v] of Object.entries(vars)) fixture = fixture.replaceAll(`@${k}@`, v);
const locSnippet = (name) => {
  const i = ingresses.find((x) => x.metadata.name === name);
  return i?.metadata.annotations?.["nginx.org/location-snippets"] || "";
};
const nested = fixture.replace(/@LOCATION_SNIPPETS ([\w-]+)@/g, (_, n) => locSnippet(n));
const flat = fixture.replace(/@LOCATION_SNIPPETS ([\w-]+)@/g, (_, n) =>
  locSnippet(n).replace(/^\s*location[^{]*\{\s*([\s\S]*?)\s*\}\s*$/, "$1"));
ok(!/@[A-Z_]+[ @]/.test(nested), "every marker of test/controller.conf is filled",
   (nested.match(/@[A-Z_]+[^\n]*/g) || []).join(", "));
writeFileSync(join(outdir, "nginx.conf"), nested);
writeFileSync(join(outdir, "nginx-flat.conf"), flat);

console.log(`controller: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
