/*
 * "Was this answer helpful?" under each answer. "Helpful" is sent at once;
 * "Not helpful" first asks why (one of the core's reasons, from /config.json)
 * and takes an optional short comment, then sends one feedback message:
 *
 *   /feedback{"helpful": "no", "answer_id": "...", "reason": "unclear", "comment": "..."}
 *
 * `reason` and `comment` are left out when not given; "Helpful" sends
 * /feedback{"helpful": "yes", "answer_id": "..."} as before.
 */

import { asText, button, el } from "./dom.js";
import { currentConfig, post } from "./rasa-client.js";

export function feedbackMessage(helpful, answerId, reason = "", comment = "") {
  const data = { helpful: helpful ? "yes" : "no", answer_id: answerId };
  if (!helpful && reason) { data.reason = reason; }
  if (!helpful && comment) { data.comment = comment; }
  return "/feedback" + JSON.stringify(data);
}

export function feedbackBox(answerId, turnId) {
  const id = `${turnId}-feedback`;
  const box = el("div", { className: "chat-feedback", attrs: { role: "group", "aria-labelledby": id } });
  box.appendChild(el("p", { className: "chat-feedback__question", text: "Was this answer helpful?", attrs: { id } }));
  const result = el("p", { className: "chat-feedback__result", attrs: { role: "status" } });
  const config = currentConfig();
  const reasons = config ? config.feedbackReasons : [];
  const commentMax = config ? config.commentMax : 500;
  let busy = false;
  let done = false;
  let reason = "";

  // aria-disabled rather than disabled, so keyboard focus stays on the pressed button.
  const controls = [];
  function lock(locked) {
    busy = locked;
    for (const c of controls) { c.setAttribute("aria-disabled", locked ? "true" : "false"); }
    comment.readOnly = locked;
  }

  function give(helpful) {
    if (busy || done) { return; }
    lock(true);
    result.textContent = "";
    const text = helpful ? "" : comment.value.trim().slice(0, commentMax);
    post(feedbackMessage(helpful, answerId, reason, text)).then((messages) => {
      const reply = messages.map((m) => m && m.custom).find((c) => c && c.kind === "feedback");
      if (reply && reply.stored) {
        done = true;
        (helpful ? yes : no).setAttribute("aria-pressed", "true");
        if (helpful) { why.hidden = true; no.setAttribute("aria-expanded", "false"); }
        result.textContent = "Thank you: your feedback is stored with this answer.";
        box.classList.add("chat-feedback--done");
      } else {
        result.textContent = asText(reply && reply.reply) || "Your feedback could not be stored. Please try again.";
        lock(false);
      }
    }).catch(() => {
      result.textContent = "The assistant cannot be reached, so your feedback was not stored. Please try again later.";
      lock(false);
    });
  }

  const whyId = `${turnId}-feedback-why`;
  const yes = button("Helpful", "nhsuk-button--secondary nhsuk-button--small chat-feedback__yes", () => give(true));
  const no = button("Not helpful", "nhsuk-button--secondary nhsuk-button--small chat-feedback__no", () => {
    if (busy || done) { return; }
    const open = why.hidden;
    why.hidden = !open;
    no.setAttribute("aria-expanded", open ? "true" : "false");
    if (open) {
      const first = why.querySelector("button, textarea");
      if (first) { first.focus(); }
    }
  }, { "aria-expanded": "false", "aria-controls": whyId });
  controls.push(yes, no);
  box.appendChild(el("div", { className: "chat-feedback__buttons" }, [yes, no]));

  // "Not helpful": why, and an optional comment.
  const why = el("div", { className: "chat-feedback__why", attrs: { id: whyId, hidden: "hidden" } });
  const reasonsId = `${turnId}-feedback-reasons`;
  if (reasons.length) {
    why.appendChild(el("p", { className: "chat-feedback__question", text: "What was wrong with it?", attrs: { id: reasonsId } }));
    const list = el("ul", { className: "chat-feedback__reasons" });
    const group = el("div", { attrs: { role: "group", "aria-labelledby": reasonsId } }, [list]);
    const reasonButtons = reasons.map((r) => {
      const b = button(r.label, "nhsuk-button--secondary nhsuk-button--small chat-feedback__reason", () => {
        if (busy || done) { return; }
        reason = b.getAttribute("aria-pressed") === "true" ? "" : r.code; // pressing again un-chooses it
        for (const other of reasonButtons) {
          other.setAttribute("aria-pressed", other === b && reason ? "true" : "false");
        }
      }, { "aria-pressed": "false", "data-reason": r.code });
      list.appendChild(el("li", {}, [b]));
      return b;
    });
    controls.push(...reasonButtons);
    why.appendChild(group);
  }
  const commentId = `${turnId}-feedback-comment`;
  const comment = el("textarea", {
    className: "nhsuk-textarea chat-feedback__comment",
    attrs: { id: commentId, name: commentId, rows: 3, maxlength: commentMax, "aria-describedby": `${commentId}-hint` },
  });
  why.appendChild(el("div", { className: "nhsuk-form-group chat-feedback__form" }, [
    el("label", { className: "nhsuk-label", text: "Anything to add? (optional)", attrs: { for: commentId } }),
    el("div", { className: "nhsuk-hint", text: `Up to ${commentMax} characters. No names or other details that could identify anyone.`, attrs: { id: `${commentId}-hint` } }),
    comment,
  ]));
  const sendWhy = button("Send feedback", "nhsuk-button--small chat-feedback__send", () => give(false));
  controls.push(sendWhy);
  why.appendChild(sendWhy);
  box.appendChild(why);
  box.appendChild(result);
  return box;
}
