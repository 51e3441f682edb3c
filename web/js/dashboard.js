// The department dashboard: fetches the figures for a date range from
// /dashboard/api/summary and lays them out. Everything is put on the page with
// textContent (never as HTML): questions are typed by staff.

const API = "/dashboard/api/summary";
const LOGIN = "/dashboard/login";

const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

const DAY = new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "long", year: "numeric", timeZone: "UTC" });
const SHORT = new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "short", timeZone: "UTC" });
const day = (iso) => DAY.format(new Date(iso + "T00:00:00Z"));
const shortDay = (iso) => SHORT.format(new Date(iso + "T00:00:00Z"));
const percent = (rate) => (rate === null ? "no votes" : Math.round(rate * 1000) / 10 + "%");

/** Replace a table's head and body (its caption stays). */
function fillTable(table, headings, rows, numeric = []) {
  for (const part of table.querySelectorAll("thead, tbody")) part.remove();
  const head = el("thead", { class: "nhsuk-table__head" });
  const headRow = el("tr", { class: "nhsuk-table__row" });
  headings.forEach((h, i) => {
    const cls = "nhsuk-table__header" + (numeric.includes(i) ? " nhsuk-table__header--numeric" : "");
    headRow.append(el("th", { scope: "col", class: cls }, h));
  });
  head.append(headRow);
  const body = el("tbody", { class: "nhsuk-table__body" });
  for (const row of rows) {
    const tr = el("tr", { class: "nhsuk-table__row" });
    row.forEach((cell, i) => {
      if (i === 0) {
        tr.append(el("th", { scope: "row", class: "nhsuk-table__header" }, cell));
      } else {
        const cls = "nhsuk-table__cell" + (numeric.includes(i) ? " nhsuk-table__cell--numeric dash-number" : "");
        tr.append(el("td", { class: cls }, cell));
      }
    });
    body.append(tr);
  }
  table.append(head, body);
}

function showProblem(message) {
  $("problem-detail").textContent = message;
  $("problem").hidden = false;
  $("problem").focus();
}

function renderPolicy(policy) {
  const box = $("policy");
  box.replaceChildren();
  if (!policy) {
    box.append(el("p", { class: "nhsuk-body" }, "No department policy is loaded, so local rules are not counted."));
    return;
  }
  const title = `${policy.department}, recording policy version ${policy.version}`;
  if (policy.pastReview) {
    const callout = el("div", { class: "nhsuk-warning-callout", id: "policy-warning" });
    const heading = el("h2", { class: "nhsuk-warning-callout__label" });
    heading.append(el("span", { class: "nhsuk-u-visually-hidden" }, "Important: "),
      document.createTextNode("Policy past its review date"));
    callout.append(heading,
      el("p", {}, `${title} was due for review on ${day(policy.review)}. Every answer carries a warning ` +
        `until a reviewed version is loaded. Policy owner: ${policy.owner}.`));
    box.append(callout);
  } else {
    box.append(el("p", { class: "nhsuk-body", id: "policy-review" },
      `${title}: next review due ${day(policy.review)}.`));
  }
}

/** The department list (once) and the choice shown; the comparison table across departments. */
function renderDepartments(data) {
  const select = $("department");
  if (select.options.length === 1) {
    for (const d of data.departments) select.append(el("option", { value: d.id }, d.name));
  }
  $("department-group").hidden = data.departments.length === 0;
  select.value = data.department || "";
  const rows = data.byDepartment.map((d) => [d.name, d.answers, d.helpful, d.unhelpful, percent(d.helpfulRate),
    d.unanswered]);
  fillTable($("by-department"), ["Department", "Answers", "Helpful", "Not helpful", "Helpful rate",
    "Could not answer"], rows, [1, 2, 3, 4, 5]);
  $("departments-section").hidden = rows.length === 0;
}

function renderTotals(totals) {
  const list = $("totals");
  list.replaceChildren();
  const items = [
    ["Questions answered", totals.questions],
    ["Not matched to a situation", totals.fallbacks],
    ["Outside what it covers", totals.outOfScope],
    ["Clarifying questions asked", totals.clarified],
    ["Helpful votes", totals.helpful],
    ["Not helpful votes", totals.unhelpful],
    ["Questions it could not answer", totals.unanswered],
  ];
  for (const [key, value] of items) {
    const row = el("div", { class: "nhsuk-summary-list__row" });
    row.append(el("dt", { class: "nhsuk-summary-list__key" }, key),
      el("dd", { class: "nhsuk-summary-list__value" }, value));
    list.append(row);
  }
}

function renderWeekly(data) {
  const { weeks, series } = data.weekly;
  const chart = $("chart");
  chart.src = data.links.chart;
  chart.alt = `Stacked bar chart of answers per week by situation, ${day(data.from)} to ${day(data.to)}. ` +
    "The same figures are in the table below.";
  chart.hidden = false;
  const rows = weeks.map((w, i) => [shortDay(w), ...series.map((s) => s.counts[i])]);
  fillTable($("weekly"), ["Week starting", ...series.map((s) => s.name)], rows, series.map((_, i) => i + 1));
  if (!weeks.length) $("chart-note").textContent = "No answers in this period.";
  else $("chart-note").textContent = "The chart's figures are in the table below.";
}

function renderHelpful(scenarios) {
  const rows = scenarios.map((s) => [s.name, s.answers, s.helpful, s.unhelpful, percent(s.helpfulRate)]);
  fillTable($("helpful"), ["Situation", "Answers", "Helpful", "Not helpful", "Helpful rate"], rows, [1, 2, 3, 4]);
}

function renderReasons(reasons) {
  fillTable($("reasons"), ["Reason", "Votes"], reasons.map((r) => [r.name, r.count]), [1]);
}

function renderUnanswered(unanswered) {
  const rows = unanswered.groups.map((g) => [g.example, g.count, g.wordings]);
  fillTable($("unanswered"), ["Example question", "Times asked", "Different wordings"], rows, [1, 2]);
  // The first column holds questions, not headings: plain cells read better.
  for (const th of $("unanswered").querySelectorAll("tbody th")) {
    const td = el("td", { class: "nhsuk-table__cell" }, th.textContent);
    th.replaceWith(td);
  }
  const shown = unanswered.groups.length;
  $("unanswered-caption").textContent = unanswered.total
    ? `${unanswered.total} unanswered questions in ${unanswered.groupCount} groups` +
      (shown < unanswered.groupCount ? ` (the ${shown} largest shown)` : "")
    : "No unanswered questions in this period";
}

function renderRules(rules) {
  fillTable($("rules-cited"), ["Rule", "Title", "Answers citing it"],
    rules.cited.map((r) => [r.cite, r.title || "(no longer in the policy)", r.count]), [2]);
  const never = $("rules-never");
  never.replaceChildren();
  if (!rules.known) never.append(el("li", {}, "The policy's rules could not be read."));
  else if (!rules.never.length) never.append(el("li", {}, "Every local rule was cited at least once."));
  for (const r of rules.never) never.append(el("li", {}, `${r.cite}: ${r.title}`));
}

function render(data) {
  renderPolicy(data.policy);
  renderDepartments(data);
  renderTotals(data.totals);
  renderWeekly(data);
  renderHelpful(data.scenarios);
  renderReasons(data.reasons);
  renderUnanswered(data.unanswered);
  renderRules(data.localRules);
  $("csv").href = data.links.csv;
  $("from").value = data.from;
  $("to").value = data.to;
  const chosen = data.departments.find((d) => d.id === data.department);
  $("showing").textContent = `Showing ${day(data.from)} to ${day(data.to)}` +
    (chosen ? `, ${chosen.name} only.` : data.departments.length ? ", all departments." : ".");
}

async function load(from, to, department) {
  const query = new URLSearchParams();
  if (from) query.set("from", from);
  if (to) query.set("to", to);
  if (department) query.set("department", department);
  $("figures").setAttribute("aria-busy", "true");
  $("apply").disabled = true;
  try {
    const response = await fetch(`${API}?${query}`, { credentials: "same-origin", cache: "no-store" });
    if (response.status === 401) {
      window.location.assign(LOGIN); // the session ended
      return;
    }
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      showProblem(data.error ? `The figures could not be shown: ${data.error}.` :
        `The figures could not be shown (error ${response.status}).`);
      $("showing").textContent = "";
      return;
    }
    $("problem").hidden = true;
    render(data);
    const url = new URL(window.location.href);
    const shown = { from: data.from, to: data.to };
    if (data.department) shown.department = data.department;
    url.search = new URLSearchParams(shown).toString();
    window.history.replaceState(null, "", url);
  } catch (err) {
    showProblem("The dashboard server cannot be reached. Check the connection and try again.");
  } finally {
    $("figures").setAttribute("aria-busy", "false");
    $("apply").disabled = false;
  }
}

$("filter").addEventListener("submit", (event) => {
  event.preventDefault();
  const from = $("from").value;
  const to = $("to").value;
  if (!from || !to) {
    showProblem("Enter both dates, as day, month and year.");
    return;
  }
  if (from > to) {
    showProblem("The From date must be on or before the To date.");
    return;
  }
  load(from, to, $("department").value);
});

const params = new URLSearchParams(window.location.search);
load(params.get("from"), params.get("to"), params.get("department"));
