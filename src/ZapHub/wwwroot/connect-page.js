// A connect link's page tells the page that framed it how the connection went: only if that page is on an origin the
// tenant allowed (the browser already refuses to frame it anywhere else). Answers whether the page is framed.
window.zaphubConnect = {
  report: function (outcome, sessionId, allowed) {
    if (window.parent === window) return false;
    var origin = null;
    if (window.location.ancestorOrigins && window.location.ancestorOrigins.length > 0) origin = window.location.ancestorOrigins[0];
    else if (document.referrer) { try { origin = new URL(document.referrer).origin; } catch (e) { origin = null; } }
    if (origin && allowed.indexOf(origin) >= 0) {
      window.parent.postMessage({ type: 'zaphub:connect', outcome: outcome, sessionId: sessionId }, origin);
    }
    return true;
  }
};
