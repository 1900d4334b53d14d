// A small tus 1.0 client: stream Blob chunks in order to an upload (deferred length), or
// upload a whole file. Bytes are kept until the server has confirmed them, and every
// error ends in a HEAD that tells where to resume, so no byte is sent twice or lost.

const TUS_VERSION = "1.0.0";
const OCTETS = "application/offset+octet-stream";
const MAX_PATCH_BYTES = 5 * 1024 * 1024;
const RETRYABLE = new Set([423, 429, 500, 502, 503, 504]);

export class TusError extends Error {
  constructor(message, status = 0, retryable = false) {
    super(message);
    this.name = "TusError";
    this.status = status;
    this.retryable = retryable;
  }
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function offsetOf(response) {
  const value = Number.parseInt(response.headers.get("Upload-Offset") ?? "", 10);
  return Number.isFinite(value) && value >= 0 ? value : null;
}

async function detailOf(response) {
  try {
    const body = await response.json();
    return body.detail || body.error || `HTTP ${response.status}`;
  } catch {
    return `HTTP ${response.status}`;
  }
}

function base64(text) {
  const bytes = new TextEncoder().encode(text);
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

export function metadataHeader(metadata) {
  return Object.entries(metadata)
    .filter(([, value]) => value !== undefined && value !== null)
    .map(([key, value]) => `${key} ${base64(String(value))}`)
    .join(",");
}

export class TusStream {
  // options: csrf, onProgress({sent, total, done}), retries, delayMs, offset (already on server),
  // onConfirm(offset): the server has every byte before offset
  constructor(url, options = {}) {
    this.url = url;
    this.csrf = options.csrf || "";
    this.onProgress = options.onProgress || (() => {});
    this.onConfirm = options.onConfirm || (() => {});
    this.retries = options.retries ?? 6;
    this.delayMs = options.delayMs ?? 500;
    this.offset = options.offset ?? 0; // bytes the server has confirmed
    this.base = this.offset; // absolute position of the first byte kept in `kept`
    this.kept = []; // Blobs not yet confirmed, in order
    this.keptBytes = 0;
    this.length = null; // total, once known
    this.done = false;
    this.error = null;
    this.running = null;
  }

  get appended() {
    return this.base + this.keptBytes;
  }

  append(blob) {
    if (this.length !== null) throw new TusError("The upload is finished already.");
    if (!blob || blob.size === 0) return;
    this.kept.push(blob);
    this.keptBytes += blob.size;
    this.report();
    if (!this.error) this.kick().catch(() => {});
  }

  // The last PATCH carries Upload-Length; resolves when the server has every byte.
  finish(totalLength = this.appended) {
    if (totalLength !== this.appended) {
      throw new TusError(`finish(${totalLength}) but ${this.appended} bytes were appended.`);
    }
    this.length = totalLength;
    return this.kick();
  }

  // After a failure: start again from the server's offset with the bytes still kept.
  retry() {
    this.error = null;
    return this.kick();
  }

  kick() {
    if (!this.running) {
      this.running = this.pump().then(
        () => {
          this.running = null;
          if (!this.done && this.hasWork()) return this.kick();
          return undefined;
        },
        (error) => {
          this.running = null;
          this.error = error;
          throw error;
        },
      );
    }
    return this.running;
  }

  hasWork() {
    return this.offset < this.appended || (this.length !== null && !this.done);
  }

  report() {
    const total = this.length ?? this.appended;
    this.onProgress({ sent: this.offset, total, done: this.done });
  }

  headers(extra = {}) {
    const headers = { "Tus-Resumable": TUS_VERSION, ...extra };
    if (this.csrf) headers["X-CSRF-Token"] = this.csrf;
    return headers;
  }

  async pump() {
    let failures = 0;
    while (this.hasWork()) {
      try {
        await this.patchOnce();
        failures = 0;
      } catch (error) {
        if (!(error instanceof TusError && !error.retryable) && failures < this.retries) {
          failures += 1;
          await sleep(Math.min(this.delayMs * 2 ** (failures - 1), 8000));
          await this.resync().catch(() => {});
          continue;
        }
        throw error;
      }
    }
  }

  // Forget bytes the server has; the server going backwards is an error we cannot mend.
  confirm(offset) {
    if (offset < this.base || offset > this.appended) {
      throw new TusError(`The server's offset ${offset} is outside ${this.base}-${this.appended}.`);
    }
    if (offset > this.base) {
      const rest = new Blob(this.kept).slice(offset - this.base);
      this.kept = rest.size ? [rest] : [];
      this.keptBytes = rest.size;
      this.base = offset;
    }
    this.offset = offset;
    this.onConfirm(offset);
    this.report();
  }

  async resync() {
    let response;
    try {
      response = await fetch(this.url, { method: "HEAD", headers: this.headers(), cache: "no-store" });
    } catch (error) {
      throw new TusError(String(error), 0, true);
    }
    const offset = offsetOf(response);
    if (!response.ok || offset === null) {
      throw new TusError(`HEAD answered ${response.status}`, response.status, RETRYABLE.has(response.status));
    }
    this.confirm(offset);
    if (this.length !== null && offset === this.length && !response.headers.get("Upload-Defer-Length")) {
      this.done = true;
      this.report();
    }
  }

  async patchOnce() {
    const start = this.offset;
    const body = new Blob(this.kept).slice(start - this.base, start - this.base + MAX_PATCH_BYTES);
    const last = this.length !== null && start + body.size === this.length;
    const extra = { "Content-Type": OCTETS, "Upload-Offset": String(start) };
    if (last) extra["Upload-Length"] = String(this.length);
    let response;
    try {
      response = await fetch(this.url, { method: "PATCH", headers: this.headers(extra), body });
    } catch (error) {
      throw new TusError(String(error), 0, true);
    }
    if (response.status === 409) {
      const offset = offsetOf(response);
      if (offset === null) await this.resync();
      else this.confirm(offset);
      return;
    }
    if (!response.ok) {
      const retryable = RETRYABLE.has(response.status);
      throw new TusError(await detailOf(response), response.status, retryable);
    }
    const offset = offsetOf(response) ?? start + body.size;
    this.confirm(offset);
    if (last && offset === this.length) {
      this.done = true;
      this.report();
    }
  }
}

// A file the user picked: create an upload of known length, then PATCH it in pieces.
// retries and delayMs are passed to the TusStream. If the PATCHes give up, the error
// carries `stream` and `url`, so the caller can offer a Retry (stream.retry(), then finish).
export async function uploadFile(
  file,
  { csrf = "", metadata = {}, onProgress, endpoint = "/api/uploads/", retries, delayMs } = {},
) {
  const headers = {
    "Tus-Resumable": TUS_VERSION,
    "Upload-Length": String(file.size),
    "Upload-Metadata": metadataHeader({ filename: file.name, filetype: file.type, ...metadata }),
  };
  if (csrf) headers["X-CSRF-Token"] = csrf;
  const created = await fetch(endpoint, { method: "POST", headers });
  if (created.status !== 201) {
    throw new TusError(await detailOf(created), created.status);
  }
  const url = new URL(created.headers.get("Location"), location.href).href;
  const stream = new TusStream(url, { csrf, onProgress, retries, delayMs });
  stream.append(file);
  try {
    await stream.finish(file.size);
  } catch (error) {
    error.stream = stream;
    error.url = url;
    throw error;
  }
  return { url, stream };
}

// After a reload: `blob` holds the bytes from `base` on. A HEAD (retried as PATCHes are)
// tells which of them the server still lacks; append nothing more, then finish().
export async function reopen(url, blob, base, options = {}) {
  const stream = new TusStream(url, { ...options, offset: base });
  if (blob.size) {
    stream.kept = [blob];
    stream.keptBytes = blob.size;
  }
  for (let failures = 0; ; failures += 1) {
    try {
      await stream.resync();
      return stream;
    } catch (error) {
      if (!error.retryable || failures >= stream.retries) throw error;
      await sleep(Math.min(stream.delayMs * 2 ** failures, 8000));
    }
  }
}
