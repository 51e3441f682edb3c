/*
 * The ward-intranet chat page: ES modules, no framework, no build step.
 *
 *   dom.js            element helpers; text-only rendering
 *   rasa-client.js    /config.json, Rasa's REST channel, sender ids, the offline message
 *   answer-render.js  answer layout (Do now, Say, Escalate, Why, What to record)
 *   record-copy.js    copy buttons and "Copy the whole answer"
 *   feedback.js       "Helpful" / "Not helpful" (with a reason)
 *   main.js           this file: the question form, sending, "New situation"
 *
 * Nothing is stored in the browser: no cookies, no local or session storage.
 */

import { announce, el, hidden } from "./dom.js";
import { renderMessages } from "./answer-render.js";
import {
  hideOffline, isResetWord, loadClauses, loadConfig, noReply, post, resetSender, showOffline,
} from "./rasa-client.js";

let busy = false;
const els = {};

function setBusy(on) {
  busy = on;
  els.log.setAttribute("aria-busy", on ? "true" : "false");
  // aria-disabled, not disabled: a focused button that is disabled drops keyboard focus.
  els.send.setAttribute("aria-disabled", on ? "true" : "false");
  els.send.textContent = on ? "Sending…" : "Send";
}

function addUserTurn(text) {
  const turn = el("div", { className: "chat-turn chat-turn--user" }, [
    hidden("You asked: "),
    el("p", { className: "chat-turn__text", text }),
  ]);
  els.log.appendChild(turn);
  els.starters.hidden = true;
  return turn;
}

function addPending() {
  const node = el("p", { className: "chat-pending", text: "Looking for an answer…", attrs: { "aria-hidden": "true" } });
  els.log.appendChild(node);
  return node;
}

/**
 * Send one message. `shown` is what the conversation shows as the user's turn
 * (null for none). Resolves true when the bot answered.
 */
function send(message, shown, opts = {}) {
  if (busy) { return Promise.resolve(false); }
  setBusy(true);
  const userTurn = shown ? addUserTurn(shown) : null;
  const pending = addPending();
  return post(message).then((messages) => {
    pending.remove();
    const rendered = renderMessages(els.log, messages, (payload, label) => send(payload, label));
    if (!rendered.length) { throw noReply(); }
    hideOffline();
    setBusy(false);
    const first = rendered[0];
    if (opts.keepFocus) {
      els.input.focus({ preventScroll: true });
    } else {
      const heading = first.querySelector("[data-focus-target]");
      if (heading) { heading.focus({ preventScroll: true }); }
    }
    first.scrollIntoView({ block: "start", behavior: "auto" });
    return true;
  }).catch((err) => {
    pending.remove();
    if (userTurn) { userTurn.remove(); }
    if (!els.log.children.length) { els.starters.hidden = false; }
    setBusy(false);
    showOffline(err, Boolean(opts.typed));
    if (opts.typed) { els.input.focus(); }
    return false;
  });
}

/** Send the question in the box; the box is emptied only once the bot has answered. */
function ask(text, keepFocus) {
  send(text, text, { typed: true, keepFocus }).then((ok) => {
    if (ok && els.input.value.trim() === text) { els.input.value = ""; }
  });
}

function newSituation() {
  resetSender();
  els.log.textContent = "";
  els.input.value = "";
  hideOffline();
  els.starters.hidden = false;
  els.input.focus();
  announce("New situation: the conversation has been cleared.");
}

function onSubmit(event) {
  event.preventDefault();
  const text = els.input.value.trim();
  if (!text) {
    announce("Type a question first.");
    els.input.focus();
    return;
  }
  // The reset words come with /config.json: wait for it (or its failure) before deciding.
  loadConfig().catch(() => null).then(() => {
    if (isResetWord(text)) { newSituation(); } else { ask(text, true); }
  });
}

/** Say whose policy the answers follow: the department's name under the heading, and in the title. */
function showDepartment(cfg) {
  const line = document.getElementById("department");
  if (!line || !cfg.departmentName) { return; }
  line.textContent = `${cfg.departmentName}: answers follow this department's policy and the trust's.`;
  line.hidden = false;
  document.title = `${cfg.departmentName} - ${document.title}`;
}

function init() {
  document.body.classList.add("js-enabled", "nhsuk-frontend-supported");
  for (const [key, id] of Object.entries({
    log: "conversation", form: "ask-form", input: "question", send: "send", reset: "new-situation", starters: "starters",
  })) {
    els[key] = document.getElementById(id);
  }
  els.form.addEventListener("submit", onSubmit);
  els.reset.addEventListener("click", newSituation);
  for (const b of document.querySelectorAll("#starter-list button[data-question]")) {
    b.addEventListener("click", () => {
      // Through the question box, so the question is kept there if it cannot be sent.
      if (busy) { return; }
      els.input.value = b.getAttribute("data-question");
      ask(els.input.value, false);
    });
  }
  loadConfig()
    .then((cfg) => {
      showDepartment(cfg);
      document.documentElement.setAttribute("data-config", "loaded");
    })
    .catch(() => { /* tried again on the first send */ });
  loadClauses();
}

// Module scripts run after the document is parsed.
init();
