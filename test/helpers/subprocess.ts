/**
 * The environment for a child process or worker thread with c8's coverage
 * collection off. A child (or worker) loads the TypeScript sources through its own tsx instance, and c8 merges
 * its byte ranges wrongly into the test process's, wrecking the report for
 * files the child never ran. Node copies NODE_V8_COVERAGE into every child's
 * environment unless the key is present, so it is set to '' (off), not deleted.
 */
export function withoutCoverage(env: Record<string, string | undefined>): Record<string, string | undefined> {
  return { ...env, NODE_V8_COVERAGE: '' };
}
