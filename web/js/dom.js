/*
 * Element helpers. Everything that comes from the bot or the knowledge base is
 * put on the page as text (textContent / createTextNode), never as HTML; the
 * server's Content-Security-Policy (Trusted Types) makes the browser refuse
 * HTML strings anyway.
 */

let counter = 0;

/** A page-unique id such as "answer-3". */
export function nextId(prefix) {
  counter += 1;
  return `${prefix}-${counter}`;
}

/** An element with classes, attributes and children; strings are added as text. */
export function el(tag, options = {}, children = []) {
  const node = document.createElement(tag);
  if (options.className) { node.className = options.className; }
  if (options.text !== undefined && options.text !== null) { node.textContent = String(options.text); }
  for (const [name, value] of Object.entries(options.attrs || {})) {
    if (value !== undefined && value !== null && value !== false) { node.setAttribute(name, String(value)); }
  }
  for (const child of children) {
    if (child) { node.appendChild(typeof child === "string" ? document.createTextNode(child) : child); }
  }
  return node;
}

/** Text for screen readers only. */
export function hidden(text) {
  return el("span", { className: "nhsuk-u-visually-hidden", text });
}

export function asText(value) {
  return value === undefined || value === null ? "" : String(value);
}

export function asList(value) {
  return Array.isArray(value) ? value : [];
}

/** A button with NHS.UK classes; `type="button"` so it never submits the question form. */
export function button(label, className, onClick, attrs = {}) {
  const b = el("button", { className: `nhsuk-button ${className || ""}`.trim(), text: label, attrs: { type: "button", ...attrs } });
  b.addEventListener("click", onClick);
  return b;
}

/** Lines of bot text as paragraphs, with "- item" lines gathered into a bulleted list. */
export function textBlock(text, className = "chat-text") {
  const wrap = el("div", { className });
  let list = null;
  for (const line of asText(text).split("\n")) {
    const trimmed = line.trim();
    if (!trimmed) { list = null; continue; }
    const bullet = /^[-•]\s+(.*)$/.exec(trimmed);
    if (bullet) {
      if (!list) { list = el("ul", { className: "nhsuk-list nhsuk-list--bullet" }); wrap.appendChild(list); }
      list.appendChild(el("li", { text: bullet[1] }));
    } else {
      list = null;
      wrap.appendChild(el("p", { text: trimmed }));
    }
  }
  return wrap;
}

/** Say something through the page's status live region. */
export function announce(message) {
  const status = document.getElementById("status");
  if (!status) { return; }
  // Clear first so the same message twice is still read out.
  status.textContent = "";
  window.setTimeout(() => { status.textContent = message; }, 50);
}

/** Select a node's text, so the user can copy it by hand. */
export function selectText(node) {
  if (!node) { return; }
  const range = document.createRange();
  range.selectNodeContents(node);
  const selection = window.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
}
