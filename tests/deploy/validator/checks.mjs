// Checks across objects that no schema can make: that selectors select,
// references resolve, probes and ports agree with what the aigw binaries
// serve, and the operational choices deploy/README.md describes hold.
import fs from "node:fs";

// What each service binary serves (README.md "the services").
// `ready`: the gRPC health name the readiness probe checks. Usage and admin
// name their service, NOT_SERVING while their database is unreachable
// (libs/server/database_monitor.h); the others, and every startup and
// liveness probe, the overall health "".
export const SERVICES = {
  gateway: { grpc: 50051, metrics: 9101, ready: "" },
  keypool: { grpc: 50052, metrics: 9102, ready: "" },
  usage: { grpc: 50053, metrics: 9103, ready: "aigw.v1.UsageService" },
  admin: { grpc: 50054, metrics: 9104, ready: "aigw.v1.AdminService" },
};

const WORKLOAD_KINDS = new Set(["Deployment", "StatefulSet", "Job"]);

function matches(selector, labels) {
  return Object.entries(selector ?? {}).every(([k, v]) => labels?.[k] === v);
}

// Kubernetes quantities: CPU in cores, memory in bytes.
export function quantity(q) {
  const s = String(q);
  const m = /^([0-9.]+)([a-zA-Z]*)$/.exec(s);
  if (!m) throw new Error(`bad quantity ${s}`);
  const units = { "": 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 };
  if (!(m[2] in units)) throw new Error(`unknown unit in ${s}`);
  return Number(m[1]) * units[m[2]];
}

function seconds(d) {
  const m = /^([0-9.]+)(ms|s|m|h)$/.exec(d);
  if (!m) throw new Error(`bad duration ${d}`);
  return Number(m[1]) * { ms: 1e-3, s: 1, m: 60, h: 3600 }[m[2]];
}

export function crossChecks(objects, { templates, entrypointScript, requireScaledOut }) {
  const problems = [];
  const fail = (where, what) => problems.push(`${where}: ${what}`);
  const byKind = (kind) => objects.filter((o) => o.kind === kind);
  const find = (kind, name) => objects.find((o) => o.kind === kind && o.metadata.name === name);

  const namespace = byKind("Namespace")[0]?.metadata.name;
  if (!namespace) fail("namespace", "no Namespace object");
  for (const o of objects) {
    if (o.kind === "Namespace") continue;
    if (o.metadata.namespace !== namespace) fail(`${o.kind}/${o.metadata.name}`, `namespace is ${o.metadata.namespace}, not ${namespace}`);
  }

  const config = find("ConfigMap", "aigw-config");
  if (!config) fail("ConfigMap/aigw-config", "missing");
  // What the operator creates by hand (secret.template.yaml) counts as there.
  const keysOf = (kind) => {
    const m = new Map();
    for (const s of [...byKind(kind), ...(templates ?? []).filter((t) => t.kind === kind)]) {
      m.set(s.metadata.name, new Set([...Object.keys(s.stringData ?? {}), ...Object.keys(s.data ?? {})]));
    }
    return m;
  };
  const secrets = keysOf("Secret");
  const configMaps = keysOf("ConfigMap");
  const programs = new Set([...entrypointScript.matchAll(/^\s*([a-z|]+)\)\s/gm)].flatMap((m) => m[1].split("|")));

  const workloads = objects.filter((o) => WORKLOAD_KINDS.has(o.kind));
  const podOf = (w) => w.spec.template;

  for (const w of workloads) {
    const where = `${w.kind}/${w.metadata.name}`;
    const pod = podOf(w);
    const spec = pod.spec;
    if (w.kind !== "Job" && !matches(w.spec.selector?.matchLabels, pod.metadata?.labels)) {
      fail(where, "selector does not select its own pod template");
    }
    const psc = spec.securityContext ?? {};
    if (psc.runAsNonRoot !== true) fail(where, "pod securityContext.runAsNonRoot must be true");
    if (psc.seccompProfile?.type !== "RuntimeDefault") fail(where, "seccompProfile must be RuntimeDefault");
    const volumes = new Map((spec.volumes ?? []).map((v) => [v.name, v]));
    for (const t of w.spec.volumeClaimTemplates ?? []) volumes.set(t.metadata.name, { persistentVolumeClaim: {} });

    for (const c of spec.containers) {
      const cw = `${where} container ${c.name}`;
      for (const r of ["requests", "limits"]) {
        for (const res of ["cpu", "memory"]) {
          if (c.resources?.[r]?.[res] === undefined) fail(cw, `resources.${r}.${res} is not set`);
        }
      }
      for (const res of ["cpu", "memory"]) {
        const req = c.resources?.requests?.[res];
        const lim = c.resources?.limits?.[res];
        if (req !== undefined && lim !== undefined && quantity(req) > quantity(lim)) {
          fail(cw, `${res} request ${req} exceeds its limit ${lim}`);
        }
      }
      const sc = c.securityContext ?? {};
      if (sc.allowPrivilegeEscalation !== false) fail(cw, "allowPrivilegeEscalation must be false");
      if (!(sc.capabilities?.drop ?? []).includes("ALL")) fail(cw, "capabilities must drop ALL");
      for (const ref of c.envFrom ?? []) {
        if (ref.configMapRef && !find("ConfigMap", ref.configMapRef.name)) fail(cw, `ConfigMap ${ref.configMapRef.name} does not exist`);
        if (ref.secretRef && !secrets.has(ref.secretRef.name)) fail(cw, `Secret ${ref.secretRef.name} does not exist`);
      }
      for (const e of c.env ?? []) {
        const s = e.valueFrom?.secretKeyRef;
        if (s && !s.optional && !secrets.get(s.name)?.has(s.key)) fail(cw, `env ${e.name}: Secret ${s.name} has no key ${s.key}`);
        const cm = e.valueFrom?.configMapKeyRef;
        if (cm && !(find("ConfigMap", cm.name)?.data ?? {})[cm.key]) fail(cw, `env ${e.name}: ConfigMap ${cm.name} has no key ${cm.key}`);
      }
      for (const m of c.volumeMounts ?? []) {
        const v = volumes.get(m.name);
        if (!v) fail(cw, `volumeMount ${m.name} has no volume`);
        if (v?.secret) {
          if (!secrets.has(v.secret.secretName)) fail(cw, `volume ${m.name}: Secret ${v.secret.secretName} does not exist`);
          for (const item of v.secret.items ?? []) {
            if (!secrets.get(v.secret.secretName)?.has(item.key)) fail(cw, `volume ${m.name}: Secret has no key ${item.key}`);
          }
        }
        if (v?.configMap) {
          if (!configMaps.has(v.configMap.name)) fail(cw, `volume ${m.name}: ConfigMap ${v.configMap.name} does not exist`);
          for (const item of v.configMap.items ?? []) {
            if (!configMaps.get(v.configMap.name)?.has(item.key)) fail(cw, `volume ${m.name}: ConfigMap has no key ${item.key}`);
          }
        }
      }
      // A *_FILE variable names a file some mounted volume provides.
      const env = Object.fromEntries((c.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value]));
      for (const [name, value] of Object.entries(env)) {
        if (!name.endsWith("_FILE")) continue;
        const provided = (c.volumeMounts ?? []).some((m) => {
          const v = volumes.get(m.name);
          const items = v?.secret?.items ?? v?.configMap?.items;
          return items ? items.some((i) => `${m.mountPath}/${i.path}` === value) : value.startsWith(`${m.mountPath}/`);
        });
        if (!provided) fail(cw, `${name}=${value} is not provided by any mounted volume`);
      }

      if (c.image !== "aigw" && !/^([^@]*\/)?aigw[:@]/.test(c.image)) continue;  // not an aigw container
      const program = c.args?.[0];
      if (!programs.has(program)) fail(cw, `args[0] '${program}' is not a program of the entrypoint`);
      if (sc.readOnlyRootFilesystem !== true) fail(cw, "readOnlyRootFilesystem must be true");
      if (psc.runAsUser !== 10001) fail(where, "runAsUser must be the image's user 10001");
      for (const problem of tokenKeyProblems(program, c, env, volumes)) fail(cw, problem);
      if (!(c.env ?? []).some((e) => e.name === "DB_PASSWORD" && e.valueFrom?.secretKeyRef)) fail(cw, "DB_PASSWORD does not come from a Secret");
      if (program === "keypool" || program === "admin") {
        if (!env.AIGW_MASTER_KEY_FILE) fail(cw, "AIGW_MASTER_KEY_FILE is not set");
      }
      if (program === "gateway") {
        const dir = env.AIGW_SPOOL_DIR;
        const mount = (c.volumeMounts ?? []).find((m) => m.mountPath === dir);
        const v = mount && volumes.get(mount.name);
        if (!v || !(v.emptyDir || v.persistentVolumeClaim) || mount.readOnly) {
          fail(cw, `AIGW_SPOOL_DIR=${dir} must be a writable emptyDir or PVC mount`);
        }
      }
      if (!SERVICES[program]) continue;  // migrate: a Job

      const want = SERVICES[program];
      if (pod.metadata?.labels?.["app.kubernetes.io/component"] !== program) {
        fail(cw, `runs ${program} but its component label is ${pod.metadata?.labels?.["app.kubernetes.io/component"]}`);
      }
      const ports = Object.fromEntries((c.ports ?? []).map((p) => [p.name, p.containerPort]));
      if (ports.grpc !== want.grpc) fail(cw, `port grpc must be ${want.grpc}`);
      if (ports.metrics !== want.metrics) fail(cw, `port metrics must be ${want.metrics}`);
      for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"]) {
        const p = c[probe];
        if (!p?.grpc) fail(cw, `${probe} must be a gRPC probe`);
        else if (p.grpc.port !== want.grpc) fail(cw, `${probe} probes port ${p.grpc.port}, not gRPC ${want.grpc}`);
        else if (probe === "readinessProbe" && (p.grpc.service ?? "") !== want.ready) {
          fail(cw, `readinessProbe must check gRPC health service "${want.ready}"`);
        } else if (probe !== "readinessProbe" && (p.grpc.service ?? "") !== "") {
          fail(cw, `${probe} must check the server's overall health (service "")`);
        }
      }
      const grace = seconds(config?.data?.AIGW_SHUTDOWN_GRACE ?? "25s");
      const preStop = c.lifecycle?.preStop?.exec?.command;
      const sleep = preStop?.[0] === "sleep" ? Number(preStop[1]) : 0;
      const period = spec.terminationGracePeriodSeconds ?? 30;
      if (period < sleep + grace + 5) {
        fail(where, `terminationGracePeriodSeconds ${period} < preStop ${sleep} s + shutdown grace ${grace} s + 5 s`);
      }
    }
  }

  // The keypool: a StatefulSet of one replica, or of an active and a
  // standby with the leader election on (never off with several), with no
  // HPA; a PDB only with a standby.
  const keypools = workloads.filter((w) => podOf(w).spec.containers.some((c) => c.args?.[0] === "keypool"));
  if (keypools.length !== 1) fail("keypool", `expected one keypool workload, found ${keypools.length}`);
  const electionOff = String(config?.data?.AIGW_KEYPOOL_LEADER_ELECTION ?? "true").toLowerCase() === "false";
  for (const k of keypools) {
    const where = `${k.kind}/${k.metadata.name}`;
    if (k.kind !== "StatefulSet") fail(where, "the keypool must be a StatefulSet");
    if (!(k.spec.replicas === 1 || k.spec.replicas === 2)) fail(where, "the keypool runs one replica, or an active and a standby");
    if (k.spec.replicas > 1 && electionOff) fail(where, "several keypool replicas need the leader election (AIGW_KEYPOOL_LEADER_ELECTION)");
  }

  for (const svc of byKind("Service")) {
    const where = `Service/${svc.metadata.name}`;
    const selected = workloads.filter((w) => w.kind !== "Job" && matches(svc.spec.selector, podOf(w).metadata?.labels));
    if (selected.length !== 1) {
      fail(where, `selects ${selected.length} workloads`);
      continue;
    }
    const containerPorts = podOf(selected[0]).spec.containers.flatMap((c) => c.ports ?? []);
    for (const p of svc.spec.ports) {
      const target = p.targetPort ?? p.port;
      const ok = typeof target === "string" ? containerPorts.some((cp) => cp.name === target) : containerPorts.some((cp) => cp.containerPort === target);
      if (!ok) fail(where, `port ${p.name} targets ${target}, which no container declares`);
    }
  }
  for (const sts of byKind("StatefulSet")) {
    const gov = find("Service", sts.spec.serviceName);
    if (!gov || gov.spec.clusterIP !== "None") fail(`StatefulSet/${sts.metadata.name}`, `serviceName ${sts.spec.serviceName} is not a headless Service`);
  }

  // Addresses in the ConfigMap point at Services that serve them.
  for (const key of ["AIGW_KEYPOOL_ADDR", "AIGW_USAGE_ADDR"]) {
    const value = config?.data?.[key];
    const [host, port] = (value ?? "").replace(/^dns:\/\/\//, "").split(":");
    const svc = find("Service", host.split(".")[0]);
    const want = key === "AIGW_KEYPOOL_ADDR" ? "keypool" : "usage";
    if (!svc || !svc.spec.ports.some((p) => p.port === Number(port) && p.name === "grpc")) {
      fail(`ConfigMap/aigw-config ${key}`, `${value} is not the gRPC port of a Service`);
    } else if (svc.spec.selector?.["app.kubernetes.io/component"] !== want) {
      fail(`ConfigMap/aigw-config ${key}`, `${value} does not select the ${want} pods`);
    }
  }

  for (const hpa of byKind("HorizontalPodAutoscaler")) {
    const where = `HorizontalPodAutoscaler/${hpa.metadata.name}`;
    const t = find(hpa.spec.scaleTargetRef.kind, hpa.spec.scaleTargetRef.name);
    if (!t) {
      fail(where, "its scale target does not exist");
      continue;
    }
    if (keypools.includes(t)) fail(where, "the keypool must not be autoscaled");
    if (t.spec.replicas !== undefined) fail(where, `${t.kind}/${t.metadata.name} sets replicas, which a re-apply would force over the HPA's count`);
    if (hpa.spec.minReplicas > hpa.spec.maxReplicas) fail(where, "minReplicas > maxReplicas");
    if (requireScaledOut && hpa.spec.minReplicas < 2) fail(where, "minReplicas must be at least 2");
  }
  const hpaTargets = new Set(byKind("HorizontalPodAutoscaler").map((h) => h.spec.scaleTargetRef.name));
  for (const pdb of byKind("PodDisruptionBudget")) {
    const where = `PodDisruptionBudget/${pdb.metadata.name}`;
    const selected = workloads.filter((w) => w.kind !== "Job" && matches(pdb.spec.selector?.matchLabels, podOf(w).metadata?.labels));
    if (selected.length !== 1) fail(where, `selects ${selected.length} workloads`);
    else if (keypools.includes(selected[0]) && !(selected[0].spec.replicas >= 2 && pdb.spec.minAvailable === 1)) {
      fail(where, "a keypool PDB needs a standby and minAvailable 1 (on a single keypool it would block node drains)");
    }
  }
  for (const w of workloads) {
    if (w.kind !== "Deployment" || keypools.includes(w)) continue;
    const where = `Deployment/${w.metadata.name}`;
    if (!byKind("PodDisruptionBudget").some((p) => matches(p.spec.selector?.matchLabels, podOf(w).metadata?.labels))) {
      fail(where, "has no PodDisruptionBudget");
    }
    if (requireScaledOut && !hpaTargets.has(w.metadata.name) && !(w.spec.replicas >= 2)) {
      fail(where, "needs several replicas");
    }
  }

  for (const sm of byKind("ServiceMonitor")) {
    const where = `ServiceMonitor/${sm.metadata.name}`;
    const selected = byKind("Service").filter((s) => matches(sm.spec.selector?.matchLabels, s.metadata.labels));
    const components = selected.map((s) => s.spec.selector?.["app.kubernetes.io/component"]).sort();
    if (JSON.stringify(components) !== JSON.stringify(Object.keys(SERVICES).sort())) {
      fail(where, `selects the Services of [${components}], not one each of [${Object.keys(SERVICES).sort()}]`);
    }
    for (const ep of sm.spec.endpoints) {
      for (const s of selected) {
        if (!s.spec.ports.some((p) => p.name === ep.port)) fail(where, `Service ${s.metadata.name} has no port ${ep.port}`);
      }
    }
  }
  return problems;
}

// Token keys are mounted only where needed (libs/auth/README.md): every
// service verifies with the operators' public keys; keypool and usage also
// with the services' public keys; only the gateway holds a private key (its
// service key); nothing holds the development HS256 secret; the migration
// run needs no key at all.
const SERVICE_KEY_FILE = "AIGW_SERVICE_KEY_FILE";
function tokenKeyProblems(program, container, env, volumes) {
  const problems = [];
  const names = new Set((container.env ?? []).map((e) => e.name));
  for (const shared of ["AIGW_JWT_SECRET", "AIGW_JWT_SECRET_FILE"]) {
    if (names.has(shared)) problems.push(`${shared} is set: the shared HS256 secret lets whoever holds it mint admin tokens (development only)`);
  }
  for (const m of container.volumeMounts ?? []) {
    const items = volumes.get(m.name)?.secret?.items ?? [];
    if (items.some((i) => i.key === "jwt-secret")) problems.push(`mounts the shared secret jwt-secret (development only)`);
    const privateKey = items.some((i) => /key\.pem$/.test(i.key));
    if (privateKey && program !== "gateway") problems.push(`mounts a private token key (${m.name}): only the gateway holds one`);
  }
  if (program === "migrate") {
    for (const n of ["AIGW_JWT_PUBLIC_KEYS_FILE", "AIGW_SERVICE_PUBLIC_KEYS_FILE", SERVICE_KEY_FILE]) {
      if (names.has(n)) problems.push(`${n} is set: a migration run checks no tokens`);
    }
    return problems;
  }
  if (!env.AIGW_JWT_PUBLIC_KEYS_FILE) problems.push("AIGW_JWT_PUBLIC_KEYS_FILE is not set (the operators' public keys)");
  const wantsServicePublic = program === "keypool" || program === "usage";
  if (wantsServicePublic && !env.AIGW_SERVICE_PUBLIC_KEYS_FILE) {
    problems.push("AIGW_SERVICE_PUBLIC_KEYS_FILE is not set: the gateway's service tokens would be refused");
  }
  if (program === "gateway" && !env[SERVICE_KEY_FILE]) problems.push(`${SERVICE_KEY_FILE} is not set: the gateway cannot sign its calls`);
  if (program !== "gateway" && names.has(SERVICE_KEY_FILE)) problems.push(`${SERVICE_KEY_FILE} is set: only the gateway signs service tokens`);
  return problems;
}

export function checkSecretTemplate(templates) {
  const problems = [];
  const byName = new Map(templates.map((t) => [`${t.kind}/${t.metadata?.name}`, t]));
  for (const t of templates) {
    const where = `secret template ${t.kind}/${t.metadata?.name}`;
    if (t.kind !== "Secret" && t.kind !== "ConfigMap") problems.push(`${where}: only Secrets and ConfigMaps belong here`);
    if (t.kind === "Secret" && t.data !== undefined) problems.push(`${where}: must not carry data (only REPLACE_ME placeholders in stringData)`);
    for (const [k, v] of Object.entries(t.kind === "Secret" ? t.stringData ?? {} : t.data ?? {})) {
      if (v !== "REPLACE_ME") problems.push(`${where}: ${k} must be the placeholder REPLACE_ME, not a value`);
    }
  }
  const required = {
    "Secret/aigw-secrets": ["db-password", "master-key"],
    "Secret/aigw-gateway-key": ["service-key.pem"],
    "ConfigMap/aigw-token-keys": ["operators.pem", "services.pem"],
  };
  for (const [id, keys] of Object.entries(required)) {
    const t = byName.get(id);
    if (!t) {
      problems.push(`secret template: ${id} is missing`);
      continue;
    }
    for (const k of keys) {
      if (!(k in (t.stringData ?? t.data ?? {}))) problems.push(`secret template ${id}: ${k} is missing`);
    }
  }
  if ("jwt-secret" in (byName.get("Secret/aigw-secrets")?.stringData ?? {})) {
    problems.push("secret template: jwt-secret (the shared HS256 secret) is for development clusters only");
  }
  return problems;
}

export function readText(file) {
  return fs.readFileSync(file, "utf8");
}
