/**
 * @module backends/url
 * A backend URL taken apart: the origin we dial (identity), what we may show (no userinfo, ever), the
 * host:port label, and the userinfo secret, which is used only as a bearer key (vLLM's `--api-key`,
 * vllm.md 6). Error messages repeat the URL only with its userinfo masked.
 */
export interface ParsedBackendUrl {
  origin: string;
  displayUrl: string;
  hostPort: string;
  credential: string | undefined;
}

/** Parses a backend URL; the error message never repeats userinfo. */
export function parseBackendUrl(raw: string): ParsedBackendUrl {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new TypeError(`backend URL "${redactUrl(raw).slice(0, 200)}" is not a valid URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`backend URL "${url.origin}" must start with http:// or https://`);
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  const path = url.pathname.replace(/\/+$/, '');
  const secret = url.password || url.username;
  return {
    origin: url.origin,
    displayUrl: `${url.origin}${path}`,
    hostPort: `${url.hostname}:${port}`,
    credential: secret ? decodeURIComponent(secret) : undefined,
  };
}

export function redactUrl(raw: string): string {
  return raw.replace(/\/\/[^/@\s]*@/, '//***@');
}
