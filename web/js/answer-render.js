/*
 * Lays out the bot's replies. A structured answer (the `custom` payload, see
 * bot/answer.py and README "The answer") is ordered by urgency:
 *
 *   Do now, Say, Escalate (when there is one)   always open
 *   Why                                          top three reasons, one line each;
 *                                                "Show all reasons (N)" shows the rest
 *                                                and the "Read the clause" panels
 *   What to record (N)                           folded, with a Copy button per template
 *   Keep in mind, Copy the whole answer, feedback
 *
 * Plain text replies, clarifying questions and "not sure" options become text
 * and buttons. Everything is put on the page as text.
 */

import { asList, asText, button, el, hidden, nextId, textBlock } from "./dom.js";
import { feedbackBox } from "./feedback.js";
import { getClause } from "./rasa-client.js";
import { copyAnswerButton, copyTextButton, recordSection } from "./record-copy.js";

// Answers worth rating (not greetings, clarifying questions or quiz steps).
const FEEDBACK_KINDS = ["answer", "clause", "policy", "rule", "decline", "not_sure"];
const TOP_REASONS = 3;

/**
 * Render the REST reply into `log`: structured answers from `custom`, plain text
 * otherwise. `onChoice(payload, label)` sends a button's payload and resolves
 * true when the bot answered. Returns the new bot turns.
 */
export function renderMessages(log, messages, onChoice) {
  const customs = messages.filter((m) => m && m.custom && typeof m.custom === "object");
  const replies = customs.map((m) => asText(m.custom.reply));
  const rendered = [];
  if (messages.length) { retireChoices(log); }
  for (const m of messages) {
    if (!m || typeof m !== "object") { continue; }
    let node = null;
    if (m.custom && typeof m.custom === "object") {
      node = renderAnswer(m.custom, onChoice);
    } else if (m.text && !replies.includes(asText(m.text))) {
      node = renderPlain(asText(m.text), asList(m.buttons).map((b) => ({ label: b && b.title, payload: b && b.payload })), onChoice);
    } else if (m.image) {
      node = renderPlain("The assistant sent an image, which this page does not show.", [], onChoice);
    }
    if (node) {
      log.appendChild(node);
      rendered.push(node);
    }
  }
  return rendered;
}

/** Choice buttons answer the latest question only: older ones stop working once the bot replies again. */
function retireChoices(log) {
  for (const b of log.querySelectorAll(".chat-options button:not([disabled])")) { b.disabled = true; }
}

function botTurn() {
  const id = nextId("answer");
  const content = el("div", { className: "nhsuk-card__content" });
  const article = el("article", { className: "chat-turn chat-turn--bot nhsuk-card", attrs: { "aria-labelledby": `${id}-title`, id } }, [content]);
  return { id, article, content };
}

function turnHeading(turn, text, visuallyHiddenPrefix) {
  const h = el("h3", {
    className: "nhsuk-card__heading nhsuk-heading-m chat-answer__title",
    attrs: { id: `${turn.id}-title`, tabindex: "-1", "data-focus-target": "true" },
  }, [visuallyHiddenPrefix ? hidden(visuallyHiddenPrefix) : null, text]);
  turn.content.appendChild(h);
  return h;
}

function renderPlain(text, buttons, onChoice) {
  const turn = botTurn();
  turnHeading(turn, "Reply from the assistant", null).classList.add("nhsuk-u-visually-hidden");
  turn.content.appendChild(textBlock(text));
  if (buttons.length) { turn.content.appendChild(choiceButtons(buttons, `${turn.id}-title`, onChoice)); }
  return turn.article;
}

function renderAnswer(data, onChoice) {
  const kind = asText(data.kind) || "answer";
  if (kind === "feedback") {
    return renderPlain(asText(data.reply) || "Thank you for your feedback.", [], onChoice);
  }
  const turn = botTurn();
  turn.article.classList.add("chat-answer", `chat-answer--${kind.replace(/[^a-z_]/g, "")}`);
  turn.article.setAttribute("data-kind", kind);
  if (data.answer_id) { turn.article.setAttribute("data-answer-id", asText(data.answer_id)); }

  if (kind === "clarify") {
    turnHeading(turn, asText(data.clarify) || "Can you tell me a little more?", "Question from the assistant: ");
  } else if (kind === "answer") {
    turnHeading(turn, asText(data.title) || "What to do", "Answer: ");
  } else if (data.title) {
    turnHeading(turn, asText(data.title), "Reply: ");
  } else {
    turnHeading(turn, defaultTitle(kind), null).classList.add("nhsuk-u-visually-hidden");
  }

  for (const w of asList(data.warnings)) { turn.content.appendChild(warning(asText(w))); }

  if (kind === "answer") {
    renderSections(turn, data);
  } else if (data.text) {
    turn.content.appendChild(textBlock(data.text));
  }

  if ((kind === "clause" || kind === "policy" || kind === "quiz" || kind === "rule") && asList(data.why).length) {
    section(turn, "Sources", "chat-section--why").appendChild(whyList(asList(data.why), turn.id));
  }
  if (kind !== "answer" && data.copy_text) {
    turn.content.appendChild(copyTextButton(data.copy_text, turn.id));
  }
  if (kind === "rule" && asList(data.record).length) {
    section(turn, "Record", "chat-section--record", true)
      .appendChild(recordSection(asList(data.record).map(asText), turn.id));
  }

  const buttons = asList(data.buttons);
  if (buttons.length) {
    if (kind === "not_sure") {
      turn.content.appendChild(el("p", { className: "chat-options__hint", text: "Choose the closest situation, or describe it in other words below." }));
    }
    turn.content.appendChild(choiceButtons(buttons, `${turn.id}-title`, onChoice));
  }

  if (data.answer_id && FEEDBACK_KINDS.includes(kind)) {
    turn.content.appendChild(feedbackBox(asText(data.answer_id), turn.id));
  }
  return turn.article;
}

function defaultTitle(kind) {
  return {
    not_sure: "Reply from the assistant: which situation is it?",
    decline: "Reply from the assistant: outside what it covers",
    clause: "Reply from the assistant: what the guidance says",
    policy: "Reply from the assistant: what the local policy says",
    rule: "Reply from the assistant: the general rule",
    quiz: "Reply from the assistant: practice question",
    error: "Reply from the assistant: something went wrong",
  }[kind] || "Reply from the assistant";
}

function warning(text) {
  return el("div", { className: "nhsuk-card nhsuk-card--warning chat-warning" }, [
    el("div", { className: "nhsuk-card__content" }, [
      el("h4", { className: "nhsuk-card__heading nhsuk-heading-s" }, [
        el("span", { attrs: { role: "text" } }, [hidden("Important: "), "Check first"]),
      ]),
      el("p", { text: text.charAt(0).toUpperCase() + text.slice(1) }),
    ]),
  ]);
}

/** A titled section of the answer; `titleHidden`: the title is for screen readers only. */
function section(turn, title, className, titleHidden = false) {
  const id = `${turn.id}-${title.toLowerCase().replace(/[^a-z]+/g, "-")}`;
  const sec = el("section", { className: `chat-section ${className || ""}`.trim(), attrs: { "aria-labelledby": id } });
  sec.appendChild(el("h4", {
    className: titleHidden ? "nhsuk-u-visually-hidden" : "nhsuk-heading-s chat-section__title", text: title, attrs: { id },
  }));
  turn.content.appendChild(sec);
  return sec;
}

// Where a line comes from (provenance, aligned with the answer's lists): lines resting on
// general or local practice rather than the national guidance carry a small tag, so no
// practice point reads as guidance.
const BASIS_TAGS = { practice: "general practice", local: "local policy" };

function basisTag(data, field, index) {
  const entry = asList((data.provenance || {})[field])[index];
  const label = entry && typeof entry === "object" ? BASIS_TAGS[entry.basis] : undefined;
  return label ? [" ", el("strong", { className: "nhsuk-tag nhsuk-tag--grey chat-basis", text: label })] : [];
}

function renderSections(turn, data) {
  const doNow = asList(data.do_now);
  if (doNow.length) {
    const list = el("ol", { className: "nhsuk-list nhsuk-list--number" });
    doNow.forEach((step, i) => { list.appendChild(el("li", {}, [asText(step), ...basisTag(data, "do_now", i)])); });
    section(turn, "Do now", "chat-section--do-now").appendChild(list);
  }
  if (data.say) {
    section(turn, "Say", "chat-section--say").appendChild(
      el("blockquote", { className: "chat-say" },
        [el("p", {}, [`\u201C${asText(data.say)}\u201D`, ...basisTag(data, "say", 0)])]));
  }
  if (data.escalate) {
    section(turn, "Escalate", "chat-section--escalate").appendChild(el("p", { text: asText(data.escalate) }));
  }
  const why = asList(data.why).filter((p) => p && typeof p === "object");
  if (why.length) {
    const sec = section(turn, "Why", "chat-section--why");
    const list = whyList(why, turn.id, TOP_REASONS);
    sec.appendChild(list);
    sec.appendChild(showAllReasons(list, why.length));
  }
  const record = asList(data.record);
  if (record.length) {
    // A heading for screen-reader navigation; the visible control is the "What to record (N)" summary.
    section(turn, "Record", "chat-section--record", true).appendChild(recordSection(record, turn.id));
  }
  const caveats = asList(data.caveats);
  if (caveats.length) {
    const notes = el("ul", { className: "nhsuk-list nhsuk-list--bullet" });
    caveats.forEach((c, i) => { notes.appendChild(el("li", {}, [asText(c), ...basisTag(data, "caveats", i)])); });
    section(turn, "Keep in mind", "chat-section--notes").appendChild(notes);
  }
  turn.content.appendChild(copyAnswerButton(data, turn.id));
}

// ---------------------------------------------------------------- "Why": citations with clause panels

/**
 * Each point as one line (citation: point). With `top`, only the first `top`
 * lines show and each point's details (clause panel, "goes beyond national
 * guidance") wait for "Show all reasons".
 */
function whyList(points, turnId, top = 0) {
  const list = el("ul", { className: `nhsuk-list chat-why${top ? " chat-why--short" : ""}`, attrs: { id: `${turnId}-why` } });
  points.forEach((p, i) => {
    if (!p || typeof p !== "object") { return; }
    const cite = asText(p.cite);
    const item = el("li", { className: `chat-why__item${p.local ? " chat-why__item--local" : ""}` });
    item.appendChild(el("p", { className: "chat-why__point" }, [
      // a local rule names its layer: "Radiotherapy (department policy)", or the trust's
      el("strong", { className: "chat-why__cite", text: cite + (p.local ? (p.source ? ` [${asText(p.source)}]` : " (local policy)") : "") }),
      `: ${asText(p.point)}`,
    ]));
    const more = el("div", { className: "chat-why__more" });
    if (p.departs) {
      more.appendChild(el("p", { className: "chat-why__departs" }, [
        el("strong", { text: "Goes beyond national guidance: " }), asText(p.departs),
      ]));
    }
    more.appendChild(clausePanel(p, `${turnId}-cite-${i + 1}`));
    item.appendChild(more);
    if (top) {
      more.hidden = true;
      if (i >= top) { item.hidden = true; }
    }
    list.appendChild(item);
  });
  return list;
}

function showAllReasons(list, count) {
  const closed = `Show all reasons (${count})`;
  const toggle = button(closed, "nhsuk-button--secondary nhsuk-button--small chat-why__toggle", () => {
    const open = toggle.getAttribute("aria-expanded") !== "true";
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
    toggle.textContent = open ? "Show fewer reasons" : closed;
    list.classList.toggle("chat-why--short", !open);
    list.querySelectorAll(".chat-why__item").forEach((item, i) => {
      item.hidden = !open && i >= TOP_REASONS;
      item.querySelector(".chat-why__more").hidden = !open;
    });
  }, { "aria-expanded": "false", "aria-controls": list.id });
  return toggle;
}

function clausePanel(point, id) {
  const cite = asText(point.cite);
  const body = el("div", { className: "nhsuk-details__text" });
  const details = el("details", { className: "nhsuk-details chat-clause", attrs: { id, "data-cite": cite } }, [
    el("summary", { className: "nhsuk-details__summary" }, [
      el("span", { className: "nhsuk-details__summary-text" }, [
        point.local ? "Read the policy rule " : "Read the clause ", el("span", { className: "chat-clause__cite", text: cite }),
      ]),
    ]),
    body,
  ]);
  let filled = false;
  details.addEventListener("toggle", () => {
    if (!details.open || filled) { return; }
    filled = true;
    body.appendChild(el("p", { className: "chat-clause__loading", text: "Loading the clause…" }));
    getClause(cite)
      .then((clause) => { body.textContent = ""; showClause(body, clause, point); })
      .catch(() => { body.textContent = ""; showClause(body, null, point); });
  });
  return details;
}

function showClause(body, clause, point) {
  const dl = el("dl", { className: "chat-clause__facts" });
  const row = (term, value) => {
    if (!value) { return; }
    dl.appendChild(el("dt", { text: term }));
    dl.appendChild(el("dd", { text: value }));
  };
  if (clause) {
    if (clause.heading) { body.appendChild(el("p", { className: "chat-clause__heading" }, [el("strong", { text: asText(clause.heading) })])); }
    body.appendChild(el("p", { className: "chat-clause__label", text: clause.local ? "What the rule says:" : "What it says (paraphrased):" }));
    body.appendChild(el("blockquote", { className: "chat-clause__text" }, [el("p", { text: asText(clause.text) })]));
    row("In short", asText(clause.summary) !== asText(clause.heading) ? asText(clause.summary) : "");
    row("Source", asText(clause.source_title) || asText(point.source));
    if (clause.status && clause.status !== "current") { row("Status", asText(clause.status)); }
    if (clause.departs && !point.departs) { row("Goes beyond national guidance", asText(clause.departs)); }
  } else {
    body.appendChild(el("p", { text: "The full text could not be loaded just now." }));
    row("In short", asText(point.summary));
    row("Source", asText(point.source));
  }
  if (dl.children.length) { body.appendChild(dl); }
}

// ---------------------------------------------------------------- buttons: clarifying questions, options, quiz

function choiceButtons(buttons, labelledBy, onChoice) {
  const list = el("ul", { className: "chat-options__list" });
  const group = el("div", { className: "chat-options", attrs: { role: "group", "aria-labelledby": labelledBy } }, [list]);
  for (const b of buttons) {
    if (!b || !b.payload) { continue; }
    const label = asText(b.label || b.title || b.payload);
    const btn = button(label, "nhsuk-button--secondary chat-option", () => {
      if (btn.disabled) { return; }
      const all = group.querySelectorAll("button");
      all.forEach((x) => { x.disabled = true; });
      btn.setAttribute("aria-pressed", "true");
      btn.classList.add("chat-option--chosen");
      onChoice(asText(b.payload), label).then((ok) => {
        if (!ok) {
          all.forEach((x) => { x.disabled = false; });
          btn.removeAttribute("aria-pressed");
          btn.classList.remove("chat-option--chosen");
          btn.focus();
        }
      });
    });
    list.appendChild(el("li", {}, [btn]));
  }
  return group;
}
