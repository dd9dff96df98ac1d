// Validates everything under deploy/k8s (see tests/deploy/CMakeLists.txt):
//   node validate.mjs <repo root> [--kubectl PATH]
// Every YAML document, and every kustomization's rendered output, against
// the Kubernetes / Prometheus Operator schemas with unknown fields refused;
// cross-object checks (checks.mjs); the PrometheusRule against the rule file
// promtool checks; the Grafana dashboard's structure. With --kubectl, also
// that this renderer's output equals `kubectl kustomize` for every
// kustomization. Prints one line per check and "N passed, M failed".
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { isDeepStrictEqual } from "node:util";
import { checkSecretTemplate, crossChecks, readText } from "./checks.mjs";
import { objectId, parseYamlDocuments, render } from "./kustomize.mjs";
import { networkPolicyChecks } from "./netpol.mjs";
import { validateObject } from "./schema.mjs";

const args = process.argv.slice(2);
const repo = path.resolve(args[0] ?? ".");
const kubectlAt = args.indexOf("--kubectl");
const kubectl = kubectlAt >= 0 ? args[kubectlAt + 1] : null;
const k8s = path.join(repo, "deploy/k8s");

let passed = 0;
let failed = 0;
function report(name, problems) {
  if (problems.length === 0) {
    passed++;
    console.log(`ok - ${name}`);
  } else {
    failed++;
    console.log(`not ok - ${name}`);
    for (const p of problems) console.log(`    ${p}`);
  }
}
async function check(name, fn) {
  try {
    report(name, (await fn()) ?? []);
  } catch (e) {
    report(name, [e.stack ?? String(e)]);
  }
}

function yamlFiles(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return yamlFiles(p);
    return /\.ya?ml$/.test(e.name) ? [p] : [];
  }).sort();
}
const rel = (p) => path.relative(repo, p);

const files = yamlFiles(k8s);
const kustomizations = files.filter((f) => path.basename(f) === "kustomization.yaml").map(path.dirname);
const rendered = new Map();

// 1. Every document of every manifest file.
for (const file of files) {
  if (path.basename(file) === "kustomization.yaml") continue;
  await check(`schema: ${rel(file)}`, async () => {
    const problems = [];
    const docs = parseYamlDocuments(file);
    if (docs.length === 0) problems.push("no documents");
    for (const doc of docs) {
      for (const p of await validateObject(doc)) problems.push(`${objectId(doc)}: ${p}`);
    }
    return problems;
  });
}

// 2. Every kustomization renders, to valid objects only.
for (const dir of kustomizations) {
  await check(`kustomize: ${rel(dir)} renders to valid objects`, async () => {
    const objects = render(dir);
    rendered.set(dir, objects);
    const problems = objects.length === 0 ? ["renders nothing"] : [];
    for (const o of objects) {
      for (const p of await validateObject(o)) problems.push(`${objectId(o)}: ${p}`);
    }
    return problems;
  });
}

// 3. No manifest is left out of every kustomization (the Secret template is
// applied by hand on purpose).
await check("every manifest is part of a kustomization", () => {
  const used = new Set();
  const collect = (dir) => {
    const k = parseYamlDocuments(path.join(dir, "kustomization.yaml"))[0];
    for (const r of k.resources ?? []) {
      const p = path.resolve(dir, r);
      if (fs.statSync(p).isDirectory()) collect(p);
      else used.add(p);
    }
  };
  kustomizations.forEach(collect);
  return files
    .filter((f) => path.basename(f) !== "kustomization.yaml" && path.basename(f) !== "secret.template.yaml")
    .filter((f) => !used.has(f))
    .map((f) => `${rel(f)} is in no kustomization`);
});

// 4. Cross-object checks on what an operator applies.
const templates = parseYamlDocuments(path.join(k8s, "secret.template.yaml"));
const entrypointScript = readText(path.join(repo, "deploy/docker/entrypoint.sh"));
await check("secret template holds placeholders only", () => checkSecretTemplate(templates));
const get = (name) => rendered.get(path.join(k8s, name)) ?? [];
await check("base + monitoring: references, probes, ports, replicas, keypool, token keys", () =>
  crossChecks([...get("base"), ...get("monitoring")], { templates, entrypointScript, requireScaledOut: true }));
await check("overlays/local: references, probes, ports, keypool, token keys", () =>
  crossChecks([...get("overlays/local"), ...get("monitoring")], { templates, entrypointScript, requireScaledOut: false }));
await check("base: network policies (who reaches whom, on which port)", () => networkPolicyChecks(get("base")));
await check("overlays/local: network policies, demo database included", () => networkPolicyChecks(get("overlays/local")));
await check("overlays/local uses the demo database", () => {
  const objs = get("overlays/local");
  const host = objs.find((o) => o.kind === "ConfigMap" && o.metadata.name === "aigw-config")?.data?.DB_HOST;
  const svc = objs.find((o) => o.kind === "Service" && o.metadata.name === host);
  return svc?.spec.ports.some((p) => p.port === 3306) ? [] : [`DB_HOST ${host} is not a MySQL Service of the overlay`];
});

// 5. The PrometheusRule carries exactly the rule file's groups.
await check("PrometheusRule groups equal deploy/prometheus/aigw-rules.yaml", () => {
  const file = parseYamlDocuments(path.join(repo, "deploy/prometheus/aigw-rules.yaml"))[0];
  const cr = get("monitoring").find((o) => o.kind === "PrometheusRule");
  if (!cr) return ["no PrometheusRule in deploy/k8s/monitoring"];
  return isDeepStrictEqual(cr.spec.groups, file.groups) ? [] : ["spec.groups differs from the rule file"];
});

// 6. The Grafana dashboard is well-formed for import.
await check("grafana dashboard structure", () => {
  const problems = [];
  for (const f of fs.readdirSync(path.join(repo, "deploy/grafana")).filter((n) => n.endsWith(".json"))) {
    const d = JSON.parse(readText(path.join(repo, "deploy/grafana", f)));
    if (!d.uid || !d.title) problems.push(`${f}: uid and title are required`);
    if (!Number.isInteger(d.schemaVersion)) problems.push(`${f}: schemaVersion missing`);
    const vars = new Set((d.templating?.list ?? []).map((v) => v.name));
    if (!vars.has("datasource")) problems.push(`${f}: no datasource variable`);
    const ids = new Set();
    const panels = (d.panels ?? []).flatMap((p) => [p, ...(p.panels ?? [])]);
    if (panels.length === 0) problems.push(`${f}: no panels`);
    for (const p of panels) {
      const where = `${f} panel ${p.id} "${p.title}"`;
      if (ids.has(p.id)) problems.push(`${where}: duplicate id`);
      ids.add(p.id);
      const g = p.gridPos;
      if (!g || ![g.x, g.y, g.w, g.h].every(Number.isInteger) || g.x + g.w > 24) problems.push(`${where}: bad gridPos`);
      if (p.type === "row") continue;
      if (p.datasource?.uid !== "${datasource}") problems.push(`${where}: datasource must be \${datasource}`);
      if (!(p.targets?.length > 0)) problems.push(`${where}: no queries`);
      const refIds = new Set();
      for (const t of p.targets ?? []) {
        if (!t.expr) problems.push(`${where}: a target has no expr`);
        if (refIds.has(t.refId)) problems.push(`${where}: duplicate refId ${t.refId}`);
        refIds.add(t.refId);
        for (const m of (t.expr ?? "").matchAll(/\$\{?([A-Za-z_][A-Za-z0-9_]*)/g)) {
          if (!m[1].startsWith("__") && !vars.has(m[1])) problems.push(`${where}: unknown variable $${m[1]}`);
        }
      }
    }
  }
  return problems;
});

// 7. This renderer agrees with the real kustomize.
if (kubectl) {
  for (const dir of kustomizations) {
    await check(`kubectl kustomize ${rel(dir)} equals this renderer`, () => {
      const out = execFileSync(kubectl, ["kustomize", dir], { encoding: "utf8", maxBuffer: 64 << 20 });
      const tmpDir = fs.mkdtempSync(path.join(process.env.TMPDIR ?? "/tmp", "kustomize-"));
      const tmp = path.join(tmpDir, "out.yaml");
      fs.writeFileSync(tmp, out);
      const theirs = new Map(parseYamlDocuments(tmp).map((o) => [objectId(o), o]));
      fs.rmSync(tmpDir, { recursive: true, force: true });
      const ours = new Map((rendered.get(dir) ?? []).map((o) => [objectId(o), o]));
      const problems = [];
      for (const id of new Set([...theirs.keys(), ...ours.keys()])) {
        if (!theirs.has(id)) problems.push(`${id}: only this renderer produces it`);
        else if (!ours.has(id)) problems.push(`${id}: only kubectl kustomize produces it`);
        else if (!isDeepStrictEqual(theirs.get(id), ours.get(id))) problems.push(`${id}: differs`);
      }
      return problems;
    });
  }
}

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
