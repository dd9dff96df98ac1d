#!/usr/bin/env node
// Writes golden.json: the token ids that OpenAI's tiktoken gives for every
// text in corpus.json plus a deterministic set of generated strings, for
// o200k_base and cl100k_base. tokenizer_golden_test.cc compares the C++
// tokenizer against it id by id.
//
//   node tests/tokenizer/make_golden.js
//
// The reference is the `tiktoken` npm package: the Rust tiktoken core
// (fancy-regex + its BPE) compiled to WASM, with its own embedded ranks, so it
// shares neither the regex engine nor the rank-file loader with the code under
// test. It uses the tarball that scripts/fetch-tokenizer-data pins and caches
// (downloading it through that script when missing). Python tiktoken would be
// the canonical reference but PyPI is not reachable here; the cookbook anchors
// in tokenizer_golden_test.cc tie both back to published tiktoken output.
"use strict";

const childProcess = require("child_process");
const fs = require("fs");
const os = require("os");
const path = require("path");

const PACKAGE = "tiktoken@1.0.22";
const ENCODINGS = ["o200k_base", "cl100k_base"];
const GENERATED_CASES = 600;

const here = __dirname;
const repo = path.resolve(here, "..", "..");
const cache =
  process.env.AIGW_TOKENIZER_CACHE || path.join(repo, ".cache", "tokenizer");
const tarball = path.join(cache, "tiktoken-1.0.22.tgz");

function loadTiktoken() {
  if (!fs.existsSync(tarball)) {
    // The fetch script downloads and verifies the pinned tarball.
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "tok-data-"));
    childProcess.execFileSync(
      path.join(repo, "scripts", "fetch-tokenizer-data"), [scratch],
      { stdio: "inherit" });
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tiktoken-pkg-"));
  process.on("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
  childProcess.execFileSync("tar", ["-xzf", tarball, "-C", dir]);
  const pkg = path.join(dir, "package");
  const version = JSON.parse(
    fs.readFileSync(path.join(pkg, "package.json"), "utf8")).version;
  if (`tiktoken@${version}` !== PACKAGE) {
    throw new Error(`expected ${PACKAGE}, got tiktoken@${version}`);
  }
  return { tiktoken: require(path.join(pkg, "tiktoken.cjs")), pkg };
}

// mulberry32: small, deterministic, good enough to pick characters.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Character groups chosen to hit every branch of both split patterns:
// letters by category (Lu/Ll/Lt/Lm/Lo), marks, numbers, the whitespace that
// Rust's \s does (U+0085) and does not (U+FEFF, U+180E) include, contraction
// letters including U+017F (case-folds to s), CR/LF, '/', and symbols.
const GROUPS = [
  "abcdefghijklmnopqrstuvwxyz",
  "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
  "0123456789",
  "'''''sStTdDmMlLvVrReE\u017f",
  "     ",
  "\t\n\r\n\n\r\u000b\u000c",
  ".,!?;:-/()[]{}\"#$%&*+=<>@\\^_`|~",
  "\u00e9\u00df\u0130\u01c5\u02b0\u00aa\u4e2d\u6587\u30a2\u3042\ud55c\u03a9\u0436\u05d0\u0639\u0e01",
  "\u0301\u0308\u0903\u20dd\ufe0f",
  "\u0663\u00bd\u216b\u00b2\u2460\uff11",
  "\u00a0\u0085\u2003\u3000\u2028\u2029\ufeff\u180e\u200b\u202f",
  ["\ud83d\ude00", "\ud83d\udc4d", "\u200d", "\ud83c\udffd", "\ud83c\uddfa\ud83c\uddf8", "\u20ac", "\u00a9", "\u2122", "\u2192"],
];

function generatedCases() {
  const next = rng(20240513);
  const pick = (arr) => arr[Math.floor(next() * arr.length)];
  const cases = [];
  for (let i = 0; i < GENERATED_CASES; i++) {
    // Runs of one group look more like text than independent characters.
    const runs = 1 + Math.floor(next() * 14);
    let text = "";
    for (let r = 0; r < runs; r++) {
      const group = Array.from(pick(GROUPS));
      const len = 1 + Math.floor(next() * 6);
      for (let k = 0; k < len; k++) text += pick(group);
    }
    cases.push({ name: `generated_${i}`, text });
  }
  return cases;
}

function main() {
  const { tiktoken, pkg } = loadTiktoken();
  const corpus = JSON.parse(fs.readFileSync(path.join(here, "corpus.json"), "utf8"));
  // One long text as well, so that matching deep into a subject and the
  // joins between unrelated texts are covered.
  const joined = { name: "corpus_joined", text: corpus.map((c) => c.text).join("\n") };
  const cases = corpus.concat([joined], generatedCases());
  const encoders = {};
  const patterns = {};
  for (const name of ENCODINGS) {
    encoders[name] = tiktoken.get_encoding(name);
    patterns[name] = JSON.parse(
      fs.readFileSync(path.join(pkg, "encoders", `${name}.json`), "utf8")).pat_str;
  }
  const out = cases.map(({ name, text }) => {
    const row = { name, text };
    for (const enc of ENCODINGS) {
      row[enc] = Array.from(encoders[enc].encode_ordinary(text));
      // encode_ordinary must round-trip; a mismatch would mean the corpus
      // holds something that is not a valid Unicode string.
      const back = new TextDecoder("utf-8", { ignoreBOM: true })
        .decode(encoders[enc].decode(row[enc]));
      if (back !== text) throw new Error(`${name}: ${enc} does not round-trip`);
    }
    return row;
  });
  const models = JSON.parse(
    fs.readFileSync(path.join(pkg, "model_to_encoding.json"), "utf8"));
  for (const e of Object.values(encoders)) e.free();

  const golden = {
    generator: "tests/tokenizer/make_golden.js",
    reference: PACKAGE,
    patterns,
    models,
    cases: out,
  };
  // One case per line keeps diffs of regenerated files readable.
  const lines = ["{"];
  for (const key of ["generator", "reference", "patterns", "models"]) {
    lines.push(`${JSON.stringify(key)}: ${JSON.stringify(golden[key])},`);
  }
  lines.push('"cases": [');
  lines.push(out.map((c) => JSON.stringify(c)).join(",\n"));
  lines.push("]}");
  fs.writeFileSync(path.join(here, "golden.json"), lines.join("\n") + "\n");
  console.log(`wrote ${out.length} cases to ${path.join(here, "golden.json")}`);
}

main();
