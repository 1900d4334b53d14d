// Every request of the thread page goes through `request`, which adds the CSRF header.

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail || `HTTP ${status}`);
    this.status = status;
  }
}

// The JSON the server embeds in the page (<script type="application/json" id=...>).
export function readJson(id) {
  try {
    return JSON.parse(document.getElementById(id).textContent);
  } catch {
    return null;
  }
}

export function makeApi(csrf) {
  let token = csrf;

  async function request(method, url, body, { keepalive = false } = {}) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (method !== "GET" && token) headers["X-CSRF-Token"] = token;
    let response;
    try {
      response = await fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "same-origin",
        cache: "no-store",
        keepalive,
      });
    } catch (error) {
      throw new ApiError(0, error.message);
    }
    if (!response.ok) {
      const data = await response.json().catch(() => ({}));
      throw new ApiError(response.status, data.detail || data.error || response.statusText);
    }
    if (response.status === 204) return null;
    return response.json().catch(() => null);
  }

  return {
    setCsrf(value) {
      if (value) token = value;
    },
    get: (url) => request("GET", url),
    post: (url, body) => request("POST", url, body),
    put: (url, body, options) => request("PUT", url, body, options),
    patch: (url, body) => request("PATCH", url, body),
    del: (url, body) => request("DELETE", url, body),
  };
}

// Rendition JSON (waveform, silences) rarely changes: fetch each URL once per page.
const cache = new Map();

export function cachedJson(api, url) {
  if (!url) return Promise.resolve(null);
  if (!cache.has(url)) {
    cache.set(
      url,
      api.get(url).catch(() => {
        cache.delete(url); // let a later attempt try again
        return null;
      }),
    );
  }
  return cache.get(url);
}
