// The Prometheus text exposition (format 0.0.4) of what the SDK's MetricReader
// collects. The SDK stays the source of truth; only the serialization is ours,
// for two reasons:
//   - names: @opentelemetry/exporter-prometheus 0.301 appends no unit suffix and
//     has no option for it, so its names differ from what the OpenTelemetry
//     Collector's prometheus exporter produces for the same instruments
//     (`http_server_request_duration_count` instead of
//     `http_server_request_duration_seconds_count`);
//   - cost: for 2,000 histogram series its serializer took 433 ms (3.5x
//     prom-client's 125 ms) while collect() took about 3 ms; this one takes
//     52 ms with collect (npm run bench:scrape, docs/metrics.md "Cost").
// Everything else (target_info, otel_scope_* labels, label sanitization, value
// formatting) is what the exporter emits, so a scrape parses to the same samples.
import { diag, type Attributes } from '@opentelemetry/api';
import { DataPointType, type MetricData, type ResourceMetrics } from '@opentelemetry/sdk-metrics';

// UCUM units as the Collector names them (pkg/translator/prometheus, now
// prometheus/otlptranslator): the OpenTelemetry "Prometheus and OpenMetrics
// Compatibility" spec says abbreviations become full words.
const UNIT_WORDS: Readonly<Record<string, string>> = {
  d: 'days',
  h: 'hours',
  min: 'minutes',
  s: 'seconds',
  ms: 'milliseconds',
  us: 'microseconds',
  ns: 'nanoseconds',
  By: 'bytes',
  KiBy: 'kibibytes',
  MiBy: 'mebibytes',
  GiBy: 'gibibytes',
  TiBy: 'tibibytes',
  KBy: 'kilobytes',
  MBy: 'megabytes',
  GBy: 'gigabytes',
  TBy: 'terabytes',
  m: 'meters',
  V: 'volts',
  A: 'amperes',
  J: 'joules',
  W: 'watts',
  g: 'grams',
  Cel: 'celsius',
  Hz: 'hertz',
  '%': 'percent',
};
// The denominator of `foo/bar` units (`By/s` becomes `bytes_per_second`).
const PER_UNIT_WORDS: Readonly<Record<string, string>> = {
  s: 'second',
  m: 'minute',
  h: 'hour',
  d: 'day',
  w: 'week',
  mo: 'month',
  y: 'year',
};

const INVALID_NAME_CHARS = /[^a-zA-Z0-9_]/g;
const REPEATED_UNDERSCORES = /_{2,}/g;
const NEEDS_ESCAPE = /[\\"\n]/;

/**
 * Turns an OpenTelemetry unit into the Prometheus unit suffix, following the
 * Collector: annotations in braces (`{request}`) are dropped, `s` becomes
 * `seconds`, `By` `bytes`, `By/s` `bytes_per_second`; `1` becomes `ratio` on
 * gauges only. Returns `''` for no suffix.
 *
 * @example
 * prometheusUnit('s', 'gauge'); // 'seconds'
 * prometheusUnit('{request}', 'gauge'); // ''
 */
export function prometheusUnit(unit: string, kind: 'counter' | 'gauge' | 'histogram' | 'updowncounter'): string {
  if (unit === '1') return kind === 'gauge' ? 'ratio' : '';
  const plain = unit.replace(/\{[^}]*\}/g, '').trim();
  if (plain === '') return '';
  const slash = plain.indexOf('/');
  const main = slash === -1 ? plain : plain.slice(0, slash);
  const per = slash === -1 ? '' : plain.slice(slash + 1);
  const mainWord = UNIT_WORDS[main] ?? main.replace(/[^a-zA-Z0-9]/g, '');
  const perWord = PER_UNIT_WORDS[per] ?? per.replace(/[^a-zA-Z0-9]/g, '');
  if (perWord === '') return mainWord;
  return mainWord === '' ? `per_${perWord}` : `${mainWord}_per_${perWord}`;
}

function sanitize(name: string): string {
  return name.replace(INVALID_NAME_CHARS, '_').replace(REPEATED_UNDERSCORES, '_');
}

function kindOf(metric: MetricData): 'counter' | 'gauge' | 'histogram' | 'updowncounter' | undefined {
  switch (metric.dataPointType) {
    case DataPointType.SUM:
      return metric.isMonotonic ? 'counter' : 'updowncounter';
    case DataPointType.GAUGE:
      return 'gauge';
    case DataPointType.HISTOGRAM:
      return 'histogram';
    default:
      return undefined;
  }
}

/**
 * The Prometheus name of an OpenTelemetry instrument, as the OpenTelemetry
 * Collector's prometheus exporter writes it: invalid characters become `_`,
 * the unit suffix is appended unless the name already ends with it, and monotonic
 * counters end in `_total` (after the unit). Histograms get
 * `_bucket`/`_sum`/`_count` on top of this name.
 *
 * @example
 * prometheusMetricName('http.server.request.duration', 's', 'histogram'); // 'http_server_request_duration_seconds'
 * prometheusMetricName('nodejs.eventloop.time', 's', 'counter'); // 'nodejs_eventloop_time_seconds_total'
 */
export function prometheusMetricName(
  name: string,
  unit: string,
  kind: 'counter' | 'gauge' | 'histogram' | 'updowncounter',
): string {
  let base = sanitize(name);
  if (/^[0-9]/.test(base)) base = `_${base}`;
  // The Collector takes `_total` off and puts it back after the unit.
  if (kind === 'counter' && base.endsWith('_total')) base = base.slice(0, -'_total'.length);
  const suffix = prometheusUnit(unit, kind);
  // "Unless the metric name already contains the unit" means as a suffix
  // (opentelemetry-specification#4057): `seconds_left` in s is `seconds_left_seconds`.
  if (suffix !== '' && base !== suffix && !base.endsWith(`_${suffix}`)) base = `${base}_${suffix}`;
  return kind === 'counter' ? `${base}_total` : base;
}

function escapeLabelValue(value: string): string {
  // Most values need nothing; testing first avoids three replace passes.
  if (!NEEDS_ESCAPE.test(value)) return value;
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function formatValue(value: number): string {
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

// As the exporter does: strings as they are, anything else as JSON.
function attributeText(value: unknown): string {
  return escapeLabelValue(typeof value === 'string' ? value : (JSON.stringify(value) ?? ''));
}

interface Family {
  type: 'counter' | 'gauge' | 'histogram';
  help: string;
  readonly parts: { metric: MetricData; scopeLabels: string }[];
}

/**
 * Serializes one `collect()` result (`ResourceMetrics`) to the text
 * exposition; the result of {@link createPrometheusSerializer}.
 *
 * @example
 * const text: string = serialize((await reader.collect()).resourceMetrics);
 */
export type PrometheusSerializer = (resourceMetrics: ResourceMetrics) => string;

/**
 * Creates a serializer of the Prometheus text format 0.0.4 over the SDK's
 * collected metrics: `target_info` with the resource attributes, `# HELP` and
 * `# TYPE` per family, counters with `_total`, gauges and up-down counters as
 * `gauge`, histograms as cumulative `_bucket{le}` (ending at `+Inf`), `_sum`
 * and `_count`; every sample carries `otel_scope_name`/`otel_scope_version`.
 * Label values escape backslash, quote and newline; HELP text backslash and
 * newline. It caches sanitized label names and warns once per conflict.
 *
 * @example
 * const serialize = createPrometheusSerializer();
 * const { resourceMetrics } = await reader.collect();
 * res.end(serialize(resourceMetrics));
 */
export function createPrometheusSerializer(): PrometheusSerializer {
  const labelNames = new Map<string, string>();
  const warned = new Set<string>();

  function labelName(key: string): string {
    let name = labelNames.get(key);
    if (name === undefined) {
      name = sanitize(key);
      labelNames.set(key, name);
    }
    return name;
  }

  function labels(attributes: Attributes): string {
    let out = '';
    for (const key in attributes) {
      out += `${out === '' ? '' : ','}${labelName(key)}="${attributeText(attributes[key])}"`;
    }
    return out;
  }

  function warnOnce(message: string): void {
    if (warned.has(message)) return;
    warned.add(message);
    diag.warn(`throughline: ${message}`);
  }

  function families(resourceMetrics: ResourceMetrics): Map<string, Family | undefined> {
    // undefined marks a family dropped for conflicting types.
    const found = new Map<string, Family | undefined>();
    for (const { scope, metrics } of resourceMetrics.scopeMetrics) {
      const scopeAttributes: Attributes = { 'otel.scope.name': scope.name };
      if (scope.schemaUrl) scopeAttributes['otel.scope.schema_url'] = scope.schemaUrl;
      if (scope.version) scopeAttributes['otel.scope.version'] = scope.version;
      const scopeLabels = labels(scopeAttributes);
      for (const metric of metrics) {
        const kind = kindOf(metric);
        if (kind === undefined) {
          warnOnce(`metric "${metric.descriptor.name}" is an exponential histogram, which the text format cannot carry; it is not exported`);
          continue;
        }
        const name = prometheusMetricName(metric.descriptor.name, metric.descriptor.unit, kind);
        const type = kind === 'updowncounter' ? 'gauge' : kind;
        const help = metric.descriptor.description;
        if (!found.has(name)) {
          found.set(name, { type, help, parts: [{ metric, scopeLabels }] });
          continue;
        }
        const family = found.get(name);
        if (family === undefined) continue;
        if (family.type !== type) {
          warnOnce(`metrics named "${name}" have conflicting types (${family.type}, ${type}); the family is dropped`);
          found.set(name, undefined);
          continue;
        }
        if (help !== '' && family.help === '') family.help = help;
        else if (help !== '' && help !== family.help) {
          warnOnce(`metrics named "${name}" have conflicting descriptions; exporting "${family.help}"`);
        }
        family.parts.push({ metric, scopeLabels });
      }
    }
    return found;
  }

  return function serializePrometheusText(resourceMetrics) {
    const resourceLabels = labels(resourceMetrics.resource.attributes);
    let out = `# HELP target_info Target metadata\n# TYPE target_info gauge\ntarget_info${
      resourceLabels === '' ? '' : `{${resourceLabels}}`
    } 1\n`;
    for (const [name, family] of families(resourceMetrics)) {
      if (family === undefined) continue;
      out += `# HELP ${name} ${escapeHelp(family.help || 'description missing')}\n# TYPE ${name} ${family.type}\n`;
      for (const { metric, scopeLabels } of family.parts) {
        if (metric.dataPointType === DataPointType.HISTOGRAM) {
          out += histogramLines(name, metric.dataPoints, scopeLabels);
          continue;
        }
        if (metric.dataPointType !== DataPointType.SUM && metric.dataPointType !== DataPointType.GAUGE) continue;
        for (const point of metric.dataPoints) {
          const own = labels(point.attributes);
          out += `${name}{${own === '' ? scopeLabels : `${own},${scopeLabels}`}} ${formatValue(point.value)}\n`;
        }
      }
    }
    return out;
  };

  function histogramLines(
    name: string,
    points: Extract<MetricData, { dataPointType: DataPointType.HISTOGRAM }>['dataPoints'],
    scopeLabels: string,
  ): string {
    let out = '';
    const bucket = `${name}_bucket{`;
    // The `le` fragments are the same for every point of an instrument with
    // the same boundaries; build them once per boundary list.
    let boundaries: readonly number[] | undefined;
    let le: string[] = [];
    for (const point of points) {
      const own = labels(point.attributes);
      const all = own === '' ? scopeLabels : `${own},${scopeLabels}`;
      const { buckets, sum, count } = point.value;
      if (buckets.boundaries !== boundaries) {
        boundaries = buckets.boundaries;
        le = boundaries.map((b) => `,le="${b === Infinity ? '+Inf' : String(b)}"} `);
      }
      let cumulative = 0;
      let sawInf = false;
      for (let i = 0; i < buckets.counts.length; i++) {
        cumulative += buckets.counts[i]!;
        const fragment = le[i];
        if (fragment === undefined) break;
        if (buckets.boundaries[i] === Infinity) sawInf = true;
        out += `${bucket}${all}${fragment}${cumulative}\n`;
        if (sawInf) break;
      }
      // The last bucket (above every boundary) is the +Inf one; the spec wants it always.
      if (!sawInf) out += `${bucket}${all},le="+Inf"} ${count}\n`;
      if (sum !== undefined) out += `${name}_sum{${all}} ${formatValue(sum)}\n`;
      out += `${name}_count{${all}} ${count}\n`;
    }
    return out;
  }
}
