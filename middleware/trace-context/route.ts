import type { IncomingMessage } from 'node:http';

// Express writes `req.baseUrl` when it enters or leaves a mounted router or
// app, and `req.route` when a route matches; both routers (Express 4's and
// `router` 2.x for Express 5) do it by plain assignment. Accessors on the
// request object let us see each step without patching Express, and rebuild
// the route *template* (`/users/:userId/posts/:id`) even across mount paths
// with parameters, where `req.baseUrl` only holds the concrete values.

interface RouteLike {
  path?: unknown;
}

interface RouteTracker {
  /** The full template of the last matched route, or undefined (404). */
  route(): string | undefined;
}

function templateOf(concrete: string, params: unknown): string {
  if (params === null || typeof params !== 'object') return concrete;
  const byValue = new Map<string, string>();
  for (const [name, value] of Object.entries(params as Record<string, unknown>)) {
    if (typeof value === 'string' && value !== '' && !byValue.has(value)) byValue.set(value, name);
  }
  if (byValue.size === 0) return concrete;
  return concrete
    .split('/')
    .map((segment) => {
      const name = byValue.get(safeDecode(segment));
      return name === undefined ? segment : `:${name}`;
    })
    .join('/');
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function routePath(route: RouteLike | undefined): string | undefined {
  const path = route?.path;
  if (typeof path === 'string') return path;
  if (path instanceof RegExp) return path.source;
  if (Array.isArray(path)) return path.map(String).join(',');
  return undefined;
}

export function trackRoute(req: IncomingMessage): RouteTracker {
  // Parallel stacks: the concrete base URL at each mount depth and its template.
  const concrete: string[] = [''];
  const templates: string[] = [''];
  let baseUrl: unknown = (req as { baseUrl?: unknown }).baseUrl;
  let route: RouteLike | undefined;
  let matched: string | undefined;

  Object.defineProperty(req, 'baseUrl', {
    configurable: true,
    enumerable: true,
    get: () => baseUrl,
    set(value: unknown) {
      baseUrl = value;
      if (typeof value !== 'string') return;
      while (concrete.length > 1 && !value.startsWith(concrete[concrete.length - 1]!)) {
        concrete.pop();
        templates.pop();
      }
      const top = concrete[concrete.length - 1]!;
      if (value.length > top.length) {
        // Entering a mount: at this moment req.params holds the mount's params.
        const added = value.slice(top.length);
        concrete.push(value);
        templates.push(templates[templates.length - 1]! + templateOf(added, (req as { params?: unknown }).params));
      } else if (value.length < top.length) {
        concrete.pop();
        templates.pop();
      }
    },
  });
  Object.defineProperty(req, 'route', {
    configurable: true,
    enumerable: true,
    get: () => route,
    set(value: RouteLike | undefined) {
      route = value;
      const path = routePath(value);
      if (path === undefined) return;
      const prefix = templates[templates.length - 1]!;
      matched = prefix === '' ? path : path === '/' ? prefix : prefix + path;
    },
  });
  return { route: () => matched };
}
