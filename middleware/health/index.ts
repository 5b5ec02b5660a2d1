export { healthRoutes } from './health-routes.js';
export type { HealthBody } from './health-routes.js';
export { HEALTH_ROUTES_DEFAULTS } from './options.js';
export type { HealthRoutesOptions } from './options.js';
