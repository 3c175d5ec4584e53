/**
 * Reading s.yaml the way Serverless Devs would, for offline checks: parse, substitute `${vars.x}` and
 * `${env('NAME', 'default')}`, and validate each resource's props against the fc3 component's JSON Schema
 * (fc3.md 5: "You can validate without `s` at all ... after substituting `${vars.*}`").
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject } from 'ajv';
import { parse } from 'yaml';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const S_YAML_PATH = `${REPO_ROOT}s.yaml`;
/** The variant for more than one GPU instance (deploy/README.md, "Several FC instances"). */
export const S_SCALE_YAML_PATH = `${REPO_ROOT}s.scale.yaml`;
/** The fc3 schema lives beside the clone: ../shared/reference (CI has the same layout). */
export const FC3_SCHEMA_PATH = fileURLToPath(new URL('../../../shared/reference/fc3-props.schema.json', import.meta.url));

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type Props = { [key: string]: Json };

export interface SProject {
  edition: string;
  vars: Record<string, Json>;
  resources: Record<string, { component: string; props: Props }>;
}

const TEMPLATE = /\$\{([^}]*)\}/g;
const VAR_REF = /^vars\.([A-Za-z0-9_]+)$/;
const ENV_REF = /^env\(\s*(['"])([A-Za-z0-9_]+)\1\s*(?:,\s*(['"])(.*?)\3\s*)?\)$/;

/** The environment variables a template names with `${env(...)}`, with their defaults (undefined: none). */
export function envReferences(text: string): Map<string, string | undefined> {
  const refs = new Map<string, string | undefined>();
  for (const match of text.matchAll(TEMPLATE)) {
    const env = ENV_REF.exec((match[1] as string).trim());
    if (env) refs.set(env[2] as string, env[4]);
  }
  return refs;
}

function substitute(value: string, vars: Record<string, Json>, env: Record<string, string | undefined>): string {
  return value.replace(TEMPLATE, (_whole, expr: string) => {
    const inner = expr.trim();
    const varRef = VAR_REF.exec(inner);
    if (varRef) {
      const v = vars[varRef[1] as string];
      if (v === undefined) throw new Error(`\${${inner}}: no such var`);
      return String(v);
    }
    const envRef = ENV_REF.exec(inner);
    if (envRef) {
      const name = envRef[2] as string;
      const fromEnv = env[name];
      if (fromEnv !== undefined) return fromEnv;
      if (envRef[4] !== undefined) return envRef[4];
      throw new Error(`\${${inner}}: environment variable ${name} is not set and has no default`);
    }
    throw new Error(`\${${inner}}: interpolation not understood by this check`);
  });
}

function resolveDeep(value: Json, vars: Record<string, Json>, env: Record<string, string | undefined>): Json {
  if (typeof value === 'string') return substitute(value, vars, env);
  if (Array.isArray(value)) return value.map((v) => resolveDeep(v, vars, env));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveDeep(v, vars, env)]));
  return value;
}

export function readSYamlText(path: string = S_YAML_PATH): string {
  return readFileSync(path, 'utf8');
}

/** The project as written (templates unresolved). */
export function parseSProject(text: string): SProject {
  return parse(text, { merge: true }) as SProject;
}

/** The project with vars and env() resolved against `env` (vars first, then props). */
export function resolveSProject(project: SProject, env: Record<string, string | undefined>): SProject {
  const vars = resolveDeep(project.vars as Json, {}, env) as Record<string, Json>;
  const resources = Object.fromEntries(
    Object.entries(project.resources).map(([name, r]) => [name, { component: r.component, props: resolveDeep(r.props, vars, env) as Props }]),
  );
  return { edition: project.edition, vars, resources };
}

export interface SchemaCheck {
  available: boolean;
  /** Why the schema could not be used. */
  reason?: string;
  validate?: (props: Props) => ErrorObject[];
}

/**
 * Errors the fc3 schema reports although Function Compute accepts the value (fc3.md 5, "Schema is stale"):
 * GPU types newer than tesla/ampere, their larger GPU memory, and GPU functions' memory above 32 GB.
 */
export function isKnownStaleSchemaError(error: ErrorObject, props: Props): boolean {
  const gpu = props.gpuConfig as { gpuType?: string } | undefined;
  const newerGpu = typeof gpu?.gpuType === 'string' && /^fc\.gpu\.(ada|hopper|xpu)\./.test(gpu.gpuType);
  if (error.instancePath === '/gpuConfig/gpuType' && error.keyword === 'enum') return newerGpu;
  if (error.instancePath === '/gpuConfig/gpuMemorySize' && error.keyword === 'maximum') return newerGpu;
  if (error.instancePath === '/memorySize' && error.keyword === 'maximum') return gpu !== undefined;
  return false;
}

export function loadFc3Schema(): SchemaCheck {
  if (!existsSync(FC3_SCHEMA_PATH)) return { available: false, reason: `fc3 schema not found at ${FC3_SCHEMA_PATH}` };
  const schema = JSON.parse(readFileSync(FC3_SCHEMA_PATH, 'utf8')) as object;
  // strict: false, because the schema (generated from TypeScript types) uses draft-07 tuple `items` without
  // `additionalItems`, which Ajv's strict mode refuses to compile.
  const ajv = new Ajv({ allErrors: true, strict: false });
  const compiled = ajv.compile(schema);
  return {
    available: true,
    validate: (props) => (compiled(props) ? [] : (compiled.errors ?? []).filter((e) => !isKnownStaleSchemaError(e, props))),
  };
}
