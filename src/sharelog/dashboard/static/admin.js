// The Administration view: the account's webhooks and their deliveries, its API keys, its audit log.
// Every call needs an admin key; a lesser key gets 403 from the API and the view says so.
import { api, ApiError, currentKey } from "./api.js";
import { dateTime, el } from "./format.js";

const DELIVERIES_PAGE = 20;
const AUDIT_PAGE = 15;
const PREFIX_LENGTH = 12; // a key's display prefix: how GET /ss/api/keys names it
const $ = (id) => document.getElementById(id);

/** Thrown to drop the answer of a request that a newer choice replaced. */
class Stale extends Error {}

const when = (iso) => (iso ? dateTime(iso) : null);
const badge = (text, kind = text) => el("span", { class: `badge ${kind}` }, text);

/** `action()` with `button` disabled until it has finished, so that a double click acts once. */
async function once(button, action) {
  button.disabled = true;
  try { return await action(); } finally { button.disabled = false; }
}

/**
 * The view's behaviour. `track(promise)` counts a user action as loading (the page's
 * busy counter); `signOut(message)` returns to the sign-in form.
 */
export function createAdmin({ track, signOut }) {
  const view = { endpoints: [], endpoint: null, cursor: null, generation: 0 };

  /** Run an action of this view; its errors are shown here, never thrown further. */
  function run(action) {
    return track(Promise.resolve().then(action).catch((error) => {
      if (error instanceof Stale) return;
      if (error instanceof ApiError && error.status === 401) { signOut("That key was refused."); return; }
      if (error instanceof ApiError && error.status === 403) { deny(error); return; }
      $("admin-problem").textContent = `Could not load: ${error.message}`;
      $("admin-problem").hidden = false;
    }));
  }

  function deny(error) {
    $("admin-body").hidden = true;
    $("admin-denied-reason").textContent = error.message;
    $("admin-denied").hidden = false;
  }

  async function load() {
    $("admin-problem").hidden = true;
    // The account answers first: with a key that is not admin, its 403 is the whole story.
    const account = await api("/ss/api/account");
    $("admin-denied").hidden = true;
    $("admin-body").hidden = false;
    showAccount(account);
    await Promise.all([loadWebhooks(), loadKeys(), loadAudit()]);
  }

  function showAccount(account) {
    const retention = account.retention_days === null ? "keeps every session" : `keeps sessions ${account.retention_days} days`;
    $("account-line").textContent = `Account ${account.name} (id ${account.id}) · created ${dateTime(account.created)} · retention ${retention}`;
  }

  // ---- webhooks and their deliveries ------------------------------------------
  async function loadWebhooks() {
    const { webhooks } = await api("/ss/api/webhooks");
    view.endpoints = webhooks;
    $("webhooks-table").tBodies[0].replaceChildren(...webhooks.map((w) => {
      const state = w.enabled ? badge("enabled") : el("span", {}, badge("disabled"), w.disabled_reason ? ` ${w.disabled_reason}` : "");
      const row = el("tr", { "data-endpoint": w.id, tabindex: 0 },
        el("td", { class: "url", title: w.url }, w.url), el("td", { class: "description", title: w.description }, w.description || "–"),
        el("td", { class: "codes" }, w.events.join(", ")), el("td", { class: "state" }, state),
        el("td", {}, dateTime(w.created)), el("td", { class: "codes" }, w.id));
      row.addEventListener("click", () => run(() => choose(w.id)));
      row.addEventListener("keydown", (event) => { if (event.key === "Enter") run(() => choose(w.id)); });
      return row;
    }));
    $("webhooks-empty").hidden = webhooks.length > 0;
    // Keep the endpoint on screen when it still exists; else show the first one's log.
    const kept = webhooks.find((w) => w.id === view.endpoint);
    await choose(kept ? kept.id : webhooks.length ? webhooks[0].id : null);
  }

  async function choose(id) {
    view.endpoint = id;
    for (const row of $("webhooks-table").tBodies[0].rows) {
      if (row.dataset.endpoint === id) row.setAttribute("aria-current", "true"); else row.removeAttribute("aria-current");
    }
    $("deliveries").hidden = id === null;
    if (id === null) return;
    $("deliveries-url").textContent = view.endpoints.find((w) => w.id === id).url;
    await loadDeliveries(false);
  }

  async function loadDeliveries(older) {
    const generation = ++view.generation, endpoint = view.endpoint;
    const page = await api(`/ss/api/webhooks/${encodeURIComponent(endpoint)}/messages`, {
      limit: DELIVERIES_PAGE, status: $("deliveries-status").value, cursor: older ? view.cursor : null,
    });
    if (generation !== view.generation) throw new Stale();
    view.cursor = page.next_cursor;
    const rows = page.messages.map((m) => el("tr", { "data-message": m.id, "data-status": m.status },
      el("td", {}, dateTime(m.created)), el("td", {}, m.type), el("td", {}, badge(m.status)),
      el("td", { class: "num" }, m.attempts),
      el("td", { class: "num" }, m.last_status_code === null ? "–" : m.last_status_code),
      el("td", { class: m.last_error ? "error-text" : null, title: m.last_error }, m.last_error || "–"),
      el("td", {}, when(m.next_attempt) || "–"), el("td", { class: "codes" }, m.id)));
    const body = $("deliveries-table").tBodies[0];
    if (older) body.append(...rows); else body.replaceChildren(...rows);
    $("deliveries-empty").hidden = body.rows.length > 0;
    $("deliveries-more").hidden = !page.next_cursor;
  }

  async function sendTest() {
    await api(`/ss/api/webhooks/${encodeURIComponent(view.endpoint)}/test`, {}, { method: "POST" });
    await loadDeliveries(false);
  }

  // ---- keys ---------------------------------------------------------------------
  async function loadKeys() {
    const { keys } = await api("/ss/api/keys");
    const mine = (currentKey() || "").slice(0, PREFIX_LENGTH);
    $("keys-table").tBodies[0].replaceChildren(...keys.map((k) => {
      const action = el("td", { class: "actions" });
      if (!k.revoked) {
        const button = el("button", { type: "button", class: "danger", "data-testid": "revoke-key" }, "Revoke…");
        button.addEventListener("click", () => confirmRevoke(action, k.prefix, k.prefix === mine));
        action.append(button);
      }
      return el("tr", { "data-prefix": k.prefix, "data-revoked": String(Boolean(k.revoked)) },
        el("td", {}, el("code", {}, k.prefix), k.prefix === mine ? el("span", { class: "muted" }, " (this tab)") : null),
        el("td", {}, k.scope), el("td", {}, dateTime(k.created)), el("td", {}, when(k.last_used) || "never"),
        el("td", {}, k.revoked ? el("span", {}, badge("revoked"), ` ${dateTime(k.revoked)}`) : badge("active")),
        action);
    }));
  }

  /** Revoking cannot be undone: the row asks once more, in place. */
  function confirmRevoke(cell, prefix, mine) {
    const yes = el("button", { type: "button", class: "danger", "data-testid": "confirm-revoke" }, "Yes, revoke");
    const no = el("button", { type: "button" }, "Cancel");
    const question = mine ? "This is the key this tab uses: revoke it and sign out?" : "Revoke this key? Whoever uses it is refused from then on.";
    const original = [...cell.childNodes];
    cell.replaceChildren(el("span", { class: "confirm" }, question), " ", yes, " ", no);
    no.addEventListener("click", () => cell.replaceChildren(...original));
    yes.addEventListener("click", () => run(() => once(yes, async () => {
      await api(`/ss/api/keys/${encodeURIComponent(prefix)}`, {}, { method: "DELETE" });
      if (mine) { signOut(`You revoked the key ${prefix}…; sign in with another key.`); return; }
      await Promise.all([loadKeys(), loadAudit()]);
    })));
    yes.focus();
  }

  async function createKey() {
    // One request per click: a double click would make two keys and show only the second.
    const created = await once($("create-key-button"), () => api("/ss/api/keys", {}, { method: "POST", body: { scope: $("new-key-scope").value } }));
    $("new-key-value").textContent = created.key;
    $("copy-state").textContent = "";
    $("new-key").dataset.prefix = created.prefix;
    $("new-key").hidden = false;
    await Promise.all([loadKeys(), loadAudit()]);
  }

  async function copyKey() {
    const secret = $("new-key-value");
    try {
      await navigator.clipboard.writeText(secret.textContent);
      $("copy-state").textContent = "Copied.";
    } catch {
      // No clipboard access (an insecure origin, a refused permission): select it for Ctrl+C.
      getSelection().selectAllChildren(secret);
      $("copy-state").textContent = "Selected: press Ctrl+C (⌘C) to copy.";
    }
  }

  function forgetNewKey() {
    $("new-key-value").textContent = "";
    $("new-key").hidden = true;
  }

  // ---- audit log ----------------------------------------------------------------
  async function loadAudit() {
    const { entries } = await api("/ss/api/audit", { limit: AUDIT_PAGE });
    $("audit-table").tBodies[0].replaceChildren(...(entries.length ? entries.map((e) => el("tr", {},
      el("td", {}, dateTime(e.at)), el("td", {}, el("code", {}, e.key)), el("td", {}, e.action), el("td", {}, e.target || "–")))
      : [el("tr", {}, el("td", { colspan: 4, class: "muted" }, "Nothing done with admin rights yet."))]));
  }

  // ---- wiring -------------------------------------------------------------------
  $("admin-refresh").addEventListener("click", () => run(load));
  $("admin-switch-key").addEventListener("click", () => signOut());
  $("deliveries-status").addEventListener("change", () => run(() => loadDeliveries(false)));
  $("deliveries-more").addEventListener("click", () => run(() => loadDeliveries(true)));
  $("send-test").addEventListener("click", () => run(() => once($("send-test"), sendTest)));
  $("create-key").addEventListener("submit", (event) => { event.preventDefault(); run(createKey); });
  $("copy-key").addEventListener("click", () => run(copyKey));
  $("dismiss-key").addEventListener("click", forgetNewKey);

  return {
    /** Show the view with fresh figures from the API. */
    show: () => run(load),
    /** Forget everything shown, a new key above all (on sign-out). */
    clear() {
      forgetNewKey();
      view.endpoints = []; view.endpoint = null; view.generation += 1;
      for (const id of ["webhooks-table", "deliveries-table", "keys-table", "audit-table"]) $(id).tBodies[0].replaceChildren();
      $("account-line").textContent = "";
      $("admin-body").hidden = true; $("admin-denied").hidden = true; $("admin-problem").hidden = true;
    },
  };
}
