#!/usr/bin/env node
// gen-openapi-subset.js writes internal/githubtest/openapi-subset.json: the few
// GitHub REST operations checkoff calls, cut from GitHub's official OpenAPI
// description as packaged by npm @octokit/openapi (MIT).
//
// Run from the repository root after `npm ci` (or via `go generate ./internal/githubtest`):
//
//	node scripts/gen-openapi-subset.js [output-file]
//
// The subset keeps, per operation, the path and query parameters (name,
// required, schema), the JSON request body schema and the JSON schemas of the
// 2xx responses. Schemas stay as $refs into components/schemas (only the
// reachable ones are copied) so the file stays small; descriptions, examples
// and other annotations are dropped. The script fails on any schema keyword
// the Go validator in internal/githubtest/internal/jsonschema does not implement,
// so an upgrade of the description cannot silently weaken validation.
"use strict";

const fs = require("fs");
const path = require("path");

const root = path.resolve(__dirname, "..");
const pkgDir = path.join(root, "node_modules", "@octokit", "openapi");
const source = "generated/api.github.com.json";
// An optional argument writes elsewhere (the freshness test compares).
const out = process.argv[2] ? path.resolve(process.argv[2]) : path.join(root, "app", "githubtest", "openapi-subset.json");

// The operations checkoff calls. Keep in step with internal/githubtest/server.go.
const operations = [
  ["post", "/repos/{owner}/{repo}/check-runs"],
  ["patch", "/repos/{owner}/{repo}/check-runs/{check_run_id}"],
  ["get", "/repos/{owner}/{repo}/commits/{ref}/check-runs"],
  ["get", "/repos/{owner}/{repo}/contents/{path}"],
  ["get", "/repos/{owner}/{repo}/collaborators/{username}/permission"],
  ["get", "/repos/{owner}/{repo}/pulls/{pull_number}"],
  ["get", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews"],
  ["get", "/repos/{owner}/{repo}/pulls/{pull_number}/files"],
  ["get", "/repos/{owner}/{repo}/compare/{basehead}"],
  ["get", "/repos/{owner}/{repo}/commits/{commit_sha}/pulls"],
  ["post", "/repos/{owner}/{repo}/issues/{issue_number}/comments"],
  ["get", "/repos/{owner}/{repo}/issues/{issue_number}/comments"],
  ["patch", "/repos/{owner}/{repo}/issues/comments/{comment_id}"],
  ["get", "/repos/{owner}/{repo}/installation"],
  ["post", "/app/installations/{installation_id}/access_tokens"],
  ["get", "/app/hook/deliveries"],
  ["get", "/app/hook/deliveries/{delivery_id}"],
  ["post", "/app/hook/deliveries/{delivery_id}/attempts"],
  ["get", "/app"],
];

// Validation keywords the Go validator implements; kept.
const kept = new Set([
  "$ref", "type", "nullable", "enum", "properties", "required",
  "additionalProperties", "items", "oneOf", "anyOf", "allOf",
  "minimum", "maximum", "minLength", "maxLength", "minItems", "maxItems",
  "format",
]);
// Annotations with no effect on validity; dropped.
const dropped = new Set([
  "description", "example", "examples", "title", "default", "deprecated",
  "discriminator", "readOnly", "writeOnly", "externalDocs",
]);

const pkg = JSON.parse(fs.readFileSync(path.join(pkgDir, "package.json"), "utf8"));
const spec = JSON.parse(fs.readFileSync(path.join(pkgDir, source), "utf8"));
const copyright = fs.readFileSync(path.join(pkgDir, "LICENSE"), "utf8")
  .split("\n")[0].replace(/^MIT License\s*/, "").trim();

function resolve(ref) {
  if (!ref.startsWith("#/")) throw new Error(`external $ref ${ref}`);
  let node = spec;
  for (const part of ref.slice(2).split("/")) {
    node = node[part.replace(/~1/g, "/").replace(/~0/g, "~")];
    if (node === undefined) throw new Error(`dangling $ref ${ref}`);
  }
  return node;
}

const schemas = {}; // reachable components/schemas, trimmed
const pending = [];

// trim copies a schema keeping only validation keywords; where says where it
// sits so an unsupported keyword can be reported precisely.
function trim(schema, where) {
  if (typeof schema === "boolean") return schema;
  if (schema === null || typeof schema !== "object" || Array.isArray(schema)) {
    throw new Error(`${where}: not a schema`);
  }
  const outSchema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (dropped.has(key) || key.startsWith("x-")) continue;
    if (!kept.has(key)) throw new Error(`${where}: unsupported schema keyword ${JSON.stringify(key)}`);
    switch (key) {
      case "$ref": {
        const prefix = "#/components/schemas/";
        if (!value.startsWith(prefix)) throw new Error(`${where}: unexpected $ref ${value}`);
        const name = value.slice(prefix.length);
        if (!(name in schemas)) {
          schemas[name] = null; // reserve, filled below
          pending.push(name);
        }
        outSchema.$ref = value;
        break;
      }
      case "properties": {
        const props = {};
        for (const [name, sub] of Object.entries(value)) props[name] = trim(sub, `${where}.${name}`);
        outSchema.properties = props;
        break;
      }
      case "items":
      case "additionalProperties":
        outSchema[key] = trim(value, `${where}[${key}]`);
        break;
      case "oneOf":
      case "anyOf":
      case "allOf":
        outSchema[key] = value.map((sub, i) => trim(sub, `${where}[${key}.${i}]`));
        break;
      default:
        outSchema[key] = value;
    }
  }
  return outSchema;
}

function param(p, where) {
  if (p.$ref) p = resolve(p.$ref);
  if (p.in !== "path" && p.in !== "query") return null; // headers are checked by hand
  const outParam = { name: p.name, in: p.in, required: !!p.required, schema: trim(p.schema, `${where} ${p.name}`) };
  if (p["x-multi-segment"]) outParam["x-multi-segment"] = true;
  return outParam;
}

const paths = {};
for (const [method, route] of operations) {
  const op = spec.paths[route] && spec.paths[route][method];
  if (!op) throw new Error(`operation ${method.toUpperCase()} ${route} not in ${source}`);
  const where = `${method.toUpperCase()} ${route}`;
  const params = [...(spec.paths[route].parameters || []), ...(op.parameters || [])]
    .map((p) => param(p, where)).filter(Boolean);
  const outOp = { operationId: op.operationId, parameters: params };
  if (op.requestBody) {
    let body = op.requestBody.$ref ? resolve(op.requestBody.$ref) : op.requestBody;
    const json = body.content && body.content["application/json"];
    if (!json) throw new Error(`${where}: request body is not JSON`);
    outOp.requestBody = { required: !!body.required, content: { "application/json": { schema: trim(json.schema, `${where} body`) } } };
  }
  outOp.responses = {};
  for (const [code, resp0] of Object.entries(op.responses)) {
    if (!/^2\d\d$/.test(code)) continue;
    const resp = resp0.$ref ? resolve(resp0.$ref) : resp0;
    const json = resp.content && resp.content["application/json"];
    outOp.responses[code] = json ? { content: { "application/json": { schema: trim(json.schema, `${where} ${code}`) } } } : {};
  }
  paths[route] = paths[route] || {};
  paths[route][method] = outOp;
}
while (pending.length) {
  const name = pending.shift();
  schemas[name] = trim(resolve(`#/components/schemas/${name}`), name);
}
const sortedSchemas = {};
for (const name of Object.keys(schemas).sort()) sortedSchemas[name] = schemas[name];

const subset = {
  "x-generated": {
    generator: "scripts/gen-openapi-subset.js (do not edit this file; run the script)",
    source: `npm ${pkg.name}@${pkg.version} ${source}`,
    license: `${pkg.license} (${copyright})`,
    upstream: "GitHub's REST API description, https://github.com/github/rest-api-description",
  },
  openapi: spec.openapi,
  info: { title: spec.info.title, version: spec.info.version, license: spec.info.license },
  paths,
  components: { schemas: sortedSchemas },
};
fs.writeFileSync(out, JSON.stringify(subset, null, 1) + "\n");
console.log(`wrote ${out}: ${operations.length} operations, ${Object.keys(sortedSchemas).length} schemas`);
