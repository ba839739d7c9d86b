// The JSON API over fetch: data back, or an ApiError carrying the API's {error: {code, message, where}}.

import { pages } from "./urls.js";

export class ApiError extends Error {
  constructor(status, code, message, where) {
    super(message);
    this.status = status;
    this.code = code;
    this.where = where;
  }
}

function goToLogin() {
  location.assign(pages.login(location.pathname + location.search));
}

// A status + body text → the data, or an ApiError; a 401 outside the login page leads to the login.
function decode(status, text) {
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch (_) { data = null; }
  }
  if (status >= 200 && status < 300) return data;
  const error = (data && data.error) || {};
  if (status === 401 && document.body.dataset.page !== "login") goToLogin();
  throw new ApiError(status, error.code || `HTTP_${status}`,
    error.message || `The server answered ${status}.`, error.where || null);
}

// `body`: a FormData (sent as multipart), any other value (sent as JSON), or undefined (no body).
export async function request(method, url, body) {
  const init = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
  if (body instanceof FormData) {
    init.body = body;
  } else if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch (_) {
    throw new ApiError(0, "NETWORK", "The Sightline server cannot be reached.", null);
  }
  return decode(response.status, await response.text());
}

export const get = (url) => request("GET", url);
export const post = (url, body) => request("POST", url, body);
export const del = (url) => request("DELETE", url);

// POST multipart with upload progress (fetch cannot report it): onProgress gets a fraction 0–1.
export function upload(url, formData, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    xhr.addEventListener("load", () => {
      try { resolve(decode(xhr.status, xhr.responseText)); } catch (err) { reject(err); }
    });
    xhr.addEventListener("error", () => reject(new ApiError(0, "NETWORK", "The upload was interrupted.", null)));
    xhr.send(formData);
  });
}
