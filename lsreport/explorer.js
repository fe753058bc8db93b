/* The latent explorer's drawing code (lsreport.explorer writes it into the page).
 *
 * A classic script, no modules and no libraries from a CDN: the page must work
 * offline, on GitHub Pages and opened from the rendered _book/ folder as file://.
 * The explorer page's Observable JS cells call window.LSX for their menus and
 * drawings; under file://, where Quarto's OJS runtime refuses to run, the same
 * functions are mounted by LSX.standalone() with plain event listeners.
 *
 * The data come from lsreport.explorer.export (a <script type="ojs-define">):
 * a quantised random subsample of the training vectors, the full-data mean,
 * covariance and principal axes, and latent paths with a sprite of their
 * decoded faces. KDE contours are computed here from the subsample (Gaussian
 * kernel, Scott's full-covariance bandwidth, as in lsreport.stats.kde), at the
 * masses 1 - exp(-k^2/2) of the k = 1, 2, 3 ellipses; ellipses use the
 * full-data moments; measured coverage is counted on the subsample.
 */
(function () {
  "use strict";
  if (window.LSX) return;
  var SVGNS = "http://www.w3.org/2000/svg";

  if (window.location.protocol === "file:") {
    // Quarto alerts that OJS needs a web server; LSX.standalone() covers file://
    // and its inline module script expects the runtime that file:// blocks: give it a no-op
    if (!window._ojs) window._ojs = { paths: {}, runtime: { interpretFromScriptTags: function () {},
                                                          setLocalResolver: function () {} } };
    var alert0 = window.alert;
    window.alert = function (m) {
      if (!/OJS runtime does not work with file/.test(String(m))) alert0.call(window, m);
    };
  }

  function bytes(s) {
    var bin = atob(s), u8 = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) u8[i] = bin.charCodeAt(i);
    return u8.buffer;
  }

  function decode(raw) {
    if (raw && raw._decoded) return raw;
    var d = raw.d, m = raw.n_points, q = new Int16Array(bytes(raw.z_q));
    var z = new Float64Array(m * d);
    for (var r = 0; r < m; r++)
      for (var c = 0; c < d; c++) z[r * d + c] = raw.z_mid[c] + raw.z_step[c] * q[r * d + c];
    var ex = Object.assign({}, raw, {
      _decoded: true, z: z,
      cov: new Float32Array(bytes(raw.cov)),
      comps: new Float32Array(bytes(raw.components)),
      paths: (raw.paths || []).map(function (p) {
        return Object.assign({}, p, { z: new Float32Array(bytes(p.z)) });
      })
    });
    if (raw.sprite) {
      ex.spriteImg = new Image();
      ex.spriteReady = new Promise(function (ok) { ex.spriteImg.onload = function () { ok(ex.spriteImg); }; });
      ex.spriteImg.src = raw.sprite;
    }
    return ex;
  }

  /* ------------------------------------------------------------ geometry */

  function project(ex, space, k, rows, n) {
    // column k of the latents (space "latent") or the k-th PC score of n rows of d values
    var d = ex.d, out = new Float64Array(n), i, c;
    if (space === "latent") {
      for (i = 0; i < n; i++) out[i] = rows[i * d + k];
    } else {
      for (i = 0; i < n; i++) {
        var s = 0;
        for (c = 0; c < d; c++) s += (rows[i * d + c] - ex.mean[c]) * ex.comps[k * d + c];
        out[i] = s;
      }
    }
    return out;
  }

  function moments(ex, space, i, j) {
    if (space === "latent") {
      var d = ex.d;
      return { mean: [ex.mean[i], ex.mean[j]],
               cov: [ex.cov[i * d + i], ex.cov[i * d + j], ex.cov[j * d + j]] };
    }
    return { mean: [0, 0], cov: [ex.eigenvalues[i], 0, ex.eigenvalues[j]] };
  }

  function d2(x, y, mom) {
    var a = mom.cov[0], b = mom.cov[1], c = mom.cov[2], det = a * c - b * b;
    var dx = x - mom.mean[0], dy = y - mom.mean[1];
    return (c * dx * dx - 2 * b * dx * dy + a * dy * dy) / det;
  }

  function coverage(x, y, mom, k) {
    var inside = 0;
    for (var n = 0; n < x.length; n++) if (d2(x[n], y[n], mom) <= k * k) inside++;
    return inside / x.length;
  }

  function ellipse(mom, k, steps) {
    // points of {v : (v - m)' S^-1 (v - m) = k^2}: m + k L (cos t, sin t), L L' = S
    var a = mom.cov[0], b = mom.cov[1], c = mom.cov[2];
    var l11 = Math.sqrt(a), l21 = b / l11, l22 = Math.sqrt(Math.max(c - l21 * l21, 0));
    var pts = [];
    for (var s = 0; s <= steps; s++) {
      var t = 2 * Math.PI * s / steps, u = k * Math.cos(t), v = k * Math.sin(t);
      pts.push([mom.mean[0] + l11 * u, mom.mean[1] + l21 * u + l22 * v]);
    }
    return pts;
  }

  function kde(x, y, lim, G) {
    // Gaussian KDE with Scott's bandwidth matrix H = n^(-1/3) S on a G x G grid
    var n = x.length, mx = 0, my = 0, sxx = 0, sxy = 0, syy = 0, i;
    for (i = 0; i < n; i++) { mx += x[i]; my += y[i]; }
    mx /= n; my /= n;
    for (i = 0; i < n; i++) {
      var dx = x[i] - mx, dy = y[i] - my;
      sxx += dx * dx; sxy += dx * dy; syy += dy * dy;
    }
    var f = Math.pow(n, -1 / 3);
    var ha = f * sxx / (n - 1), hb = f * sxy / (n - 1), hc = f * syy / (n - 1);
    var det = ha * hc - hb * hb, ia = hc / det, ib = -hb / det, ic = ha / det;
    var norm = 1 / (2 * Math.PI * Math.sqrt(det) * n);
    var xs = new Float64Array(G), ys = new Float64Array(G), grid = new Float64Array(G * G);
    for (i = 0; i < G; i++) {
      xs[i] = lim.x0 + (lim.x1 - lim.x0) * i / (G - 1);
      ys[i] = lim.y0 + (lim.y1 - lim.y0) * i / (G - 1);
    }
    for (var r = 0; r < G; r++)
      for (var c = 0; c < G; c++) {
        var s = 0, gx = xs[c], gy = ys[r];
        for (i = 0; i < n; i++) {
          var ux = gx - x[i], uy = gy - y[i];
          var q = ia * ux * ux + 2 * ib * ux * uy + ic * uy * uy;
          if (q < 40) s += Math.exp(-0.5 * q);
        }
        grid[r * G + c] = s * norm;
      }
    return { xs: xs, ys: ys, grid: grid, G: G,
             cell: (xs[1] - xs[0]) * (ys[1] - ys[0]) };
  }

  function massLevels(k, masses) {
    // density levels whose super-level sets hold the given shares of the mass
    var v = Array.prototype.slice.call(k.grid).sort(function (a, b) { return b - a; });
    var total = 0, i;
    for (i = 0; i < v.length; i++) total += v[i];
    return masses.map(function (p) {
      var acc = 0;
      for (i = 0; i < v.length; i++) { acc += v[i]; if (acc >= p * total) return v[i]; }
      return v[v.length - 1];
    });
  }

  function contour(k, level) {
    // marching squares: segments [x1, y1, x2, y2] of the level line
    var G = k.G, g = k.grid, xs = k.xs, ys = k.ys, segs = [];
    function at(r0, c0, r1, c1) {
      var a = g[r0 * G + c0], b = g[r1 * G + c1], t = (level - a) / (b - a);
      return [xs[c0] + t * (xs[c1] - xs[c0]), ys[r0] + t * (ys[r1] - ys[r0])];
    }
    for (var r = 0; r < G - 1; r++)
      for (var c = 0; c < G - 1; c++) {
        var idx = (g[r * G + c] > level ? 1 : 0) | (g[r * G + c + 1] > level ? 2 : 0) |
                  (g[(r + 1) * G + c + 1] > level ? 4 : 0) | (g[(r + 1) * G + c] > level ? 8 : 0);
        if (idx === 0 || idx === 15) continue;
        var bottom = function () { return at(r, c, r, c + 1); },
            right = function () { return at(r, c + 1, r + 1, c + 1); },
            top = function () { return at(r + 1, c, r + 1, c + 1); },
            left = function () { return at(r, c, r + 1, c); };
        var pairs = {1: [[left, bottom]], 2: [[bottom, right]], 3: [[left, right]],
                     4: [[right, top]], 5: [[left, top], [bottom, right]], 6: [[bottom, top]],
                     7: [[left, top]], 8: [[left, top]], 9: [[bottom, top]],
                     10: [[left, bottom], [right, top]], 11: [[right, top]], 12: [[left, right]],
                     13: [[bottom, right]], 14: [[left, bottom]]}[idx];
        pairs.forEach(function (pq) { var p = pq[0](), q = pq[1](); segs.push([p[0], p[1], q[0], q[1]]); });
      }
    return segs;
  }

  /* ------------------------------------------------------------ elements */

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text != null) e.textContent = text;
    return e;
  }

  function svg(tag, attrs) {
    var e = document.createElementNS(SVGNS, tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    return e;
  }

  function select(id, label, options, value) {
    var wrap = el("label", { "class": "lsx-menu" }, label + " ");
    var s = el("select", { id: id });
    options.forEach(function (o) {
      var opt = el("option", { value: String(o[0]) }, o[1]);
      if (String(o[0]) === String(value)) opt.selected = true;
      s.appendChild(opt);
    });
    wrap.appendChild(s);
    return { wrap: wrap, select: s };
  }

  function wire(sel, target, update) {
    // a select fires "input" then "change" when a person picks an option, but only
    // "change" when a script or WebDriver sets it: the target gets one "input" either way
    sel.addEventListener("input", function () { update(); target._sent = String(target.value); });
    sel.addEventListener("change", function () {
      update();
      if (target._sent !== String(target.value)) {
        target._sent = String(target.value);
        target.dispatchEvent(new Event("input", { bubbles: true }));
      }
    });
  }

  function spaceMenu(ex) {
    var m = select("lsx-space", "Axes:", [["latent", "latent components"],
                                           ["pc", "principal components"]], "latent");
    // the select's own "input" event bubbles to the wrapper, whose value is set first
    m.wrap.value = "latent";
    wire(m.select, m.wrap, function () { m.wrap.value = m.select.value; });
    return m.wrap;
  }

  function name(ex, space, k) { return (space === "latent" ? "z" : "PC ") + (k + 1); }

  function pairMenus(ex, space) {
    var def = space === "latent" ? ex.default_pair : [0, 1];
    var opts = [];
    for (var k = 0; k < ex.d; k++) {
      var sd = space === "latent" ? Math.sqrt(ex.cov[k * ex.d + k]) : Math.sqrt(ex.eigenvalues[k]);
      opts.push([k, name(ex, space, k) + " (s.d. " + sd.toPrecision(3) + ")"]);
    }
    var box = el("div", { "class": "lsx-pair" });
    var a = select("lsx-i", "horizontal:", opts, def[0]), b = select("lsx-j", "vertical:", opts, def[1]);
    box.appendChild(a.wrap); box.appendChild(document.createTextNode(" ")); box.appendChild(b.wrap);
    box.value = [def[0], def[1]];
    function update() { box.value = [Number(a.select.value), Number(b.select.value)]; }
    wire(a.select, box, update);
    wire(b.select, box, update);
    return box;
  }

  function pathMenu(ex) {
    var m = select("lsx-path", "Path:", ex.paths.map(function (p, i) { return [i, p.label]; }), 0);
    m.wrap.value = 0;
    wire(m.select, m.wrap, function () { m.wrap.value = Number(m.select.value); });
    return m.wrap;
  }

  function stepSlider(ex, path) {
    var n = ex.paths.length ? ex.paths[path].params.length : 1;
    var wrap = el("label", { "class": "lsx-menu" }, "Step: ");
    var s = el("input", { id: "lsx-step", type: "range", min: "0", max: String(n - 1),
                          step: "1", value: String(Math.floor((n - 1) / 2)) });
    var out = el("span", { id: "lsx-step-value" });
    wrap.appendChild(s); wrap.appendChild(out);
    wrap.value = Number(s.value);
    out.textContent = " " + (wrap.value + 1) + " of " + n;
    s.addEventListener("input", function () {
      wrap.value = Number(s.value);
      out.textContent = " " + (wrap.value + 1) + " of " + n;
    });
    return wrap;
  }

  function scatter(ex, space, pair, path, step) {
    var i = pair[0], j = pair[1], m = ex.n_points;
    var box = el("div", { "class": "lsx-scatter-box" });
    if (i === j) {
      box.appendChild(el("p", { id: "lsx-scatter", "class": "lsx-note" },
                         "Choose two different axes."));
      return box;
    }
    var x = project(ex, space, i, ex.z, m), y = project(ex, space, j, ex.z, m);
    var mom = moments(ex, space, i, j);
    var sx = Math.sqrt(mom.cov[0]), sy = Math.sqrt(mom.cov[2]);
    var lim = { x0: mom.mean[0] - 4 * sx, x1: mom.mean[0] + 4 * sx,
                y0: mom.mean[1] - 4 * sy, y1: mom.mean[1] + 4 * sy };
    var W = 560, H = 460, L = 64, B = 40, T = 10, R = 10;
    function px(v) { return L + (v - lim.x0) / (lim.x1 - lim.x0) * (W - L - R); }
    function py(v) { return H - B - (v - lim.y0) / (lim.y1 - lim.y0) * (H - B - T); }
    var root = svg("svg", { id: "lsx-scatter", width: W, height: H, viewBox: "0 0 " + W + " " + H,
                            role: "img", "data-pair": space + ":" + i + "," + j,
                            "aria-label": "Scatter plot of " + name(ex, space, i) + " against " +
                              name(ex, space, j) + " with KDE contours and confidence ellipses" });
    root.appendChild(svg("rect", { x: L, y: T, width: W - L - R, height: H - B - T, fill: "white",
                                   stroke: "#999" }));
    var clip = svg("clipPath", { id: "lsx-clip" });
    clip.appendChild(svg("rect", { x: L, y: T, width: W - L - R, height: H - B - T }));
    root.appendChild(clip);
    var g = svg("g", { "clip-path": "url(#lsx-clip)" });
    root.appendChild(g);
    var dots = "";
    for (var n = 0; n < m; n++) {
      var X = px(x[n]), Y = py(y[n]);
      dots += "M" + X.toFixed(1) + " " + Y.toFixed(1) + "h0.01";
    }
    g.appendChild(svg("path", { d: dots, stroke: "#9a9a9a", "stroke-width": 2.2,
                                "stroke-linecap": "round", "class": "lsx-points" }));
    var K = kde(x, y, lim, 64), masses = ex.contour_masses, levels = massLevels(K, masses);
    var greys = ["#000000", "#555555", "#999999"];
    levels.forEach(function (lv, c) {
      var d = contour(K, lv).map(function (s) {
        return "M" + px(s[0]).toFixed(1) + " " + py(s[1]).toFixed(1) + "L" + px(s[2]).toFixed(1) +
               " " + py(s[3]).toFixed(1);
      }).join("");
      g.appendChild(svg("path", { d: d, fill: "none", stroke: greys[c % 3], "stroke-width": 1.3,
                                  "class": "lsx-contour", "data-mass": masses[c] }));
    });
    var colours = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd"];
    var rows = [];
    ex.ks.forEach(function (k, c) {
      var pts = ellipse(mom, k, 96).map(function (p) { return px(p[0]).toFixed(1) + "," + py(p[1]).toFixed(1); });
      g.appendChild(svg("polyline", { points: pts.join(" "), fill: "none", stroke: colours[c % 5],
                                      "stroke-width": 1.6, "stroke-dasharray": "6 3",
                                      "class": "lsx-ellipse" }));
      rows.push([k, 1 - Math.exp(-k * k / 2), coverage(x, y, mom, k), colours[c % 5]]);
    });
    if (ex.paths.length) {
      var P = ex.paths[path], ns = P.params.length;
      var qx = project(ex, space, i, P.z, ns), qy = project(ex, space, j, P.z, ns);
      var line = "";
      for (n = 0; n < ns; n++) line += (n ? "L" : "M") + px(qx[n]).toFixed(1) + " " + py(qy[n]).toFixed(1);
      g.appendChild(svg("path", { d: line, fill: "none", stroke: "#c2185b", "stroke-width": 1.2 }));
      g.appendChild(svg("circle", { cx: px(qx[step]), cy: py(qy[step]), r: 5, fill: "#c2185b",
                                    id: "lsx-step-marker" }));
    }
    [[lim.x0, lim.x1, true], [lim.y0, lim.y1, false]].forEach(function (ax) {
      for (var t = 0; t <= 4; t++) {
        var v = ax[0] + (ax[1] - ax[0]) * t / 4, lab = svg("text", {
          x: ax[2] ? px(v) : L - 6, y: ax[2] ? H - B + 16 : py(v) + 4,
          "text-anchor": ax[2] ? "middle" : "end", "font-size": 11 });
        lab.textContent = v.toPrecision(2);
        root.appendChild(lab);
      }
    });
    var xl = svg("text", { x: (L + W - R) / 2, y: H - 6, "text-anchor": "middle", "font-size": 13 });
    xl.textContent = name(ex, space, i);
    var yl = svg("text", { x: 12, y: (T + H - B) / 2, "text-anchor": "middle", "font-size": 13,
                           transform: "rotate(-90 12 " + (T + H - B) / 2 + ")" });
    yl.textContent = name(ex, space, j);
    root.appendChild(xl); root.appendChild(yl);
    box.appendChild(root);
    var tbl = el("table", { id: "lsx-coverage", "class": "table table-sm lsx-coverage" });
    var head = el("tr");
    ["ellipse", "expected coverage", "measured (" + m.toLocaleString("en") + " points)"].forEach(function (h) {
      head.appendChild(el("th", {}, h));
    });
    tbl.appendChild(head);
    rows.forEach(function (r) {
      var tr = el("tr");
      var key = el("td", {}, "k = " + r[0]);
      key.style.color = r[3];
      tr.appendChild(key);
      tr.appendChild(el("td", {}, (100 * r[1]).toFixed(1) + " %"));
      tr.appendChild(el("td", { "class": "lsx-measured" }, (100 * r[2]).toFixed(1) + " %"));
      tbl.appendChild(tr);
    });
    box.appendChild(tbl);
    box.appendChild(el("p", { "class": "lsx-note" },
      "r = " + (mom.cov[1] / Math.sqrt(mom.cov[0] * mom.cov[2])).toFixed(3) +
      " (all " + ex.n_total.toLocaleString("en") + " training vectors). Grey lines: KDE contours " +
      "holding " + masses.map(function (p) { return (100 * p).toFixed(1) + " %"; }).join(", ") +
      " of the estimated density (from the points shown); dashed: confidence ellipses; " +
      "red: the path of the panel below."));
    return box;
  }

  function face(ex, path, step) {
    var box = el("div", { "class": "lsx-face-box" });
    if (!ex.sprite || !ex.paths.length) {
      box.appendChild(el("p", { id: "lsx-face", "class": "lsx-note" },
                         "No decoder was given, so there are no faces to show."));
      return box;
    }
    var P = ex.paths[path], S = 4, h = ex.thumb[0], w = ex.thumb[1];
    var cv = el("canvas", { id: "lsx-face", width: w * S, height: h * S,
                            "data-path": path, "data-step": step,
                            "aria-label": "decoded face at step " + (step + 1) + " of " + P.label });
    cv.style.imageRendering = "pixelated";
    function paint() {
      var c = cv.getContext("2d");
      c.imageSmoothingEnabled = false;
      c.drawImage(ex.spriteImg, step * w, P.row * h, w, h, 0, 0, w * S, h * S);
      cv.setAttribute("data-painted", "1");
    }
    if (ex.spriteImg.complete && ex.spriteImg.naturalWidth) paint(); else ex.spriteReady.then(paint);
    box.appendChild(cv);
    box.appendChild(el("p", { "class": "lsx-note", id: "lsx-face-caption" },
      P.label + ": step " + (step + 1) + " of " + P.params.length + ", " + P.unit + " = " +
      Number(P.params[step]).toFixed(2) + ", Mahalanobis radius " + Number(P.radius[step]).toFixed(2)));
    return box;
  }

  function standalone(ex, root) {
    // the same panels without the OJS runtime (file://): plain listeners
    root = root || document.getElementById("lsx-standalone");
    if (!root) return;
    ex = decode(ex);
    root.appendChild(el("p", { "class": "lsx-note" },
      "Opened from a file: Quarto's OJS runtime needs a web server, so this copy of the " +
      "explorer runs the same drawing code without it."));
    var state = { space: "latent", pair: ex.default_pair.slice(), path: 0, step: 0 };
    var top = el("div"), plot = el("div"), bottom = el("div"), pic = el("div");
    root.appendChild(top); root.appendChild(plot); root.appendChild(bottom); root.appendChild(pic);
    var sp = spaceMenu(ex), pm, pa = pathMenu(ex), sl;
    function drawPlot() { plot.replaceChildren(scatter(ex, state.space, state.pair, state.path, state.step)); }
    function drawFace() { pic.replaceChildren(face(ex, state.path, state.step)); }
    function pairs() {
      pm = pairMenus(ex, state.space);
      state.pair = pm.value;
      pm.addEventListener("input", function () { state.pair = pm.value; drawPlot(); });
      top.replaceChildren(sp, pm);
    }
    function slider() {
      sl = stepSlider(ex, state.path);
      state.step = sl.value;
      sl.addEventListener("input", function () { state.step = sl.value; drawPlot(); drawFace(); });
      bottom.replaceChildren(pa, sl);
    }
    sp.addEventListener("input", function () { state.space = sp.value; pairs(); drawPlot(); });
    pa.addEventListener("input", function () { state.path = pa.value; slider(); drawPlot(); drawFace(); });
    pairs(); slider(); drawPlot(); drawFace();
  }

  window.LSX = { decode: decode, spaceMenu: spaceMenu, pairMenus: pairMenus, pathMenu: pathMenu,
                 stepSlider: stepSlider, scatter: scatter, face: face, standalone: standalone,
                 _kde: kde, _massLevels: massLevels, _contour: contour, _coverage: coverage,
                 _ellipse: ellipse, _moments: moments, _project: project };

  if (window.location.protocol === "file:") {
    document.addEventListener("DOMContentLoaded", function () {
      var tag = document.querySelector("script[type='ojs-define']");
      if (!tag) return;
      var defs = JSON.parse(tag.textContent).contents.filter(function (c) { return c.name === "lsx_data"; });
      if (defs.length) standalone(defs[0].value);
    });
  }
})();
