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
      window.location.reload();
    });
  });
})();
