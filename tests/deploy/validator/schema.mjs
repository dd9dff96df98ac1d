// Validation of one Kubernetes object against the API schemas:
//  1. kubernetes-models / @kubernetes-models/prometheus-operator: the
//     OpenAPI (and CRD) schemas compiled to validators (types, required
//     fields, enums, formats).
//  2. Unknown fields: those validators accept properties the schema does not
//     name, while `kubectl apply` (strict field validation, its default since
//     Kubernetes 1.27) refuses them. The same packages' TypeScript
//     declarations list every field, so the TypeScript checker walks the
//     object against them and reports any field the API does not have.
import { createRequire } from "node:module";
import path from "node:path";
import ts from "typescript";

const require = createRequire(import.meta.url);

// apiVersion -> the module of its models.
function modelModule(apiVersion) {
  if (apiVersion.startsWith("monitoring.coreos.com/")) {
    return `@kubernetes-models/prometheus-operator/${apiVersion}`;
  }
  return `kubernetes-models/${apiVersion}`;
}

const moduleCache = new Map();
async function modelClass(apiVersion, kind) {
  const spec = modelModule(apiVersion);
  if (!moduleCache.has(spec)) {
    moduleCache.set(spec, import(spec).catch(() => null));
  }
  const mod = await moduleCache.get(spec);
  const cls = mod?.[kind];
  if (typeof cls !== "function" || cls.apiVersion !== apiVersion || cls.kind !== kind) return null;
  return cls;
}

// The .d.ts that declares I<Kind> for the model.
function declarationFile(apiVersion, kind) {
  const pkgJson = apiVersion.startsWith("monitoring.coreos.com/")
    ? require.resolve("@kubernetes-models/prometheus-operator/package.json", { paths: [process.cwd()] })
    : require.resolve("kubernetes-models/package.json", { paths: [process.cwd()] });
  return path.join(path.dirname(pkgJson), apiVersion, `${kind}.d.ts`);
}

let program = null;
let programFiles = [];
function typeOfKind(apiVersion, kind) {
  const file = declarationFile(apiVersion, kind);
  if (!programFiles.includes(file)) {
    programFiles = [...programFiles, file];
    program = ts.createProgram(programFiles, {
      noEmit: true,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      skipLibCheck: true,
    }, undefined, program ?? undefined);
  }
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(file);
  if (!source) throw new Error(`cannot read ${file}`);
  const symbol = checker.getSymbolAtLocation(source);
  const iface = symbol && checker.getExportsOfModule(symbol).find((s) => s.name === `I${kind}`);
  if (!iface) throw new Error(`${file} does not declare I${kind}`);
  return { checker, type: checker.getDeclaredTypeOfSymbol(iface) };
}

function isPlainObject(v) {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

// Unknown fields of `value` under TypeScript type `type`, as "a.b[0].c" paths.
function unknownFields(checker, value, type, where, out) {
  if (type.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) return;
  type = checker.getNonNullableType(type);
  if (type.isUnion()) {
    const members = type.types.filter((t) => !(t.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Null)));
    const fitting = members.filter((t) =>
      Array.isArray(value) ? arrayElement(checker, t) !== undefined
        : isPlainObject(value) ? (t.flags & ts.TypeFlags.Object) !== 0 : false);
    if (fitting.length === 0) return;  // a primitive: the schema validator checks it
    // Accept the object if any member of the union accepts it.
    let best = null;
    for (const t of fitting) {
      const found = [];
      unknownFields(checker, value, t, where, found);
      if (found.length === 0) return;
      if (best === null || found.length < best.length) best = found;
    }
    out.push(...best);
    return;
  }
  if (Array.isArray(value)) {
    const element = arrayElement(checker, type);
    if (element === undefined) return;
    value.forEach((v, i) => unknownFields(checker, v, element, `${where}[${i}]`, out));
    return;
  }
  if (!isPlainObject(value)) return;
  const stringIndex = checker.getIndexInfosOfType(type).find((i) => i.keyType.flags & ts.TypeFlags.String);
  const props = checker.getPropertiesOfType(type);
  if (props.length === 0 && !stringIndex) return;  // an open object (e.g. JSON)
  for (const [key, v] of Object.entries(value)) {
    const prop = type.getProperty(key);
    const at = where ? `${where}.${key}` : key;
    if (prop) {
      const decl = prop.valueDeclaration ?? prop.declarations?.[0];
      unknownFields(checker, v, checker.getTypeOfSymbolAtLocation(prop, decl), at, out);
    } else if (stringIndex) {
      unknownFields(checker, v, stringIndex.type, at, out);
    } else {
      out.push(at);
    }
  }
}

function arrayElement(checker, type) {
  if (!(type.flags & ts.TypeFlags.Object)) return undefined;
  if (!checker.isArrayType(type) && !checker.isTupleType(type)) return undefined;
  return checker.getIndexInfosOfType(type).find((i) => i.keyType.flags & ts.TypeFlags.Number)?.type;
}

// Problems with one object; empty when it is valid.
export async function validateObject(obj) {
  if (!isPlainObject(obj) || typeof obj.apiVersion !== "string" || typeof obj.kind !== "string") {
    return ["not a Kubernetes object (apiVersion and kind are required)"];
  }
  const cls = await modelClass(obj.apiVersion, obj.kind);
  if (!cls) return [`no schema for ${obj.apiVersion} ${obj.kind}`];
  const problems = [];
  try {
    new cls(structuredClone(obj)).validate();
  } catch (e) {
    problems.push(`schema: ${e.message}`);
  }
  const { checker, type } = typeOfKind(obj.apiVersion, obj.kind);
  const unknown = [];
  unknownFields(checker, obj, type, "", unknown);
  for (const u of unknown) problems.push(`unknown field ${u}`);
  return problems;
}
