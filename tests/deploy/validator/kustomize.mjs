// A renderer for the subset of kustomize that deploy/k8s uses, for machines
// without kustomize (Debian 12 packages none). It refuses any kustomization
// field it does not implement, so it never renders something different in
// silence; where `kubectl kustomize` exists, a test compares the two.
//
// Implemented: resources (files and directories), images (name, newName,
// newTag, digest), patches given inline or by path as a JSON 6902 operation
// list with a target (kind, name, namespace, group, version; names and
// namespaces are anchored regular expressions, as in kustomize).
import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";

const SUPPORTED = new Set(["apiVersion", "kind", "resources", "images", "patches"]);

export function parseYamlDocuments(file) {
  const text = fs.readFileSync(file, "utf8");
  const docs = YAML.parseAllDocuments(text, { prettyErrors: true, uniqueKeys: true });
  const out = [];
  for (const doc of docs) {
    if (doc.errors.length > 0) {
      throw new Error(`${file}: ${doc.errors.map((e) => e.message).join("; ")}`);
    }
    if (doc.warnings.length > 0) {
      throw new Error(`${file}: ${doc.warnings.map((e) => e.message).join("; ")}`);
    }
    const value = doc.toJS({ maxAliasCount: -1 });
    if (value !== null && value !== undefined) out.push(value);
  }
  return out;
}

function anchored(re) {
  return new RegExp(`^(?:${re})$`);
}

function splitApiVersion(apiVersion) {
  const i = apiVersion.indexOf("/");
  return i < 0 ? { group: "", version: apiVersion } : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) };
}

function matchesTarget(obj, target) {
  const { group, version } = splitApiVersion(obj.apiVersion ?? "");
  if (target.kind !== undefined && target.kind !== obj.kind) return false;
  if (target.group !== undefined && target.group !== group) return false;
  if (target.version !== undefined && target.version !== version) return false;
  if (target.name !== undefined && !anchored(target.name).test(obj.metadata?.name ?? "")) return false;
  if (target.namespace !== undefined && !anchored(target.namespace).test(obj.metadata?.namespace ?? "")) return false;
  for (const key of Object.keys(target)) {
    if (!["kind", "group", "version", "name", "namespace"].includes(key)) {
      throw new Error(`patch target field '${key}' is not supported by this renderer`);
    }
  }
  return true;
}

function decodePointer(pointer) {
  if (pointer === "") return [];
  if (!pointer.startsWith("/")) throw new Error(`JSON pointer '${pointer}' must start with /`);
  return pointer.slice(1).split("/").map((t) => t.replace(/~1/g, "/").replace(/~0/g, "~"));
}

function parentOf(doc, tokens, pointer) {
  let node = doc;
  for (const t of tokens.slice(0, -1)) {
    if (Array.isArray(node)) node = node[Number(t)];
    else if (node !== null && typeof node === "object") node = node[t];
    else node = undefined;
    if (node === undefined) throw new Error(`path ${pointer} does not exist`);
  }
  return node;
}

// RFC 6902 add, remove, replace and test.
export function applyJsonPatch(doc, ops) {
  for (const op of ops) {
    const tokens = decodePointer(op.path);
    if (tokens.length === 0) throw new Error("patching the whole document is not supported");
    const parent = parentOf(doc, tokens, op.path);
    const last = tokens[tokens.length - 1];
    const isArray = Array.isArray(parent);
    const index = isArray ? (last === "-" ? parent.length : Number(last)) : undefined;
    if (isArray && !(Number.isInteger(index) && index >= 0 && index <= parent.length)) {
      throw new Error(`bad array index in ${op.path}`);
    }
    const exists = isArray ? index < parent.length : Object.prototype.hasOwnProperty.call(parent, last);
    switch (op.op) {
      case "add":
        if (isArray) parent.splice(index, 0, structuredClone(op.value));
        else parent[last] = structuredClone(op.value);
        break;
      case "replace":
        if (!exists) throw new Error(`replace: path ${op.path} does not exist`);
        if (isArray) parent[index] = structuredClone(op.value);
        else parent[last] = structuredClone(op.value);
        break;
      case "remove":
        if (!exists) throw new Error(`remove: path ${op.path} does not exist`);
        if (isArray) parent.splice(index, 1);
        else delete parent[last];
        break;
      case "test": {
        const got = isArray ? parent[index] : parent[last];
        if (JSON.stringify(got) !== JSON.stringify(op.value)) throw new Error(`test failed at ${op.path}`);
        break;
      }
      default:
        throw new Error(`JSON patch op '${op.op}' is not supported by this renderer`);
    }
  }
}

function splitImage(image) {
  // name[:tag][@digest]; a registry port's colon comes before the last slash.
  let digest = "";
  let rest = image;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag = "";
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  return { name: rest, tag, digest };
}

function transformImages(node, images) {
  if (Array.isArray(node)) {
    node.forEach((n) => transformImages(n, images));
    return;
  }
  if (node === null || typeof node !== "object") return;
  for (const [key, value] of Object.entries(node)) {
    if ((key === "containers" || key === "initContainers") && Array.isArray(value)) {
      for (const c of value) {
        if (typeof c?.image !== "string") continue;
        const parts = splitImage(c.image);
        const rule = images.find((i) => i.name === parts.name);
        if (!rule) continue;
        const name = rule.newName ?? parts.name;
        if (rule.digest) c.image = `${name}@${rule.digest}`;
        else if (rule.newTag) c.image = `${name}:${rule.newTag}`;
        else c.image = `${name}${parts.tag ? `:${parts.tag}` : ""}${parts.digest ? `@${parts.digest}` : ""}`;
      }
    }
    transformImages(value, images);
  }
}

// The objects a kustomization directory produces.
export function render(dir) {
  const file = path.join(dir, "kustomization.yaml");
  const docs = parseYamlDocuments(file);
  if (docs.length !== 1) throw new Error(`${file}: expected one document`);
  const k = docs[0];
  if (k.kind !== "Kustomization") throw new Error(`${file}: kind must be Kustomization`);
  for (const key of Object.keys(k)) {
    if (!SUPPORTED.has(key)) throw new Error(`${file}: field '${key}' is not supported by this renderer`);
  }
  const objects = [];
  for (const r of k.resources ?? []) {
    const p = path.resolve(dir, r);
    if (fs.statSync(p).isDirectory()) objects.push(...render(p));
    else objects.push(...parseYamlDocuments(p));
  }
  const seen = new Set();
  for (const o of objects) {
    const id = objectId(o);
    if (seen.has(id)) throw new Error(`${file}: ${id} is defined twice`);
    seen.add(id);
  }
  for (const [i, p] of (k.patches ?? []).entries()) {
    for (const key of Object.keys(p)) {
      if (!["target", "patch", "path"].includes(key)) {
        throw new Error(`${file}: patches[${i}].${key} is not supported by this renderer`);
      }
    }
    const text = p.patch ?? (p.path ? fs.readFileSync(path.resolve(dir, p.path), "utf8") : undefined);
    if (text === undefined) throw new Error(`${file}: patches[${i}] has neither patch nor path`);
    const ops = YAML.parse(text);
    if (!Array.isArray(ops)) {
      throw new Error(`${file}: patches[${i}] is a strategic merge patch; only JSON 6902 lists are supported`);
    }
    if (!p.target) throw new Error(`${file}: patches[${i}] needs a target`);
    const targets = objects.filter((o) => matchesTarget(o, p.target));
    if (targets.length === 0) throw new Error(`${file}: patches[${i}] matches no resource`);
    for (const o of targets) {
      try {
        applyJsonPatch(o, ops);
      } catch (e) {
        throw new Error(`${file}: patches[${i}] on ${objectId(o)}: ${e.message}`);
      }
    }
  }
  if (k.images) transformImages(objects, k.images);
  return objects;
}

export function objectId(o) {
  return `${o.apiVersion}/${o.kind}/${o.metadata?.namespace ?? ""}/${o.metadata?.name ?? ""}`;
}
