// A minimal browser client of the Resourcify API, on another origin than the
// API. Everything it learns is left on `window` for the harness to read:
//   window.resourcify  functions that call the API and resolve to
//                      {status, headers, body} (or {networkError})
//   window.stream      what the EventSource received: events, opens, errors
"use strict";

const API = new URLSearchParams(location.search).get("api");

// Response headers the harness wants to read. Content-Type is always readable
// (CORS-safelisted); the others are readable only if the server exposes them.
const READ_HEADERS = ["content-type", "location", "etag", "x-resourcify-position", "x-request-id"];

const STREAM_EVENT_TYPES = [
  "resource.submitted", "resource.edited", "resource.voted", "resource.retracted",
  "resource.hidden", "resource.restored", "resource.commented", "resync", "too-slow",
];

function log(line) {
  document.getElementById("log").textContent += line + "\n";
}

async function call(method, path, { token, body, headers = {} } = {}) {
  const sent = { ...headers };
  if (token) sent["Authorization"] = "Bearer " + token;
  let payload;
  if (body !== undefined) {
    sent["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(API + path, { method, headers: sent, body: payload });
  } catch (error) {
    // A CORS refusal shows up here as "TypeError: Failed to fetch".
    log(`${method} ${path} -> network error ${error}`);
    return { networkError: String(error) };
  }
  const result = { status: response.status, headers: {} };
  for (const name of READ_HEADERS) result.headers[name] = response.headers.get(name);
  const text = await response.text();
  try {
    result.body = text ? JSON.parse(text) : null;
  } catch {
    result.body = text;
  }
  log(`${method} ${path} -> ${response.status}`);
  return result;
}

window.resourcify = {
  api: API,
  register: (username, email, password) =>
    call("POST", "/v1/users", { body: { username, email, password } }),
  login: (login, password, minPosition) =>
    call("POST", `/v1/sessions?min_position=${minPosition}`, { body: { login, password } }),
  submit: (token, resource, idempotencyKey) =>
    call("POST", "/v1/resources", {
      token, body: resource, headers: { "Idempotency-Key": idempotencyKey },
    }),
  read: (id, minPosition) =>
    call("GET", `/v1/resources/${encodeURIComponent(id)}`, {
      headers: { "X-Resourcify-Min-Position": String(minPosition) },
    }),
  startStream,
  stopStream,
};

window.stream = { source: null, events: [], opens: 0, errors: 0 };

function startStream() {
  const s = window.stream;
  if (s.source) return;
  s.source = new EventSource(API + "/v1/streams/resources");
  s.source.onopen = () => { s.opens += 1; log(`stream open #${s.opens}`); };
  // The browser reconnects by itself after an error unless the answer was
  // final (readyState CLOSED); the harness reads both.
  s.source.onerror = () => {
    s.errors += 1;
    log(`stream error #${s.errors}, readyState ${s.source.readyState}`);
  };
  const record = (event) => {
    let data = event.data;
    try { data = JSON.parse(event.data); } catch { /* keep the text */ }
    s.events.push({ type: event.type, id: event.lastEventId, data, at: Date.now() });
    log(`event ${event.type} id=${event.lastEventId}`);
  };
  for (const type of STREAM_EVENT_TYPES) s.source.addEventListener(type, record);
  s.source.onmessage = record; // unnamed events, which the server should not send
}

function stopStream() {
  const s = window.stream;
  if (s.source) s.source.close();
  s.source = null;
}

window.streamState = () => (window.stream.source ? window.stream.source.readyState : -1);
