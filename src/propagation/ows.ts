// HTTP optional whitespace (RFC 9110 §5.6.3: OWS = *( SP / HTAB )), trimmed
// by index. The regex `/^[ \t]+|[ \t]+$/g` it replaces is quadratic in a run
// of spaces that is not at the end (the `[ \t]+$` branch is retried from
// every position of the run): 16,000 spaces inside a tracestate cost ~220 ms
// of CPU; this loop visits each character at most once (bench/headers.mjs).

function isOws(code: number): boolean {
  return code === 0x20 || code === 0x09;
}

/** Index of the first character of `text[start, end)` that is not OWS. */
export function skipOwsForward(text: string, start: number, end: number): number {
  let i = start;
  while (i < end && isOws(text.charCodeAt(i))) i++;
  return i;
}

/** One past the last character of `text[start, end)` that is not OWS. */
export function skipOwsBackward(text: string, start: number, end: number): number {
  let i = end;
  while (i > start && isOws(text.charCodeAt(i - 1))) i--;
  return i;
}

/** `text` without leading and trailing spaces and tabs (and nothing else: not CR, LF or NBSP). */
export function trimOws(text: string): string {
  const start = skipOwsForward(text, 0, text.length);
  return text.slice(start, skipOwsBackward(text, start, text.length));
}
