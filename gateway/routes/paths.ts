/**
 * @module routes/paths
 * Paths that other artefacts depend on (s.yaml health check and lifecycle hooks, compose health checks,
 * Dockerfile HEALTHCHECK). Tests compare those files against these constants.
 */
export const PATHS = {
  /** 200 only when vLLM is ready; polled by FC's health check and compose (fc3.md 3.3). */
  health: '/health',
  /** 200 while the process runs. */
  livez: '/livez',
  /** FC initializer hook: POST, waits (bounded) for vLLM readiness (fc3.md 3.4). */
  initialize: '/initialize',
  /** FC pre-stop hook: GET, starts a graceful drain (fc3.md 3.4). */
  preStop: '/pre-stop',
  metrics: '/metrics',
} as const;

/** FC sends traffic to the container's CAPort, 9000 unless configured (fc3.md 1.3). */
export const DEFAULT_PORT = 9000;
