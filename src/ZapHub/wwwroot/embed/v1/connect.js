/*
 * ZapHub connect widget. A platform's page opens a hosted connect link (made by its backend with
 * POST /api/v1/sessions/{id}/connect-links) in a modal frame:
 *
 *   <script src="https://zaphub.example.com/embed/v1/connect.js"></script>
 *   ZapHub.connect(url).then(function (result) { ... result.outcome: "connected", "expired" or "closed" ... });
 *
 * While it is open the target (document, or options.target) receives DOM events "zaphub:connected",
 * "zaphub:failed", "zaphub:expired" and "zaphub:closed", each with { outcome, sessionId } as detail.
 * "failed" leaves the frame open (the person can generate a new code); the others end it.
 * Messages are taken only from the link's own frame and origin.
 */
(function () {
  'use strict';
  var ENDING = { connected: true, expired: true, closed: true };

  function connect(url, options) {
    options = options || {};
    var target = options.target || document;
    var linkOrigin = new URL(url, window.location.href).origin;
    return new Promise(function (resolve) {
      var overlay = document.createElement('div');
      overlay.setAttribute('data-zaphub', 'connect');
      overlay.style.cssText = 'position:fixed;inset:0;background:rgba(0,0,0,.45);display:flex;align-items:center;justify-content:center;z-index:2147483000;padding:12px;';
      var box = document.createElement('div');
      box.style.cssText = 'position:relative;background:#fff;border-radius:14px;width:100%;max-width:480px;height:min(720px,95vh);overflow:hidden;box-shadow:0 10px 40px rgba(0,0,0,.3);';
      var frame = document.createElement('iframe');
      frame.src = url;
      frame.title = options.title || 'WhatsApp';
      frame.style.cssText = 'border:0;width:100%;height:100%;';
      var close = document.createElement('button');
      close.type = 'button';
      close.setAttribute('aria-label', options.closeLabel || 'Fechar');
      close.textContent = '\u00d7';
      close.style.cssText = 'position:absolute;top:6px;right:8px;width:44px;height:44px;border:0;background:transparent;font-size:28px;cursor:pointer;';
      box.appendChild(frame);
      box.appendChild(close);
      overlay.appendChild(box);
      document.body.appendChild(overlay);

      var done = false;
      function emit(detail) {
        target.dispatchEvent(new CustomEvent('zaphub:' + detail.outcome, { detail: detail, bubbles: true }));
      }
      function finish(detail, delay) {
        if (done) return;
        done = true;
        window.removeEventListener('message', onMessage);
        setTimeout(function () { overlay.remove(); }, delay || 0);
        resolve(detail);
      }
      function onMessage(event) {
        if (event.origin !== linkOrigin || event.source !== frame.contentWindow) return;
        var data = event.data;
        if (!data || data.type !== 'zaphub:connect' || typeof data.outcome !== 'string') return;
        var detail = { outcome: data.outcome, sessionId: data.sessionId };
        emit(detail);
        if (ENDING[data.outcome]) finish(detail, data.outcome === 'connected' ? (options.closeDelay == null ? 1500 : options.closeDelay) : 0);
      }
      window.addEventListener('message', onMessage);
      close.addEventListener('click', function () {
        var detail = { outcome: 'closed', sessionId: null };
        emit(detail);
        finish(detail, 0);
      });
    });
  }

  window.ZapHub = window.ZapHub || {};
  window.ZapHub.connect = connect;
})();
