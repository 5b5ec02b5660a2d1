// The probe paths of every healthRoutes() in the process, so that
// traceContext()'s default `ignore` skips them under any `prefix`, not only
// under the default one. Bounded by the distinct prefixes an app uses.
const probePaths = new Set<string>();

export function registerProbePaths(paths: Iterable<string>): void {
  for (const path of paths) probePaths.add(path);
}

export function isProbePath(path: string): boolean {
  return probePaths.has(path);
}
