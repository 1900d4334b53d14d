// Recorded bytes the server has not confirmed yet, kept in IndexedDB so that a reload or a
// closed tab loses nothing: one "uploads" record per upload (url, message id, share URL,
// mime type, total length once known, offset the server confirmed) and its chunks in
// "chunks", keyed [url, offset]. Confirmed chunks are deleted as the server confirms them,
// the whole record once the upload is finished. On load, an unfinished record is offered
// for upload ("Upload it now") or deletion ("Discard").

import { api, follow } from "./messages.js";
import { T, $, clearError, csrf, progress, say, setStatus, showError, showShare, urls } from "./page.js";
import { TusStream, reopen } from "./tus.js";

const DB = "relay-recorder";
const UPLOADS = "uploads";
const CHUNKS = "chunks";

let opening = null;

function db() {
  if (!opening) {
    opening = new Promise((resolve, reject) => {
      const request = indexedDB.open(DB, 1);
      request.onupgradeneeded = () => {
        request.result.createObjectStore(UPLOADS, { keyPath: "url" });
        request.result.createObjectStore(CHUNKS, { keyPath: ["url", "offset"] });
      };
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    opening.catch(() => {
      opening = null;
    });
  }
  return opening;
}

// Runs work(stores) in one readwrite transaction; resolves when it is committed.
async function write(work) {
  const database = await db();
  return new Promise((resolve, reject) => {
    const tx = database.transaction([UPLOADS, CHUNKS], "readwrite");
    work(tx.objectStore(UPLOADS), tx.objectStore(CHUNKS));
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

function result(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

function chunkRange(url, below = Infinity) {
  return IDBKeyRange.bound([url, 0], [url, below], false, true);
}

function quietly(promise) {
  promise.catch(() => {}); // a browser without IndexedDB still records and uploads
}

function update(url, change) {
  return write((uploads) => {
    uploads.get(url).onsuccess = (event) => {
      const record = event.target.result;
      if (record) uploads.put(change(record));
    };
  });
}

export function forget(url) {
  if (!url) return Promise.resolve();
  const done = write((uploads, chunks) => {
    uploads.delete(url);
    chunks.delete(chunkRange(url));
  });
  quietly(done);
  return done;
}

// A TusStream whose unconfirmed bytes are also in IndexedDB until the upload is finished.
export function keptStream(message, mimeType, options = {}) {
  const url = message.upload_url;
  quietly(
    write((uploads) =>
      uploads.put({
        url,
        messageId: message.id,
        messageUrl: urls.message(message.id),
        shareUrl: message.share_url || "",
        mimeType: mimeType || "",
        total: null,
        acked: 0,
        created: Date.now(),
      }),
    ),
  );
  const onConfirm = (offset) => {
    quietly(
      write((uploads, chunks) => {
        // Every chunk that ends at or before `offset` is on the server.
        chunks.openCursor(chunkRange(url, offset)).onsuccess = (event) => {
          const cursor = event.target.result;
          if (!cursor) return;
          if (cursor.value.offset + cursor.value.size <= offset) cursor.delete();
          cursor.continue();
        };
        uploads.get(url).onsuccess = (event) => {
          const record = event.target.result;
          if (record && offset > record.acked) uploads.put({ ...record, acked: offset });
        };
      }),
    );
  };
  const stream = new TusStream(url, { ...options, onConfirm });
  const append = stream.append.bind(stream);
  stream.append = (blob) => {
    if (blob?.size && stream.length === null) {
      const chunk = { url, offset: stream.appended, size: blob.size, blob };
      quietly(write((uploads, chunks) => chunks.put(chunk)));
    }
    append(blob);
  };
  const finish = stream.finish.bind(stream);
  stream.finish = async (total = stream.appended) => {
    quietly(update(url, (record) => ({ ...record, total })));
    await finish(total);
    await forget(url).catch(() => {});
  };
  return stream;
}

// Unfinished uploads this page can resume: a reply link's page only its own, since a guest's
// session counts under that link alone.
async function unfinished() {
  const database = await db();
  const tx = database.transaction([UPLOADS], "readonly");
  const records = await result(tx.objectStore(UPLOADS).getAll());
  const here = (record) => new URL(record.url, location.href).pathname.startsWith(urls.uploads);
  return records.filter(here).sort((a, b) => a.created - b.created);
}

async function chunksOf(url) {
  const database = await db();
  const tx = database.transaction([CHUNKS], "readonly");
  return result(tx.objectStore(CHUNKS).getAll(chunkRange(url)));
}

// The stored bytes as one Blob from `base` on; an error if some are missing.
async function storedBytes(record) {
  const chunks = (await chunksOf(record.url)).sort((a, b) => a.offset - b.offset);
  const base = chunks.length ? chunks[0].offset : record.acked;
  let end = base;
  for (const chunk of chunks) {
    if (chunk.offset !== end) throw new Error(`Bytes ${end}-${chunk.offset} are missing.`);
    end += chunk.size;
  }
  if (record.total !== null && record.total !== end) {
    throw new Error(`${end} bytes are kept, ${record.total} were recorded.`);
  }
  return { base, blob: new Blob(chunks.map((chunk) => chunk.blob), { type: record.mimeType }) };
}

// On page load: offer each unfinished recording in turn. `busy()` is true while the
// recorder records or uploads something else; `options` are the TusStream retry rules.
export async function offerPending(busy, options = {}) {
  const notice = $("pending");
  const uploadButton = $("pending-upload");
  const discardButton = $("pending-discard");
  let records;
  try {
    records = await unfinished();
  } catch {
    return; // no IndexedDB here: nothing was kept
  }
  let record = null;
  let following = null; // the record whose processing this notice follows
  const next = () => {
    record = records.shift() || null;
    notice.hidden = !record;
  };
  const enable = (on) => {
    uploadButton.disabled = !on;
    discardButton.disabled = !on;
  };

  uploadButton.addEventListener("click", async () => {
    const current = record;
    if (!current || busy()) return;
    enable(false);
    clearError();
    const message = { id: current.messageId, share_url: current.shareUrl };
    following = current;
    showShare(message, { deletable: false });
    setStatus(say(T.status_uploading_percent, { percent: 0 }));
    let total;
    try {
      const { base, blob } = await storedBytes(current);
      total = base + blob.size;
      const stream = await reopen(current.url, blob, base, {
        csrf,
        ...options,
        onProgress: ({ sent }) => setStatus(say(T.status_uploading_percent, { percent: progress(sent, total) })),
      });
      await stream.finish(total);
    } catch {
      showError(T.pending_failed);
      enable(true);
      return;
    }
    await forget(current.url).catch(() => {});
    progress(1, 1);
    enable(true);
    next();
    await follow(message, () => !busy() && following === current);
  });

  discardButton.addEventListener("click", async () => {
    const current = record;
    if (!current) return;
    enable(false);
    clearError();
    try {
      await api(current.messageUrl || urls.message(current.messageId), { method: "DELETE" });
    } catch (error) {
      showError(error.message);
      enable(true);
      return;
    }
    await forget(current.url).catch(() => {});
    setStatus(T.discarded);
    enable(true);
    next();
  });

  next();
}
