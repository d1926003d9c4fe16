/* Sessions on shared PCs (no inline script: CSP script-src 'self').

   1. Typing counts as activity: while the user types in a form, a small keep-alive POST
      goes to the server at most once a minute, so a long call's notes never time out.
   2. Two minutes before the idle timeout a dialog says so, with "Stay signed in".
   3. Drafts: what is typed into a form is kept in this tab's sessionStorage. When a
      timeout signs the user out (or a save bounces to the sign-in page), signing in again
      as the same person offers the text back on that form. Signing out, or another person
      signing in, clears it. Passwords and hidden fields are never kept. */
(function () {
  'use strict';
  var body = document.body;
  if (!body) { return; }
  var user = body.getAttribute('data-user') || '';
  var onLogin = body.hasAttribute('data-login-page');
  var PREFIX = 'hl-draft:';
  var MAX_AGE = 12 * 3600 * 1000;
  var store = null;
  try { store = window.sessionStorage; } catch (err) { store = null; }

  /* ---------- drafts ---------- */
  function draftable(form) {
    return form && form.method && form.method.toLowerCase() === 'post' &&
      !form.hasAttribute('data-no-draft') && !form.querySelector('input[type=password]') &&
      form.querySelector('textarea, input[type=text], input:not([type]), input[type=email], input[type=tel], input[type=number], input[type=date], select');
  }
  function keyOf(form) {
    var action = new URL(form.getAttribute('action') || window.location.href, window.location.href);
    var forms = Array.prototype.filter.call(document.forms, draftable);
    return PREFIX + window.location.pathname + '|' + action.pathname + '|' + (form.id || forms.indexOf(form));
  }
  var SKIP = ['hidden', 'password', 'submit', 'button', 'file', 'reset', 'image'];
  function fields(form) {
    return Array.prototype.filter.call(form.elements, function (el) {
      return el.name && el.tagName !== 'BUTTON' && el.tagName !== 'FIELDSET' && SKIP.indexOf(el.type) < 0 &&
        el.name !== 'csrf_token' && el.name !== 'form_token';
    });
  }
  function snapshot(form) {
    var seen = {};
    return fields(form).map(function (el) {
      var i = seen[el.name] = (seen[el.name] === undefined ? 0 : seen[el.name] + 1);
      var checkable = el.type === 'checkbox' || el.type === 'radio';
      return [el.name, i, checkable ? el.checked : el.value, checkable];
    });
  }
  function typedSomething(values, form) {
    var now = snapshot(form);
    return values.some(function (v, i) {
      var cur = now[i];
      return !cur || cur[0] !== v[0] || cur[2] !== v[2];
    }) && values.some(function (v) { return !v[3] && v[2]; });
  }
  function read(key) {
    if (!store) { return null; }
    try { return JSON.parse(store.getItem(key)); } catch (err) { return null; }
  }
  function write(key, draft) {
    if (!store) { return; }
    try { store.setItem(key, JSON.stringify(draft)); } catch (err) { /* full: skip */ }
  }
  function allKeys() {
    var keys = [];
    if (!store) { return keys; }
    for (var i = 0; i < store.length; i++) {
      if (store.key(i).indexOf(PREFIX) === 0) { keys.push(store.key(i)); }
    }
    return keys;
  }
  function save(form, submitted) {
    if (!user || !draftable(form)) { return; }
    write(keyOf(form), { user: user, page: window.location.pathname, at: Date.now(),
                         values: snapshot(form), submitted: !!submitted, bounced: false });
  }
  var pending = null;
  function saveSoon(form) {
    pending = form;
    window.clearTimeout(saveSoon.timer);
    saveSoon.timer = window.setTimeout(function () { if (pending) { save(pending); pending = null; } }, 400);
  }
  function saveNow() { if (pending) { save(pending); pending = null; } }
  function clearAll() { allKeys().forEach(function (k) { store.removeItem(k); }); }

  function restore(form, values) {
    var byName = {};
    values.forEach(function (v) {
      var els = byName[v[0]] || (byName[v[0]] = form.querySelectorAll('[name="' + v[0].replace(/"/g, '') + '"]'));
      var el = els[v[1]];
      if (!el) { return; }
      if (v[3]) { el.checked = v[2]; } else { el.value = v[2]; }
      el.dispatchEvent(new Event('change', { bubbles: true }));
    });
  }
  function offer(form, key, draft) {
    var box = document.createElement('div');
    box.className = 'govuk-notification-banner hl-draft-offer';
    box.setAttribute('role', 'region');
    box.setAttribute('aria-labelledby', 'hl-draft-title');
    box.innerHTML = '<div class="govuk-notification-banner__header"><h2 class="govuk-notification-banner__title" id="hl-draft-title">Important</h2></div>' +
      '<div class="govuk-notification-banner__content"><p class="govuk-notification-banner__heading">' +
      'What you typed here before you were signed out was not saved. It was kept on this computer.</p>' +
      '<div class="govuk-button-group"><button type="button" class="govuk-button" data-draft-restore>Put back what I typed</button>' +
      '<button type="button" class="govuk-button govuk-button--secondary" data-draft-discard>Discard it</button></div></div>';
    form.parentNode.insertBefore(box, form);
    box.querySelector('[data-draft-restore]').addEventListener('click', function () {
      restore(form, draft.values);
      draft.bounced = false;
      write(key, draft);
      box.remove();
      var first = form.querySelector('textarea, input:not([type=hidden])');
      if (first) { first.focus(); }
    });
    box.querySelector('[data-draft-discard]').addEventListener('click', function () {
      store.removeItem(key);
      box.remove();
    });
  }

  function onLoad() {
    if (!store) { return; }
    if (onLogin) {  // a timeout or a bounced save brought us here: keep every draft
      allKeys().forEach(function (k) {
        var d = read(k);
        if (d) { d.bounced = true; d.submitted = false; write(k, d); }
      });
      return;
    }
    if (!user) { return; }
    var here = window.location.pathname;
    var forms = {};
    Array.prototype.forEach.call(document.forms, function (f) { if (draftable(f)) { forms[keyOf(f)] = f; } });
    allKeys().forEach(function (k) {
      var d = read(k);
      var stale = !d || d.user !== user || Date.now() - d.at > MAX_AGE;
      if (stale || (d.submitted && !d.bounced)) { store.removeItem(k); return; }
      if (d.page !== here) {
        if (!d.bounced) { store.removeItem(k); }  // left the page on purpose
        return;
      }
      var form = forms[k];
      if (form && d.bounced && typedSomething(d.values, form)) { offer(form, k, d); }
      else if (form && !d.bounced) { store.removeItem(k); }
    });
  }

  document.addEventListener('input', function (e) {
    var form = e.target && e.target.form;
    if (form && draftable(form)) { saveSoon(form); }
  });
  document.addEventListener('change', function (e) {
    var form = e.target && e.target.form;
    if (form && draftable(form) && e.isTrusted) { saveSoon(form); }
  });
  document.addEventListener('submit', function (e) {
    var form = e.target;
    if (form.hasAttribute('data-sign-out')) { clearAll(); return; }
    if (draftable(form)) { pending = null; save(form, true); }
  }, true);
  // An inline save (e.g. "Add note") clears its field: keep the draft in step.
  document.addEventListener('htmx:afterRequest', function (e) {
    var elt = e.detail && e.detail.elt;
    var form = elt && (elt.form || (elt.closest && elt.closest('form')));
    if (e.detail.successful && form && draftable(form)) { saveSoon(form); }
  });
  window.addEventListener('pagehide', saveNow);

  /* ---------- activity, keep-alive and the warning dialog ---------- */
  var idleMs = parseInt(body.getAttribute('data-idle-seconds') || '0', 10) * 1000;
  var keepAliveUrl = body.getAttribute('data-keep-alive');
  if (!user || !idleMs || !keepAliveUrl) { onLoad(); return; }
  var WARN_MS = Math.min(120000, idleMs / 3);
  var KEEPALIVE_EVERY = Math.min(60000, idleMs / 4);
  var ACT = 'hl-last-activity';
  function lastActivity() {
    var own = lastActivity.own || 0;
    try { return Math.max(own, parseInt(window.localStorage.getItem(ACT) || '0', 10)); } catch (err) { return own; }
  }
  function active(at) {
    lastActivity.own = at;
    try { window.localStorage.setItem(ACT, String(at)); } catch (err) { /* private mode */ }
  }
  active(Date.now());  // this page load was a deliberate request

  function csrf() {
    try { return JSON.parse(body.getAttribute('hx-headers'))['X-CSRFToken']; } catch (err) { return ''; }
  }
  var lastSent = Date.now();
  function keepAlive() {
    lastSent = Date.now();
    return fetch(keepAliveUrl, { method: 'POST', credentials: 'same-origin',
      headers: { 'X-CSRFToken': csrf(), 'HX-Request': 'true' } })
      .then(function (r) {
        if (r.status === 204) { active(Date.now()); return true; }
        signedOut();
        return false;
      }, function () { return false; });
  }
  document.addEventListener('input', function () {
    if (Date.now() - lastSent >= KEEPALIVE_EVERY) { keepAlive(); }
  });
  document.addEventListener('htmx:afterRequest', function (e) {
    var cfg = e.detail && e.detail.requestConfig;
    var passive = cfg && cfg.headers && cfg.headers['X-Helpline-Passive'];
    if (e.detail.successful && !passive) { active(Date.now()); }
  });

  var dialog = document.getElementById('hl-timeout');
  var text = document.getElementById('hl-timeout-text');
  function signedOut() {
    saveNow();
    if (window.helpline) { window.helpline.leaving = true; }  // no "leave page?" dialog
    window.location.reload();  // the server shows the sign-in page; drafts stay in this tab
  }
  function tick() {
    var left = lastActivity() + idleMs - Date.now();
    if (left <= 0) { signedOut(); return; }
    if (dialog && left <= WARN_MS) {
      var mins = Math.ceil(left / 60000);
      var msg = left > 60000 ? 'You will be signed out in ' + mins + ' minutes.' :
        'You will be signed out in less than a minute.';
      if (text.textContent.indexOf(msg) < 0) {
        text.textContent = msg + ' Anything you have not saved will be kept on this computer and offered back when you sign in again.';
      }
      if (!dialog.open && dialog.showModal) { dialog.showModal(); }
    } else if (dialog && dialog.open) {
      dialog.close();
    }
  }
  if (dialog) {
    dialog.querySelector('[data-stay-signed-in]').addEventListener('click', function () {
      keepAlive().then(function (ok) { if (ok) { dialog.close(); } });
    });
    dialog.addEventListener('cancel', function (e) {  // Escape also means "stay"
      e.preventDefault();
      keepAlive().then(function (ok) { if (ok) { dialog.close(); } });
    });
  }
  window.setInterval(tick, Math.min(5000, WARN_MS / 4));
  onLoad();
})();
