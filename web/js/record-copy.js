/*
 * "What to record": the record templates with a Copy button each, and "Copy
 * the whole answer" as plain text for an e-mail or a note. Intranet pages are
 * often plain http, where the Clipboard API is missing: then a hidden textarea
 * is used, and if even that fails the text is selected for Control+C.
 */

import { announce, asList, asText, el, hidden, selectText } from "./dom.js";

export function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    return navigator.clipboard.writeText(text).then(() => true, () => legacyCopy(text));
  }
  return Promise.resolve(legacyCopy(text));
}

function legacyCopy(text) {
  const area = el("textarea", { className: "chat-copy-buffer", attrs: { readonly: "readonly", "aria-hidden": "true", tabindex: "-1" } });
  area.value = text;
  document.body.appendChild(area);
  const active = document.activeElement;
  area.select();
  let ok = false;
  try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
  area.remove();
  if (active && active.focus) { active.focus(); }
  return ok;
}

/**
 * A small secondary button that copies `getText()`; its visible label turns to
 * "Copied" for a moment. `describedBy`: the id of what it copies; `selectId`:
 * what to select for copying by hand when the browser refuses.
 */
function copyButton(visible, spoken, getText, { describedBy, selectId, className = "" }) {
  const label = el("span", { className: "chat-copy__label", text: visible });
  const b = el("button", {
    className: `nhsuk-button nhsuk-button--secondary nhsuk-button--small chat-copy ${className}`.trim(),
    attrs: { type: "button", "aria-describedby": describedBy },
  }, [label, spoken ? hidden(spoken) : null]);
  b.addEventListener("click", () => {
    copyText(getText()).then((ok) => {
      if (ok) {
        label.textContent = "Copied";
        announce("Copied");
        window.setTimeout(() => { label.textContent = visible; }, 2500);
      } else {
        selectText(document.getElementById(selectId));
        announce("Could not copy automatically. The text is selected: press Control and C to copy it.");
      }
    });
  });
  return b;
}

function recordItem(template, n, turnId) {
  const textId = `${turnId}-record-${n}`;
  const label = template.split(":")[0].slice(0, 60);
  return el("li", { className: "chat-record" }, [
    el("p", { className: "chat-record__text", text: template, attrs: { id: textId } }),
    copyButton("Copy", ` record template ${n}${label ? ": " + label : ""}`, () => template, { describedBy: textId, selectId: textId }),
  ]);
}

/**
 * The record templates, folded under one "What to record (N)" control so the
 * first screen stays on what to do and say.
 */
export function recordSection(templates, turnId) {
  const id = `${turnId}-record`;
  const details = el("details", { className: "nhsuk-details chat-records-panel", attrs: { id } });
  details.appendChild(el("summary", { className: "nhsuk-details__summary" }, [
    el("span", { className: "nhsuk-details__summary-text chat-section__summary", text: `What to record (${templates.length})` }),
  ]));
  const body = el("div", { className: "nhsuk-details__text" });
  body.appendChild(el("p", { className: "nhsuk-hint", text: "Copy a template, fill in the [BRACKETS] and add it where your department keeps it. Do not add patient identifiers here." }));
  const list = el("ul", { className: "nhsuk-list chat-records" });
  templates.forEach((template, i) => list.appendChild(recordItem(asText(template), i + 1, turnId)));
  body.appendChild(list);
  details.appendChild(body);
  return details;
}

/** The whole answer as plain text: title, Do now, Say, Escalate, Why with citations, Record. */
export function answerAsText(data) {
  const parts = [];
  const block = (heading, lines) => { if (lines.length) { parts.push([heading, ...lines].join("\n")); } };
  if (data.title) { parts.push(asText(data.title)); }
  block("Check first:", asList(data.warnings).map((w) => `- ${asText(w)}`));
  block("Do now:", asList(data.do_now).map((s, i) => `${i + 1}. ${asText(s)}`));
  if (data.say) { block("Say:", [`"${asText(data.say)}"`]); }
  if (data.escalate) { block("Escalate:", [asText(data.escalate)]); }
  block("Why:", asList(data.why).filter((p) => p && typeof p === "object").map((p) => {
    const cite = asText(p.cite) + (p.local ? (p.source ? ` [${asText(p.source)}]` : " (local policy)") : "");
    const departs = p.departs ? ` (goes beyond national guidance: ${asText(p.departs)})` : "";
    return `- ${cite}: ${asText(p.point)}${departs}`;
  }));
  block("What to record:", asList(data.record).map((r) => `- ${asText(r)}`));
  block("Keep in mind:", asList(data.caveats).map((c) => `- ${asText(c)}`));
  parts.push("Guidance from the staff assistant, not legal advice.");
  return parts.join("\n\n");
}

/** "Copy", for member advice a representative pastes into a reply (the answer's copy_text). */
export function copyTextButton(text, turnId) {
  return el("div", { className: "chat-copy-all" }, [
    copyButton("Copy", "", () => asText(text),
      { describedBy: `${turnId}-title`, selectId: turnId, className: "chat-copy-all__button" }),
  ]);
}

/** "Copy the whole answer", for pasting into an e-mail or a note. */
export function copyAnswerButton(data, turnId) {
  return el("div", { className: "chat-copy-all" }, [
    copyButton("Copy the whole answer", "", () => answerAsText(data),
      { describedBy: `${turnId}-title`, selectId: turnId, className: "chat-copy-all__button" }),
  ]);
}
