/*
 * mpl-residual's player: one per .mr-player element, independent of any other on
 * the page.  The page holds everything (no network): the figure without its cells,
 * each frame's cells as colour indices (and, for the hover read-out, values),
 * and each frame's label.  This file is a function expression; the fragment calls
 * it with its own root element.
 */
(function (root) {
  "use strict";
  if (!root || root.mrPlayer) { return; }
  var data = JSON.parse(root.querySelector("script.mr-data").textContent);
  var slider = root.querySelector(".mr-slider");
  var frameText = root.querySelector(".mr-frame");
  var readoutText = root.querySelector(".mr-readout");
  var playButton = root.querySelector(".mr-play");
  var n = data.frames;
  var current = 0, timer = null, hover = null, paint = null;

  function bytes(text) {
    var raw = atob(text), out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) { out[i] = raw.charCodeAt(i); }
    return out;
  }

  function inflate(text) {
    var stream = new Blob([bytes(text)]).stream().pipeThrough(new DecompressionStream("deflate"));
    return new Response(stream).arrayBuffer().then(function (buffer) {
      return new Uint8Array(buffer);
    });
  }

  function unplane(planes, width) {  // the lowest bytes, then the next: unsigned numbers
    var count = planes.length / width, out = new Uint32Array(count);
    for (var p = 0; p < width; p++) {
      var scale = Math.pow(256, p), start = p * count;
      for (var i = 0; i < count; i++) { out[i] += planes[start + i] * scale; }
    }
    return out;
  }

  // format(value, ".4g") from a value's place in the order of all such values (the
  // Python side's _readout.ordinals): -0 is 0, 0 is 1, then 9000 four-digit mantissas
  // a decimal exponent from 1e-330 up, mirrored below for negative values.
  var DIGITS = 9000, LOWEST = -330, SPAN = 640 * DIGITS;
  var NAMED = {0: "-0", 1: "0"};
  NAMED[2 + SPAN] = "inf";
  NAMED[3 + SPAN] = "nan";
  NAMED[-1 - SPAN] = "-inf";
  function textOf(ordinal) {
    if (NAMED.hasOwnProperty(ordinal)) { return NAMED[ordinal]; }
    var k = ordinal > 0 ? ordinal - 2 : -1 - ordinal;
    var mantissa = (k % DIGITS) + 1000;
    return text4(ordinal > 0 ? mantissa : -mantissa, Math.floor(k / DIGITS) + LOWEST);
  }

  // format(value, ".4g") from a decimal mantissa (4 digits) and exponent.
  function text4(mantissa, exponent) {
    var digits = String(Math.abs(mantissa)), sign = mantissa < 0 ? "-" : "", whole, frac;
    if (exponent >= -4 && exponent < 4) {
      if (exponent >= 0) {
        whole = digits.slice(0, exponent + 1);
        frac = digits.slice(exponent + 1);
      } else {
        whole = "0";
        frac = "0".repeat(-exponent - 1) + digits;
      }
      frac = frac.replace(/0+$/, "");
      return sign + whole + (frac ? "." + frac : "");
    }
    frac = digits.slice(1).replace(/0+$/, "");
    var power = (exponent < 0 ? "-" : "+") + (Math.abs(exponent) < 10 ? "0" : "") + Math.abs(exponent);
    return sign + digits[0] + (frac ? "." + frac : "") + "e" + power;
  }

  function setSource(img, png) {
    if (png) { img.src = "data:image/png;base64," + png; img.hidden = false; } else { img.hidden = true; }
  }

  // -- layouts: the figure as drawn, and (where it has one) a compact one for narrow
  // screens, each a .mr-stage with its own picture, canvases and labels ---------------

  var stages = root.querySelectorAll(".mr-stage");
  var layouts = [{size: data.size, places: data.grids || [], sprites: data.sprites || []}];
  if (data.compact) { layouts.push(data.compact); }
  var active = 0;

  function showPictures(k) {
    var i;
    if (data.mode === "images") {
      var regions = stages[0].querySelectorAll(".mr-region");
      for (i = 0; i < regions.length; i++) { setSource(regions[i], data.images[k][i]); }
      return;
    }
    var boxes = stages[active].querySelectorAll(".mr-sprite"), shown = layouts[active].sprites;
    for (i = 0; i < boxes.length; i++) { showSprite(boxes[i], shown[i], k); }
  }

  // What follows the layer in one box: frame k's slot of a sheet of every frame's
  // pictures (slot s in sheet s / slots, height + gap rows apart), moved into view.
  function showSprite(box, sprite, k) {
    var which = sprite.of[k];
    box.hidden = which < 0;
    if (which < 0) { return; }
    var img = box.firstElementChild, sheet = Math.floor(which / sprite.slots);
    if (!sprite.sources) {  // the first sheet is the markup's own
      sprite.sources = [img.getAttribute("src")];
      for (var j = 0; j < sprite.sheets.length; j++) {
        sprite.sources.push("data:image/png;base64," + sprite.sheets[j]);
      }
      sprite.sheet = 0;
    }
    if (sheet !== sprite.sheet) { img.src = sprite.sources[sheet]; sprite.sheet = sheet; }
    var slot = which % sprite.slots;
    img.style.top = (-100 * slot * (sprite.height + sprite.gap) / sprite.height) + "%";
  }

  function show(k) {
    current = ((k % n) + n) % n;
    showPictures(current);
    if (paint) { paint(current); }
    slider.value = String(current);
    frameText.textContent = data.names[current];
    var label = data.names[current] + " (" + (current + 1) + " of " + n + ")";
    for (var s = 0; s < stages.length; s++) { stages[s].setAttribute("aria-label", label); }
    if (hover) { hover.update(); }
  }

  // The compact layout where the player is narrower than the figure can be shown
  // with legible text (data.compact.below, in CSS pixels); the figure elsewhere.
  function choose() {
    if (layouts.length < 2) { return; }
    var wanted = root.clientWidth < layouts[1].below ? 1 : 0;
    if (wanted === active) { return; }
    active = wanted;
    for (var s = 0; s < stages.length; s++) { stages[s].hidden = s !== active; }
    if (hover) { hover.at = null; }
    show(current);
  }

  // -- cells painted on canvases ------------------------------------------------------

  function startGrid(grid, index) {
    var rows = grid.grid[0], cols = grid.grid[1], cells = rows * cols;
    var palette = new Uint32Array(bytes(grid.palette).buffer);
    var canvases = [];  // this grid's canvas on each layout
    for (var s = 0; s < stages.length; s++) {
      canvases.push(stages[s].querySelectorAll("canvas.mr-cells")[index]);
    }
    var jobs = [inflate(grid.indices)];
    if (grid.readout) {
      jobs.push(inflate(grid.readout.offsets));
    }
    return Promise.all(jobs).then(function (decoded) {
      var kinds = {1: Uint8Array, 2: Uint16Array, 4: Uint32Array}, i;
      var deltas = new kinds[grid.indexBytes](decoded[0].buffer);
      for (i = cells; i < deltas.length; i++) {  // frames are stored as changes
        deltas[i] += deltas[i - cells];  // wraps around as the Python side's subtraction did
      }
      var painters = canvases.map(function (canvas) {
        var context = canvas.getContext("2d"), image = context.createImageData(cols, rows);
        canvas.hidden = false;
        return {context: context, image: image, pixels: new Uint32Array(image.data.buffer)};
      });
      var view = {
        index: index,
        grid: grid,
        paint: function (k) {
          var painter = painters[active], pixels = painter.pixels, base = k * cells;
          for (var c = 0; c < cells; c++) { pixels[c] = palette[deltas[base + c]]; }
          painter.context.putImageData(painter.image, 0, 0);
        },
        text: null
      };
      if (grid.readout) {
        // each value: the smallest of its colour, plus its distance from it
        var readout = grid.readout, base = new Int32Array(bytes(readout.base).buffer);
        var offsets = unplane(decoded[1], readout.offsetBytes);
        view.text = function (row, col) {
          var dim = row * cols + col;
          if (dim >= readout.dModel) {
            return "padding (row " + row + ", col " + col + "), past d_model = " + readout.dModel;
          }
          var flip = readout.flip, frame = current * cells;
          var shown = (flip[1] ? rows - 1 - row : row) * cols + (flip[0] ? cols - 1 - col : col);
          var ordinal = base[deltas[frame + shown]] + offsets[frame + dim];
          return "dim " + dim + " (row " + row + ", col " + col + ") = " + textOf(ordinal);
        };
      }
      return view;
    });
  }

  function startCells() {
    var jobs = [];
    for (var i = 0; i < data.grids.length; i++) { jobs.push(startGrid(data.grids[i], i)); }
    return Promise.all(jobs).then(function (views) {
      paint = function (k) { for (var v = 0; v < views.length; v++) { views[v].paint(k); } };
      if (views.some(function (v) { return v.text; })) { watchPointer(views); }
      var posters = root.querySelectorAll(".mr-poster");
      for (var p = 0; p < posters.length; p++) { posters[p].hidden = true; }
    });
  }

  // The read-out follows a mouse, and a finger or pen where it touches (a tap).
  function watchPointer(views) {
    function textAt(event) {
      var layout = layouts[active], size = layout.size;
      var box = stages[active].getBoundingClientRect();
      var x = (event.clientX - box.left) / box.width * size[0];
      var y = (event.clientY - box.top) / box.height * size[1];
      for (var v = 0; v < views.length; v++) {
        var grid = views[v].grid, place = layout.places[views[v].index];
        var mesh = place.mesh, clip = place.clip, flip = place.flip;
        var rows = grid.grid[0], cols = grid.grid[1];
        if (!views[v].text || x < clip[0] || x >= clip[2] || y < clip[1] || y >= clip[3]) { continue; }
        var col = Math.floor((x - mesh[0]) / (mesh[2] - mesh[0]) * cols);
        var row = Math.floor((y - mesh[1]) / (mesh[3] - mesh[1]) * rows);
        if (col < 0 || col >= cols || row < 0 || row >= rows) { continue; }
        return [views[v], flip[1] ? rows - 1 - row : row, flip[0] ? cols - 1 - col : col];
      }
      return null;
    }
    hover = {
      at: null,
      update: function () {
        readoutText.textContent = this.at ? this.at[0].text(this.at[1], this.at[2]) : "";
      }
    };
    function point(event) { hover.at = textAt(event); hover.update(); }
    function leave(event) {  // a lifted finger leaves too: its read-out stays until the next tap
      if (event.pointerType === "mouse") { hover.at = null; hover.update(); }
    }
    for (var s = 0; s < stages.length; s++) {
      stages[s].addEventListener("pointermove", point);
      stages[s].addEventListener("pointerdown", point);
      stages[s].addEventListener("pointerleave", leave);
    }
  }

  // -- controls ---------------------------------------------------------------------

  function pause() {
    if (timer !== null) { clearInterval(timer); timer = null; }
    playButton.setAttribute("aria-label", "Play");
    playButton.setAttribute("aria-pressed", "false");
    playButton.classList.remove("mr-playing");
  }

  function play() {
    if (timer !== null || n < 2) { return; }
    timer = setInterval(function () { show(current + 1); }, data.interval);
    playButton.setAttribute("aria-label", "Pause");
    playButton.setAttribute("aria-pressed", "true");
    playButton.classList.add("mr-playing");
  }

  function toggle() { if (timer === null) { play(); } else { pause(); } }

  function step(k) { pause(); show(k); }

  root.querySelector(".mr-first").addEventListener("click", function () { step(0); });
  root.querySelector(".mr-prev").addEventListener("click", function () { step(current - 1); });
  root.querySelector(".mr-next").addEventListener("click", function () { step(current + 1); });
  root.querySelector(".mr-last").addEventListener("click", function () { step(n - 1); });
  playButton.addEventListener("click", toggle);
  slider.addEventListener("input", function () { step(parseInt(slider.value, 10)); });
  root.addEventListener("keydown", function (event) {  // only while this player has focus
    if (event.target === slider && (event.key === "ArrowLeft" || event.key === "ArrowRight")) {
      return;  // the slider moves itself, and its input event steps
    }
    var moves = {
      ArrowLeft: function () { step(current - 1); },
      ArrowRight: function () { step(current + 1); },
      Home: function () { step(0); },
      End: function () { step(n - 1); },
      " ": toggle
    };
    if (moves[event.key] && !(event.target.tagName === "BUTTON" && event.key === " ")) {
      event.preventDefault();
      moves[event.key]();
    }
  });

  root.mrPlayer = {
    show: function (k) { step(k); },
    play: play,
    pause: pause,
    get current() { return current; },
    get length() { return n; },
    get compact() { return active === 1; }  // showing the layout for narrow screens
  };

  var ready = data.mode === "cells" ? startCells() : Promise.resolve();
  root.mrPlayer.ready = ready.then(function () {
    choose();
    if (layouts.length > 1) {
      if (window.ResizeObserver) { new ResizeObserver(choose).observe(root); }
      else { window.addEventListener("resize", choose); }
    }
    show(0);
    var still = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    if (data.autoplay && !still) { play(); }
  }, function (error) {
    readoutText.textContent = "this browser cannot unpack the frames (" + error + ")";
    throw error;
  });
})
