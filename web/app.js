/*
 * The ward-intranet chat page. Plain JavaScript, no framework, no build step.
 *
 * Talks to Rasa's REST channel (POST {rasaUrl}/webhooks/rest/webhook) and lays
 * out each answer from its structured payload (the `custom` message: see
 * bot/answer.py). Everything that comes from the bot or the knowledge base is
 * put on the page with textContent / createElement, never as HTML.
 */
(function () {
  "use strict";

  var REQUEST_TIMEOUT_MS = 45000;
  var RESET_WORDS = /^\s*(new situation|start again|start over|restart)\s*[.!]?\s*$/i;
  // Answers worth rating (not greetings, clarifying questions or quiz steps).
  var FEEDBACK_KINDS = ["answer", "clause", "policy", "decline", "not_sure"];
  var SECTION_TITLES = { do_now: "Do now", say: "Say", why: "Why", record: "Record", escalate: "Escalate" };

  var state = {
    rasaUrl: null,
    sender: newSender(),
    busy: false,
    clauses: null, // Map id -> clause, from /api/clauses
    counter: 0
  };

  var els = {};

  // ---------------------------------------------------------------- helpers

  function newSender() {
    // crypto.getRandomValues works on plain-http intranet pages too (randomUUID needs a secure context).
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return "web-" + Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  function nextId(prefix) {
    state.counter += 1;
    return prefix + "-" + state.counter;
  }

  /** An element with classes, attributes and text (always as text, never HTML). */
  function el(tag, options, children) {
    var node = document.createElement(tag);
    options = options || {};
    if (options.className) { node.className = options.className; }
    if (options.text !== undefined && options.text !== null) { node.textContent = String(options.text); }
    if (options.attrs) {
      Object.keys(options.attrs).forEach(function (name) {
        var value = options.attrs[name];
        if (value !== undefined && value !== null && value !== false) { node.setAttribute(name, String(value)); }
      });
    }
    (children || []).forEach(function (child) {
      if (child) { node.appendChild(typeof child === "string" ? document.createTextNode(child) : child); }
    });
    return node;
  }

  function hidden(text) {
    return el("span", { className: "nhsuk-u-visually-hidden", text: text });
  }

  function asText(value) {
    return value === undefined || value === null ? "" : String(value);
  }

  function asList(value) {
    return Array.isArray(value) ? value : [];
  }

  function announce(message) {
    // Clear first so the same message twice is still read out.
    els.status.textContent = "";
    window.setTimeout(function () { els.status.textContent = message; }, 50);
  }

  /** Lines of bot text as paragraphs, with "- item" lines gathered into a bulleted list. */
  function textBlock(text, className) {
    var wrap = el("div", { className: className || "chat-text" });
    var list = null;
    asText(text).split("\n").forEach(function (line) {
      var trimmed = line.trim();
      if (!trimmed) { list = null; return; }
      var bullet = /^[-•]\s+(.*)$/.exec(trimmed);
      if (bullet) {
        if (!list) { list = el("ul", { className: "nhsuk-list nhsuk-list--bullet" }); wrap.appendChild(list); }
        list.appendChild(el("li", { text: bullet[1] }));
      } else {
        list = null;
        wrap.appendChild(el("p", { text: trimmed }));
      }
    });
    return wrap;
  }

  function button(label, className, onClick, attrs) {
    var b = el("button", { className: "nhsuk-button " + (className || ""), text: label, attrs: Object.assign({ type: "button" }, attrs || {}) });
    b.addEventListener("click", onClick);
    return b;
  }

  // ---------------------------------------------------------------- talking to Rasa

  function loadConfig() {
    return fetch("/config.json", { cache: "no-store" })
      .then(function (r) { return r.json(); })
      .then(function (cfg) { state.rasaUrl = String(cfg.rasaUrl || "").replace(/\/+$/, ""); })
      .catch(function () { state.rasaUrl = ""; });
  }

  function loadClauses() {
    return fetch("/api/clauses")
      .then(function (r) { if (!r.ok) { throw new Error("clauses " + r.status); } return r.json(); })
      .then(function (items) {
        var map = new Map();
        asList(items).forEach(function (c) { if (c && c.id) { map.set(String(c.id), c); } });
        state.clauses = map;
      })
      .catch(function () { state.clauses = null; });
  }

  function post(message) {
    var controller = new AbortController();
    var timer = window.setTimeout(function () { controller.abort(); }, REQUEST_TIMEOUT_MS);
    var ready = state.rasaUrl === null ? loadConfig() : Promise.resolve();
    return ready.then(function () {
      return fetch(state.rasaUrl + "/webhooks/rest/webhook", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ sender: state.sender, message: message }),
        signal: controller.signal,
        credentials: "omit",
        cache: "no-store"
      });
    }).then(function (response) {
      if (!response.ok) {
        var failed = new Error("HTTP " + response.status);
        failed.reason = "The assistant could not answer (error " + response.status + ").";
        throw failed;
      }
      return response.json();
    }).then(function (messages) {
      if (!Array.isArray(messages)) {
        var odd = new Error("not a list");
        odd.reason = "The assistant sent something this page cannot show.";
        throw odd;
      }
      return messages;
    }).finally(function () {
      window.clearTimeout(timer);
    });
  }

  function setBusy(busy) {
    state.busy = busy;
    els.log.setAttribute("aria-busy", busy ? "true" : "false");
    // aria-disabled, not disabled: a focused button that is disabled drops keyboard focus.
    els.send.setAttribute("aria-disabled", busy ? "true" : "false");
    els.send.textContent = busy ? "Sending…" : "Send";
  }

  function showOffline(title, detail) {
    els.offlineTitle.textContent = title;
    els.offlineDetail.textContent = detail;
    els.offline.hidden = false;
    els.offline.scrollIntoView({ block: "nearest" });
  }

  function hideOffline() {
    els.offline.hidden = true;
  }

  /**
   * Send one message. `shown` is what the conversation shows as the user's turn
   * (null for none). Resolves true when the bot answered.
   */
  function send(message, shown, opts) {
    opts = opts || {};
    if (state.busy) { return Promise.resolve(false); }
    setBusy(true);
    var userTurn = shown ? addUserTurn(shown) : null;
    var pending = addPending();
    return post(message).then(function (messages) {
      pending.remove();
      var rendered = renderMessages(messages);
      if (!rendered.length) {
        var silent = new Error("no reply");
        silent.reason = "The assistant did not reply.";
        throw silent;
      }
      hideOffline();
      setBusy(false);
      var first = rendered[0];
      if (opts.keepFocus) { els.input.focus({ preventScroll: true }); }
      if (first) {
        if (!opts.keepFocus) {
          var heading = first.querySelector("[data-focus-target]");
          if (heading) { heading.focus({ preventScroll: true }); }
        }
        first.scrollIntoView({ block: "start", behavior: "auto" });
      }
      return true;
    }).catch(function (err) {
      pending.remove();
      if (userTurn) { userTurn.remove(); }
      if (!els.log.children.length) { els.starters.hidden = false; }
      setBusy(false);
      var reason = (err && err.reason) ||
        (err && err.name === "AbortError" ? "The assistant took too long to answer." : "The assistant cannot be reached just now.");
      var kept = opts.typed
        ? " Your question has not been lost: it is still in the box below. Check the connection, then press Send to try again."
        : " Nothing was sent. Check the connection, then try again.";
      var title = err && err.reason ? "The assistant did not answer" : "The assistant cannot be reached";
      showOffline(title, reason + kept);
      if (opts.typed) { els.input.focus(); }
      return false;
    });
  }

  // ---------------------------------------------------------------- the conversation

  function addUserTurn(text) {
    var turn = el("div", { className: "chat-turn chat-turn--user" }, [
      hidden("You asked: "),
      el("p", { className: "chat-turn__text", text: text })
    ]);
    els.log.appendChild(turn);
    els.starters.hidden = true;
    return turn;
  }

  function addPending() {
    var node = el("p", { className: "chat-pending", text: "Looking for an answer…", attrs: { "aria-hidden": "true" } });
    els.log.appendChild(node);
    return node;
  }

  /** Render the REST reply: structured answers from `custom`, plain text otherwise. */
  function renderMessages(messages) {
    var customs = messages.filter(function (m) { return m && m.custom && typeof m.custom === "object"; });
    var replies = customs.map(function (m) { return asText(m.custom.reply); });
    var rendered = [];
    if (messages.length) { retireChoices(); }
    messages.forEach(function (m) {
      if (!m || typeof m !== "object") { return; }
      var node = null;
      if (m.custom && typeof m.custom === "object") {
        node = renderAnswer(m.custom);
      } else if (m.text && replies.indexOf(asText(m.text)) === -1) {
        node = renderPlain(asText(m.text), asList(m.buttons).map(function (b) {
          return { label: b.title, payload: b.payload };
        }));
      } else if (m.image) {
        node = renderPlain("The assistant sent an image, which this page does not show.", []);
      }
      if (node) {
        els.log.appendChild(node);
        rendered.push(node);
      }
    });
    return rendered;
  }

  /** Choice buttons answer the latest question only: older ones stop working once the bot replies again. */
  function retireChoices() {
    Array.prototype.forEach.call(els.log.querySelectorAll(".chat-options button:not([disabled])"), function (b) {
      b.disabled = true;
    });
  }

  function botTurn() {
    var id = nextId("answer");
    var article = el("article", { className: "chat-turn chat-turn--bot nhsuk-card", attrs: { "aria-labelledby": id + "-title", id: id } });
    var content = el("div", { className: "nhsuk-card__content" });
    article.appendChild(content);
    return { id: id, article: article, content: content };
  }

  function turnHeading(turn, text, visuallyHiddenPrefix) {
    var h = el("h3", {
      className: "nhsuk-card__heading nhsuk-heading-m chat-answer__title",
      attrs: { id: turn.id + "-title", tabindex: "-1", "data-focus-target": "true" }
    }, [visuallyHiddenPrefix ? hidden(visuallyHiddenPrefix) : null, text]);
    turn.content.appendChild(h);
    return h;
  }

  function renderPlain(text, buttons) {
    var turn = botTurn();
    turnHeading(turn, "Reply from the assistant", null).classList.add("nhsuk-u-visually-hidden");
    turn.content.appendChild(textBlock(text));
    if (buttons.length) { turn.content.appendChild(choiceButtons(buttons, turn.id + "-title")); }
    return turn.article;
  }

  function renderAnswer(data) {
    var kind = asText(data.kind) || "answer";
    if (kind === "feedback") {
      return renderPlain(asText(data.reply) || "Thank you for your feedback.", []);
    }
    var turn = botTurn();
    turn.article.classList.add("chat-answer", "chat-answer--" + kind.replace(/[^a-z_]/g, ""));
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

    asList(data.warnings).forEach(function (w) { turn.content.appendChild(warning(asText(w))); });

    if (kind === "answer") {
      renderSections(turn, data);
    } else if (data.text) {
      turn.content.appendChild(textBlock(data.text));
    }

    if ((kind === "clause" || kind === "policy" || kind === "quiz") && asList(data.why).length) {
      var sec = section(turn, "Sources", "chat-section--why");
      sec.appendChild(whyList(asList(data.why), turn.id));
    }

    var buttons = asList(data.buttons);
    if (buttons.length) {
      var groupLabel = turn.id + "-title";
      if (kind === "not_sure") {
        turn.content.appendChild(el("p", { className: "chat-options__hint", text: "Choose the closest situation, or describe it in other words below." }));
      }
      turn.content.appendChild(choiceButtons(buttons, groupLabel));
    }

    if (data.answer_id && FEEDBACK_KINDS.indexOf(kind) !== -1) {
      turn.content.appendChild(feedback(asText(data.answer_id), turn.id));
    }
    return turn.article;
  }

  function defaultTitle(kind) {
    return {
      not_sure: "Reply from the assistant: which situation is it?",
      decline: "Reply from the assistant: outside what it covers",
      clause: "Reply from the assistant: what the guidance says",
      policy: "Reply from the assistant: what the local policy says",
      quiz: "Reply from the assistant: practice question",
      error: "Reply from the assistant: something went wrong"
    }[kind] || "Reply from the assistant";
  }

  function warning(text) {
    return el("div", { className: "nhsuk-card nhsuk-card--warning chat-warning" }, [
      el("div", { className: "nhsuk-card__content" }, [
        el("h4", { className: "nhsuk-card__heading nhsuk-heading-s" }, [
          el("span", { attrs: { role: "text" } }, [hidden("Important: "), "Check first"])
        ]),
        el("p", { text: text.charAt(0).toUpperCase() + text.slice(1) })
      ])
    ]);
  }

  function section(turn, title, className) {
    var id = turn.id + "-" + title.toLowerCase().replace(/[^a-z]+/g, "-");
    var sec = el("section", { className: "chat-section " + (className || ""), attrs: { "aria-labelledby": id } });
    sec.appendChild(el("h4", { className: "nhsuk-heading-s chat-section__title", text: title, attrs: { id: id } }));
    turn.content.appendChild(sec);
    return sec;
  }

  function renderSections(turn, data) {
    var doNow = asList(data.do_now);
    if (doNow.length) {
      var list = el("ol", { className: "nhsuk-list nhsuk-list--number" });
      doNow.forEach(function (step) { list.appendChild(el("li", { text: asText(step) })); });
      section(turn, SECTION_TITLES.do_now, "chat-section--do-now").appendChild(list);
    }
    if (data.say) {
      section(turn, SECTION_TITLES.say, "chat-section--say").appendChild(
        el("blockquote", { className: "chat-say" }, [el("p", { text: "\u201C" + asText(data.say) + "\u201D" })]));
    }
    var why = asList(data.why);
    if (why.length) {
      section(turn, SECTION_TITLES.why, "chat-section--why").appendChild(whyList(why, turn.id));
    }
    var record = asList(data.record);
    if (record.length) {
      var recSec = section(turn, SECTION_TITLES.record, "chat-section--record");
      recSec.appendChild(el("p", { className: "nhsuk-hint", text: "Copy a template, fill in the [BRACKETS] and add it where your department keeps it. Do not add patient identifiers here." }));
      var recList = el("ul", { className: "nhsuk-list chat-records" });
      record.forEach(function (template, i) { recList.appendChild(recordItem(asText(template), i + 1, turn.id)); });
      recSec.appendChild(recList);
    }
    if (data.escalate) {
      section(turn, SECTION_TITLES.escalate, "chat-section--escalate").appendChild(el("p", { text: asText(data.escalate) }));
    }
    var caveats = asList(data.caveats);
    if (caveats.length) {
      var notes = el("ul", { className: "nhsuk-list nhsuk-list--bullet" });
      caveats.forEach(function (c) { notes.appendChild(el("li", { text: asText(c) })); });
      section(turn, "Keep in mind", "chat-section--notes").appendChild(notes);
    }
  }

  // ---------------------------------------------------------------- "Why": citations with clause panels

  function whyList(points, turnId) {
    var list = el("ul", { className: "nhsuk-list chat-why" });
    points.forEach(function (p, i) {
      if (!p || typeof p !== "object") { return; }
      var cite = asText(p.cite);
      var item = el("li", { className: "chat-why__item" + (p.local ? " chat-why__item--local" : "") });
      var line = el("p", { className: "chat-why__point" }, [
        el("strong", { className: "chat-why__cite", text: cite + (p.local ? " (local policy)" : "") }),
        ": " + asText(p.point)
      ]);
      item.appendChild(line);
      if (p.departs) {
        item.appendChild(el("p", { className: "chat-why__departs" }, [
          el("strong", { text: "Goes beyond national guidance: " }), asText(p.departs)
        ]));
      }
      item.appendChild(clausePanel(p, turnId + "-cite-" + (i + 1)));
      list.appendChild(item);
    });
    return list;
  }

  function clausePanel(point, id) {
    var cite = asText(point.cite);
    var details = el("details", { className: "nhsuk-details chat-clause", attrs: { id: id, "data-cite": cite } });
    var summary = el("summary", { className: "nhsuk-details__summary" }, [
      el("span", { className: "nhsuk-details__summary-text" }, [
        (point.local ? "Read the policy rule " : "Read the clause ") , el("span", { className: "chat-clause__cite", text: cite })
      ])
    ]);
    var body = el("div", { className: "nhsuk-details__text" });
    details.appendChild(summary);
    details.appendChild(body);
    var filled = false;
    details.addEventListener("toggle", function () {
      if (!details.open || filled) { return; }
      filled = true;
      fillClause(body, point);
    });
    return details;
  }

  function fillClause(body, point) {
    var cite = asText(point.cite);
    var cached = state.clauses && state.clauses.get(cite);
    if (cached) { showClause(body, cached, point); return; }
    body.appendChild(el("p", { className: "chat-clause__loading", text: "Loading the clause…" }));
    fetch("/api/clauses/" + encodeURIComponent(cite))
      .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.json(); })
      .then(function (clause) { body.textContent = ""; showClause(body, clause, point); })
      .catch(function () { body.textContent = ""; showClause(body, null, point); });
  }

  function showClause(body, clause, point) {
    var dl = el("dl", { className: "chat-clause__facts" });
    function row(term, value) {
      if (!value) { return; }
      dl.appendChild(el("dt", { text: term }));
      dl.appendChild(el("dd", { text: value }));
    }
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
    body.appendChild(dl);
  }

  // ---------------------------------------------------------------- "Record": copy buttons

  function recordItem(template, n, turnId) {
    var textId = turnId + "-record-" + n;
    var label = template.split(":")[0].slice(0, 60);
    var copy = el("button", {
      className: "nhsuk-button nhsuk-button--secondary nhsuk-button--small chat-copy",
      attrs: { type: "button", "aria-describedby": textId }
    }, [el("span", { className: "chat-copy__label", text: "Copy" }), hidden(" record template " + n + (label ? ": " + label : ""))]);
    var item = el("li", { className: "chat-record" }, [
      el("p", { className: "chat-record__text", text: template, attrs: { id: textId } }),
      copy
    ]);
    copy.addEventListener("click", function () {
      copyText(template).then(function (ok) {
        var labelNode = copy.querySelector(".chat-copy__label");
        if (ok) {
          labelNode.textContent = "Copied";
          announce("Copied");
          window.setTimeout(function () { labelNode.textContent = "Copy"; }, 2500);
        } else {
          selectText(document.getElementById(textId));
          announce("Could not copy automatically. The text is selected: press Control and C to copy it.");
        }
      });
    });
    return item;
  }

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).then(function () { return true; }, function () { return legacyCopy(text); });
    }
    return Promise.resolve(legacyCopy(text));
  }

  function legacyCopy(text) {
    // Intranet pages on plain http have no Clipboard API: copy through a hidden textarea.
    var area = el("textarea", { className: "chat-copy-buffer", attrs: { readonly: "readonly", "aria-hidden": "true", tabindex: "-1" } });
    area.value = text;
    document.body.appendChild(area);
    var active = document.activeElement;
    area.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    area.remove();
    if (active && active.focus) { active.focus(); }
    return ok;
  }

  function selectText(node) {
    if (!node) { return; }
    var range = document.createRange();
    range.selectNodeContents(node);
    var sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
  }

  // ---------------------------------------------------------------- buttons: clarifying questions, options, quiz

  function choiceButtons(buttons, labelledBy) {
    var group = el("div", { className: "chat-options", attrs: { role: "group", "aria-labelledby": labelledBy } });
    var list = el("ul", { className: "chat-options__list" });
    group.appendChild(list);
    buttons.forEach(function (b) {
      if (!b || !b.payload) { return; }
      var label = asText(b.label || b.title || b.payload);
      var btn = button(label, "nhsuk-button--secondary chat-option", function () {
        if (state.busy || btn.disabled) { return; }
        var all = group.querySelectorAll("button");
        all.forEach(function (x) { x.disabled = true; });
        btn.setAttribute("aria-pressed", "true");
        btn.classList.add("chat-option--chosen");
        send(asText(b.payload), label).then(function (ok) {
          if (!ok) {
            all.forEach(function (x) { x.disabled = false; });
            btn.removeAttribute("aria-pressed");
            btn.classList.remove("chat-option--chosen");
            btn.focus();
          }
        });
      });
      list.appendChild(el("li", {}, [btn]));
    });
    return group;
  }

  // ---------------------------------------------------------------- feedback

  function feedback(answerId, turnId) {
    var id = turnId + "-feedback";
    var box = el("div", { className: "chat-feedback", attrs: { role: "group", "aria-labelledby": id } });
    box.appendChild(el("p", { className: "chat-feedback__question", text: "Was this answer helpful?", attrs: { id: id } }));
    var thanks = el("p", { className: "chat-feedback__result", attrs: { role: "status" } });
    var yes, no;
    // aria-disabled rather than disabled, so keyboard focus stays on the pressed button.
    function lock(locked) {
      yes.setAttribute("aria-disabled", locked ? "true" : "false");
      no.setAttribute("aria-disabled", locked ? "true" : "false");
    }
    function give(helpful) {
      if (yes.getAttribute("aria-disabled") === "true") { return; }
      lock(true);
      var payload = "/feedback" + JSON.stringify({ helpful: helpful ? "yes" : "no", answer_id: answerId });
      post(payload).then(function (messages) {
        var reply = messages.map(function (m) { return m && m.custom; }).filter(function (c) {
          return c && c.kind === "feedback";
        })[0];
        if (reply && reply.stored) {
          (helpful ? yes : no).setAttribute("aria-pressed", "true");
          thanks.textContent = "Thank you: your feedback is stored with this answer.";
          box.classList.add("chat-feedback--done");
        } else {
          thanks.textContent = asText(reply && reply.reply) || "Your feedback could not be stored. Please try again.";
          lock(false);
        }
      }).catch(function () {
        thanks.textContent = "The assistant cannot be reached, so your feedback was not stored. Please try again later.";
        lock(false);
      });
    }
    yes = button("Helpful", "nhsuk-button--secondary nhsuk-button--small chat-feedback__yes", function () { give(true); });
    no = button("Not helpful", "nhsuk-button--secondary nhsuk-button--small chat-feedback__no", function () { give(false); });
    box.appendChild(el("div", { className: "chat-feedback__buttons" }, [yes, no]));
    box.appendChild(thanks);
    return box;
  }

  // ---------------------------------------------------------------- page controls

  function newSituation() {
    state.sender = newSender();
    els.log.textContent = "";
    els.input.value = "";
    hideOffline();
    els.starters.hidden = false;
    els.input.focus();
    announce("New situation: the conversation has been cleared.");
  }

  function onSubmit(event) {
    event.preventDefault();
    var text = els.input.value.trim();
    if (!text) {
      announce("Type a question first.");
      els.input.focus();
      return;
    }
    if (RESET_WORDS.test(text)) { newSituation(); return; }
    ask(text, true);
  }

  /** Send the question in the box; the box is emptied only once the bot has answered. */
  function ask(text, keepFocus) {
    send(text, text, { typed: true, keepFocus: keepFocus }).then(function (ok) {
      if (ok && els.input.value.trim() === text) { els.input.value = ""; }
    });
  }

  function init() {
    document.body.classList.add("js-enabled", "nhsuk-frontend-supported");
    els.log = document.getElementById("conversation");
    els.form = document.getElementById("ask-form");
    els.input = document.getElementById("question");
    els.send = document.getElementById("send");
    els.reset = document.getElementById("new-situation");
    els.offline = document.getElementById("offline");
    els.offlineDetail = document.getElementById("offline-detail");
    els.offlineTitle = document.getElementById("offline-title");
    els.starters = document.getElementById("starters");
    els.status = document.getElementById("status");

    els.form.addEventListener("submit", onSubmit);
    els.reset.addEventListener("click", newSituation);
    Array.prototype.forEach.call(document.querySelectorAll("#starter-list button[data-question]"), function (b) {
      b.addEventListener("click", function () {
        // Through the question box, so the question is kept there if it cannot be sent.
        if (state.busy) { return; }
        els.input.value = b.getAttribute("data-question");
        ask(els.input.value, false);
      });
    });
    loadConfig();
    loadClauses();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
