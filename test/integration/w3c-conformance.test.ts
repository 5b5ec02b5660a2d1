// The W3C Trace Context processing rules, driven end to end: a real Express
// app receives the headers, continues (or restarts) the trace, and reports the
// traceparent/tracestate it would send downstream — the shape of the
// specification's own conformance harness.
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { outgoingHeaders, traceContext } from '../../src/index.js';
import { EXPRESS_VARIANTS, type ExpressFactory } from '../helpers/express.js';
import { useTracing } from '../helpers/otel.js';
import { listen } from '../helpers/server.js';

const T = '12345678901234567890123456789012';
const P = '1234567890123456';
const VALID = `00-${T}-${P}-01`;

interface Outcome {
  traceparent: string;
  tracestate?: string;
}

function appUnderTest(express: ExpressFactory) {
  const app = express();
  app.use(traceContext());
  app.get('/', (_req, res) => {
    res.json(outgoingHeaders());
  });
  return app;
}

// Repeated header fields matter here (two traceparents, split tracestates), so
// send raw header lines over a real socket rather than through supertest.
async function send(express: ExpressFactory, headers: [string, string][]): Promise<Outcome> {
  const server = await listen(appUnderTest(express));
  try {
    return await new Promise<Outcome>((resolve, reject) => {
      const req = httpRequest(`${server.url}/`, { headers: [['host', '127.0.0.1'], ...headers].flat() }, (res) => {
        let body = '';
        res.setEncoding('latin1');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => {
          if (res.statusCode !== 200) reject(new Error(`status ${res.statusCode}: ${body}`));
          else resolve(JSON.parse(body) as Outcome);
        });
      });
      req.on('error', reject);
      req.end();
    });
  } finally {
    await server.close();
  }
}

function traceIdOf(traceparent: string): string {
  return traceparent.split('-')[1]!;
}

const restart = 'restart';
const keep = 'continue';

// [description, headers, expected trace outcome]
const TRACEPARENT_CASES: [string, string, typeof restart | typeof keep][] = [
  ['valid, sampled', VALID, keep],
  ['valid, not sampled', `00-${T}-${P}-00`, keep],
  ['leading space (OWS)', ` ${VALID}`, keep],
  ['leading tab (OWS)', `\t${VALID}`, keep],
  ['trailing space and tab (OWS)', `${VALID} \t`, keep],
  ['version ff is forbidden', `ff-${T}-${P}-01`, restart],
  ['future version cc, same length', `cc-${T}-${P}-01`, keep],
  ['future version cc with extra fields', `cc-${T}-${P}-01-what-the-future-will-be-like`, keep],
  ['future version cc, extra data not after a dash', `cc-${T}-${P}-01.what-the-future-will-be-like`, restart],
  ['version 00 with extra trailing character', `${VALID}.`, restart],
  ['version 00 with extra fields', `${VALID}-what-the-future-will-be-like`, restart],
  ['version with illegal character', `.0-${T}-${P}-01`, restart],
  ['version too long', `000-${T}-${P}-01`, restart],
  ['version too short', `0-${T}-${P}-01`, restart],
  ['upper-case version', `0A-${T}-${P}-01`, restart],
  ['trace-id all zeros', `00-${'0'.repeat(32)}-${P}-01`, restart],
  ['trace-id with illegal character', `00-.2345678901234567890123456789012-${P}-01`, restart],
  ['trace-id upper-case hex', `00-${T.replace('1', 'A')}-${P}-01`, restart],
  ['trace-id too long', `00-${T}3-${P}-01`, restart],
  ['trace-id too short', `00-${T.slice(1)}-${P}-01`, restart],
  ['parent-id all zeros', `00-${T}-${'0'.repeat(16)}-01`, restart],
  ['parent-id with illegal character', `00-${T}-123456789012345.-01`, restart],
  ['parent-id upper-case hex', `00-${T}-ABCDEF7890123456-01`, restart],
  ['parent-id too long', `00-${T}-${P}7-01`, restart],
  ['parent-id too short', `00-${T}-${P.slice(1)}-01`, restart],
  ['flags with illegal character', `00-${T}-${P}-.0`, restart],
  ['flags too long', `00-${T}-${P}-001`, restart],
  ['flags too short', `00-${T}-${P}-1`, restart],
  ['non-hex garbage', `00-${'x'.repeat(32)}-${'y'.repeat(16)}-zz`, restart],
  ['empty value', '', restart],
  ['hostile: very long value', `00-${T}-${P}-01${'-a'.repeat(5000)}`, restart],
  // Node's HTTP parser strips the OWS around a field value, so this arrives as the valid value.
  ['hostile: 7,000 spaces either side (OWS)', `${' '.repeat(7000)}${VALID}${' '.repeat(7000)}`, keep],
  ['future version of exactly 512 characters (the length limit)', `cc-${T}-${P}-01-${'a'.repeat(512 - 56)}`, keep],
  ['future version of 513 characters: over the length limit', `cc-${T}-${P}-01-${'a'.repeat(513 - 56)}`, restart],
  ['hostile: 8,000 spaces inside', `00-${' '.repeat(8000)}${T}-${P}-01`, restart],
  ['hostile: non-ASCII', `00-${T.slice(0, 31)}\u00e9-${P}-01`, restart],
];

for (const { name, express } of EXPRESS_VARIANTS) {
  describe(`W3C Trace Context conformance (end to end through traceContext(), ${name})`, () => {
    const tracing = useTracing();

    describe('traceparent', () => {
      for (const [description, value, expected] of TRACEPARENT_CASES) {
        it(`${expected === keep ? 'continues' : 'restarts'} the trace: ${description}`, async () => {
          const out = await send(express, [['traceparent', value]]);
          const [server] = tracing.spans();
          assert.match(out.traceparent, /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[0-3]$/);
          if (expected === keep) {
            assert.equal(traceIdOf(out.traceparent), T);
            assert.notEqual(out.traceparent.split('-')[2], P, 'parent-id is updated to our span');
            if (out.traceparent.endsWith('-01')) assert.equal(server?.parentSpanContext?.spanId, P);
            // A caller that did not sample: the parent-based sampler records nothing.
            else assert.equal(server, undefined);
          } else {
            assert.ok(server, 'a new trace is started and recorded');
            assert.notEqual(traceIdOf(out.traceparent), T);
            assert.equal(server.parentSpanContext, undefined, 'a restarted trace has no parent');
          }
        });
      }

      it('restarts the trace when traceparent is sent twice (even with equal values)', async () => {
        const out = await send(express, [['traceparent', VALID], ['traceparent', VALID]]);
        assert.notEqual(traceIdOf(out.traceparent), T);
      });

      it('accepts the header name in any case', async () => {
        const out = await send(express, [['TrAcEpArEnT', VALID]]);
        assert.equal(traceIdOf(out.traceparent), T);
      });

      it('ignores wrongly named headers (trace-parent)', async () => {
        const out = await send(express, [['trace-parent', VALID]]);
        assert.notEqual(traceIdOf(out.traceparent), T);
      });

      it('carries the sampled flag and zeroes unknown flags (09 -> sampled only)', async () => {
        assert.equal((await send(express, [['traceparent', `00-${T}-${P}-09`]])).traceparent.slice(-2), '01');
        assert.equal((await send(express, [['traceparent', `00-${T}-${P}-00`]])).traceparent.slice(-2), '00');
      });

      it('carries the Level 2 random flag with the trace id (03 -> 03, 02 -> 02)', async () => {
        assert.equal((await send(express, [['traceparent', `00-${T}-${P}-03`]])).traceparent.slice(-2), '03');
        assert.equal((await send(express, [['traceparent', `00-${T}-${P}-02`]])).traceparent.slice(-2), '02');
      });

      it('downgrades a future version to 00 when propagating', async () => {
        const out = await send(express, [['traceparent', `cc-${T}-${P}-01-extra`]]);
        assert.ok(out.traceparent.startsWith(`00-${T}-`));
      });
    });

    describe('tracestate', () => {
      const members32 = Array.from({ length: 32 }, (_, i) => `bar${String(i + 1).padStart(2, '0')}=${i + 1}`);
      // [description, tracestate header values, expected outgoing tracestate or undefined when discarded]
      const key256 = `${'k'.repeat(100)}@${'z'.repeat(155)}`;
      // The current text of "tracestate Header Field Values" (the multi-tenant
      // `tenant@system` grammar is gone):
      //   key      = ( lcalpha / DIGIT ) 0*255 ( keychar )
      //   keychar  = lcalpha / DIGIT / "_" / "-" / "*" / "/" / "@"
      //   value    = 0*255(chr) nblk-chr
      //   chr      = %x20 / nblk-chr
      //   nblk-chr = %x21-2B / %x2D-3C / %x3E-7E
      // A duplicated key keeps its first occurrence ("Only one entry per key is
      // allowed"; vendors may discard the duplicates, not the header).
      // [description, tracestate header values, expected outgoing tracestate or undefined when discarded]
      const CASES: [string, string[], string | undefined][] = [
        ['kept as received', ['foo=1,bar=2'], 'foo=1,bar=2'],
        ['multiple headers are combined in order', ['foo=1,bar=2', 'rojo=1,congo=2', 'baz=3'], 'foo=1,bar=2,rojo=1,congo=2,baz=3'],
        ['optional whitespace around members is dropped', ['foo=1 \t , \t bar=2, \t baz=3'], 'foo=1,bar=2,baz=3'],
        ['leading/trailing whitespace of the header', ['\t foo=1 \t'], 'foo=1'],
        ['empty members are skipped', ['foo=1,,  ,bar=2'], 'foo=1,bar=2'],
        ['an empty header next to a valid one', ['', 'foo=1'], 'foo=1'],
        ['an empty header alone: nothing to send', [''], undefined],
        ['exactly 32 members are kept', [members32.join(',')], members32.join(',')],
        ['33 members: the whole header is discarded', [[...members32, 'bar33=33'].join(',')], undefined],
        ['duplicated key in one header: the first is kept', ['foo=1,foo=1'], 'foo=1'],
        ['duplicated key across headers: the first is kept', ['foo=1', 'foo=2'], 'foo=1'],
        ['duplicated key among others: the later one goes, the rest stays', ['foo=1,bar=2,foo=3,baz=4'], 'foo=1,bar=2,baz=4'],
        ['32 distinct keys and a duplicate: kept', [[...members32, 'bar01=99'].join(',')], members32.join(',')],
        ['an invalid member after a duplicate still discards the header', ['foo=1,foo=2,BAD=3'], undefined],
        ['key with upper case: discarded', ['FOO=1'], undefined],
        ['key with a space before "=": discarded', ['foo =1'], undefined],
        ['key with a dot: discarded', ['foo.bar=1'], undefined],
        ['key starting with a digit is valid', ['0foo=1,bar=2'], '0foo=1,bar=2'],
        ['key tenant@system is valid', ['t0@sys=1,bar=2'], 't0@sys=1,bar=2'],
        ['key ending in "@" is valid', ['foo@=1,bar=2'], 'foo@=1,bar=2'],
        ['key with "@@" is valid', ['foo@@bar=1,bar=2'], 'foo@@bar=1,bar=2'],
        ['key with two "@" is valid', ['foo@bar@baz=1,bar=2'], 'foo@bar@baz=1,bar=2'],
        ['key starting with "@": discarded', ['@foo=1,bar=2'], undefined],
        ['key starting with "_": discarded', ['_foo=1,bar=2'], undefined],
        ['key with every keychar', ['a0_-*/@z=1'], 'a0_-*/@z=1'],
        ['key with upper case after "@": discarded', ['foo@Bar=1'], undefined],
        ['key of 256 characters is valid', ['foo=1', `${'z'.repeat(256)}=1`], `foo=1,${'z'.repeat(256)}=1`],
        ['key of 256 characters with "@" inside is valid', ['foo=1', `${key256}=1`], `foo=1,${key256}=1`],
        ['key of 257 characters: discarded', ['foo=1', `${'z'.repeat(257)}=1`], undefined],
        ['key of 257 characters with "@" inside: discarded', ['foo=1', `${key256}z=1`], undefined],
        ['key with 242 characters before "@" is valid (no tenant limit)', ['foo=1', `${'t'.repeat(242)}@v=1`], `foo=1,${'t'.repeat(242)}@v=1`],
        ['key with 15 characters after "@" is valid (no system limit)', ['foo=1', `t@${'v'.repeat(15)}=1`], `foo=1,t@${'v'.repeat(15)}=1`],
        ['value with "=": discarded', ['foo=bar=baz'], undefined],
        ['empty value: discarded', ['foo=,bar=3'], undefined],
        ['value of spaces only: discarded', ['foo=   ,bar=3'], undefined],
        ['value leading space is part of the value', ['foo= 1'], 'foo= 1'],
        ['value trailing spaces are OWS, not the value', ['foo=1   ,bar=2'], 'foo=1,bar=2'],
        ['value with spaces inside', ['foo=a b  c'], 'foo=a b  c'],
        ['value of 256 characters is valid', [`foo=${'v'.repeat(256)}`], `foo=${'v'.repeat(256)}`],
        ['value of 257 characters: discarded', [`foo=${'v'.repeat(257)}`], undefined],
        ['value with a tab inside: discarded', ['foo=a\tb'], undefined],
        ['value with a non-ASCII character: discarded', ['foo=caf\u00e9'], undefined],
        ['combined header of 8192 characters is read', [`foo=1,${' '.repeat(8192 - 12)},bar=2`], 'foo=1,bar=2'],
        ['combined header of 8193 characters: discarded unread', [`foo=1,${' '.repeat(8193 - 12)},bar=2`], undefined],
        ['hostile: 1,000 members: discarded', [Array.from({ length: 1000 }, (_, i) => `k${i}=${i}`).join(',')], undefined],
      ];

      for (const [description, values, expected] of CASES) {
        it(`${description}`, async () => {
          const out = await send(express, [['traceparent', `00-${T}-${P}-00`], ...values.map((v): [string, string] => ['tracestate', v])]);
          assert.equal(traceIdOf(out.traceparent), T, 'tracestate problems never affect traceparent');
          assert.equal(out.tracestate, expected);
        });
      }

      it('is not parsed when traceparent is invalid', async () => {
        const out = await send(express, [['traceparent', `00-${'0'.repeat(32)}-${P}-01`], ['tracestate', 'foo=1']]);
        assert.equal(out.tracestate, undefined);
      });

      it('carries every allowed character', async () => {
        const key = 'abcdefghijklmnopqrstuvwxyz0123456789_-*/@';
        const value = [...Array(0x7f - 0x20).keys()].map((i) => String.fromCharCode(i + 0x20)).filter((c) => c !== ',' && c !== '=').join('');
        const out = await send(express, [['traceparent', VALID], ['tracestate', `${key}=${value}`]]);
        assert.equal(out.tracestate, `${key}=${value}`);
      });
    });
  });
}
