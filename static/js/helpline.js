/* Helpline page glue (no framework). Keeps the SSE stream URL at the last event id
   seen, so when htmx's SSE extension opens a new EventSource after an error the
   server replays only what this page missed. */
(function () {
  'use strict';
  document.addEventListener('htmx:sseMessage', function (e) {
    var id = e.detail && e.detail.lastEventId;
    if (!id) { return; }
    var el = e.target.closest('[sse-connect]');
    if (!el) { return; }
    var url = new URL(el.getAttribute('sse-connect'), window.location.href);
    url.searchParams.set('last_id', id);
    el.setAttribute('sse-connect', url.pathname + url.search);
    document.body.setAttribute('data-last-event-id', id);
  });
  document.addEventListener('htmx:sseOpen', function (e) {
    var source = e.detail && e.detail.source;
    if (!source || source._helplineBound) { return; }
    source._helplineBound = true;
    source.addEventListener('signed-out', function () {
      source.close();
      if (window.helpline) { window.helpline.leaving = true; }
      window.location.reload();
    });
  });
})();

/* ARIA combobox keyboard support for htmx-driven suggestion lists (handler picker):
   ArrowDown/ArrowUp move through the options, Enter chooses, Escape closes. */
window.helpline = window.helpline || {};
(function (helpline) {
  'use strict';
  function options(input) {
    var list = document.getElementById(input.getAttribute('aria-controls'));
    return list ? Array.prototype.slice.call(list.querySelectorAll('[role=option]')) : [];
  }
  function activate(input, opts, index) {
    opts.forEach(function (o, i) { o.setAttribute('aria-selected', i === index ? 'true' : 'false'); });
    if (opts[index]) {
      input.setAttribute('aria-activedescendant', opts[index].id);
      opts[index].scrollIntoView({ block: 'nearest' });
    }
  }
  helpline.comboboxChosen = function (inputId) {
    var input = document.getElementById(inputId);
    if (!input) { return; }
    input.value = '';
    input.setAttribute('aria-expanded', 'false');
    input.removeAttribute('aria-activedescendant');
    var list = document.getElementById(input.getAttribute('aria-controls'));
    if (list) { list.innerHTML = ''; }
    input.focus();
  };
  document.addEventListener('keydown', function (e) {
    var input = e.target;
    if (!input.hasAttribute || !input.hasAttribute('data-combobox')) { return; }
    var opts = options(input);
    var current = opts.findIndex(function (o) { return o.getAttribute('aria-selected') === 'true'; });
    if (e.key === 'ArrowDown' && opts.length) {
      e.preventDefault(); activate(input, opts, Math.min(opts.length - 1, current + 1));
    } else if (e.key === 'ArrowUp' && opts.length) {
      e.preventDefault(); activate(input, opts, Math.max(0, current - 1));
    } else if (e.key === 'Enter' && opts.length) {
      e.preventDefault(); htmx.trigger(opts[current < 0 ? 0 : current], 'choose');
    } else if (e.key === 'Escape') {
      var list = document.getElementById(input.getAttribute('aria-controls'));
      if (list) { list.innerHTML = ''; }
      input.setAttribute('aria-expanded', 'false');
    }
  });
  document.addEventListener('htmx:afterSwap', function (e) {
    var list = e.detail.target;
    if (!list || !list.id) { return; }
    var input = document.querySelector('[data-combobox][aria-controls="' + list.id + '"]');
    var fresh = input ? document.getElementById(list.id) : null;
    if (input && fresh) {
      input.setAttribute('aria-expanded', fresh.querySelector('[role=option]') ? 'true' : 'false');
    }
  });
})(window.helpline);

/* Call-back reminders are role="alertdialog": move focus to the newest one when it appears. */
(function () {
  'use strict';
  function focusReminder() {
    var r = document.querySelector('#reminders .hl-reminder');
    if (r) { r.focus(); }
  }
  document.addEventListener('DOMContentLoaded', focusReminder);
  document.addEventListener('htmx:afterSwap', function (e) {
    if (e.detail.target && e.detail.target.id === 'reminders') { focusReminder(); }
  });
})();

/* A form is sent once: a second click while the first is on its way does nothing. */
document.addEventListener('submit', function (e) {
  'use strict';
  var form = e.target;
  if (form.getAttribute('method') !== 'post' && form.method !== 'post') { return; }
  if (form.dataset.sending === '1') { e.preventDefault(); return; }
  form.dataset.sending = '1';
  window.setTimeout(function () { form.dataset.sending = ''; }, 5000);
});

/* Small behaviours declared with data- attributes, so pages carry no inline script and
   htmx never evaluates strings (the Content-Security-Policy allows scripts from 'self' only). */
(function () {
  'use strict';
  // Remove buttons on inline signpost/referral rows: drop the row here; without
  // JavaScript the same button posts row_action and the server drops it.
  document.addEventListener('click', function (e) {
    var btn = e.target.closest && e.target.closest('.hl-row__remove');
    if (btn) {
      var form = btn.form;
      e.preventDefault(); btn.closest('.hl-row').remove();
      window.helpline.formChanged(form);  // the draft forgets the row too
      return;
    }
    var rm = e.target.closest && e.target.closest('[data-remove-closest]');
    if (rm) { e.preventDefault(); rm.closest(rm.getAttribute('data-remove-closest')).remove(); }
  });
  // A row added with "+ New Local Signpost/Referral": keyboard users land in it.
  document.addEventListener('htmx:afterSwap', function (e) {
    var target = e.detail.target;
    if (!target || (target.id !== 'signpost-rows' && target.id !== 'referral-rows')) { return; }
    var rows = target.querySelectorAll('.hl-row');
    var field = rows.length ? rows[rows.length - 1].querySelector('select, input, textarea') : null;
    if (field) { field.focus(); }
  });
  // A suggestion that fills a text box (Case Reference): click, or Enter via 'choose'.
  function fill(e) {
    var opt = e.target.closest && e.target.closest('[data-fill]');
    if (!opt) { return; }
    var input = document.getElementById(opt.getAttribute('data-fill'));
    if (input) { input.value = opt.getAttribute('data-value'); input.focus(); }
    opt.parentNode.innerHTML = '';
  }
  document.addEventListener('click', fill);
  document.addEventListener('choose', fill);
  document.addEventListener('htmx:afterRequest', function (e) {
    var elt = e.detail.elt;
    if (!elt || !elt.getAttribute || !e.detail.successful) { return; }
    var clear = elt.getAttribute('data-clear-on-success');
    if (clear && document.getElementById(clear)) {
      document.getElementById(clear).value = '';
      window.helpline.draftNow(elt.form);  // an added note must not come back from the draft
    }
    var done = elt.getAttribute('data-combobox-done');
    if (done) { window.helpline.comboboxChosen(done); }
  });
  // The postcode looks up its area only while the Postcode (Lookup) box is still empty,
  // so a typed area is never overwritten.
  document.addEventListener('htmx:confirm', function (e) {
    var elt = e.detail.elt;
    var other = elt && elt.getAttribute && elt.getAttribute('data-unless-filled');
    if (other && document.getElementById(other) && document.getElementById(other).value) {
      e.preventDefault();
    }
  });
})();

/* htmx does not show an error response (a busy database's 503, a 500, a lost connection):
   say so at the top of the page, so nobody believes a click worked when it did not.
   The message goes away with the next request that succeeds. */
(function () {
  'use strict';
  var ID = 'hl-request-error';
  function show(text) {
    var box = document.getElementById(ID);
    if (!box) {
      var main = document.getElementById('main-content');
      if (!main) { return; }
      box = document.createElement('div');
      box.id = ID;
      box.className = 'govuk-error-summary';
      box.setAttribute('role', 'alert');
      box.setAttribute('tabindex', '-1');
      main.insertBefore(box, main.firstChild);
    }
    box.textContent = '';
    var p = document.createElement('p');
    p.className = 'govuk-body govuk-!-margin-bottom-0';
    p.textContent = text;
    box.appendChild(p);
  }
  document.addEventListener('htmx:responseError', function (e) {
    var status = e.detail.xhr ? e.detail.xhr.status : 0;
    if (status === 503) {
      show('The database is busy, so that was not saved. What you typed is still here: please try again.');
    } else if (status === 403) {
      show('You are not allowed to do that, or you have been signed out. Reload the page to check.');
    } else {
      show('Something went wrong (error ' + status + '), so that did not work. What you typed is still here: please try again.');
    }
  });
  document.addEventListener('htmx:sendError', function () {
    show('Helpline cannot be reached: check the network connection, then try again. What you typed is still here.');
  });
  document.addEventListener('htmx:afterRequest', function (e) {
    if (e.detail.successful) {
      var box = document.getElementById(ID);
      if (box) { box.remove(); }
    }
  });
})();

/* Live defaults that never overwrite typing (data-keep-typed on the hx element): if the
   user changed a field of the target while the answer was on its way (a slow link), the
   answer is dropped and asked for again with what is on the screen now. */
(function () {
  'use strict';
  function fields(el) {
    var target = document.querySelector(el.getAttribute('hx-target')) || el;
    return Array.prototype.slice.call(target.querySelectorAll('input, textarea, select'));
  }
  function snapshot(el) {
    return fields(el).map(function (f) { return f.name + '=' + f.value; }).join('&');
  }
  /* What was on the screen is kept with each request (its xhr), not on the element: an
     older answer that arrives after a newer request was sent is judged by what it was
     asked with, and dropped if the screen has changed since (it must never put back the
     defaults over a Start typed meanwhile). */
  document.addEventListener('htmx:beforeRequest', function (e) {
    var el = e.detail.elt;
    if (el && el.hasAttribute && el.hasAttribute('data-keep-typed') && e.detail.xhr) {
      e.detail.xhr._helplineSent = snapshot(el);
    }
  });
  document.addEventListener('htmx:beforeSwap', function (e) {
    var el = e.detail.requestConfig && e.detail.requestConfig.elt;
    if (!el || !el.hasAttribute || !el.hasAttribute('data-keep-typed')) { return; }
    var sent = e.detail.xhr && e.detail.xhr._helplineSent;
    if (sent !== undefined && sent !== snapshot(el)) {
      e.detail.shouldSwap = false;  // typed since it was sent: ask again with the new values
      el.dispatchEvent(new Event('change', { bubbles: true }));
    }
  });
})();

/* Nothing typed is lost (issue 15). A form marked data-warn-unsaved (case, contact) asks
   before the page is left while it holds changes; submitting it clears that. The case
   form's draft element ([data-draft], htmx) posts the form to the server every few seconds
   of typing; once the form is submitted no late draft is sent, and leaving a changed page
   sends one last draft (fetch keepalive, as htmx would: HX-Request and the CSRF header).
   Without JavaScript none of this runs and the forms post as they always did. */
window.helpline = window.helpline || {};
(function (helpline) {
  'use strict';
  var dirty = null;
  helpline.leaving = false;  // set by a reload the app itself makes (signed out)
  function formOf(el) {
    if (!el) { return null; }
    if (el.tagName === 'FORM') { return el; }
    return el.form || (el.closest && el.closest('form')) || null;
  }
  function watched(form) { return form && form.hasAttribute && form.hasAttribute('data-warn-unsaved'); }
  function mark(e) {
    var form = formOf(e.target);
    if (watched(form) && form.dataset.submitted !== '1') { dirty = form; }
  }
  document.addEventListener('input', mark, true);
  document.addEventListener('change', mark, true);
  document.addEventListener('submit', function (e) {
    var form = e.target;
    if (!watched(form)) { return; }
    form.dataset.submitted = '1';
    if (dirty === form) { dirty = null; }
  });
  window.addEventListener('pageshow', function () {
    Array.prototype.forEach.call(document.querySelectorAll('form[data-submitted]'), function (f) {
      f.removeAttribute('data-submitted');
    });
  });
  window.addEventListener('beforeunload', function (e) {
    if (!dirty || helpline.leaving || !document.body.contains(dirty)) { return; }
    e.preventDefault();
    e.returnValue = '';  // older Chromium needs it set to show the dialog
  });
  // a late draft from a form that is being saved would outlive the saved case
  document.addEventListener('htmx:confirm', function (e) {
    var elt = e.detail.elt;
    if (elt && elt.hasAttribute && elt.hasAttribute('data-draft') && formOf(elt) &&
        formOf(elt).dataset.submitted === '1') {
      e.preventDefault();
    }
  });
  window.addEventListener('pagehide', function () {
    if (!dirty || helpline.leaving || !document.body.contains(dirty)) { return; }
    var status = dirty.querySelector('[data-draft]');
    if (!status || !window.fetch) { return; }
    var csrf = '';
    try { csrf = JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRFToken']; } catch (err) { csrf = ''; }
    try {
      fetch(status.getAttribute('hx-post'), { method: 'POST', body: new FormData(dirty), keepalive: true,
        credentials: 'same-origin', headers: { 'HX-Request': 'true', 'X-CSRFToken': csrf } });
    } catch (err) { /* too large for keepalive: the last autosave stands */ }
  });
  // A removed row or a note added inline changes the form without an input event.
  helpline.formChanged = function (form) {
    if (form) { form.dispatchEvent(new Event('change', { bubbles: true })); }
  };
  helpline.draftNow = function (form) {
    if (form) { form.dispatchEvent(new Event('hl-draft-now')); }
  };
})(window.helpline);
