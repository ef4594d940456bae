#!/usr/bin/env node
// Test-side OTLP/HTTP trace receiver for ngx_http_infer_module.
//
//   node receiver.js --port P [--capture DIR] [--ready-file F]
//
// POST /v1/traces is decoded by a real @elastic/mockotlpserver running
// in-process on a private loopback port; capture, gzip, scripted failures and
// the /control/ API are done here.  See README.md.  CommonJS, Node 18 APIs.
'use strict';

const {once} = require('events');
const fs = require('fs');
const http = require('http');
const path = require('path');
const zlib = require('zlib');
let MockOtlpServer;
try {
    ({MockOtlpServer} = require('@elastic/mockotlpserver'));
} catch (e) {
    console.error(`otlp-receiver: ${e.message.split('\n')[0]}: npm ci in build/otlp from t/otlp's`
        + ' lockfile, then run a copy of receiver.js there or set NODE_PATH=build/otlp/node_modules');
    process.exit(1);
}

// ---- command line, logging --------------------------------------------------

function parseArgs(argv) {
    const o = {};
    for (let i = 0; i < argv.length; i += 2) o[argv[i]] = argv[i + 1];
    const port = Number(o['--port'] ?? NaN);
    const known = ['--port', '--capture', '--ready-file'];
    if (!Number.isInteger(port) || port < 0 || port > 65535
        || Object.keys(o).some((k) => !known.includes(k) || o[k] === undefined)) {
        console.error('usage: node receiver.js --port P [--capture DIR] [--ready-file F]');
        process.exit(2);
    }
    return {port, capture: o['--capture'], readyFile: o['--ready-file']};
}

// stdout carries only the "listening <port>" line; all logging goes to stderr.
const logErr = (...a) => console.error('otlp-receiver:', ...a);
// MockOtlpServer's own logger (luggite) always writes to stdout, so it gets
// this stand-in for its (fields, msg) calls: warnings and errors only.
const mockLog = {
    trace() {}, debug() {}, info() {}, level() {},
    warn: (...a) => logErr('mockotlpserver warn:', ...a.reverse()),
    error: (...a) => logErr('mockotlpserver error:', ...a.reverse()),
};

// ---- normalisation ------------------------------------------------------------
// onTrace gets, for application/x-protobuf, a protobufjs message (ids Buffers,
// int64 Longs, enums numbers; unset fields read as prototype defaults, so
// `'stringValue' in anyValue` is always true) and, for application/json, the
// JSON.parse()d body as is (ids hex strings, int64 strings or numbers, enums
// whatever was sent).  Both become one flat form per span.

// Problems (not hex, an inexact int64, ...) go to the request's warnings.
let warn = (w) => logErr(w);

function normalizeTrace(trace, seq) {
    // toObject keeps only the fields that were set: longs as decimal strings,
    // enums as numbers, bytes as Buffers.
    const req = typeof trace.constructor?.toObject === 'function'
        ? trace.constructor.toObject(trace, {longs: String, enums: Number}) : trace;
    const out = [];
    for (const rs of req.resourceSpans || []) {
        const resource = attrs(rs.resource?.attributes);
        for (const ss of rs.scopeSpans || []) {
            const scope = {name: ss.scope?.name ?? '', version: ss.scope?.version ?? ''};
            for (const s of ss.spans || []) {
                out.push({
                    traceId: hex(s.traceId, 'traceId'), spanId: hex(s.spanId, 'spanId'),
                    parentSpanId: hex(s.parentSpanId, 'parentSpanId'),
                    name: s.name ?? '', kind: enumVal(s.kind, 'kind'),
                    startTimeUnixNano: int64(s.startTimeUnixNano, 'startTimeUnixNano').toString(),
                    endTimeUnixNano: int64(s.endTimeUnixNano, 'endTimeUnixNano').toString(),
                    flags: Number(s.flags ?? 0), traceState: s.traceState ?? '',
                    status: {code: enumVal(s.status?.code, 'status.code'),
                        message: s.status?.message ?? ''},
                    attributes: attrs(s.attributes),
                    events: (s.events || []).map((e) => ({name: e.name ?? '',
                        timeUnixNano: int64(e.timeUnixNano, 'event time').toString(),
                        attributes: attrs(e.attributes)})),
                    links: (s.links || []).map((l) => ({traceId: hex(l.traceId, 'link traceId'),
                        spanId: hex(l.spanId, 'link spanId'), traceState: l.traceState ?? '',
                        flags: Number(l.flags ?? 0), attributes: attrs(l.attributes)})),
                    resource, scope, request: seq,
                });
            }
        }
    }
    return out;
}

function hex(v, field) {
    if (v == null) return '';
    if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
    if (typeof v === 'string' && /^([0-9a-fA-F]{2})*$/.test(v)) return v.toLowerCase();
    warn(`${field} is not hex: ${JSON.stringify(v)}`);
    return String(v);
}

// A BigInt from a decimal string (protobuf after toObject, or OTLP/JSON) or a
// JSON number; a JSON number beyond 2^53 already lost digits in JSON.parse.
function int64(v, field) {
    if (v == null) return 0n;
    if ((typeof v === 'string' && /^-?[0-9]+$/.test(v)) || Number.isSafeInteger(v)) return BigInt(v);
    warn(`${field} sent as JSON ${JSON.stringify(v)}: not an exact int64, send a decimal string`);
    return Number.isFinite(Number(v)) ? BigInt(Math.trunc(Number(v))) : 0n;
}

// OTLP/JSON sends enums as integers, never as names.
function enumVal(v, field) {
    if (v == null || Number.isInteger(v)) return v ?? 0;
    warn(`${field} sent as ${JSON.stringify(v)}: OTLP/JSON wants an integer`);
    return v;
}

function attrs(list) {
    const o = {};
    for (const kv of list || []) {
        if (Object.prototype.hasOwnProperty.call(o, kv.key)) warn(`duplicate attribute ${kv.key}`);
        o[kv.key] = anyValue(kv.value);
    }
    return o;
}

function anyValue(v) {
    if (v == null) return null;
    if ('stringValue' in v) return v.stringValue;
    if ('boolValue' in v) return v.boolValue;
    if ('intValue' in v) {
        const b = int64(v.intValue, 'intValue'), n = Number(b);
        return Number.isSafeInteger(n) ? n : b.toString();
    }
    if ('doubleValue' in v) {     // JSON spells NaN and the infinities as strings
        const d = v.doubleValue;
        if (typeof d === 'number') return Number.isFinite(d) ? d : String(d);
        return ['NaN', 'Infinity', '-Infinity'].includes(d) ? d : Number(d);
    }
    if ('arrayValue' in v) return (v.arrayValue?.values || []).map(anyValue);
    if ('kvlistValue' in v) return attrs(v.kvlistValue?.values);
    if ('bytesValue' in v) return Buffer.from(v.bytesValue, 'base64').toString('base64');
    return null;                  // an empty AnyValue
}

// ---- state, forwarding ----------------------------------------------------------

const opts = parseArgs(process.argv.slice(2));
let lastSeq = 0;          // never reset, so capture files are never overwritten
let spans = [];
let requests = [];
let mode = null;          // {kind: 'status'|'hang', count, ...}; null: normal
const hung = new Set();   // responses of hung exports, never ended
const waiters = new Set();
let current = null;       // the request MockOtlpServer is decoding right now
let chain = Promise.resolve();
let mock;

// MockOtlpServer answers 200, then decodes synchronously in the same tick and
// calls onTrace, all before our client can read its answer.  The callback
// does not say which request it is for, so forwards go one at a time and the
// spans belong to `current`.
function onTrace(trace) {
    const rec = current;
    if (!rec) return logErr('onTrace outside a forward: spans dropped');
    warn = (w) => rec.warnings.push(w);
    try {
        const got = normalizeTrace(trace, rec.seq);
        rec.spans += got.length;
        if (requests.includes(rec)) spans.push(...got);   // else reset meanwhile
        for (const w of waiters) w();
    } catch (e) {
        rec.error = `normalise: ${e.message}`;
        logErr(`request ${rec.seq}:`, e);
    }
}

// MockOtlpServer does not catch decode errors (a bad protobuf or JSON body):
// they land here, during a forward, and turn its 200 into our 400.
process.on('uncaughtException', (e) => {
    if (!current) {
        logErr('fatal:', e);
        process.exit(1);
    }
    current.error = `decode: ${e.message}`;
    logErr(`request ${current.seq}: ${current.error}`);
});

function forward(rec, contentType, body) {
    return new Promise((resolve) => {
        current = rec;
        const headers = {'content-length': body.length, ...(contentType && {'content-type': contentType})};
        const r = http.request({host: '127.0.0.1', port: mock.httpUrl.port, method: 'POST',
            path: '/v1/traces', headers, agent: false}, (res) => {
            readBody(res, (out) => {
                current = null;
                resolve({status: res.statusCode, type: res.headers['content-type'], body: out});
            });
        });
        r.on('error', (e) => {
            current = null;
            rec.error = `forward: ${e.message}`;
            resolve({status: 502, type: 'application/json', body: rpcStatus(502, rec.error)});
        });
        r.end(body);
    });
}

// google.rpc.Status-ish JSON bodies for the answers made here.
const RPC = {400: [3, 'invalid argument'], 429: [8, 'resource exhausted'],
    502: [14, 'unavailable'], 503: [14, 'unavailable'], 504: [14, 'unavailable']};
function rpcStatus(status, message) {
    const [code, msg] = RPC[status] || [status >= 500 ? 13 : 2, 'error'];
    return JSON.stringify({code, message: message || msg});
}

function answer(res, rec, status, body, headers) {
    rec.status = status;
    body = Buffer.from(body ?? '');
    res.writeHead(status, {...headers, 'content-length': body.length});
    res.end(body);
}

function readBody(stream, done) {
    const chunks = [];
    stream.on('data', (c) => chunks.push(c));
    stream.on('end', () => done(Buffer.concat(chunks)));
}

// ---- POST /v1/traces --------------------------------------------------------

function onExport(req, res) {
    readBody(req, (raw) => {
        const h = req.headers;
        const rec = {seq: ++lastSeq, time: Date.now(), contentType: h['content-type'] ?? null,
            contentEncoding: h['content-encoding'] ?? null,
            contentLength: h['content-length'] != null ? Number(h['content-length']) : null,
            bytes: raw.length, headers: h, mode: 'normal', status: null, spans: 0,
            warnings: [], error: null};
        requests.push(rec);
        if (opts.capture) {
            const base = path.join(opts.capture, String(rec.seq).padStart(4, '0'));
            fs.writeFileSync(`${base}.body`, raw);
            fs.writeFileSync(`${base}.headers.json`, JSON.stringify(h, null, 2) + '\n');
        }
        const json = {'content-type': 'application/json'};

        const m = mode;
        if (m && --m.count <= 0) mode = null;
        if (m) rec.mode = m.kind;
        if (m?.kind === 'hang') return hung.add(res);      // read, recorded, never answered
        if (m?.kind === 'status') {                        // scripted failure, not decoded
            const hdrs = m.retryAfter != null ? {...json, 'retry-after': String(m.retryAfter)} : json;
            return answer(res, rec, m.status, m.body ?? rpcStatus(m.status), hdrs);
        }

        let body = raw;
        const enc = (h['content-encoding'] || 'identity').trim().toLowerCase();
        try {
            if (enc === 'gzip') body = zlib.gunzipSync(raw);
            else if (enc !== 'identity') throw new Error('unsupported');
        } catch (e) {                     // a 400, as the Collector answers
            rec.error = `Content-Encoding ${enc}: ${e.message}`;
            return answer(res, rec, 400, rpcStatus(400, rec.error), json);
        }
        // MockOtlpServer wants the bare media type; like the Collector, accept
        // parameters ("application/json; charset=utf-8") and any case.
        const mediaType = h['content-type']?.split(';')[0].trim().toLowerCase();
        chain = chain.then(() => forward(rec, mediaType, body)).then((r) => {
            if (r.status !== 200 && !rec.error) rec.error = `mockotlpserver: ${r.body}`;
            const [status, out, type] = rec.error && r.status === 200
                ? [400, rpcStatus(400, rec.error), json['content-type']] : [r.status, r.body, r.type];
            answer(res, rec, status, out, type ? {'content-type': type} : {});
        }).catch((e) => logErr(`request ${rec.seq}:`, e));   // keep the chain going
    });
}

// ---- /control/ --------------------------------------------------------------

function sendJson(res, status, v) {
    res.writeHead(status, {'content-type': 'application/json'});
    res.end(JSON.stringify(v) + '\n');
}

// GET /control/spans[?trace_id=HEX][&name=N][&min=N][&wait_ms=M]: with wait_ms,
// answers once min (default 1) spans match, or when wait_ms has passed.
function getSpans(q, res) {
    const tid = q.get('trace_id')?.toLowerCase(), name = q.get('name');
    const waitMs = Number(q.get('wait_ms') || 0);
    const min = Number(q.get('min') || 1);
    const match = () => spans.filter((s) => (tid == null || s.traceId === tid) && (name == null || s.name === name));
    if (!(waitMs > 0)) return sendJson(res, 200, match());
    // onTrace calls the waiters after each decoded export: no polling.
    const finish = () => {
        clearTimeout(timer);
        if (waiters.delete(check)) sendJson(res, 200, match());   // only once
    };
    const check = () => match().length >= min && finish();
    const timer = setTimeout(finish, waitMs);
    res.on('close', () => {               // also when the client gives up
        clearTimeout(timer);
        waiters.delete(check);
    });
    waiters.add(check);
    check();
}

function setMode(m) {
    const count = m.count == null ? Infinity : Number(m.count);
    if (!(count > 0)) throw new Error('count must be > 0');
    if (m.mode === 'normal') return (mode = null);
    if (m.hang) return (mode = {kind: 'hang', count});
    const status = Number(m.status);
    if (!(status >= 200 && status <= 599)) {
        throw new Error('want {"mode":"normal"}, {"status":S[,"retry_after":R][,"body":B]}, '
            + 'or {"hang":true}, with an optional "count"');
    }
    const body = m.body == null || typeof m.body === 'string' ? m.body : JSON.stringify(m.body);
    return (mode = {kind: 'status', status, retryAfter: m.retry_after, body, count});
}

function onControl(req, res, url) {
    const route = `${req.method} ${url.pathname}`;
    if (route === 'GET /control/spans') return getSpans(url.searchParams, res);
    if (route === 'GET /control/requests') return sendJson(res, 200, requests);
    if (route === 'POST /control/reset') {
        spans = [];
        requests = [];
        mode = null;
        return sendJson(res, 200, {ok: true});
    }
    if (route === 'POST /control/mode') {
        return readBody(req, (body) => {
            try {
                setMode(JSON.parse(body.toString() || '{}'));
                sendJson(res, 200, mode || {kind: 'normal'});
            } catch (e) {
                sendJson(res, 400, {error: e.message});
            }
        });
    }
    req.resume();
    sendJson(res, 404, {error: `no ${route}`});
}

// ---- main ---------------------------------------------------------------------

async function main() {
    if (opts.capture) fs.mkdirSync(opts.capture, {recursive: true});
    mock = new MockOtlpServer({log: mockLog, services: ['http'], httpHostname: '127.0.0.1',
        httpPort: 0, onTrace});
    await mock.start();

    // requestTimeout 0: a hung export stays open as long as the exporter waits.
    const server = http.createServer({requestTimeout: 0}, (req, res) => {
        const url = new URL(req.url, 'http://x');
        if (url.pathname.startsWith('/control/')) return onControl(req, res, url);
        if (req.method === 'POST' && url.pathname === '/v1/traces') return onExport(req, res);
        req.resume();
        sendJson(res, 404, {code: 5, message: `no ${req.method} ${url.pathname}`});
    });
    server.on('clientError', (e, sock) => {
        logErr('client error:', e.message);
        sock.destroy();
    });
    server.listen(opts.port, '127.0.0.1');
    await once(server, 'listening');      // rejects on 'error' (port in use)
    const port = server.address().port;
    if (opts.readyFile) {                 // written whole, then renamed
        fs.writeFileSync(`${opts.readyFile}.tmp`, `${port}\n`);
        fs.renameSync(`${opts.readyFile}.tmp`, opts.readyFile);
    }
    process.stdout.write(`listening ${port}\n`);

    const stop = (sig) => {
        logErr(`${sig}: exiting (${hung.size} hung export(s) dropped)`);
        server.close();
        server.closeAllConnections();     // the hung ones too
        process.exit(0);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
}

main().catch((e) => {
    logErr('cannot start:', e);
    process.exit(1);
});
