// Runs ONNX files written by `ser export ... --sample X.sample.json` in ONNX Runtime (CPU) and
// compares the logits with SerEngine's, like validate_onnx.py does with its interpreter.
// ONNX Runtime is not a project dependency: install it once in a scratch folder from npm,
// without its install script (that script only fetches optional GPU binaries; the CPU library is
// in the package itself), then point the script at it:
//
//   mkdir -p /tmp/ort && cd /tmp/ort && npm init -y && npm install --ignore-scripts onnxruntime-node
//   ORT_DIR=/tmp/ort node tests/onnx/compare_onnxruntime.mjs /tmp/fcn.onnx /tmp/fca.onnx
//
// Exit code 1 when a difference exceeds 1e-4 (or TOLERANCE).
import { createRequire } from "node:module";
import { readFileSync, existsSync } from "node:fs";
import path from "node:path";

const ortDir = process.env.ORT_DIR ?? process.cwd();
const ort = createRequire(path.join(path.resolve(ortDir), "package.json"))("onnxruntime-node");
const tolerance = Number(process.env.TOLERANCE ?? 1e-4);

let ok = true;
console.log(`onnxruntime-node ${ort.env.versions?.node ?? ort.env.versions?.common ?? "?"}, CPU execution provider`);
for (const file of process.argv.slice(2)) {
  const samplePath = file.replace(/\.onnx$/, "") + ".sample.json";
  console.log(`== ${file}`);
  const session = await ort.InferenceSession.create(file, { executionProviders: ["cpu"], graphOptimizationLevel: "all" });
  console.log(`   session: inputs ${session.inputNames.join(", ")}, outputs ${session.outputNames.join(", ")}`);
  if (!existsSync(samplePath)) { console.log(`   (no ${path.basename(samplePath)}: nothing to compare)`); continue; }
  const sample = JSON.parse(readFileSync(samplePath, "utf8"));
  for (const c of sample.cases) {
    const feeds = { [sample.input_name]: new ort.Tensor("float32", Float32Array.from(c.input), c.shape) };
    const out = (await session.run(feeds))[sample.output_name];
    let diff = 0, peak = 0;
    if (out.data.length !== c.logits.length) diff = Infinity;
    else for (let i = 0; i < c.logits.length; i++) {
      diff = Math.max(diff, Math.abs(out.data[i] - c.logits[i]));
      peak = Math.max(peak, Math.abs(c.logits[i]));
    }
    const good = diff <= tolerance;
    ok &&= good;
    console.log(`   input [${c.shape}]: logits [${out.dims}], max |onnxruntime - engine| = ${diff.toExponential(2)} (|logits| up to ${peak.toFixed(2)}) ${good ? "ok" : "FAIL"}`);
  }
}
console.log(ok ? "all comparisons passed" : "SOME COMPARISONS FAILED");
process.exit(ok ? 0 : 1);
