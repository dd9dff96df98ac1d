// NetworkPolicy semantics, enough to ask "can this pod open a connection to
// that one on this port?" of the rendered manifests, and the answers aigw's
// policies must give (deploy/README.md "Network policies").
//
// A connection is allowed when the source's egress policies allow it (or no
// policy selects the source for Egress) and the destination's ingress
// policies allow it (or none selects it for Ingress); policies are additive.
// Peers: podSelector (this namespace), namespaceSelector (+ podSelector),
// ipBlock (cidr minus except, IPv4 here; pods have cluster IPs, so a broad
// ipBlock reaches pods too, as on most network plugins). Ports: number,
// number..endPort, or a named port of the destination pod; protocol TCP by
// default.
import { SERVICES } from "./checks.mjs";

const WORKLOAD_KINDS = new Set(["Deployment", "StatefulSet", "Job"]);

function labelSelectorMatches(selector, labels) {
  if (!selector) return true;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) {
    if (labels?.[k] !== v) return false;
  }
  for (const e of selector.matchExpressions ?? []) {
    const has = labels !== undefined && Object.hasOwn(labels, e.key);
    const value = labels?.[e.key];
    switch (e.operator) {
      case "In": if (!has || !e.values.includes(value)) return false; break;
      case "NotIn": if (has && e.values.includes(value)) return false; break;
      case "Exists": if (!has) return false; break;
      case "DoesNotExist": if (has) return false; break;
      default: throw new Error(`unknown selector operator ${e.operator}`);
    }
  }
  return true;
}

function ipv4(text) {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (!m) return null;
  return m.slice(1).reduce((acc, o) => acc * 256 + Number(o), 0);
}

function inCidr(ip, cidr) {
  const [base, bits] = cidr.split("/");
  const a = ipv4(ip);
  const b = ipv4(base);
  if (a === null || b === null) return false;  // IPv6 blocks never hold an IPv4 address
  const n = Number(bits);
  const size = 2 ** (32 - n);
  return Math.floor(a / size) === Math.floor(b / size);
}

function peerMatches(peer, policyNamespace, other) {
  if (peer.ipBlock) {
    return other.ip !== undefined && inCidr(other.ip, peer.ipBlock.cidr) &&
      !(peer.ipBlock.except ?? []).some((c) => inCidr(other.ip, c));
  }
  if (!other.labels) return false;  // pod and namespace selectors select pods only
  const nsOk = peer.namespaceSelector
    ? labelSelectorMatches(peer.namespaceSelector, other.namespaceLabels)
    : other.namespace === policyNamespace;
  return nsOk && labelSelectorMatches(peer.podSelector, other.labels);
}

function portMatches(rulePorts, port, protocol, destination) {
  if (!rulePorts || rulePorts.length === 0) return true;
  return rulePorts.some((p) => {
    if ((p.protocol ?? "TCP") !== protocol) return false;
    if (p.port === undefined) return true;
    if (typeof p.port === "number") return p.endPort ? port >= p.port && port <= p.endPort : port === p.port;
    return (destination.ports ?? []).some((cp) =>
      cp.name === p.port && cp.containerPort === port && (cp.protocol ?? "TCP") === protocol);
  });
}

function policyTypes(policy) {
  return policy.spec.policyTypes ?? (policy.spec.egress ? ["Ingress", "Egress"] : ["Ingress"]);
}

// Whether `pod`'s policies of `direction` let it talk with `other`.
function allowed(policies, pod, direction, other, port, protocol, destination) {
  const applying = policies.filter((p) => p.metadata.namespace === pod.namespace &&
    labelSelectorMatches(p.spec.podSelector, pod.labels) && policyTypes(p).includes(direction));
  if (applying.length === 0) return true;  // not isolated in this direction
  const [rules, peers] = direction === "Ingress" ? ["ingress", "from"] : ["egress", "to"];
  return applying.some((p) => (p.spec[rules] ?? []).some((rule) =>
    (!rule[peers] || rule[peers].length === 0 || rule[peers].some((peer) => peerMatches(peer, p.metadata.namespace, other))) &&
    portMatches(rule.ports, port, protocol, destination)));
}

// Whether `src` may open a connection to `dst` on `port`. Endpoints are
// {namespace, namespaceLabels, labels, ip, ports} (pods) or {ip} (outside the
// cluster).
export function canReach(policies, src, dst, port, protocol = "TCP") {
  const egress = src.labels ? allowed(policies, src, "Egress", dst, port, protocol, dst) : true;
  const ingress = dst.labels ? allowed(policies, dst, "Ingress", src, port, protocol, dst) : true;
  return egress && ingress;
}

function namespaceEndpoint(name, labels, podLabels, ip) {
  return { namespace: name, namespaceLabels: { "kubernetes.io/metadata.name": name, ...labels }, labels: podLabels, ip };
}

// The pods of the rendered workloads, by component, plus the world around
// them.
export function endpoints(objects) {
  const ns = objects.find((o) => o.kind === "Namespace");
  const nsName = ns?.metadata.name ?? "aigw";
  const nsLabels = { "kubernetes.io/metadata.name": nsName, ...(ns?.metadata.labels ?? {}) };
  const pods = {};
  let n = 10;
  for (const w of objects.filter((o) => WORKLOAD_KINDS.has(o.kind))) {
    const labels = w.spec.template.metadata?.labels ?? {};
    const component = labels["app.kubernetes.io/component"] ?? w.metadata.name;
    pods[component] = {
      namespace: w.metadata.namespace, namespaceLabels: nsLabels, labels, ip: `10.244.0.${n++}`,
      ports: w.spec.template.spec.containers.flatMap((c) => c.ports ?? []),
    };
  }
  return {
    pods,
    strayPod: { namespace: nsName, namespaceLabels: nsLabels, labels: { app: "debug-shell" }, ip: "10.244.0.99" },
    platform: namespaceEndpoint("platform", {}, { app: "music-api" }, "10.244.1.5"),
    operators: namespaceEndpoint("aigw-ops", { "aigw.io/operator-access": "true" }, { app: "grpcurl" }, "10.244.2.5"),
    monitoring: namespaceEndpoint("monitoring", {}, { "app.kubernetes.io/name": "prometheus" }, "10.244.3.5"),
    kubeDns: { ...namespaceEndpoint("kube-system", {}, { "k8s-app": "kube-dns" }, "10.96.0.10"),
      ports: [{ name: "dns", containerPort: 53, protocol: "UDP" }, { name: "dns-tcp", containerPort: 53 }] },
    externalDatabase: { ip: "198.51.100.20" },
    provider: { ip: "203.0.113.7" },
    cloudMetadata: { ip: "169.254.169.254" },
    node: { ip: "10.0.0.5" },
  };
}

// Problems with aigw's NetworkPolicies, from what must and must not connect.
export function networkPolicyChecks(objects) {
  const problems = [];
  const policies = objects.filter((o) => o.kind === "NetworkPolicy");
  const e = endpoints(objects);
  const { gateway, keypool, usage, admin, migrate, database } = e.pods;
  for (const [name, pod] of Object.entries({ gateway, keypool, usage, admin, migrate })) {
    if (!pod) problems.push(`no ${name} workload`);
  }
  if (problems.length > 0) return problems;

  const names = new Map([[e.platform, "a platform pod"], [e.operators, "an operator namespace"],
    [e.monitoring, "Prometheus (monitoring)"], [e.strayPod, "another pod of the namespace"],
    [e.kubeDns, "kube-dns"], [e.externalDatabase, "the database"], [e.provider, "a provider (internet)"],
    [e.cloudMetadata, "the cloud metadata address"], [e.node, "a node (private range)"]]);
  for (const [k, v] of Object.entries(e.pods)) names.set(v, k);
  const expect = (src, dst, port, want, why, protocol = "TCP") => {
    const got = canReach(policies, src, dst, port, protocol);
    if (got !== want) {
      problems.push(`${names.get(src)} -> ${names.get(dst)}:${port}/${protocol} is ${got ? "allowed" : "denied"}; ` +
        `it must be ${want ? "allowed" : "denied"} (${why})`);
    }
  };

  // Every pod of the namespace is isolated both ways unless allowed.
  for (const pod of [...Object.values(e.pods), e.strayPod]) {
    for (const direction of ["Ingress", "Egress"]) {
      const isolated = policies.some((p) => p.metadata.namespace === pod.namespace &&
        labelSelectorMatches(p.spec.podSelector, pod.labels) && policyTypes(p).includes(direction));
      if (!isolated) problems.push(`${names.get(pod)}: no NetworkPolicy isolates it for ${direction} (default deny)`);
    }
  }

  const grpc = (c) => SERVICES[c].grpc;
  // Who reaches each service's gRPC port.
  expect(e.platform, gateway, grpc("gateway"), true, "platform services call ChatService");
  expect(gateway, keypool, grpc("keypool"), true, "the gateway leases keys");
  expect(admin, keypool, grpc("keypool"), true, "admin asks the keypool to Reload");
  expect(e.operators, keypool, grpc("keypool"), true, "operators list key states");
  for (const src of [usage, e.platform, e.monitoring, e.strayPod, migrate]) {
    expect(src, keypool, grpc("keypool"), false, "only gateways, admin and operators reach the keypool");
  }
  expect(gateway, usage, grpc("usage"), true, "the gateway records calls");
  expect(e.operators, usage, grpc("usage"), true, "operators query usage");
  for (const src of [keypool, admin, e.platform, e.monitoring, e.strayPod]) {
    expect(src, usage, grpc("usage"), false, "only gateways write and operators query usage");
  }
  expect(e.operators, admin, grpc("admin"), true, "operators manage providers and keys");
  for (const src of [gateway, keypool, usage, e.platform, e.monitoring, e.strayPod]) {
    expect(src, admin, grpc("admin"), false, "only operators reach the management RPCs");
  }
  // Metrics: Prometheus only, and only the metrics port.
  for (const c of Object.keys(SERVICES)) {
    expect(e.monitoring, e.pods[c], SERVICES[c].metrics, true, "Prometheus scrapes every service");
    expect(e.platform, e.pods[c], SERVICES[c].metrics, false, "metrics are for the monitoring namespace");
  }
  // Egress: DNS and the database for every aigw pod; providers for the
  // gateway and admin only, never inside the cluster or the metadata service.
  for (const src of [gateway, keypool, usage, admin, migrate]) {
    expect(src, e.kubeDns, 53, true, "name resolution", "UDP");
    expect(src, e.kubeDns, 53, true, "name resolution over TCP");
    expect(src, e.externalDatabase, 3306, true, "the database");
    if (database) expect(src, database, 3306, true, "the demo database");
  }
  expect(gateway, e.provider, 443, true, "the gateway calls providers over HTTPS");
  expect(admin, e.provider, 443, true, "ValidateKey and SyncModels call providers");
  for (const src of [keypool, usage, migrate, e.strayPod]) {
    expect(src, e.provider, 443, false, "only the gateway and admin call out of the cluster");
  }
  for (const src of [gateway, admin]) {
    expect(src, e.cloudMetadata, 80, false, "the cloud metadata service holds node credentials");
    expect(src, e.cloudMetadata, 443, false, "the cloud metadata service holds node credentials");
    expect(src, e.node, 443, false, "a provider base_url must not reach into private ranges");
    expect(src, e.provider, 80, false, "providers are HTTPS");
  }
  if (database) {
    expect(e.platform, database, 3306, false, "the demo database is for aigw's pods only");
    expect(e.strayPod, database, 3306, false, "the demo database is for aigw's pods only");
  }
  return problems;
}
