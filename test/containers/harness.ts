/**
 * Shared plumbing of the container tests: the images under test (built by scripts/build-images.sh), the
 * skip-or-fail policy when no Docker engine answers, and containers on the host network with random free
 * ports, their logs captured and their exit codes read back.
 *
 * Policy: no engine or no images -> the suite is skipped with the reason printed, unless REQUIRE_DOCKER=1
 * (CI, .ci/run), where the same condition fails the run.
 */
import { createServer } from 'node:net';
import { GenericContainer, getContainerRuntimeClient, ImageName, PullPolicy, StartupCheckStrategy, Wait, type StartedTestContainer } from 'testcontainers';

// Host networking and no Docker Hub: Ryuk (the reaper container) can neither be pulled nor reach us; every
// test stops its own containers instead.
process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';

const TAG = process.env.IMAGE_TAG ?? 'ci';
export const IMAGES = {
  gateway: `vllm-gateway:${TAG}`,
  fc: `vllm-gateway-fc:${TAG}`,
} as const;

export type DockerCheck = { ok: true } | { ok: false; reason: string };

async function probe(images: readonly string[]): Promise<DockerCheck> {
  let client: Awaited<ReturnType<typeof getContainerRuntimeClient>>;
  try {
    client = await Promise.race([
      getContainerRuntimeClient(),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timed out after 15 s')), 15_000).unref()),
    ]);
  } catch (err) {
    return { ok: false, reason: `no Docker engine reachable (${err instanceof Error ? err.message : String(err)}); start one with scripts/start-docker.sh` };
  }
  for (const image of images) {
    if (!(await client.image.exists(ImageName.fromString(image)))) {
      return { ok: false, reason: `image ${image} is missing; build it with scripts/build-images.sh` };
    }
  }
  return { ok: true };
}

/** True when the suite can run. Throws under REQUIRE_DOCKER=1 when it cannot; otherwise prints why it skips. */
export async function dockerOrSkip(suite: string, images: readonly string[]): Promise<boolean> {
  const check = await probe(images);
  if (check.ok) return true;
  if (process.env.REQUIRE_DOCKER === '1') throw new Error(`${suite}: REQUIRE_DOCKER=1 but ${check.reason}`);
  console.warn(`${suite}: skipped: ${check.reason}`);
  return false;
}

/** A free TCP port on 127.0.0.1 (released before returning; containers bind it a moment later). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Startup is "done" once the container has stopped, whatever its exit code (for one-shot failures). */
class ExitedStrategy extends StartupCheckStrategy {
  override async checkStartupState(...[docker, id]: Parameters<StartupCheckStrategy['checkStartupState']>): Promise<'PENDING' | 'SUCCESS'> {
    const info = await docker.getContainer(id).inspect();
    return info.State.Running ? 'PENDING' : 'SUCCESS';
  }
}

export interface Running {
  container: StartedTestContainer;
  /** Everything the container wrote to stdout and stderr so far. */
  logs(): string;
  /** Resolves once `pattern` appears in the logs; rejects after `ms`. */
  waitForLog(pattern: RegExp, ms?: number): Promise<void>;
  /** Polls until the container has exited; its exit code. */
  exitCode(ms?: number): Promise<number>;
  /** docker stop (SIGTERM, then SIGKILL after `graceMs`), keeping the container to read its exit code. */
  stop(graceMs?: number): Promise<number>;
  /** Removes the container (idempotent). */
  remove(): Promise<void>;
}

export interface StartOptions {
  env: Record<string, string>;
  command?: string[];
  /** Log line that marks readiness; default: the gateway's "gateway listening". Null: wait for the container to exit. */
  readyLog?: RegExp | null;
}

const started = new Set<Running>();

export async function startContainer(image: string, options: StartOptions): Promise<Running> {
  const chunks: string[] = [];
  let definition = new GenericContainer(image)
    .withNetworkMode('host')
    .withPullPolicy(PullPolicy.neverPull())
    .withAutoRemove(false)
    .withEnvironment(options.env)
    .withLogConsumer((stream) => stream.on('data', (chunk: Buffer | string) => chunks.push(chunk.toString())))
    .withWaitStrategy(options.readyLog === null ? new ExitedStrategy() : Wait.forLogMessage(options.readyLog ?? /"msg":"gateway listening"/))
    .withStartupTimeout(20_000);
  if (options.command) definition = definition.withCommand(options.command);
  const container = await definition.start();
  const client = await getContainerRuntimeClient();
  const handle = client.container.getById(container.getId());
  let removed = false;
  const inspectExit = async (ms: number): Promise<number> => {
    const deadline = Date.now() + ms;
    for (;;) {
      const info = await client.container.inspect(handle);
      if (!info.State.Running) return info.State.ExitCode;
      if (Date.now() > deadline) throw new Error(`container ${image} still running after ${ms} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const running: Running = {
    container,
    logs: () => chunks.join(''),
    waitForLog: async (pattern, ms = 10_000) => {
      const deadline = Date.now() + ms;
      while (!pattern.test(chunks.join(''))) {
        if (Date.now() > deadline) throw new Error(`no log line matching ${pattern} within ${ms} ms:\n${chunks.join('')}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    exitCode: (ms = 15_000) => inspectExit(ms),
    stop: async (graceMs = 30_000) => {
      await container.stop({ timeout: graceMs, remove: false });
      return inspectExit(5_000);
    },
    remove: async () => {
      if (removed) return;
      removed = true;
      started.delete(running);
      await client.container.remove(handle, { removeVolumes: true }).catch(() => undefined);
    },
  };
  started.add(running);
  return running;
}

/** Force-removes every container this test file started and has not removed yet. */
export async function removeAll(): Promise<void> {
  const client = await getContainerRuntimeClient();
  await Promise.all(
    [...started].map(async (r) => {
      await client.container.stop(client.container.getById(r.container.getId()), { timeout: 0 }).catch(() => undefined);
      await r.remove();
    }),
  );
}

/** The HEALTHCHECK command baked into an image, as an exec argv (without the leading "CMD"). */
export async function healthcheckCommand(image: string): Promise<string[]> {
  const client = await getContainerRuntimeClient();
  const info = await client.image.inspect(ImageName.fromString(image));
  const test = info.Config.Healthcheck?.Test ?? [];
  if (test[0] !== 'CMD') throw new Error(`unexpected HEALTHCHECK in ${image}: ${JSON.stringify(test)}`);
  return test.slice(1);
}

/** The user an image runs as (`Config.User`). */
export async function imageUser(image: string): Promise<string> {
  const client = await getContainerRuntimeClient();
  return (await client.image.inspect(ImageName.fromString(image))).Config.User;
}
