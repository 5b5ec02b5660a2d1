// Semantic conventions (url.query, url.full): these query keys carry
// credentials and their values are replaced by "REDACTED", on server and
// client spans alike.
const SENSITIVE_QUERY_KEYS = new Set(['awsaccesskeyid', 'signature', 'sig', 'x-goog-signature']);

/** `query` without its leading `?`, with the values of credential-carrying keys replaced by `REDACTED`. */
export function redactQuery(query: string): string {
  return query
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      if (eq === -1) return pair;
      return SENSITIVE_QUERY_KEYS.has(pair.slice(0, eq).toLowerCase()) ? `${pair.slice(0, eq)}=REDACTED` : pair;
    })
    .join('&');
}
