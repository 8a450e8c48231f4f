"""Lesson 2's browser side: the JavaScript of Play, Step and Reset (CustomJS code strings).

`FMT_JS` formats a number as descent.fmt does; `CLIP_JS` moves the moving parts of the
landscape to the overlay canvas; `PLAY_JS`, `STEP_JS` and `RESET_JS` are the buttons' code,
each on `JS_HELPERS` (reveal step k of the precomputed trajectory, stop).
"""

# The browser side of Play. `traj` holds the whole precomputed path of every racer; each
# animation frame copies the first k steps into the visible sources with sync: false, so
# nothing travels to the server until the animation stops, when `shown` (a hidden widget)
# tells the server where it stopped.
FMT_JS = """
function fmt(v) {
  if (v == null || !isFinite(v)) return '\\u2014';
  if (v === 0) return '0';
  const e = Math.floor(Math.log10(Math.abs(Number(v.toPrecision(4)))));
  let s;
  if (e < -4 || e >= 4) {
    let [m, ex] = v.toExponential(3).split('e');
    if (m.includes('.')) m = m.replace(/0+$/, '').replace(/\\.$/, '');
    s = m + 'e' + (Number(ex) < 0 ? '-' : '') + Math.abs(Number(ex));
  } else {
    s = v.toPrecision(4);
    if (s.includes('.')) s = s.replace(/0+$/, '').replace(/\\.$/, '');
  }
  return s;
}
"""

# Play moves the paths every frame. BokehJS repaints a plot's primary canvas (heatmap,
# contours, axes: most of a frame's cost) whenever any renderer on it changes, but only its
# overlay canvas for renderers of level "overlay". CLIP_JS, run in the browser when a path or
# the view first changes, moves the moving parts there (paths, their dots, the start, the
# gradient arrow, and the legend, which repaints with its renderers). BokehJS clips overlay
# annotations to the frame but not overlay glyphs, so it first makes BokehJS clip those too
# (a path panned or diverging out of the frame must not draw over the axes); without that
# hook (another Bokeh) nothing moves: slower, never wrong. The server's models keep their
# levels; this is the browser's drawing only.
CLIP_JS = """
if (typeof Bokeh === "undefined") return;
if (Bokeh._downhill_clip === undefined) {
  try {
    const view = Bokeh.require("models/renderers/glyph_renderer").GlyphRendererView;
    Object.defineProperty(view.prototype, "needs_clip", {
      get() { return this.model.level == "overlay"; }, configurable: true});
    Bokeh._downhill_clip = true;
  } catch (error) {
    Bokeh._downhill_clip = false;
  }
}
if (Bokeh._downhill_clip && moving.some(r => r.level != "overlay")) {
  for (const r of moving) r.setv({level: "overlay"}, {sync: false});
  // Repaint both canvases once: the primary one still shows them where they were.
  const view = Bokeh.index.find_one(plot);
  if (view != null) view.request_paint();
}
"""


JS_HELPERS = """
const SIDE_HZ = 12;
const st = traj._downhill || (traj._downhill = {playing: false, k: 0, raf: null});
// Racer r's source: racer 1's are arguments, racers 2-4's are built when a race first needs
// them (app/descent_figures.py, build_racers) and found by their names.
function racer(list, name, r) {
  if (r < list.length) return list[r];
  const doc = traj.document;
  return doc == null ? null : doc.get_model_by_name(name + '-' + (r + 1));
}
""" + FMT_JS + """function reveal(k) {
  const d = traj.data;
  // While playing, the loss plot and the status follow at most SIDE_HZ times a second (and
  // at the end): the loss plot repaints its whole canvas (the landscape only its overlay,
  // see CLIP_JS), and the path on the landscape is what the eye follows.
  const now = performance.now();
  const say = !st.playing || ended(k) || now - (st.said || 0) >= 1000 / SIDE_HZ;
  if (say) st.said = now;
  const steps = Array.from(d.step.slice(0, k + 1));
  const lines = [];
  for (let r = 0; r < traj.tags.length; r++) {
    const path = racer(paths, 'landscape-path', r), loss = racer(losses, 'loss-curve', r);
    if (!(('x' + r) in d) || path == null || loss == null) continue;
    const xs = d['x' + r], ys = d['y' + r];
    path.setv({data: {x: Array.from(xs.slice(0, k + 1)),
                      y: Array.from(ys.slice(0, k + 1))}}, {sync: false});
    if (say) {
      loss.setv({data: {step: steps, loss: Array.from(d['lossplot' + r].slice(0, k + 1))}},
                {sync: false});
    }
    const info = traj.tags[r];
    let line = "<div><span style='color:" + info.color + "'>&#9679;</span> <b>" +
      info.label + "</b> &middot; step <b>" + k + "</b>";
    if (info.diverged_at >= 0 && info.diverged_at <= k) {
      line += " &middot; <b class='downhill-warning'>diverged at step " + info.diverged_at +
        "</b>: " + info.reason + "</div>";
    } else {
      line += " &middot; (x, y) = (" + fmt(xs[k]) + ", " + fmt(ys[k]) + ") &middot; loss <b>" +
        fmt(d['loss' + r][k]) + "</b> &middot; |\\u2207L| " + fmt(d['gnorm' + r][k]) + "</div>";
    }
    lines.push(line);
  }
  const ax = d.ax0[k], ay = d.ay0[k];
  if (isFinite(ax) && isFinite(ay)) {
    arrow.setv({data: {x0: [d.x0[k]], y0: [d.y0[k]], x1: [ax], y1: [ay]}}, {sync: false});
  } else {
    arrow.setv({data: {x0: [], y0: [], x1: [], y1: []}}, {sync: false});
  }
  // issue 16: the history slider and the loss plot's step mark follow (browser only)
  if (scrub.value !== k) scrub.setv({value: k}, {sync: false});
  if (say) mark.setv({location: k}, {sync: false});
  if (say) {
    show_status("<div class='downhill-status'>" + lines.join('') + "</div>");
  }
}
function show_status(html) {
  // Write into the pane's element (what Panel's HTML view does with a new text, minus the
  // model change and the parsing). The server sets the model's text when the animation stops.
  const view = window.Bokeh && Bokeh.index.find_one(status);
  if (view != null && view.container != null) {
    view.container.innerHTML = html;
  } else {  // Panel's HTML model holds its text HTML-escaped, as the server sends it
    const escaped = html.replace(/[&<>"']/g, c => ({'&': '&amp;', '<': '&lt;', '>': '&gt;',
                                                     '"': '&quot;', "'": '&#x27;'})[c]);
    status.setv({text: escaped}, {sync: false});
  }
}
function ended(k) {
  const d = traj.data;
  if (k >= d.step.length - 1) return true;
  for (let r = 0; r < traj.tags.length; r++) {
    if (('x' + r) in d && isFinite(d['x' + r][k])) return false;
  }
  return true;
}
function stop() {
  const was = st.playing;
  st.playing = false;
  if (st.raf != null) cancelAnimationFrame(st.raf);
  st.raf = null;
  play.setv({label: 'Play'}, {sync: false});
  // issue 16: the inspector's arrows, hidden while playing, return (the server's step below
  // gives them the step reached)
  for (const m of (st.hidden || [])) m.setv({visible: true}, {sync: false});
  st.hidden = [];
  if (was) {
    reveal(st.k);  // the loss plot and status too (while playing they lag up to 1 / SIDE_HZ)
    shown.value = st.k;
  }
}
"""

PLAY_JS = JS_HELPERS + """
if (st.playing) { stop(); return; }
st.k = shown.value;
if (ended(st.k)) { st.k = 0; reveal(0); }
st.playing = true;
play.setv({label: 'Pause'}, {sync: false});
// The inspector's step and velocity arrows (app/descent_inside.py, built when its box is
// ticked) explain one step: while the path moves in the browser they would point elsewhere.
st.hidden = [];
for (const name of ['step-arrow-annotation', 'velocity-arrow-annotation']) {
  const m = traj.document == null ? null : traj.document.get_model_by_name(name);
  if (m != null && m.visible) { m.setv({visible: false}, {sync: false}); st.hidden.push(m); }
}
let t0 = performance.now(), k0 = st.k, rate = speed.value;
function frame(now) {
  if (!st.playing) return;
  if (speed.value !== rate) { t0 = now; k0 = st.k; rate = speed.value; }
  const last = traj.data.step.length - 1;
  // A frame's timestamp is when the frame began, which can be before the click that started
  // the animation (Chrome runs input handlers inside the frame): never step backwards.
  const k = Math.min(last, k0 + Math.floor(Math.max(0, now - t0) * rate / 1000));
  if (k !== st.k) { st.k = k; reveal(k); }
  if (ended(k)) { stop(); return; }
  st.raf = requestAnimationFrame(frame);
}
st.raf = requestAnimationFrame(frame);
"""

# Step and Reset stop a running animation, then move `shown` (the server draws the result).
STEP_JS = JS_HELPERS + "stop(); shown.value = shown.value + 1;"
RESET_JS = JS_HELPERS + "stop(); shown.value = 0;"
