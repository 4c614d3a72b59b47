/**
 * A small reference page of our own for /api/docs: it fetches /api/v1/openapi.json and renders
 * every operation (parameters, body, answers with their schemas). Its script and styles are files
 * of their own, so the Content-Security-Policy (script-src and style-src 'self', no inline code)
 * holds unchanged; text goes in through textContent only. Embedded as strings because production
 * runs the compiled JavaScript, where non-TypeScript files would not be copied.
 */

export const REFERENCE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>codex-fleet API reference</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/api/docs/reference.css">
<script src="/api/docs/reference.js" defer></script>
</head>
<body>
<header><h1>codex-fleet API reference</h1>
<p>Generated from the collector's schemas: <a href="/api/v1/openapi.json">/api/v1/openapi.json</a> (OpenAPI 3.1).</p>
<input id="filter" type="search" placeholder="Filter by path, e.g. usage" aria-label="Filter operations"></header>
<main id="ops"><p id="status">Loading…</p></main>
</body>
</html>
`;

export const REFERENCE_CSS = `body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:72rem;padding:1rem 1.5rem;color:#1d2125}
header p{color:#555}
#filter{width:100%;max-width:28rem;padding:.4rem;font:inherit}
section.tag h2{margin:1.6rem 0 .4rem;text-transform:capitalize;border-bottom:1px solid #ddd}
details.op{border:1px solid #ddd;border-radius:4px;margin:.35rem 0}
details.op>summary{cursor:pointer;padding:.45rem .6rem;display:flex;gap:.8rem;align-items:baseline}
.method{font-weight:700;min-width:4.2rem;font-family:ui-monospace,monospace}
.method.get{color:#0b6e2e}.method.post{color:#1f4fbf}.method.put{color:#8a5a00}.method.delete{color:#b3261e}
.path{font-family:ui-monospace,monospace}
.summary{color:#555}
.body{padding:.2rem .9rem .8rem}
table{border-collapse:collapse;margin:.3rem 0}
td,th{border:1px solid #e2e2e2;padding:.2rem .5rem;text-align:left;vertical-align:top}
pre{background:#f6f8fa;padding:.5rem;overflow:auto;max-height:24rem;font-size:12px}
h4{margin:.8rem 0 .2rem}
`;

export const REFERENCE_JS = `"use strict";
(function () {
  var METHODS = ["get", "post", "put", "delete", "patch"];
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function typeOf(s) {
    if (!s) return "";
    if (s.enum) return s.enum.join(" | ");
    if (s.anyOf) return s.anyOf.map(typeOf).join(" | ");
    return s.type || "";
  }
  function schemaBlock(title, schema) {
    var d = el("div");
    d.appendChild(el("h4", "", title));
    d.appendChild(el("pre", "", JSON.stringify(schema, null, 2)));
    return d;
  }
  function operation(path, method, op) {
    var det = el("details", "op");
    det.dataset.path = path;
    var sum = el("summary");
    sum.appendChild(el("span", "method " + method, method.toUpperCase()));
    sum.appendChild(el("span", "path", path));
    sum.appendChild(el("span", "summary", op.summary || ""));
    det.appendChild(sum);
    var body = el("div", "body");
    if (op.description) body.appendChild(el("p", "", op.description));
    if (op.security && op.security.length === 0) body.appendChild(el("p", "", "No authentication needed."));
    var params = op.parameters || [];
    if (params.length) {
      body.appendChild(el("h4", "", "Parameters"));
      var t = el("table");
      var head = el("tr");
      ["name", "in", "required", "type", "description"].forEach(function (h) { head.appendChild(el("th", "", h)); });
      t.appendChild(head);
      params.forEach(function (p) {
        var r = el("tr");
        [p.name, p.in, p.required ? "yes" : "", typeOf(p.schema), p.description || (p.schema && p.schema.description) || ""]
          .forEach(function (v) { r.appendChild(el("td", "", String(v))); });
        t.appendChild(r);
      });
      body.appendChild(t);
    }
    var rb = op.requestBody && op.requestBody.content;
    if (rb) Object.keys(rb).forEach(function (ct) { body.appendChild(schemaBlock("Request body (" + ct + ")", rb[ct].schema)); });
    Object.keys(op.responses || {}).forEach(function (status) {
      var res = op.responses[status];
      var content = res.content || {};
      var types = Object.keys(content);
      if (!types.length) body.appendChild(el("h4", "", status + ": " + (res.description || "")));
      types.forEach(function (ct) {
        body.appendChild(schemaBlock(status + " " + ct + (res.description ? " — " + res.description : ""), content[ct].schema));
      });
    });
    det.appendChild(body);
    return det;
  }
  function render(doc) {
    var main = document.getElementById("ops");
    main.textContent = "";
    var byTag = {};
    Object.keys(doc.paths || {}).sort().forEach(function (path) {
      METHODS.forEach(function (m) {
        var op = doc.paths[path][m];
        if (!op) return;
        var tag = (op.tags && op.tags[0]) || "other";
        (byTag[tag] = byTag[tag] || []).push(operation(path, m, op));
      });
    });
    Object.keys(byTag).sort().forEach(function (tag) {
      var s = el("section", "tag");
      s.appendChild(el("h2", "", tag));
      byTag[tag].forEach(function (d) { s.appendChild(d); });
      main.appendChild(s);
    });
  }
  function load() {
    var filter = document.getElementById("filter");
    filter.addEventListener("input", function () {
      var q = filter.value.trim().toLowerCase();
      document.querySelectorAll("details.op").forEach(function (d) {
        d.hidden = q !== "" && d.dataset.path.toLowerCase().indexOf(q) < 0;
      });
    });
    fetch("/api/v1/openapi.json", { credentials: "same-origin" })
      .then(function (r) {
        if (!r.ok) throw new Error(r.status === 401 ? "sign in to the dashboard first (viewer access needed)" : "HTTP " + r.status);
        return r.json();
      })
      .then(render)
      .catch(function (e) { document.getElementById("status").textContent = "Could not load the API description: " + e.message; });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", load);
  else load();
})();
`;
