// The one place the page talks to the public API: the key, the headers, the error shape.

let key = null; // kept here and in sessionStorage only, never in a URL

export class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `HTTP ${status}`);
    this.status = status;
    this.code = error.code;
    this.parameter = error.parameter;
  }
}

export function setKey(value) { key = value; }
export function currentKey() { return key; }

/** Call a public API path with the key in the Authorization header; a JSON `body` is sent as such. */
export async function api(path, params = {}, { method = "GET", body } = {}) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value === null || value === undefined || value === "") continue;
    for (const v of [].concat(value)) query.append(name, v);
  }
  const url = query.toString() ? `${path}?${query}` : path;
  // X-Requested-With: the server then leaves out its Basic challenge, which
  // would make the browser pop up a login dialog on a refused key.
  const headers = { Authorization: `Bearer ${key}`, "X-Requested-With": "XMLHttpRequest", Accept: "application/json" };
  const init = { method, headers, cache: "no-store", credentials: "omit" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(url, init);
  const answer = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, answer);
  return answer;
}
