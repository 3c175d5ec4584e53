/**
 * The part of kustomize that deploy/k8s uses, for offline checks without the kustomize binary:
 * `resources` (files and directories), `namespace`, `images`, `secretGenerator` from env files (without a
 * name hash) and strategic-merge `patches` by path. Any other field throws, so an overlay that starts using
 * more of kustomize fails the test instead of rendering wrongly. k8s.test.ts compares the result with
 * `kubectl kustomize` where kubectl is installed.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments, parse } from 'yaml';

export type Obj = { [key: string]: unknown };
export interface K8sObject extends Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> } & Obj;
}

interface Kustomization {
  apiVersion?: string;
  kind?: string;
  namespace?: string;
  resources?: string[];
  images?: Array<{ name: string; newName?: string; newTag?: string }>;
  secretGenerator?: Array<{ name: string; envs?: string[]; literals?: string[] }>;
  generatorOptions?: { disableNameSuffixHash?: boolean };
  patches?: Array<{ path: string }>;
}

const SUPPORTED = new Set(['apiVersion', 'kind', 'namespace', 'resources', 'images', 'secretGenerator', 'generatorOptions', 'patches']);
/** Cluster-scoped kinds among those deploy/k8s could use (the namespace transformer skips them). */
const CLUSTER_SCOPED = new Set(['Namespace', 'PersistentVolume', 'StorageClass', 'ClusterRole', 'ClusterRoleBinding', 'ClusterTriggerAuthentication']);

export interface RenderOptions {
  /** The file an env-file secretGenerator reads; default: the path itself. Tests pass `${path}.example`. */
  envFile?: (path: string) => string;
}

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function readDocs(path: string): K8sObject[] {
  return parseAllDocuments(readFileSync(path, 'utf8'))
    .map((d) => d.toJS() as K8sObject | null)
    .filter((d): d is K8sObject => d !== null);
}

/** A strategic merge as the API server applies it to the fields deploy/k8s patches: maps merge, lists of
 * named items (containers, env, volumes) merge by name, other lists are replaced, null deletes. */
export function strategicMerge(target: unknown, patch: unknown): unknown {
  if (patch === null) return undefined;
  if (Array.isArray(patch) && Array.isArray(target)) {
    const named = (xs: unknown[]) => xs.every((x) => isObj(x) && typeof x.name === 'string');
    if (!named(patch) || !named(target)) return patch;
    // kustomize's order: the patch's items (merged into their namesakes) first, then the untouched rest.
    const merged = (patch as Obj[]).map((p) => {
      const t = target.find((x) => (x as Obj).name === p.name);
      return t === undefined ? p : strategicMerge(t, p);
    });
    return [...merged, ...target.filter((t) => !(patch as Obj[]).some((p) => p.name === (t as Obj).name))];
  }
  if (isObj(patch) && isObj(target)) {
    const out: Obj = { ...target };
    for (const [k, v] of Object.entries(patch)) {
      const merged = strategicMerge(target[k], v);
      if (merged === undefined) delete out[k];
      else out[k] = merged;
    }
    return out;
  }
  return patch;
}

function podSpecs(o: K8sObject): Obj[] {
  const template = isObj(o.spec) && isObj(o.spec.template) ? o.spec.template : undefined;
  return template && isObj(template.spec) ? [template.spec] : [];
}

function setImages(o: K8sObject, images: NonNullable<Kustomization['images']>): void {
  for (const spec of podSpecs(o)) {
    for (const c of [...((spec.containers as Obj[] | undefined) ?? []), ...((spec.initContainers as Obj[] | undefined) ?? [])]) {
      const image = String(c.image);
      const name = image.replace(/@.*$/, '').replace(/:[^:/]*$/, '');
      const rule = images.find((i) => i.name === name);
      if (!rule) continue;
      const tag = rule.newTag ?? /:([^:/@]+)$/.exec(image)?.[1];
      c.image = `${rule.newName ?? name}${tag ? `:${tag}` : ''}`;
    }
  }
}

function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (!trimmed || trimmed.startsWith('#')) continue;
    const eq = trimmed.indexOf('=');
    if (eq <= 0) throw new Error(`env file line "${trimmed}" is not KEY=value`);
    out[trimmed.slice(0, eq)] = trimmed.slice(eq + 1);
  }
  return out;
}

/** Renders the kustomization in `dir` into its objects. */
export function render(dir: string, options: RenderOptions = {}): K8sObject[] {
  const k = parse(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')) as Kustomization;
  for (const key of Object.keys(k)) if (!SUPPORTED.has(key)) throw new Error(`${dir}: kustomization field "${key}" is not supported by this renderer`);
  let objects: K8sObject[] = [];
  for (const r of k.resources ?? []) {
    const path = join(dir, r);
    objects.push(...(statSync(path).isDirectory() ? render(path, options) : readDocs(path)));
  }
  for (const gen of k.secretGenerator ?? []) {
    if (k.generatorOptions?.disableNameSuffixHash !== true) throw new Error(`${dir}: a secretGenerator with a name hash is not supported`);
    const data: Record<string, string> = {};
    for (const env of gen.envs ?? []) {
      const file = (options.envFile ?? ((p: string) => p))(join(dir, env));
      if (!existsSync(file)) throw new Error(`${dir}: secretGenerator env file ${file} is missing`);
      for (const [key, value] of Object.entries(parseEnvFile(readFileSync(file, 'utf8')))) data[key] = Buffer.from(value).toString('base64');
    }
    for (const literal of gen.literals ?? []) {
      const eq = literal.indexOf('=');
      data[literal.slice(0, eq)] = Buffer.from(literal.slice(eq + 1)).toString('base64');
    }
    objects.push({ apiVersion: 'v1', kind: 'Secret', metadata: { name: gen.name }, type: 'Opaque', data });
  }
  for (const p of k.patches ?? []) {
    for (const patch of readDocs(join(dir, p.path))) {
      const i = objects.findIndex((o) => o.kind === patch.kind && o.metadata.name === patch.metadata.name && o.apiVersion === patch.apiVersion);
      if (i < 0) throw new Error(`${dir}: patch ${p.path} matches no ${patch.kind}/${patch.metadata.name}`);
      objects[i] = strategicMerge(objects[i], patch) as K8sObject;
    }
  }
  if (k.images) for (const o of objects) setImages(o, k.images);
  if (k.namespace) {
    objects = objects.map((o) => (CLUSTER_SCOPED.has(o.kind) ? o : { ...o, metadata: { ...o.metadata, namespace: k.namespace } }));
  }
  return objects;
}

/** Base64 `data` of a Secret, decoded. */
export function secretData(secret: K8sObject): Record<string, string> {
  const data = (secret.data ?? {}) as Record<string, string>;
  return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
}
