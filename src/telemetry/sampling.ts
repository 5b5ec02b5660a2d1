// Which spans setupTelemetry()'s tracer provider records. The SDK 3.x no
// longer reads OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG itself, so this
// does, with the OpenTelemetry spec's values
// (https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/#general-sdk-configuration).
// `incomingSampling: 'ignore'` keeps the caller's trace id but decides
// locally: a public client can then neither force recording (-01) nor
// suppress it (-00).
import { diag, trace, type Attributes, type Context, type Link, type SpanKind } from '@opentelemetry/api';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type Sampler,
  type SamplingResult,
} from '@opentelemetry/sdk-trace';

/** What to do with the sampled flag of an incoming (remote) parent. */
export type IncomingSampling = 'respect' | 'ignore';

/** The values of `incomingSampling`. */
export const INCOMING_SAMPLING = ['respect', 'ignore'] as const;

/** The `OTEL_TRACES_SAMPLER` values understood (the spec's list, minus the vendor-specific jaeger_remote and xray). */
export const OTEL_TRACES_SAMPLER_VALUES = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const;

/** The spec's default when `OTEL_TRACES_SAMPLER` is unset. */
const DEFAULT_SAMPLER = 'parentbased_always_on';

function ratioFromEnv(arg: string | undefined): number {
  if (arg === undefined || arg.trim() === '') return 1;
  const ratio = Number(arg);
  if (!Number.isFinite(ratio) || ratio < 0 || ratio > 1) {
    diag.warn(`throughline: OTEL_TRACES_SAMPLER_ARG=${JSON.stringify(arg)} is not a ratio in [0, 1]; using 1 (the spec's default)`);
    return 1;
  }
  return ratio;
}

/**
 * The sampler the standard environment variables describe. An unknown
 * `OTEL_TRACES_SAMPLER` is ignored with a warning, as the spec asks: the
 * default `parentbased_always_on` is used.
 *
 * @example
 * samplerFromEnv({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1' });
 */
export function samplerFromEnv(env: NodeJS.ProcessEnv = process.env): Sampler {
  let name = (env['OTEL_TRACES_SAMPLER'] ?? '').trim().toLowerCase();
  if (name === '') name = DEFAULT_SAMPLER;
  if (!(OTEL_TRACES_SAMPLER_VALUES as readonly string[]).includes(name)) {
    diag.warn(
      `throughline: OTEL_TRACES_SAMPLER=${JSON.stringify(env['OTEL_TRACES_SAMPLER'])} is not one of ${OTEL_TRACES_SAMPLER_VALUES.join(', ')}; using ${DEFAULT_SAMPLER}`,
    );
    name = DEFAULT_SAMPLER;
  }
  const ratio = () => new TraceIdRatioBasedSampler(ratioFromEnv(env['OTEL_TRACES_SAMPLER_ARG']));
  switch (name) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return ratio();
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: ratio() });
    default:
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
  }
}

/** Asks `inner` as if the span had no parent: same trace id, the parent's flags unseen. */
class AsRootSampler implements Sampler {
  constructor(private readonly inner: Sampler) {}
  shouldSample(context: Context, traceId: string, spanName: string, spanKind: SpanKind, attributes: Attributes, links: Link[]): SamplingResult {
    return this.inner.shouldSample(trace.deleteSpan(context), traceId, spanName, spanKind, attributes, links);
  }
  toString(): string {
    return `AsRoot{${this.inner.toString()}}`;
  }
}

/**
 * The sampler of setupTelemetry()'s tracer provider: `sampler` (else the
 * environment's), used as is with `'respect'`. With `'ignore'`, a span with
 * a remote parent is decided by `sampler` as if it started the trace (a
 * ratio sampler still decides by the caller's trace id, so services with
 * the same ratio agree), and spans below it follow it.
 *
 * @example
 * resolveSampler(new TraceIdRatioBasedSampler(0.1), 'ignore');
 */
export function resolveSampler(sampler: Sampler | undefined, incoming: IncomingSampling): Sampler {
  const base = sampler ?? samplerFromEnv();
  if (incoming === 'respect') return base;
  const asRoot = new AsRootSampler(base);
  return new ParentBasedSampler({ root: base, remoteParentSampled: asRoot, remoteParentNotSampled: asRoot });
}
