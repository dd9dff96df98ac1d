// Checks the container image definition without a Docker engine:
//   node dockerfile_test.mjs <repo> <aigw-gateway> <aigw-keypool> <aigw-usage> <aigw-admin> <aigw-token>
// The Dockerfile is parsed (stages, packages, what is built and copied, the
// user, the entrypoint, .dockerignore); the entrypoint script and the
// runtime-package resolver run against the binaries built here.
// Prints one line per check and "N passed, M failed".
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const [repo, ...binaries] = process.argv.slice(2);
const SERVICES = ["gateway", "keypool", "usage", "admin"];
const bin = Object.fromEntries(binaries.map((b) => [path.basename(b).replace(/^aigw-/, ""), b]));

let passed = 0;
let failed = 0;
function check(name, fn) {
  let problems;
  try {
    problems = fn() ?? [];
  } catch (e) {
    problems = [e.stack ?? String(e)];
  }
  if (problems.length === 0) {
    passed++;
    console.log(`ok - ${name}`);
  } else {
    failed++;
    console.log(`not ok - ${name}`);
    for (const p of problems) console.log(`    ${p}`);
  }
}

// Instructions: comments dropped, continuation lines joined.
function parseDockerfile(text) {
  const out = [];
  let current = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (current === "" && (line.startsWith("#") || line === "")) continue;
    if (line.startsWith("#")) continue;  // a comment inside a continued instruction
    if (line.endsWith("\\")) {
      current += line.slice(0, -1) + " ";
      continue;
    }
    current += line;
    const m = /^(\S+)\s*(.*)$/.exec(current);
    out.push({ op: m[1].toUpperCase(), args: m[2].replace(/\s+/g, " ").trim() });
    current = "";
  }
  return out;
}

const dockerfile = parseDockerfile(fs.readFileSync(path.join(repo, "Dockerfile"), "utf8"));
const stages = [];
const args = {};
for (const ins of dockerfile) {
  if (ins.op === "ARG" && stages.length === 0) {
    const [k, v] = ins.args.split("=");
    args[k] = v;
  }
  if (ins.op === "FROM") {
    const m = /^(\S+)(?: AS (\S+))?$/i.exec(ins.args);
    const image = m[1].replace(/^\$\{?(\w+)\}?$/, (_, name) => args[name] ?? "");
    stages.push({ image, name: m[2], ins: [] });
  } else if (stages.length > 0) {
    stages.at(-1).ins.push(ins);
  }
}
const build = stages.find((s) => s.name === "build");
const runtime = stages.at(-1);
const runs = (stage) => stage.ins.filter((i) => i.op === "RUN").map((i) => i.args).join(" && ");
const env = Object.fromEntries(runtime.ins.filter((i) => i.op === "ENV")
  .flatMap((i) => i.args.split(" ").map((kv) => kv.split("="))));

// BUILD_PACKAGES=( ... ) of scripts/setup.
function setupPackages() {
  const text = fs.readFileSync(path.join(repo, "scripts/setup"), "utf8");
  const m = /BUILD_PACKAGES=\(([^)]*)\)/.exec(text);
  if (!m) throw new Error("scripts/setup has no BUILD_PACKAGES=( ... )");
  return m[1].split(/\s+/).filter(Boolean);
}

check("two stages, both Debian 12; the last one is the runtime", () => {
  const problems = [];
  if (stages.length !== 2) problems.push(`${stages.length} stages`);
  for (const s of stages) {
    if (!/^debian:(12|bookworm)(-slim)?(@sha256:[0-9a-f]{64})?$/.test(s.image)) problems.push(`stage ${s.name} is FROM '${s.image}'`);
  }
  if (!build) problems.push("no stage named build");
  if (runtime === build) problems.push("the build stage is the final image");
  return problems;
});

check("the build stage installs exactly scripts/setup's BUILD_PACKAGES", () => {
  const problems = [];
  const copy = build.ins.find((i) => i.op === "COPY" && /^scripts\/setup\s/.test(i.args));
  if (!copy) return ["scripts/setup is not copied into the build stage"];
  const dest = copy.args.split(" ").at(-1);
  const cmds = runs(build);
  if (!cmds.includes(dest)) problems.push(`scripts/setup (copied to ${dest}) is not run`);
  if (/\s--test\b/.test(cmds.slice(cmds.indexOf(dest), cmds.indexOf(dest) + dest.length + 8))) {
    problems.push("scripts/setup --test would add the test packages");
  }
  // Any package installed by name besides must be one of scripts/setup's.
  const wanted = new Set(setupPackages());
  for (const m of cmds.matchAll(/apt-get install ([^&;|]*)/g)) {
    for (const p of m[1].split(" ").filter((w) => w && !w.startsWith("-"))) {
      if (!wanted.has(p)) problems.push(`build stage installs ${p}, which scripts/setup does not`);
    }
  }
  // The setup script installs that list when run without arguments.
  const setup = fs.readFileSync(path.join(repo, "scripts/setup"), "utf8");
  if (!/want=\("\$\{BUILD_PACKAGES\[@\]\}"\)/.test(setup)) problems.push("scripts/setup no longer installs BUILD_PACKAGES by default");
  return problems;
});

check("the build stage builds and installs the four services, aigw-token and the tokenizer data", () => {
  const problems = [];
  const cmds = runs(build);
  const targets = /--target ([^&]*)/.exec(cmds)?.[1].split(" ").filter(Boolean) ?? [];
  for (const t of [...SERVICES.map((s) => `aigw-${s}`), "aigw-token", "aigw_tokenizer_data"]) {
    if (!targets.includes(t)) problems.push(`target ${t} is not built`);
  }
  if (!/-DAIGW_BUILD_TESTS=OFF/.test(cmds)) problems.push("tests are built into the image stage");
  // The binaries' paths in the build tree, as CMake places them here.
  const buildRoot = bin.gateway.slice(0, -"services/gateway/aigw-gateway".length);
  for (const b of [...SERVICES, "token"]) {
    const inTree = "/build/" + path.relative(buildRoot, bin[b]);
    if (!cmds.includes(inTree)) problems.push(`${inTree} is not installed into the image`);
  }
  const cmake = fs.readFileSync(path.join(repo, "libs/tokenizer/CMakeLists.txt"), "utf8");
  const files = [...cmake.matchAll(/\/([a-z0-9_]+\.tiktoken)/g)].map((m) => m[1]);
  if (files.length === 0) problems.push("no tokenizer files named in libs/tokenizer/CMakeLists.txt");
  for (const f of files) {
    if (!cmds.includes(`/build/tokenizer-data/${f}`)) problems.push(`tokenizer file ${f} is not copied`);
  }
  return problems;
});

check("the runtime stage has the binaries, the tokenizer data and AIGW_TOKENIZER_DATA_DIR", () => {
  const problems = [];
  const copies = runtime.ins.filter((i) => i.op === "COPY").map((i) => i.args);
  if (!copies.some((c) => /^--from=build \/out\/bin\/? \/usr\/local\/bin\/?$/.test(c))) problems.push("binaries are not copied to /usr/local/bin");
  const dir = env.AIGW_TOKENIZER_DATA_DIR;
  if (!dir) problems.push("AIGW_TOKENIZER_DATA_DIR is not set");
  else if (!copies.some((c) => c.startsWith("--from=build /out/tokenizer-data") && c.split(" ").at(-1).replace(/\/$/, "") === dir)) {
    problems.push(`the tokenizer data is not copied to ${dir}`);
  }
  if (!/runtime-packages\.txt/.test(runs(runtime))) problems.push("the runtime libraries are not installed from runtime-packages.txt");
  if (!/deploy\/docker\/runtime-packages\.sh \/out\/bin\/\*/.test(runs(build))) problems.push("runtime-packages.txt is not made from the installed binaries");
  return problems;
});

check("the image runs as a numeric non-root user that exists", () => {
  const problems = [];
  const users = runtime.ins.filter((i) => i.op === "USER");
  if (users.length === 0) return ["no USER"];
  const user = users.at(-1).args;
  const [uid, gid] = user.split(":");
  if (!/^\d+$/.test(uid) || Number(uid) === 0) problems.push(`USER ${user} is not a numeric non-root uid`);
  const cmds = runs(runtime);
  if (!new RegExp(`useradd [^&]*--uid ${uid}\\b`).test(cmds)) problems.push(`no useradd --uid ${uid}`);
  if (gid && !new RegExp(`groupadd [^&]*--gid ${gid}\\b`).test(cmds)) problems.push(`no groupadd --gid ${gid}`);
  const last = runtime.ins.map((i) => i.op);
  if (last.lastIndexOf("RUN") > last.lastIndexOf("USER")) problems.push("a RUN follows USER (it would run as root before)");
  if (!env.AIGW_SPOOL_DIR || !cmds.includes(`-o aigw -g aigw`) || !cmds.includes(env.AIGW_SPOOL_DIR)) {
    problems.push("the spool directory is not created for the aigw user");
  }
  return problems;
});

check("the entrypoint is deploy/docker/entrypoint.sh, in exec form", () => {
  const problems = [];
  const ep = runtime.ins.filter((i) => i.op === "ENTRYPOINT").at(-1);
  let argv;
  try {
    argv = JSON.parse(ep?.args ?? "");
  } catch {
    return [`ENTRYPOINT ${ep?.args} is not in exec form`];
  }
  const copy = runtime.ins.find((i) => i.op === "COPY" && i.args.startsWith("deploy/docker/entrypoint.sh "));
  if (!copy || copy.args.split(" ").at(-1) !== argv[0]) problems.push(`${argv[0]} is not the copied entrypoint script`);
  if (!(fs.statSync(path.join(repo, "deploy/docker/entrypoint.sh")).mode & 0o111)) problems.push("entrypoint.sh is not executable");
  return problems;
});

// .dockerignore patterns (Go filepath.Match semantics plus ** and !).
function ignored(rel, patterns) {
  let out = false;
  for (let p of patterns) {
    const negate = p.startsWith("!");
    if (negate) p = p.slice(1);
    p = p.replace(/^\/+/, "").replace(/\/+$/, "");
    const re = new RegExp("^" + p.split("**/").map((part) =>
      part.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*").replace(/\?/g, "[^/]")).join("(?:.*/)?") + "(?:/.*)?$");
    if (re.test(rel)) out = !negate;
  }
  return out;
}

check(".dockerignore keeps build trees out and every COPY source in", () => {
  const problems = [];
  const patterns = fs.readFileSync(path.join(repo, ".dockerignore"), "utf8").split("\n")
    .map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
  for (const p of ["build", "build-deploy/x", "var/aigw.db", ".git/HEAD", "tests/deploy/validator/node_modules/yaml"]) {
    if (!ignored(p, patterns)) problems.push(`${p} would be sent to the builder`);
  }
  for (const p of ["services/gateway/main.cc", "scripts/setup", ".cache/tokenizer/tiktoken-1.0.22.tgz", "deploy/docker/entrypoint.sh"]) {
    if (ignored(p, patterns)) problems.push(`${p} would be left out of the build context`);
  }
  for (const s of stages) {
    for (const c of s.ins.filter((i) => i.op === "COPY" && !i.args.startsWith("--from"))) {
      const parts = c.args.split(" ").filter((w) => !w.startsWith("--"));
      for (const src of parts.slice(0, -1)) {
        if (src === ".") continue;
        if (!fs.existsSync(path.join(repo, src))) problems.push(`COPY source ${src} does not exist`);
        else if (ignored(src, patterns)) problems.push(`COPY source ${src} is excluded by .dockerignore`);
      }
    }
  }
  return problems;
});

// The entrypoint, run by /bin/sh as in the image, over the binaries built here.
const binDir = fs.mkdtempSync(path.join(os.tmpdir(), "aigw-entrypoint-"));
for (const [name, file] of Object.entries(bin)) fs.symlinkSync(file, path.join(binDir, `aigw-${name}`));
const secret = "entrypoint-test-secret-0123456789abcdef";
function entrypoint(argv, extraEnv = {}) {
  const r = spawnSync("/bin/sh", [path.join(repo, "deploy/docker/entrypoint.sh"), ...argv], {
    encoding: "utf8", timeout: 30000, cwd: binDir,
    env: { PATH: process.env.PATH, AIGW_BIN_DIR: binDir, ...extraEnv },
  });
  return { code: r.status, out: (r.stdout ?? "") + (r.stderr ?? "") };
}

check("entrypoint: no program or an unknown one is a usage error", () => {
  const problems = [];
  const none = entrypoint([]);
  if (none.code !== 2 || !none.out.includes("usage: aigw <program>")) problems.push(`no argument: exit ${none.code}: ${none.out}`);
  const bad = entrypoint(["frontend"]);
  if (bad.code !== 2 || !bad.out.includes("unknown program 'frontend'")) problems.push(`unknown: exit ${bad.code}: ${bad.out}`);
  const help = entrypoint(["--help"]);
  if (help.code !== 0) problems.push(`--help: exit ${help.code}`);
  for (const p of [...SERVICES, "migrate", "token"]) {
    if (!new RegExp(`^  ${p}\\s`, "m").test(help.out)) problems.push(`--help does not list ${p}`);
  }
  return problems;
});

check("entrypoint: each service name runs that service's binary", () => {
  const problems = [];
  for (const s of SERVICES) {
    const r = entrypoint([s, "--helpfull"]);
    if (!r.out.includes(`aigw-${s}: the aigw ${s} service`)) problems.push(`${s}: ${r.out.slice(0, 300)}`);
  }
  return problems;
});

check("entrypoint: migrate applies the migrations and exits 0", () => {
  const db = path.join(binDir, "migrate.db");
  const r = entrypoint(["migrate", "--metrics_addr=127.0.0.1:0", "--grpc_addr=127.0.0.1:0"],
    { AIGW_DB_URL: `sqlite3://${db}`, AIGW_JWT_SECRET: secret });
  if (r.code !== 0) return [`exit ${r.code}: ${r.out}`];
  const tables = execFileSync("sqlite3", [db, ".tables"], { encoding: "utf8" });
  return ["aigw_schema_migrations", "t_ai_providers", "t_ai_api_logs"]
    .filter((t) => !tables.includes(t)).map((t) => `no table ${t} after migrate: ${tables}`);
});

check("entrypoint: token mints a bearer token", () => {
  const r = entrypoint(["token", "--role=admin", "--subject=ops"], { AIGW_JWT_SECRET: secret });
  const ok = r.code === 0 && /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(r.out.trim());
  return ok ? [] : [`exit ${r.code}: ${r.out}`];
});

check("runtime-packages.sh names the installed packages that own every library", () => {
  const problems = [];
  const script = path.join(repo, "deploy/docker/runtime-packages.sh");
  const out = execFileSync("sh", [script, ...binaries], { encoding: "utf8" });
  const lines = out.trim().split("\n");
  const pkgs = new Map(lines.map((l) => l.split("=")));
  for (const l of lines) if (!/^[a-z0-9][a-z0-9+.-]+=\S+$/.test(l)) problems.push(`bad line '${l}'`);
  for (const [p, v] of pkgs) {
    const installed = execFileSync("dpkg-query", ["-W", "-f=${Version}", p], { encoding: "utf8" });
    if (installed !== v) problems.push(`${p}: listed ${v}, installed ${installed}`);
  }
  // The libraries every service links (soci and mariadb for MySQL, gRPC,
  // prometheus-cpp's exposer) must be among them.
  const ldd = binaries.map((b) => execFileSync("ldd", [b], { encoding: "utf8" })).join("\n");
  for (const [lib, pkg] of [["libgrpc++.so", "libgrpc++"], ["libsoci_mysql.so", "libsoci-mysql"],
    ["libmariadb.so", "libmariadb"], ["libprometheus-cpp-pull.so", "libprometheus-cpp-pull"], ["libcurl.so", "libcurl"]]) {
    if (ldd.includes(lib) && ![...pkgs.keys()].some((p) => p.startsWith(pkg))) problems.push(`${lib} is linked but no ${pkg}* package is listed`);
    if (!ldd.includes(lib)) problems.push(`the binaries no longer link ${lib}; update this test`);
  }
  const notElf = spawnSync("sh", [script, path.join(repo, "Dockerfile")], { encoding: "utf8" });
  if (notElf.status === 0) problems.push("a file that is not a binary did not fail");
  return problems;
});

fs.rmSync(binDir, { recursive: true, force: true });
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
