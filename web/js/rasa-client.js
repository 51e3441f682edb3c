/*
 * Talking to the servers: the page server's /config.json and /api/clauses, and
 * Rasa's REST channel (POST {rasaUrl}/webhooks/rest/webhook). Also the sender
 * id (one per conversation, never stored) and the "cannot be reached" message.
 */

import { asList, asText } from "./dom.js";

const REQUEST_TIMEOUT_MS = 45000;

/** What /config.json said; null until it has loaded. */
let config = null;
let configLoading = null;
let sender = newSender();
let clauses = null; // Map id -> clause, from /api/clauses

/**
 * The department this page is for: the id in a /d/<id>/ address (the link a department puts on its
 * intranet), else "" (the trust's policy alone). The server says whether it knows the id.
 */
const PAGE_DEPARTMENT = (() => {
  const found = /^\/d\/([a-z0-9]+(?:-[a-z0-9]+)*)\/?/.exec(window.location.pathname);
  return found ? found[1] : "";
})();
const DEPARTMENT_QUERY = PAGE_DEPARTMENT ? `?department=${encodeURIComponent(PAGE_DEPARTMENT)}` : "";

function newSender() {
  // crypto.getRandomValues works on plain-http intranet pages too (randomUUID needs a secure context).
  const bytes = new Uint8Array(16);
  window.crypto.getRandomValues(bytes);
  return "web-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Start a new conversation: Rasa sees a new sender with no history. */
export function resetSender() {
  sender = newSender();
}

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * Load /config.json (once; again after a failure). It carries what the core owns:
 * the reset words and the "Not helpful" reasons.
 */
export function loadConfig() {
  if (config) { return Promise.resolve(config); }
  if (!configLoading) {
    configLoading = fetch(`/config.json${DEPARTMENT_QUERY}`, { cache: "no-store", credentials: "omit" })
      .then((r) => { if (!r.ok) { throw new Error(`config ${r.status}`); } return r.json(); })
      .then((raw) => {
        const words = asList(raw.reset_words).map(asText).filter(Boolean);
        config = {
          rasaUrl: asText(raw.rasaUrl).replace(/\/+$/, ""),
          resetWords: words,
          // The same shape as the core's NEW_SITUATION pattern (bot/answering/small_talk.py).
          resetPattern: words.length
            ? new RegExp(`^\\s*(${words.map(escapeRegExp).join("|")})\\s*[.!]?\\s*$`, "i")
            : null,
          feedbackReasons: asList(raw.feedback_reasons)
            .filter((r) => r && r.code && r.label)
            .map((r) => ({ code: asText(r.code), label: asText(r.label) })),
          commentMax: Number(raw.feedback_comment_max) > 0 ? Number(raw.feedback_comment_max) : 500,
          // only an id the server knows is sent with each message
          department: asText(raw.department),
          departmentName: asText(raw.department_name),
        };
        return config;
      })
      .finally(() => { configLoading = null; });
  }
  return configLoading;
}

/** The loaded config, or null. */
export function currentConfig() {
  return config;
}

/** True when the text is one of the core's reset words ("new situation", ...). */
export function isResetWord(text) {
  return Boolean(config && config.resetPattern && config.resetPattern.test(text));
}

export function loadClauses() {
  return fetch(`/api/clauses${DEPARTMENT_QUERY}`, { credentials: "omit" })
    .then((r) => { if (!r.ok) { throw new Error(`clauses ${r.status}`); } return r.json(); })
    .then((items) => {
      clauses = new Map();
      for (const c of asList(items)) { if (c && c.id) { clauses.set(String(c.id), c); } }
    })
    .catch(() => { clauses = null; });
}

/** One clause for a "Read the clause" panel: from the list loaded at start, else asked for. */
export function getClause(cite) {
  const cached = clauses && clauses.get(cite);
  if (cached) { return Promise.resolve(cached); }
  return fetch(`/api/clauses/${encodeURIComponent(cite)}${DEPARTMENT_QUERY}`, { credentials: "omit" })
    .then((r) => { if (!r.ok) { throw new Error(String(r.status)); } return r.json(); });
}

function failure(message, reason) {
  const err = new Error(message);
  err.reason = reason;
  return err;
}

/** Send one message to Rasa; resolves with the list of bot messages. */
export function post(message) {
  const controller = new AbortController();
  const timer = window.setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
  return loadConfig()
    .then((cfg) => fetch(`${cfg.rasaUrl}/webhooks/rest/webhook`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      // the department travels with every message, so its policy applies from the first answer
      body: JSON.stringify(cfg.department ? { sender, message, metadata: { department: cfg.department } }
        : { sender, message }),
      signal: controller.signal,
      credentials: "omit",
      cache: "no-store",
    }))
    .then((response) => {
      if (!response.ok) {
        throw failure(`HTTP ${response.status}`, `The assistant could not answer (error ${response.status}).`);
      }
      return response.json();
    })
    .then((messages) => {
      if (!Array.isArray(messages)) {
        throw failure("not a list", "The assistant sent something this page cannot show.");
      }
      return messages;
    })
    .finally(() => window.clearTimeout(timer));
}

/** An error for a reply with nothing the page can show. */
export function noReply() {
  return failure("no reply", "The assistant did not reply.");
}

// ---------------------------------------------------------------- offline

/** Show the "cannot be reached" message for a failed send. `typed`: the question is still in the box. */
export function showOffline(err, typed) {
  const reason = (err && err.reason) ||
    (err && err.name === "AbortError" ? "The assistant took too long to answer." : "The assistant cannot be reached just now.");
  const kept = typed
    ? " Your question has not been lost: it is still in the box below. Check the connection, then press Send to try again."
    : " Nothing was sent. Check the connection, then try again.";
  const box = document.getElementById("offline");
  document.getElementById("offline-title").textContent =
    err && err.reason ? "The assistant did not answer" : "The assistant cannot be reached";
  document.getElementById("offline-detail").textContent = reason + kept;
  box.hidden = false;
  box.scrollIntoView({ block: "nearest" });
}

export function hideOffline() {
  document.getElementById("offline").hidden = true;
}
