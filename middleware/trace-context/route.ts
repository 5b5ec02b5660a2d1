// The route *template* of a request (`/users/:userId/posts/:id`), rebuilt from
// what the router's layers show as the request passes them (see
// express-layers.ts): `req.baseUrl` at each layer tells which mount the
// request is in, `req.params` at a mount's first layer holds the mount's
// parameters, and a route layer carries the route's own path. Both routers
// (Express 4's and `router` 2.x for Express 5) set `req.baseUrl` before they
// call a layer. Reading at layer entry instead of defining accessors on the
// request keeps the request a fast-mode object (accessors cost ~35 µs a request).

import type { LayerHooks } from './express-layers.js';

interface RouteLike {
  path?: unknown;
}

interface RouteTracker {
  /** The full template of the last matched route, or undefined (404). */
  route(): string | undefined;
}

function templateOf(concrete: string, params: unknown): string {
  // '' is the app's own router (no mount): nothing in it to replace, and no
  // map to build (884 bytes a request on the fallback path, `bench/middleware-loop.mjs
  // throughline-metrics --app --bare-layers --bytes`).
  if (concrete === '' || params === null || typeof params !== 'object') return concrete;
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

// Express 4's path-to-regexp ends every compiled mount path so; a RegExp the
// user mounted (the Layer keeps it as is) does not.
const COMPILED_MOUNT_END = '(?=\\/|$)';

/**
 * The template of the part of the path a mount matched: the mount's own path
 * when the router kept it (router 2.x `layer.rawPath`: `/v/:id`, `/wild/*rest`,
 * `{/:opt}`), a RegExp's source (`^\/v\d+`), else (Express 4, which keeps
 * only the compiled RegExp) the concrete segment with parameter values
 * replaced by their names and a `*` wildcard's value by `*`. Never the
 * concrete path of a RegExp or wildcard mount: that made one series per URL.
 */
function mountTemplate(layer: unknown, concrete: string, params: unknown): string {
  const l = layer as { rawPath?: unknown; regexp?: unknown } | null;
  const raw = l?.rawPath;
  if (typeof raw === 'string') return raw;
  if (raw instanceof RegExp) return raw.source;
  if (Array.isArray(raw)) return raw.map((p) => (p instanceof RegExp ? p.source : String(p))).join(',');
  const regexp = l?.regexp;
  if (regexp instanceof RegExp && !regexp.source.endsWith(COMPILED_MOUNT_END)) return regexp.source;
  let template = templateOf(concrete, params);
  if (params !== null && typeof params === 'object') {
    for (const [name, value] of Object.entries(params as Record<string, unknown>)) {
      // Express 4 names the `*` wildcard's capture 0, 1, ...: it may span segments.
      if (!/^\d+$/.test(name) || typeof value !== 'string' || value === '') continue;
      const at = template.lastIndexOf(`/${value}`);
      if (at >= 0 && at + value.length + 1 === template.length) template = `${template.slice(0, at)}/*`;
    }
  }
  return template;
}

/**
 * The base URL of the router a mount layer belongs to: Express 4 sets
 * `layer.path` to the part the mount matched; router 2.x keeps the mount's
 * path (`rawPath`), whose segments, for a plain path, are the segments it
 * matched. Undefined when neither tells (a RegExp or wildcard mount).
 */
function parentBase(layer: unknown, value: string): string | undefined {
  const l = layer as { path?: unknown; rawPath?: unknown } | null;
  const matched = l?.path;
  if (typeof matched === 'string' && matched !== '' && value.endsWith(matched)) return value.slice(0, value.length - matched.length);
  const raw = l?.rawPath;
  if (typeof raw !== 'string' || /[*{}()?+]/.test(raw)) return undefined;
  const segments = raw.split('/').filter(Boolean).length;
  const parts = value.split('/');
  return segments < parts.length ? parts.slice(0, parts.length - segments).join('/') : undefined;
}

/** Whether `value` is `prefix` or a path below it (`/api/x` is below `/api`, `/apix` is not). */
function isBelow(value: string, prefix: string): boolean {
  return value.startsWith(prefix) && (value.length === prefix.length || value.charCodeAt(prefix.length) === 47 /* / */);
}

// One mount the request is in: its concrete base URL and its template, and
// the mount it is nested in. A chain of these instead of two arrays.
class Mount {
  declare readonly concrete: string;
  declare readonly template: string;
  declare readonly parent: Mount | undefined;
  constructor(concrete: string, template: string, parent: Mount | undefined) {
    this.concrete = concrete;
    this.template = template;
    this.parent = parent;
  }
}

const APP_ROOT = new Mount('', '', undefined);

// A class, not a closure over two arrays returned in an object literal: V8
// pretenures literals (object and array) whose objects it sees surviving
// young-generation collections, and a request that awaits I/O keeps its
// tracker alive across them. Objects built by `new` have no allocation site.
// The figures are with the request record's (trace-context.ts).
class RouteTrack implements RouteTracker, LayerHooks {
  declare readonly error: ((error: unknown) => void) | undefined;
  declare private mount: Mount;
  declare private matched: string | undefined;
  constructor(error: ((error: unknown) => void) | undefined) {
    this.error = error;
    this.mount = APP_ROOT;
    this.matched = undefined;
  }

  enter(layer: unknown, req: unknown): void {
    const value = (req as { baseUrl?: unknown }).baseUrl;
    if (typeof value === 'string' && value !== this.mount.concrete) {
      // The mount's parent is `value` without the part the mount matched, so
      // a sibling mount below an earlier one's URL (`/t/:tenant` then
      // `/t/:tenant/items`) replaces it instead of nesting under it.
      const parent = parentBase(layer, value);
      let top = this.mount;
      while (top.parent !== undefined && (!isBelow(value, top.concrete) || (parent !== undefined && top.concrete.length > parent.length))) {
        top = top.parent;
      }
      // Entering a mount: at this moment req.params holds the mount's params.
      if (value.length > top.concrete.length) {
        const template = top.template + mountTemplate(layer, value.slice(top.concrete.length), (req as { params?: unknown }).params);
        top = new Mount(value, template, top);
      }
      this.mount = top;
    }
    const path = routePath((layer as { route?: RouteLike } | null)?.route);
    if (path === undefined) return;
    const prefix = this.mount.template;
    this.matched = prefix === '' ? path : path === '/' ? prefix : prefix + path;
  }

  route(): string | undefined {
    return this.matched;
  }
}

/**
 * A request's route tracker, which is also its layer hooks (express-layers.ts):
 * `error` receives what its handlers throw or pass to `next(err)`.
 */
export function trackRoute(error?: (error: unknown) => void): RouteTracker & LayerHooks {
  return new RouteTrack(error);
}

/**
 * The template from the request alone, for a route matched by a router whose
 * layers were not observed (a second copy of `router` or Express under the
 * app). Mount parameters are recovered from their values, so this is exact
 * unless two parameters share a value.
 */
export function routeFromRequest(req: unknown): string | undefined {
  const path = routePath((req as { route?: RouteLike }).route);
  if (path === undefined) return undefined;
  const { baseUrl, params } = req as { baseUrl?: unknown; params?: unknown };
  const prefix = typeof baseUrl === 'string' ? templateOf(baseUrl, params) : '';
  return prefix === '' ? path : path === '/' ? prefix : prefix + path;
}
