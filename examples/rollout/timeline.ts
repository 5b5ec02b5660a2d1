// Renders the rollout as one self-contained SVG: throughput, failures and
// in-flight requests per second on top, one lane per worker below showing
// when it served and which shutdown phase it was in. No chart library, so the
// report opens anywhere, offline.

/** One second of load. */
export interface SecondSample {
  /** Seconds since the start of the run. */
  readonly t: number;
  readonly succeeded: number;
  readonly failed: number;
  /** Highest in-flight request count any sample in this second saw (all workers). */
  readonly inFlight: number;
}

/** A stretch of a worker's life in one phase (`running`, `draining`, …). */
export interface PhaseSpan {
  readonly phase: string;
  /** Milliseconds since the start of the run. */
  readonly from: number;
  readonly to: number;
}

export interface WorkerLane {
  readonly label: string;
  readonly spans: readonly PhaseSpan[];
}

export interface TimelineData {
  readonly title: string;
  readonly durationMs: number;
  readonly seconds: readonly SecondSample[];
  readonly workers: readonly WorkerLane[];
}

const PHASE_COLOURS: Record<string, string> = {
  starting: '#cbd5e1',
  running: '#22c55e',
  draining: '#facc15',
  closing: '#fb923c',
  jobs: '#a78bfa',
  hooks: '#60a5fa',
  flushing: '#f472b6',
  stopped: '#64748b',
};

const WIDTH = 960;
const LEFT = 110;
const RIGHT = 20;
const CHART_H = 160;
const LANE_H = 22;

function esc(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] ?? c);
}

function polyline(points: readonly [number, number][], colour: string): string {
  const d = points.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(' ');
  return `<polyline fill="none" stroke="${colour}" stroke-width="2" points="${d}"/>`;
}

/** The timeline as an SVG document. */
export function renderTimelineSvg(data: TimelineData): string {
  const plotW = WIDTH - LEFT - RIGHT;
  const seconds = Math.max(1, Math.ceil(data.durationMs / 1000));
  const x = (ms: number) => LEFT + (ms / (seconds * 1000)) * plotW;
  const top = 40;
  const maxRate = Math.max(1, ...data.seconds.map((s) => s.succeeded + s.failed));
  const maxInFlight = Math.max(1, ...data.seconds.map((s) => s.inFlight));
  const yRate = (v: number) => top + CHART_H - (v / maxRate) * CHART_H;
  const yInFlight = (v: number) => top + CHART_H - (v / maxInFlight) * CHART_H;
  const lanesTop = top + CHART_H + 40;
  const height = lanesTop + data.workers.length * (LANE_H + 6) + 60;

  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${LEFT}" y="22" font-size="15" font-weight="bold">${esc(data.title)}</text>`,
    `<rect x="${LEFT}" y="${top}" width="${plotW}" height="${CHART_H}" fill="none" stroke="#e2e8f0"/>`,
  ];
  for (let s = 0; s <= seconds; s += Math.max(1, Math.round(seconds / 10))) {
    parts.push(`<line x1="${x(s * 1000)}" y1="${top}" x2="${x(s * 1000)}" y2="${lanesTop + data.workers.length * (LANE_H + 6)}" stroke="#f1f5f9"/>`);
    parts.push(`<text x="${x(s * 1000)}" y="${top + CHART_H + 16}" text-anchor="middle" fill="#475569">${s}s</text>`);
  }
  // Failures as red bars, so a single failed request is visible.
  for (const s of data.seconds) {
    if (s.failed > 0) {
      const y = yRate(s.failed);
      parts.push(`<rect x="${x(s.t * 1000)}" y="${y}" width="${Math.max(2, plotW / seconds - 2)}" height="${top + CHART_H - y}" fill="#ef4444" opacity="0.8"/>`);
    }
  }
  parts.push(polyline(data.seconds.map((s) => [x((s.t + 0.5) * 1000), yRate(s.succeeded)]), '#2563eb'));
  parts.push(polyline(data.seconds.map((s) => [x((s.t + 0.5) * 1000), yInFlight(s.inFlight)]), '#0d9488'));
  parts.push(`<text x="${LEFT - 8}" y="${top + 10}" text-anchor="end" fill="#2563eb">${maxRate} req/s</text>`);
  parts.push(`<text x="${LEFT - 8}" y="${top + 26}" text-anchor="end" fill="#0d9488">${maxInFlight} in flight</text>`);
  parts.push(`<text x="${LEFT - 8}" y="${top + CHART_H}" text-anchor="end" fill="#475569">0</text>`);

  data.workers.forEach((lane, i) => {
    const y = lanesTop + i * (LANE_H + 6);
    parts.push(`<text x="${LEFT - 8}" y="${y + LANE_H / 2 + 4}" text-anchor="end">${esc(lane.label)}</text>`);
    for (const span of lane.spans) {
      const w = Math.max(1, x(span.to) - x(span.from));
      parts.push(
        `<rect x="${x(span.from)}" y="${y}" width="${w}" height="${LANE_H}" fill="${PHASE_COLOURS[span.phase] ?? '#94a3b8'}"><title>${esc(lane.label)}: ${esc(span.phase)} ${(span.from / 1000).toFixed(2)}s–${(span.to / 1000).toFixed(2)}s</title></rect>`,
      );
    }
  });

  const legendY = height - 24;
  const legend: [string, string][] = [
    ['succeeded/s', '#2563eb'],
    ['failed/s', '#ef4444'],
    ['in flight', '#0d9488'],
    ...Object.entries(PHASE_COLOURS),
  ];
  // Each entry as wide as its label (about 6.5 px a character at this font size), so long labels do not overlap.
  let lx = LEFT;
  for (const [label, colour] of legend) {
    parts.push(`<rect x="${lx}" y="${legendY - 10}" width="12" height="12" fill="${colour}"/>`);
    parts.push(`<text x="${lx + 16}" y="${legendY}">${esc(label)}</text>`);
    lx += 16 + Math.round(label.length * 6.5) + 10;
  }
  parts.push('</svg>');
  return parts.join('\n');
}

/** The timeline wrapped in an HTML page with the report as a preformatted block. */
export function renderTimelineHtml(data: TimelineData, reportText: string): string {
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<title>${esc(data.title)}</title>`,
    '<style>body{font-family:sans-serif;margin:2em;color:#0f172a}pre{background:#f8fafc;padding:1em;border:1px solid #e2e8f0}</style>',
    '</head><body>',
    renderTimelineSvg(data),
    `<pre>${esc(reportText)}</pre>`,
    '</body></html>',
  ].join('\n');
}
