// Uploads one file to a tus 1.0 server with the official tus-js-client (its Node.js API),
// so tests/test_tus_interop.py can check that Relay's /api/uploads/ works with it.
//
//   node tests/interop/upload.mjs <endpoint> <token> <file> <known|deferred> [message-id]
//        [--chunk-size BYTES]
//
// known     the file as an fs.ReadStream: tus-js-client reads its size and sends Upload-Length
//           at creation (one PATCH unless --chunk-size is given).
// deferred  the file as a plain Readable of unknown length (like a recording in progress):
//           `Upload-Defer-Length: 1` at creation, PATCHes of --chunk-size bytes (default
//           256 KiB), and the PATCH that ends the stream carries Upload-Length.
// message-id  sent as Upload-Metadata `message`, so the bytes go to that existing message.
// --pace-ms N  (deferred) each 64 KiB of the file arrives N ms after the last, as from a
//           recorder, so uploads are still running when a test stops a process.
//
// On success prints one JSON line: {"url", "bytes", "requests": [{method, status, ...}]};
// on failure prints the error on stderr and exits with 1 (2 for bad arguments).
// TUS_INTEROP_VERBOSE=1 prints the progress on stderr.

import { createReadStream, statSync } from 'node:fs'
import { basename, extname } from 'node:path'
import { PassThrough, Transform } from 'node:stream'
import { parseArgs } from 'node:util'

import * as tus from 'tus-js-client'

const USAGE =
  'usage: node upload.mjs [--chunk-size BYTES] [--pace-ms N] -- <endpoint> <token> <file> <known|deferred> [message-id]'

function fail(message, code = 1) {
  process.stderr.write(`${message}\n`)
  process.exit(code)
}

let parsed
try {
  parsed = parseArgs({
    allowPositionals: true,
    options: { 'chunk-size': { type: 'string' }, 'pace-ms': { type: 'string' } },
  })
} catch (err) {
  fail(`${err.message}\n${USAGE}`, 2)
}
const [endpoint, token, path, mode, messageId] = parsed.positionals
if (parsed.positionals.length < 4 || parsed.positionals.length > 5) fail(USAGE, 2)
if (mode !== 'known' && mode !== 'deferred') fail(`mode must be known or deferred\n${USAGE}`, 2)

let chunkSize = mode === 'deferred' ? 256 * 1024 : Number.POSITIVE_INFINITY
if (parsed.values['chunk-size'] !== undefined) {
  chunkSize = Number(parsed.values['chunk-size'])
  if (!Number.isInteger(chunkSize) || chunkSize <= 0) fail('--chunk-size must be a positive integer', 2)
}

let size
try {
  size = statSync(path).size
} catch (err) {
  fail(`cannot read ${path}: ${err.message}`, 2)
}

// An fs.ReadStream lets tus-js-client stat the file and re-read any slice (known length). Piped
// through a PassThrough it is just a Readable: tus-js-client then buffers one chunk at a time and
// learns the length only when the stream ends, which needs uploadLengthDeferred and a chunkSize.
// --pace-ms N (deferred): each chunk becomes available N ms after the last, as a recorder's.
const pace = Number(parsed.values['pace-ms'] ?? 0)
const paced = new Transform({
  transform(chunk, _encoding, done) {
    setTimeout(() => done(null, chunk), pace)
  },
})
const source =
  mode === 'known'
    ? createReadStream(path)
    : createReadStream(path, { highWaterMark: 64 * 1024 }).pipe(pace > 0 ? paced : new PassThrough())

const TYPES = { webm: 'video/webm', mp4: 'video/mp4', m4a: 'audio/mp4', ogg: 'audio/ogg', wav: 'audio/wav' }
const metadata = {
  filename: basename(path),
  filetype: TYPES[extname(path).slice(1).toLowerCase()] ?? 'application/octet-stream',
}
if (messageId) metadata.message = messageId

// Every exchange, so the caller can check the protocol, not only the outcome.
const requests = []
let finished = false

const upload = new tus.Upload(source, {
  endpoint,
  headers: { Authorization: `Bearer ${token}` },
  metadata,
  chunkSize,
  uploadLengthDeferred: mode === 'deferred',
  // A retry would hide a protocol error from the outcome; it still shows in `requests`.
  // tus-js-client's own default: what an ordinary client lives with (about 9 s of retries).
  retryDelays: [0, 1000, 3000, 5000],
  // Never resume an upload of an earlier run from a stored URL: every run creates one.
  storeFingerprintForResuming: false,
  onAfterResponse(req, res) {
    const entry = { method: req.getMethod(), status: res.getStatus() }
    for (const [key, header] of [
      ['upload_offset', 'Upload-Offset'],
      ['upload_length', 'Upload-Length'],
      ['upload_defer_length', 'Upload-Defer-Length'],
    ]) {
      const sent = req.getHeader(header)
      if (sent !== undefined) entry[`sent_${key}`] = String(sent)
    }
    const offset = res.getHeader('Upload-Offset')
    if (offset !== undefined) entry.upload_offset = Number(offset)
    requests.push(entry)
  },
  onProgress(bytesSent, bytesTotal) {
    if (process.env.TUS_INTEROP_VERBOSE) {
      process.stderr.write(`progress ${bytesSent}/${bytesTotal ?? '?'}\n`)
    }
  },
  onError(err) {
    finished = true
    fail(`tus upload failed: ${err.message ?? err}\nrequests: ${JSON.stringify(requests)}`)
  },
  onSuccess() {
    finished = true
    process.stdout.write(`${JSON.stringify({ url: upload.url, bytes: size, requests })}\n`)
  },
})

// tus-js-client 4.3.1 stalls when a deferred stream's length is an exact multiple of
// chunkSize (tus/tus-js-client#779): nothing is left to wait for and Node would exit with 0.
process.on('beforeExit', () => {
  if (!finished) {
    fail(`tus upload stalled without success or error\nrequests: ${JSON.stringify(requests)}`)
  }
})

upload.start()
