'use strict';

// The release file drives the deployment. serverless.yml reads from here,
// through ${file(./deploy/releases.js):NAME}, the pipelines and approval
// actions of the release file given as --param=releases=FILE (default
// contrib/releases.yml), so that the IAM grants and the EventBridge rule
// name exactly what the gate in the zip will answer. `make lambda
// RELEASES=FILE` ships the same file; `artifactMatches` refuses a zip that
// ships another.
//
// The gate's own parser (app/release.ParseConfig) is the authority; this
// one is as strict where it matters to the grants: the same keys, strings
// only, CodePipeline's name pattern, no duplicate pipelines, no YAML merge
// keys or other tags (CORE_SCHEMA). deploy/releases_test.go checks that
// the two agree.
//
// Also a command: `node deploy/releases.js FILE` validates FILE and prints
// what it grants.

const fs = require('fs');
const path = require('path');
const zlib = require('zlib');
const yaml = require('js-yaml');

const root = path.resolve(__dirname, '..');
const namePattern = /^[A-Za-z0-9.@\-_]{1,100}$/;
const keys = ['repo', 'branch', 'pipeline', 'stage', 'action', 'source_action', 'on_incomplete'];

// parse returns the releases of the YAML text, or throws naming file.
function parse(file, text, defaultAction) {
  const fail = (msg) => {
    throw new Error(`release file ${file}: ${msg}`);
  };
  let doc;
  try {
    doc = yaml.load(text, { filename: file, schema: yaml.CORE_SCHEMA });
  } catch (err) {
    fail(err.message);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) fail('want a mapping with a "releases" list');
  for (const k of Object.keys(doc)) if (k !== 'releases') fail(`unknown key "${k}"`);
  if (!Array.isArray(doc.releases) || doc.releases.length === 0) fail('"releases" must be a non-empty list');
  const seen = new Set();
  return doc.releases.map((r, i) => {
    const at = `release ${i + 1}`;
    if (r === null || typeof r !== 'object' || Array.isArray(r)) fail(`${at}: want a mapping`);
    const out = {};
    for (const [k, v] of Object.entries(r)) {
      if (!keys.includes(k)) fail(`${at}: unknown key "${k}"`);
      if (typeof v !== 'string') fail(`${at}: ${k} must be a string`);
      out[k] = v.trim();
    }
    for (const k of ['repo', 'branch', 'pipeline', 'stage']) if (!out[k]) fail(`${at}: missing "${k}"`);
    for (const k of ['pipeline', 'stage', 'action', 'source_action']) {
      if (out[k] !== undefined && out[k] !== '' && !namePattern.test(out[k])) {
        fail(`${at}: ${k} "${out[k]}": CodePipeline names are 1-100 characters of A-Z a-z 0-9 . @ - _`);
      }
    }
    if (seen.has(out.pipeline)) fail(`${at}: pipeline ${out.pipeline} is named twice`);
    seen.add(out.pipeline);
    return { pipeline: out.pipeline, stage: out.stage, action: out.action || defaultAction };
  });
}

// load reads and parses the release file named by the releases param.
async function load({ resolveVariable }) {
  const file = await resolveVariable('param:releases');
  const defaultAction = await resolveVariable('param:approvalAction');
  if (!namePattern.test(defaultAction)) throw new Error(`approvalAction "${defaultAction}" is not a CodePipeline action name`);
  const text = fs.readFileSync(path.resolve(root, file), 'utf8');
  return parse(file, text, defaultAction);
}

// arn builds an ARN of this stack's partition, region and account.
const arn = (service, resource) => ({
  'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:${service}:`, { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, `:${resource}`]],
});

// zipEntry returns the bytes of entry name in the zip at file, or null.
function zipEntry(file, name) {
  const buf = fs.readFileSync(file);
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 65535); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error(`${file} is not a zip file`);
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  for (let n = 0; n < count; n++) {
    if (buf.readUInt32LE(p) !== 0x02014b50) throw new Error(`${file}: bad central directory`);
    const method = buf.readUInt16LE(p + 10);
    const size = buf.readUInt32LE(p + 20);
    const nameLen = buf.readUInt16LE(p + 28);
    const local = buf.readUInt32LE(p + 42);
    const entry = buf.toString('utf8', p + 46, p + 46 + nameLen);
    p += 46 + nameLen + buf.readUInt16LE(p + 30) + buf.readUInt16LE(p + 32);
    if (entry !== name) continue;
    const data = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    const raw = buf.subarray(data, data + size);
    if (method === 0) return raw;
    if (method === 8) return zlib.inflateRawSync(raw);
    throw new Error(`${file}: ${name} uses compression method ${method}`);
  }
  return null;
}

module.exports = {
  // The pipeline names, for the EventBridge rule's pattern.
  pipelines: async (ctx) => (await load(ctx)).map((r) => r.pipeline),
  // The pipelines, for the read calls.
  pipelineArns: async (ctx) => (await load(ctx)).map((r) => arn('codepipeline', r.pipeline)),
  // The approval actions (pipeline/stage/action), for PutApprovalResult.
  approvalArns: async (ctx) => (await load(ctx)).map((r) => arn('codepipeline', `${r.pipeline}/${r.stage}/${r.action}`)),
  // The release file, checked against the one the artifact ships: grants
  // derived from one file and a gate reading another would answer
  // pipelines it may not, and never those it may.
  artifactMatches: async (ctx) => {
    const file = await ctx.resolveVariable('param:releases');
    const artifact = path.resolve(root, await ctx.resolveVariable('param:artifact'));
    await load(ctx);
    if (!fs.existsSync(artifact)) return 'no artifact yet';
    const shipped = zipEntry(artifact, 'releases.yml');
    if (shipped === null) throw new Error(`${artifact} ships no releases.yml; build it with make lambda RELEASES=${file}`);
    if (!shipped.equals(fs.readFileSync(path.resolve(root, file)))) {
      throw new Error(`${artifact} ships a releases.yml that differs from ${file}: build it with make lambda RELEASES=${file}, or pass the file it was built with as --param=releases`);
    }
    return 'matches';
  },
  parse,
  zipEntry,
};

if (require.main === module) {
  const file = process.argv[2] || 'contrib/releases.yml';
  try {
    const releases = parse(file, fs.readFileSync(path.resolve(process.cwd(), file), 'utf8'), process.argv[3] || 'ChecklistApproval');
    for (const r of releases) console.log(`${r.pipeline}/${r.stage}/${r.action}`);
  } catch (err) {
    console.error(err.message);
    process.exit(1);
  }
}
