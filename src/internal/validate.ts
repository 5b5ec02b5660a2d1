// Option validation shared by every factory: fail fast, name the option, say
// what was expected and what was received (the p-queue message shape).

function describe(value: unknown): string {
  if (typeof value === 'function') return `a function (function)`;
  let shown: string;
  try {
    shown = typeof value === 'string' ? JSON.stringify(value) : String(value);
  } catch {
    shown = Object.prototype.toString.call(value);
  }
  if (shown.length > 60) shown = `${shown.slice(0, 57)}...`;
  return `\`${shown}\` (${value === null ? 'null' : typeof value})`;
}

export function invalidOption(name: string, expected: string, value: unknown): TypeError {
  return new TypeError(`Expected \`${name}\` to be ${expected}, got ${describe(value)}`);
}

export function expectNumber(name: string, value: unknown, min = 0): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw invalidOption(name, `a finite number >= ${min}`, value);
  }
  return value;
}

export function expectBoolean(name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw invalidOption(name, 'a boolean', value);
  return value;
}

export function expectString(name: string, value: unknown, { allowEmpty = false } = {}): string {
  if (typeof value !== 'string' || (!allowEmpty && value.length === 0)) {
    throw invalidOption(name, allowEmpty ? 'a string' : 'a non-empty string', value);
  }
  return value;
}

export function expectFunction<F extends (...args: never[]) => unknown>(name: string, value: unknown): F {
  if (typeof value !== 'function') throw invalidOption(name, 'a function', value);
  return value as F;
}

export function expectOptionsObject(name: string, value: unknown): Record<string, unknown> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalidOption(name, 'an options object', value);
  }
  return value as Record<string, unknown>;
}

/** Rejects misspelt options early: `{ timeoutMS: 5 }` is a bug, not a no-op. */
export function rejectUnknownKeys(fn: string, input: Record<string, unknown>, known: readonly string[]): void {
  for (const key of Object.keys(input)) {
    if (!known.includes(key)) {
      throw new TypeError(`Unknown option \`${key}\` passed to ${fn}(); expected one of: ${known.join(', ')}`);
    }
  }
}
